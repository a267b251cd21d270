/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The little roff the generated man pages need (tools/cli-doc, tools/settings-doc): escaping of
 * text taken from the command table and the settings schema, and the page header. Stateless.
 */
#pragma once

#include <stddef.h>
#include <stdio.h>

/* Writes s as roff text: backslashes and hyphens escaped, so that options read as `--value` and
 * cannot be mistaken for requests; callers start a text line with roff_line() instead. */
void roff_escape(FILE *f, const char *s);
/* The same for the first n bytes of s. */
void roff_escape_n(FILE *f, const char *s, size_t n);

/* Starts a text line with s: like roff_escape(), with a leading `\&` so that a text beginning
 * with a dot or a quote is not taken for a request. No newline is written. */
void roff_line(FILE *f, const char *s);

/* The .TH line of a page: name in capitals, section, and the product's version as source. No
 * date: the page is generated at every build, and must be the same for the same sources. */
void roff_header(FILE *f, const char *name, const char *section, const char *version);
