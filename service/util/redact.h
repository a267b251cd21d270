/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Redaction of secrets in text shown to local users or leaving the machine (health, settings,
 * diagnostic bundles): the user information of URLs, as in a proxy setting with
 * "user:password@proxy:8080" after the scheme, becomes "***@proxy:8080"; with
 * redact_url_secrets() the query string too.
 * Works on any text (JSON, logs, settings listings), wherever such a URL appears in it.
 */
#pragma once

#include <stddef.h>

/* A copy of data[0..size) with the user information of every URL (what lies between "://" and
 * the last '@' of the authority) replaced by "***". The copy is NUL-terminated; *ret_size (may be NULL) excludes the NUL. Returns the
 * number of redactions, or -ENOMEM. Caller frees *ret. */
int redact_url_credentials(const char *data, size_t size, char **ret, size_t *ret_size);

/* For text shown to local users (health, connectivity output, settings): as
 * redact_url_credentials(), and the query string of every URL, which for update mirrors often
 * carries a signature or token ("?sig=..."), becomes "?***". The path stays: it says which
 * mirror is meant. Returns the number of redactions, or -ENOMEM. Caller frees *ret. */
int redact_url_secrets(const char *text, char **ret);
