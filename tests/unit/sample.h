/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Test samples (EICAR, reverse shells, web shells, miner configs, test markers) assembled at run
 * time from pieces, so that neither a test's source nor its object file nor its executable holds
 * a whole sample: an anti-virus product on the developer's machine, this one included, would
 * otherwise quarantine the build. Adjacent literals ("a" "b") do not do: the compiler joins them.
 * A variadic function is never inlined, so the pieces stay apart (each ends in a NUL) in .rodata.
 *
 * Split each sample inside every part a rule needs (the opening tag, the command, the URL), not
 * only in one, so that no piece left standing can meet a rule's condition with other strings of
 * the binary.
 */
#pragma once

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

/* The EICAR test string, 68 bytes, in two halves. */
#define SAMPLE_EICAR_1 "X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR"
#define SAMPLE_EICAR_2 "-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"

/* Joins the pieces (a NULL-terminated list) into buf of size bytes and returns buf. Aborts when
 * they do not fit: a sample cut short would test something else. */
__attribute__((sentinel, noinline, unused))
static char *sample_join(char *buf, size_t size, const char *piece, ...) {
        size_t n = 0;
        va_list ap;

        va_start(ap, piece);
        for (const char *p = piece; p; p = va_arg(ap, const char *)) {
                size_t l = strlen(p);

                if (n + l >= size)
                        __builtin_trap();
                memcpy(buf + n, p, l);
                n += l;
        }
        va_end(ap);
        buf[n] = '\0';
        return buf;
}
