#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""scan-bench.py - helpers for bench/run-scan-bench.sh (standard library only).

  scan-bench.py row --res DIR --root ROOT --corpus C --name N --tool T --threads K --hf X.json
                    [--time X.time | --rss-kb KB | --daemon-log F --daemon-after LINE]
                    [--cpu-s S] [--idle-rss-kb KB] [--counters "scanned cached threats bytes"]
                    [--det-scanner-out F | --det-threats F.json | --det-daemon-log F]
                    [--cold-check MDATPD_LOG --cold-skip N] [--note TEXT]
      -> appends one JSON row to DIR/rows.jsonl
  scan-bench.py table --res DIR -> writes DIR/results.md, prints the table
"""
import argparse, json, os, re, statistics

def corpus_info(root, corpus):
    st = {}
    for line in open(os.path.join(root, corpus, "STATS.txt")):
        if "=" in line and not line.startswith(("kind.", "planted")):
            k, v = line.split("=", 1)
            st[k.strip()] = v.split()[0]
    planted = {}
    with open(os.path.join(root, corpus, "sigs", "planted.tsv")) as f:
        next(f)
        for line in f:
            kind, path, *_ = line.rstrip("\n").split("\t")
            planted[path] = kind
    return int(st["files"]), int(st["bytes"]), planted

# ---- detections: {relative path of the file on disk: set(signature names)} -------------------
YARA_LINE = re.compile(r"^(\S+) (/.*)$")
CLAM_LINE = re.compile(r"^(/.*): (\S+) FOUND$")
LOG_NEW = re.compile(r"Threat '([^']*)' \([^)]*\) found in '(.*?)'(?: \(archive member '.*'\))? "
                     r"by \S+ scan")
LOG_AGAIN = re.compile(r"Threat '([^']*)' in '(.*)' found again")
MEMBER_SEP = "->"

def hits_scanner(path):
    hits = []
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = CLAM_LINE.match(line)
        if m:
            hits.append((m.group(1), m.group(2)))
            continue
        m = YARA_LINE.match(line)
        if m:
            hits.append((m.group(2), m.group(1)))
    return hits

def hits_threats(path):
    try:
        d = json.load(open(path))
    except (OSError, ValueError):
        return None
    out = []
    for scan in d["threats"]["scans"]:
        for t in scan["threats"]:
            out.append((t["threat"]["path"], t["threat"]["name"]))
    return out

def hits_daemon_log(path):
    out = []
    for line in open(path, errors="replace"):
        m = LOG_NEW.search(line) or LOG_AGAIN.search(line)
        if m:
            out.append((m.group(2), m.group(1)))
    return out

def detections(hits, tree, planted):
    files = {}
    for path, sig in hits:
        outer = path.split(MEMBER_SEP, 1)[0]     # an archive member counts for its archive
        files.setdefault(os.path.relpath(outer, tree), set()).add(sig)
    is_eicar = lambda s: "EICAR" in s
    is_hash = lambda s: "Hash" in s and "Planted" in s
    want = {k: sum(1 for v in planted.values() if v == k)
            for k in ("eicar-plain", "eicar-zip", "eicar-targz", "hash")}
    got = {k: 0 for k in want}
    other, other_sigs = [], set()
    for rel, sigs in sorted(files.items()):
        kind = planted.get(rel)
        if kind and kind.startswith("eicar") and any(is_eicar(s) for s in sigs):
            got[kind] += 1
        elif kind == "hash" and any(is_hash(s) for s in sigs):
            got["hash"] += 1
        else:
            other.append(rel)
            other_sigs.update(sigs)
    return dict(eicar_plain=f"{got['eicar-plain']}/{want['eicar-plain']}",
                eicar_archived=f"{got['eicar-zip'] + got['eicar-targz']}/{want['eicar-zip'] + want['eicar-targz']}",
                hash=f"{got['hash']}/{want['hash']}", other_files=len(other),
                other_sigs=sorted(other_sigs), other_paths=other, detections=len(hits))

def peak_rss_kb(time_file):
    for line in open(time_file, errors="replace"):
        if "Maximum resident set size" in line:
            return int(line.split(":")[1])
    return None

def daemon_runs(log, after, before):
    """Per timed cold run (a daemon started by the prepare step): CPU s and VmHWM kB at its end."""
    hz = os.sysconf("SC_CLK_TCK")
    lines = [l.split() for l in open(log)][after:before]
    ready = {}
    runs = []
    for f in lines:
        tag, pid, ticks, hwm = f[0], f[1], int(f[2]), int(f[3])
        if tag == "ready":
            ready[pid] = ticks
        elif tag == "end" and pid in ready:
            runs.append(((ticks - ready.pop(pid)) / hz, hwm))
    return runs

SCAN_DONE = re.compile(r"Scan (\d+) \(custom\) succeeded: (\d+) file\(s\) scanned, (\d+) from cache")

def cmd_row(a):
    files, nbytes, planted = corpus_info(a.root, a.corpus)
    tree = os.path.join(a.root, a.corpus, "tree")
    row = dict(name=a.name, tool=a.tool, threads=a.threads, files=files, bytes=nbytes,
               note=a.note or "")
    r = json.load(open(a.hf))["results"][0]
    row.update(median_s=r["median"], min_s=r["min"], max_s=r["max"], mean_s=r["mean"],
               runs=len(r["times"]), times=r["times"], cpu_s=r["user"] + r["system"])
    row["files_per_s"] = files / row["median_s"]
    row["MB_per_s"] = nbytes / row["median_s"] / 1e6
    if a.time:
        row["rss_kb"] = peak_rss_kb(a.time)
    if a.rss_kb:
        row["rss_kb"] = int(a.rss_kb)
    if a.cpu_s is not None:
        row["cpu_s"] = a.cpu_s
    if a.daemon_log:
        runs = daemon_runs(a.daemon_log, a.daemon_after, a.daemon_before)
        if runs:
            row["cpu_s"] = statistics.median(c for c, _ in runs)
            row["rss_kb"] = max(h for _, h in runs)
            row["daemon_runs"] = runs
    if a.other_load is not None:
        row["other_load"] = a.other_load
    if a.idle_rss_kb:
        row["idle_rss_kb"] = int(a.idle_rss_kb)
    if a.counters:
        c = a.counters.split()
        if len(c) == 4 and all(x.isdigit() for x in c):
            row["counters"] = dict(files_scanned=int(c[0]), files_cached=int(c[1]),
                                   threats=int(c[2]), bytes_scanned=int(c[3]))
    if a.cold_check:
        done = [SCAN_DONE.search(l) for l in open(a.cold_check, errors="replace")]
        done = [m for m in done if m][a.cold_skip:]       # every timed cold scan, all attempts
        row["cold_runs_from_cache"] = [int(m.group(3)) for m in done]
    hits = None
    if a.det_scanner_out:
        hits = hits_scanner(a.det_scanner_out)
    elif a.det_threats:
        hits = hits_threats(a.det_threats)
    elif a.det_daemon_log:
        hits = hits_daemon_log(a.det_daemon_log)
    if hits is not None:
        row["det"] = detections(hits, tree, planted)
    with open(os.path.join(a.res, "rows.jsonl"), "a") as f:
        f.write(json.dumps(row) + "\n")

def fmt(v, spec):
    return "—" if v is None else format(v, spec)

def cmd_table(a):
    rows = [json.loads(l) for l in open(os.path.join(a.res, "rows.jsonl"))]
    env = open(os.path.join(a.res, "env.txt")).read()
    # The reference: the median of every yara run (at the start and at the end of the run).
    yara_times = [t for r in rows if r["name"].startswith("yara") for t in r["times"]]
    files = rows[0]["files"] if rows else 0
    yara = {"files_per_s": files / statistics.median(yara_times)} if yara_times else None
    hdr = ["tool", "thr", "wall s (median)", "(min–max)", "files/s", "MB/s", "× yara files/s",
           "CPU s/run", "peak RSS MB", "others' load", "EICAR plain", "EICAR in archive", "hash",
           "other files flagged", "note"]
    md = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    notes = []
    for r in rows:
        d = r.get("det") or {}
        ratio = r["files_per_s"] / yara["files_per_s"] if yara else None
        note = r.get("note", "")
        c = r.get("counters")
        if c:
            note += f"; last scan: FilesScanned {c['files_scanned']}, FilesCached {c['files_cached']}, " \
                    f"threats {c['threats']}, BytesScanned {c['bytes_scanned'] / 1e6:.1f} MB"
        if "cold_runs_from_cache" in r:
            fc = r["cold_runs_from_cache"]
            ok = all(x == 0 for x in fc) and len(fc) >= r["runs"]
            note += f"; cold check: files from cache per timed scan {fc}" + ("" if ok else " **NOT COLD**")
        if r.get("idle_rss_kb"):
            note += f"; idle RSS {r['idle_rss_kb'] / 1024:.1f} MB"
        if r["name"].startswith("mdatp"):
            note += "; CPU and RSS are mdatpd's"
        cells = [r["tool"], str(r["threads"]), f"{r['median_s']:.3f}",
                 f"{r['min_s']:.3f}–{r['max_s']:.3f}", f"{r['files_per_s']:,.0f}",
                 f"{r['MB_per_s']:,.0f}", fmt(ratio, ".2f"), fmt(r.get("cpu_s"), ".2f"),
                 fmt(r["rss_kb"] / 1024 if r.get("rss_kb") else None, ".1f"),
                 fmt(r["other_load"] * 100 if r.get("other_load") is not None else None, ".0f") + "%",
                 d.get("eicar_plain", "—"), d.get("eicar_archived", "—"), d.get("hash", "—"),
                 f"{d['other_files']}" if d else "—", note]
        md.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
        if d and d["other_files"]:
            notes.append(f"- {r['name']}: other files flagged: " + ", ".join(d["other_paths"]) +
                         " (signatures: " + ", ".join(d["other_sigs"]) + ")")
    text = "\n".join(md) + "\n"
    extra = ("\nfiles/s and MB/s: corpus files (bytes) / median wall time, MB = 10^6 B. "
             "× yara > 1 means faster than yara; the reference is the median of all yara runs "
             f"(start and end: {statistics.median(yara_times) if yara_times else 0:.3f} s, "
             f"{yara['files_per_s'] if yara else 0:,.0f} files/s). CPU s/run: user+sys of the scanner, or mdatpd's "
             "(all threads) for the mdatp rows. others' load: CPU time of other processes on the "
             "machine during the timed runs, as a share of the machine (2 cores = 100 %).\n" + "\n".join(notes) + "\n")
    open(os.path.join(a.res, "results.md"), "w").write(env + "\n" + text + extra)
    print(text + extra)

p = argparse.ArgumentParser()
sub = p.add_subparsers(dest="cmd", required=True)
r = sub.add_parser("row")
for k in ("res", "root", "corpus", "name", "tool", "hf"):
    r.add_argument("--" + k, required=True)
r.add_argument("--threads", default="1")
r.add_argument("--time"); r.add_argument("--rss-kb"); r.add_argument("--cpu-s", type=float)
r.add_argument("--daemon-log"); r.add_argument("--daemon-after", type=int, default=0)
r.add_argument("--daemon-before", type=int)
r.add_argument("--idle-rss-kb"); r.add_argument("--counters"); r.add_argument("--cold-check")
r.add_argument("--cold-skip", type=int, default=0)
r.add_argument("--det-scanner-out"); r.add_argument("--det-threats"); r.add_argument("--det-daemon-log")
r.add_argument("--note"); r.add_argument("--other-load", type=float)
t = sub.add_parser("table"); t.add_argument("--res", required=True)
a = p.parse_args()
cmd_row(a) if a.cmd == "row" else cmd_table(a)
