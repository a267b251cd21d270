/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Fuzz target: the engine's file and archive walker. The input is written to a memfd and scanned
 * with archives on (zip, tar, gzip, bzip2, xz, nested), hashing on, and limits small enough that
 * one input stays fast. Any crash, sanitizer report, failure return or out-of-range verdict is a
 * finding.
 *
 * The snapshot and the scanner live for the whole process, as in a worker thread of the daemon:
 * one scanner sees input after input, so state left behind by one scan would show in the next.
 */

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "engine/engine.h"
#include "util/macro.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static EngineRules *fuzz_rules;
static EngineScanner *fuzz_scanner;

/* A few cheap rules that match now and then (so the detection paths run too) and one hash. */
static const char fuzz_rule_text[] =
        "rule fuzz_marker {\n"
        "  meta:\n"
        "    threat_name = \"Test:Fuzz/Marker\"\n"
        "    threat_type = \"trojan\"\n"
        "  strings:\n"
        "    $m = \"FUZZ\"\n"
        "  condition:\n"
        "    $m at 0\n"
        "}\n"
        "rule fuzz_pua {\n"
        "  meta:\n"
        "    threat_name = \"PUA:Fuzz/Application\"\n"
        "    threat_type = \"potentially_unwanted_application\"\n"
        "  strings:\n"
        "    $ = { 50 55 41 21 }\n"
        "  condition:\n"
        "    any of them\n"
        "}\n";

static void fuzz_setup(void) {
        const EngineRuleSource sources[] = { { "fuzz", fuzz_rule_text } };
        const EngineHashEntry hashes[] = {
                /* SHA-256 of "a" */
                { .sha256 = { 0xca, 0x97, 0x81, 0x12, 0xca, 0x1b, 0xbd, 0xca, 0xfa, 0xc2, 0x31,
                              0xb3, 0x9a, 0x23, 0xdc, 0x4d, 0xa7, 0x86, 0xef, 0xf8, 0x14, 0x7c,
                              0x4e, 0x72, 0xb9, 0x80, 0x77, 0x85, 0xaf, 0xee, 0x48, 0xbb },
                  .threat_name = "Test:Fuzz/Hash", .threat_type = "virus" },
        };

        if (engine_global_init() < 0 ||
            engine_rules_new(sources, ELEMENTSOF(sources), hashes, ELEMENTSOF(hashes), "fuzz",
                             &fuzz_rules, NULL) < 0)
                abort();
        fuzz_scanner = engine_scanner_new();
        if (!fuzz_scanner)
                abort();
}

__attribute__((destructor)) static void fuzz_teardown(void) {
        if (!fuzz_rules)
                return;
        fuzz_scanner = engine_scanner_free(fuzz_scanner);
        fuzz_rules = engine_rules_unref(fuzz_rules);
        engine_global_done();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *const ignore_pua[] = { (char *) ENGINE_THREAT_TYPE_PUA, NULL };
        EngineScanOptions o = ENGINE_SCAN_OPTIONS_DEFAULT;
        EngineResult r = ENGINE_RESULT_INIT;
        _cleanup_close_ int fd = -EBADF;
        size_t done = 0;

        if (!fuzz_rules)
                fuzz_setup();

        fd = memfd_create("fuzz-archive", MFD_CLOEXEC);
        if (fd < 0)
                abort();
        while (done < size) {
                ssize_t n = write(fd, data + done, size - done);

                if (n <= 0)
                        abort();
                done += (size_t) n;
        }

        o.compute_hash = true;
        o.max_scan_bytes = 1 << 20;
        o.max_archive_members = 256;
        o.max_archive_total_bytes = 16 << 20;
        o.max_archive_depth = 4;
        o.timeout_seconds = 5;
        /* Odd sizes ignore the PUA type, even ones do not: both paths get inputs. */
        o.ignored_types = size % 2 ? ignore_pua : NULL;

        if (engine_scan_fd(fuzz_scanner, fuzz_rules, fd, "fuzz.bin", &o, &r) < 0)
                abort();
        if (r.verdict < 0 || r.verdict >= _ENGINE_VERDICT_MAX)
                abort();
        if (r.verdict == ENGINE_VERDICT_DETECTED && (!r.threat_name || !r.threat_type || !r.path))
                abort();
        if (r.verdict != ENGINE_VERDICT_DETECTED && (r.threat_name || r.member_path))
                abort();
        if (r.file_size != size)
                abort();
        engine_result_done(&r);
        return 0;
}
