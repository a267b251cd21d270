#!/usr/bin/python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""rtp-bench.py - the table of bench/run-rtp-bench.sh (standard library only).

  rtp-bench.py table --res DIR --files N -> writes DIR/results.md and DIR/summary.json, prints it
  rtp-bench.py groups [--self PID]       -> one line: every fanotify group on the machine, its
                                            process and what it marks (mounts by mount point)

Reads, in DIR: MODE-CASE.json (hyperfine), MODE-CASE.jsonl (rtp-files read, one line a run),
mdatp-CASE.counters.json (GetCounters after the case), others.txt, enforce.txt, meta.txt.
MODE is off, mdatp, clam, off2 (RTP off again at the end); CASE is cold, warm, build.
"""
import argparse, json, os, statistics

TARGETS = {"cold": 3.0, "warm": 1.10, "build": 1.15}
LABELS = {
    "cold": "first pass: open+read {n} new files",
    "warm": "second pass: the same files again",
    "build": "build: meson setup + ninja (-Dtests=false)",
}

def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None

def times(res, name):
    d = load_json(os.path.join(res, name + ".json"))
    if not d or not d.get("results"):
        return []
    return list(d["results"][0].get("times") or [])

def reader_lines(res, name):
    out = []
    try:
        with open(os.path.join(res, name + ".jsonl")) as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    except OSError:
        pass
    return out

def failed(res, name):
    try:
        return "non-zero exit code" in open(os.path.join(res, name + ".hf")).read()
    except OSError:
        return False

def jsonl(path):
    out = []
    try:
        for line in open(path):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
    except OSError:
        pass
    return out

def med(xs):
    return statistics.median(xs) if xs else None

def fmt_s(t):
    return "—" if t is None else ("%.3f" % t if t < 10 else "%.1f" % t)

def fmt_span(xs):
    if not xs:
        return "—"
    if len(xs) == 1:
        return "%s (1 run)" % fmt_s(xs[0])
    return "%s (%s–%s, %d runs)" % (fmt_s(med(xs)), fmt_s(min(xs)), fmt_s(max(xs)), len(xs))

def ratio(a, b):
    return None if a is None or b is None or b <= 0 else a / b

def fmt_r(r):
    return "—" if r is None else "%.2f×" % r

def groups(self_pid):
    """Other on-access products (another mdatpd of a test, a system clamonacc) would sit in the
    path of every open on the mounts they mark: name them, with the mounts they mark."""
    mounts = {}
    try:
        for line in open("/proc/self/mountinfo"):
            f = line.split()
            mounts[int(f[0])] = f[4]
    except OSError:
        pass
    out = []
    for pid in sorted((p for p in os.listdir("/proc") if p.isdigit()), key=int):
        try:
            fds = os.listdir("/proc/%s/fd" % pid)
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink("/proc/%s/fd/%s" % (pid, fd)) != "anon_inode:[fanotify]":
                    continue
                info = open("/proc/%s/fdinfo/%s" % (pid, fd)).read().splitlines()
                comm = open("/proc/%s/comm" % pid).read().strip()
            except OSError:
                continue
            mnt, inodes, fs = [], 0, 0
            for line in info:
                if not line.startswith("fanotify "):
                    continue
                kv = dict(x.split(":", 1) for x in line.split()[1:] if ":" in x)
                if "mnt_id" in kv:
                    mnt.append(mounts.get(int(kv["mnt_id"], 16), "mount %d" % int(kv["mnt_id"], 16)))
                elif "ino" in kv:
                    inodes += 1
                elif "sdev" in kv:
                    fs += 1
            out.append("%s(%s%s): %s; %d filesystem, %d inode mark(s)" % (
                comm, pid, ", this run's" if pid == str(self_pid) else "",
                "mounts " + ", ".join(mnt) if mnt else "no mount marks", fs, inodes))
    print("; ".join(out) if out else "none")

def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("table", "groups"))
    ap.add_argument("--res")
    ap.add_argument("--files", type=int)
    ap.add_argument("--self", type=int, default=0)
    a = ap.parse_args()
    if a.what == "groups":
        return groups(a.self)
    if not a.res or not a.files:
        ap.error("table needs --res and --files")
    res = a.res

    others = {}
    try:
        for line in open(os.path.join(res, "others.txt")):
            k, v = line.split()
            others[k] = float(v)
    except OSError:
        pass

    summary, rows, notes = {}, [], []
    for case in ("cold", "warm", "build"):
        off = times(res, "off-" + case)
        base_runs = off + (times(res, "off2-" + case) if case != "build" else [])
        base = med(base_runs)
        m, c = times(res, "mdatp-" + case), times(res, "clam-" + case)
        fails = [n for n in ("off-", "mdatp-", "floor-", "clam-", "off2-") if failed(res, n + case)]
        rm, rc = ratio(med(m), base), ratio(med(c), base)
        target = TARGETS[case]
        met_abs = None if rm is None else rm <= target
        # each overhead at most half of clamonacc's: (rm - 1) <= (rc - 1) / 2
        met_half = None if rm is None or rc is None else (rm - 1) <= (rc - 1) / 2
        if fails:
            notes.append("**%s: the command failed under %s** (see %s.hf)" % (
                case, ", ".join(f.rstrip("-") for f in fails), fails[0] + case))
        summary[case] = {"failed": [f.rstrip("-") for f in fails], "off": base_runs, "mdatp": m, "clam": c, "base": base,
                         "ratio_mdatp": rm, "ratio_clam": rc, "target": target,
                         "met_target": met_abs, "met_half_clam": met_half}
        yn = lambda v: "—" if v is None else ("**yes**" if v else "**no**")
        rows.append("| %s | %s | %s | **%s** | %s | %s | ≤ %.2f×; overhead ≤ ½ clamonacc's | %s; %s |" % (
            LABELS[case].format(n="{:,}".format(a.files)), fmt_span(base_runs), fmt_span(m),
            fmt_r(rm), fmt_span(c), fmt_r(rc), target, yn(met_abs), yn(met_half)))

    floor_rows = []
    for case in ("cold", "warm"):
        f = times(res, "floor-" + case)
        if f:
            base = summary[case]["base"]
            rf, rm = ratio(med(f), base), summary[case]["ratio_mdatp"]
            summary[case]["floor"], summary[case]["ratio_floor"] = f, rf
            floor_rows.append("| %s | %s | %s | %s | %s |" % (
                LABELS[case].format(n="{:,}".format(a.files)), fmt_span(f), fmt_r(rf), fmt_r(rm),
                fmt_r(ratio(summary[case]["ratio_mdatp"], rf))))

    lat = []
    for mode, label in (("off", "RTP off"), ("mdatp", "mdatp RTP on"), ("floor", "minimal responder"),
                        ("clam", "clamonacc"), ("off2", "RTP off, at the end")):
        for case in ("cold", "warm"):
            ls = reader_lines(res, "%s-%s" % (mode, case))
            if not ls:
                continue
            worst = max(ls, key=lambda x: x["open_us_max"])
            cnt = load_json(os.path.join(res, "%s-%s.counters.json" % (mode, case))) if mode == "mdatp" else None
            cstr = "—"
            if cnt:
                cstr = "%s µs; events %s, scanned %s, cached %s; timeouts %s, overloads %s, errors %s, overflows %s" % (
                    "{:,}".format(cnt["max_latency_us"]), "{:,}".format(cnt["events"]),
                    "{:,}".format(cnt["scanned"]), "{:,}".format(cnt["cached"]), cnt["timeouts"],
                    cnt["overloads"], cnt["errors"], cnt["overflows"])
                if case == "warm":
                    cstr += " (with the untimed first passes)"
            lat.append("| %s | %s | %d | %.1f | %.1f | **%s** | %s | %d / %d | %d | %s |" % (
                label, case, len(ls), med([x["open_us_p50"] for x in ls]),
                med([x["open_us_p99"] for x in ls]), "{:,.0f}".format(worst["open_us_max"]),
                os.path.relpath(worst["max_file"], os.path.dirname(os.path.dirname(worst["max_file"])))
                if worst["max_file"] else "",
                sum(x["slow_opens_1ms"] for x in ls), sum(x["slow_opens_10ms"] for x in ls),
                sum(x["errors"] for x in ls), cstr))
            summary.setdefault("latency", {})["%s-%s" % (mode, case)] = {
                "p50_us": med([x["open_us_p50"] for x in ls]),
                "p99_us": med([x["open_us_p99"] for x in ls]),
                "max_us": worst["open_us_max"], "counters": cnt}
    for mode in ("mdatp",):
        cnt = load_json(os.path.join(res, "mdatp-build.counters.json"))
        if cnt:
            summary.setdefault("latency", {})["mdatp-build"] = {"counters": cnt}

    out = ["# Real-time protection: overhead on open and on a build (bench/run-rtp-bench.sh)", ""]
    for f in ("meta.txt", "enforce.txt"):
        try:
            out += [l.rstrip("\n") + "  " for l in open(os.path.join(res, f))]
        except OSError:
            pass
    out += ["",
            "Median wall time of hyperfine's runs (min–max); ratio = median / median with RTP off "
            "(small-file cases: all RTP-off runs, at the start and at the end). "
            "Overhead = ratio − 1.", "",
            "| case | RTP off s | mdatp RTP on s | ratio | clamonacc s | ratio | target | met? (target; ½ clamonacc) |",
            "|---|---|---|---|---|---|---|---|"] + rows
    if notes:
        out += [""] + [n + "  " for n in notes]
    if floor_rows:
        out += ["", "The floor: bench/rtp-floor.c, one thread answering every event at once after an "
                "ignore mark (no scan, no queue), against the same RTP-off runs.", "",
                "| case | minimal responder s | ratio | mdatp ratio | mdatp / floor |",
                "|---|---|---|---|---|"] + floor_rows
    for case in ("cold", "warm"):
        o1, o2 = med(times(res, "off-" + case)), med(times(res, "off2-" + case))
        if o1 is not None and o2 is not None:
            out.append("")
            out.append("RTP off, %s: %s s at the start, %s s at the end." % (case, fmt_s(o1), fmt_s(o2)))
    out += ["", "## open() latency (the reader's own clock around each open(); all timed runs of the case)", "",
            "GetCounters: mdatpd's counters of the case (a new fanotify group before the cold case and "
            "before the build); the cold case's include the opens that wrote the files (hyperfine's "
            "--prepare), one event each. max_latency_us is mdatpd's longest time from read() to "
            "its answer.", "",
            "| mode | pass | runs | p50 µs | p99 µs | max µs | slowest file | opens ≥ 1 ms / ≥ 10 ms | errors | GetCounters after the case |",
            "|---|---|---|---|---|---|---|---|---|---|"] + lat
    # Events of each timed second pass: warm-prepare took GetCounters before and after each
    # untimed first pass, and the last line is the end of the last timed pass:
    # A0 B1 A1 B2 ... Bn An -> pass i = A_i - B_i.
    wl = jsonl(os.path.join(res, "mdatp-warm.counters.jsonl"))
    if len(wl) >= 3:
        passes = [(wl[i], wl[i + 1]) for i in range(1, len(wl) - 1, 2)]
        ev = ["%s (%s from the cache)" % ("{:,}".format(b["events"] - a["events"]),
                                          "{:,}".format(b["cached"] - a["cached"])) for a, b in passes]
        wt = times(res, "mdatp-warm")
        out += ["", "mdatp, second pass, per timed run: events " + ", ".join(ev) +
                "; wall s " + ", ".join(fmt_s(t) for t in wt) + " (a second pass raises no event "
                "while the first pass's ignore marks last)."]
        summary["warm"]["mdatp_events_per_run"] = [b["events"] - a["events"] for a, b in passes]
    cnt = load_json(os.path.join(res, "mdatp-build.counters.json"))
    if cnt:
        out += ["", "mdatp GetCounters after the build case: " + ", ".join(
            "%s %s" % (k, "{:,}".format(v)) for k, v in cnt.items())]
    ml, mc = jsonl(os.path.join(res, "marks.jsonl")), jsonl(os.path.join(res, "marks.counters.jsonl"))
    if ml:
        out += ["", "## A working set past the ignore-mark limit (mdatp on)", "",
                "%s files written with RTP off, then read three times with mdatp on (a new group "
                "first). The daemon keeps at most half of fs.fanotify.max_user_marks ignore marks "
                "and flushes them all, after answering, when it has added that many."
                % "{:,}".format(ml[0]["files"]), "",
                "| pass | s | p50 µs | p99 µs | max µs | slowest file | events | scanned | from the cache |",
                "|---|---|---|---|---|---|---|---|---|"]
        prev = {"events": 0, "scanned": 0, "cached": 0}
        for i, x in enumerate(ml):
            c = mc[i] if i < len(mc) else None
            d = {k: c[k] - prev[k] for k in prev} if c else None
            out.append("| %d | %.3f | %.1f | %.1f | %s | %s | %s | %s | %s |" % (
                i + 1, x["secs"], x["open_us_p50"], x["open_us_p99"],
                "{:,.0f}".format(x["open_us_max"]), os.path.basename(x["max_file"]),
                *(["{:,}".format(d[k]) for k in ("events", "scanned", "cached")] if d else ["—"] * 3)))
            if c:
                prev = c
        summary["marks"] = {"reads": ml, "counters": mc}
    if others:
        out += ["", "Others' share of the machine during each case: " +
                ", ".join("%s %.0f %%" % (k, v * 100) for k, v in others.items())]
    text = "\n".join(out) + "\n"
    with open(os.path.join(res, "results.md"), "w") as f:
        f.write(text)
    with open(os.path.join(res, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    print(text)

if __name__ == "__main__":
    main()
