#!/usr/bin/env python3
"""Turns benchmark output into bench/RESULTS.md sections and the chart.

  report.py micro MICRO.json          the micro-benchmarks section (Markdown)
  report.py summary RESULTS.md SVG    the summary section (Markdown) from every
                                      recorded section, and the SVG chart

The summary reads what RESULTS.md holds, section by section, so a row always
names the run it comes from (date, commit), and a section left to a later run
shows up as such. Python standard library only.
"""
import html
import json
import re
import sys


def sections(text):
    """Maps each <!-- name --> ... <!-- /name --> section to its body."""
    out = {}
    for m in re.finditer(r"<!-- ([a-z0-9-]+) -->(.*?)<!-- /\1 -->", text, re.S):
        out[m.group(1)] = m.group(2)
    return out


def data(section):
    """The JSON figures a section carries in a <!-- data ... --> comment."""
    m = re.search(r"<!-- data (.*?) -->", section or "", re.S)
    return json.loads(m.group(1)) if m else None


def field(section, name):
    m = re.search(r"^- %s: (.*)$" % re.escape(name), section or "", re.M)
    return m.group(1).strip() if m else "?"


def provenance(section):
    commit = field(section, "Commit").split(";")[0]
    return "%s, %s" % (field(section, "Date"), commit)


def table_rows(section):
    rows = []
    for line in (section or "").splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            rows.append([c.strip() for c in line.strip().strip("|").split("|")])
    return rows


def added(cell):
    """'+60 (1.87x)' -> (60.0, 1.87)."""
    m = re.match(r"\+?(-?[\d.]+) \(([\d.]+)x\)", cell)
    return (float(m.group(1)), float(m.group(2))) if m else (None, None)


# ---------------------------------------------------------------------------
# Micro-benchmarks.

def micro(path):
    doc = json.load(open(path))
    ctx = doc["context"]
    lines = [
        "| benchmark | time per op | CPU per op | throughput |",
        "|---|---:|---:|---:|",
    ]
    for b in doc["benchmarks"]:
        if b.get("run_type") == "aggregate" and b.get("aggregate_name") != "median":
            continue
        unit = b.get("time_unit", "ns")
        rate = ""
        if "bytes_per_second" in b:
            rate = "%.0f MB/s" % (b["bytes_per_second"] / 1e6)
        elif "items_per_second" in b:
            rate = "%.1f M headers/s" % (b["items_per_second"] / 1e6)
        name = b.get("run_name", b["name"]).replace("/real_time", " (wall clock)")
        lines.append("| `%s` | %.0f %s | %.0f %s | %s |" % (
            name, b["real_time"], unit, b["cpu_time"], unit, rate))
    return "\n".join(lines) + "\n\n%s CPUs at %s MHz. The timed code is built RelWithDebInfo (-O2); " \
        "Debian's libbenchmark reports itself as a %s build, which does not change the code timed.\n" % (
            ctx.get("num_cpus", "?"), ctx.get("mhz_per_cpu", "?"), ctx.get("library_build_type", "?"))


# ---------------------------------------------------------------------------
# Summary.

def summarize(results_text):
    s = sections(results_text)
    rows, charts = [], []

    def row(figure, budget, measured, baseline, ok, source):
        verdict = "—" if ok is None else ("pass" if ok else "**FAIL**")
        rows.append("| %s | %s | %s | %s | %s | %s |" % (
            figure, budget, measured, baseline, verdict, source))

    lat = s.get("delegator-latency")
    if lat:
        found = {}
        for r in table_rows(lat):
            if len(r) >= 7 and r[1] in ("1", "16") and r[0].endswith("B"):
                found[(r[0], r[1])] = (added(r[5]), added(r[6]))
        for key, label in ((("1 KB", "1"), "added latency per invoke, 1 KB event + 1 KB response, 1 runtime"),
                           (("1 KB", "16"), "the same, 16 runtimes (managed instances)"),
                           (("6 MB", "1"), "6 MB response, added time, 1 runtime")):
            if key in found:
                (d, dr), (n, nr) = found[key]
                row(label, "≤ nginx", "+%.0f µs (%.2fx direct)" % (d, dr),
                    "nginx +%.0f µs (%.2fx)" % (n, nr), d <= n, "delegator-latency, " + provenance(lat))
        every = [v for v in found.values() if v[0][0] is not None]
        if every:
            worse = sum(1 for (d, _), (n, _) in every if d > n)
            row("delegator no slower than nginx at every payload size (1 KB–6 MB, 1 and 16 runtimes)",
                "every row", "%d of %d rows over nginx" % (worse, len(every)), "nginx, same rows",
                worse == 0, "delegator-latency, " + provenance(lat))
            bars = []
            for size in ("1 KB", "64 KB", "1 MB", "6 MB"):
                if (size, "1") in found:
                    (_, dr), (_, nr) = found[(size, "1")]
                    bars.append((size + " delegator", dr, "#2b7bb9"))
                    bars.append((size + " nginx", nr, "#b0b0b0"))
            charts.append(("Invoke latency through a proxy, 1 runtime: median as a multiple of direct (lower is better)", "x", bars, None))
    else:
        row("added latency per invoke (1 KB, 6 MB)", "≤ nginx", "not recorded", "—", None, "—")

    st = data(s.get("stream"))
    if st:
        t = st["targets"]
        d = t["delegator"]
        base = "direct %.0f MB/s" % t["direct"]["mb_per_s"]
        if "nginx" in t:
            base += "; nginx %.0f MB/s, peak RSS %.1f MiB" % (t["nginx"]["mb_per_s"], t["nginx"]["peak_kib"] / 1024)
        row("200 MB streamed response: delegator peak RSS (throughput)", "≤ 16 MB",
            "%.1f MiB (%.0f MB/s)" % (d["peak_kib"] / 1024, d["mb_per_s"]), base,
            d["peak_kib"] <= 16 * 1024, "stream, " + provenance(s.get("stream")))
        charts.append(("200 MB streamed response: throughput, MB/s (higher is better)", "MB/s",
                       [(n, t[n]["mb_per_s"], "#2b7bb9" if n == "delegator" else "#b0b0b0") for n in t], None))
        charts.append(("200 MB streamed response: proxy peak RSS, MiB (budget 16)", "MiB",
                       [(n, t[n]["peak_kib"] / 1024, "#2b7bb9" if n == "delegator" else "#b0b0b0")
                        for n in t if n != "direct"], 16))
    else:
        row("200 MB streamed response: delegator RSS", "≤ 16 MB", "not recorded", "—", None, "—")

    ex = data(s.get("wrapper-exec"))
    if ex:
        v = {x["name"]: x for x in ex["variants"]}
        w = v["wrapper"]["median_us"] - v["direct"]["median_us"]
        sh = v["sh"]["median_us"] - v["direct"]["median_us"]
        row("wrapper start to runtime host exec (added to a direct exec, median)",
            "≤ a `#!/bin/sh` `exec \"$@\"` wrapper", "+%.0f µs" % w, "sh wrapper +%.0f µs" % sh,
            w <= sh, "wrapper-exec, " + provenance(s.get("wrapper-exec")))
        charts.append(("Exec to the runtime host's first instruction, median µs (lower is better)", "µs",
                       [("direct exec", v["direct"]["median_us"], "#b0b0b0"),
                        ("sh exec wrapper", v["sh"]["median_us"], "#b0b0b0"),
                        ("anysnap-wrapper", v["wrapper"]["median_us"], "#2b7bb9")], None))
    else:
        row("wrapper start to runtime host exec", "≤ sh exec wrapper", "not recorded", "—", None, "—")

    rs = data(s.get("wrapper-rss"))
    if rs:
        idle = rs["phases"][0]
        load = max(p["max_kib"] for p in rs["phases"])
        row("wrapper + delegator RSS while idle (VmRSS, runtime parked in next)", "≤ 4 MB",
            "%.2f MiB" % (idle["rss_kib"] / 1024), "under load: highest %.1f MiB" % (load / 1024),
            idle["rss_kib"] <= 4096, "wrapper-rss, " + provenance(s.get("wrapper-rss")))
        charts.append(("anysnap-wrapper + delegator RSS, MiB (idle budget 4)", "MiB",
                       [(p["name"].split(",")[0].replace("under load: ", ""),
                         max(p["rss_kib"], p["max_kib"]) / 1024, "#2b7bb9") for p in rs["phases"]], 4))
    else:
        row("wrapper + delegator RSS while idle", "≤ 4 MB", "not recorded", "—", None, "—")

    cmp_section = s.get("local-compare")
    speedup = None
    if cmp_section:
        m = re.search(r"### samples/nodejs, criu\s+```(.*?)```", cmp_section, re.S)
        if m:
            cold = re.search(r"cold \(on-demand\)\s+([\d.]+) ms", m.group(1))
            rest = re.search(r"restored\s+([\d.]+) ms", m.group(1))
            sp = re.search(r"speed-up\s+([\d.]+)x", m.group(1))
            if cold and rest and sp:
                speedup = float(sp.group(1))
                row("local emulator, Node sample: first response after restore vs cold (criu)", "≥ 10×",
                    "%.1f× (restored %.0f ms)" % (speedup, float(rest.group(1))),
                    "cold %.0f ms" % float(cold.group(1)), speedup >= 10,
                    "local-compare, " + provenance(cmp_section))
                charts.append(("anysnap-local, Node.js sample (criu): time to first response, ms", "ms",
                               [("cold", float(cold.group(1)), "#b0b0b0"),
                                ("restored", float(rest.group(1)), "#2b7bb9")], None))
    if speedup is None and cmp_section:
        m = re.search(r"### samples/nodejs, freeze\s+```(.*?)```", cmp_section, re.S)
        sp = m and re.search(r"speed-up\s+([\d.]+)x", m.group(1))
        if sp:
            # The freeze backend thaws a tree kept in memory: no verdict on the
            # criu budget from it.
            speedup = float(sp.group(1))
            row("local emulator, Node sample: first response after restore vs cold (criu)", "≥ 10×",
                "criu not usable here; freeze backend %.1f× (models the lifecycle, not the restoring of memory)" % speedup,
                "—", None, "local-compare, " + provenance(cmp_section))
    if speedup is None:
        row("local emulator, Node sample, restore vs cold (criu)", "≥ 10×", "not recorded", "—", None, "—")

    lb = s.get("layer-build")
    if lb:
        r = {x[0]: x for x in table_rows(lb) if len(x) >= 2}
        ours = next((v for k, v in r.items() if k.startswith("anysnap-layer")), None)
        zipr = next((v for k, v in r.items() if k.startswith("zip ")), None)
        identical = "byte-identical: yes" in lb
        if ours and zipr:
            o, z = float(ours[1]), float(zipr[1])
            row("layer build of a ~100 MB runtime tree", "≤ `zip -r -X`, same level; byte-identical rebuild",
                "%.2f s, rebuild %s" % (o, "identical" if identical else "DIFFERENT"), "zip %.2f s" % z,
                o <= z and identical, "layer-build, " + provenance(lb))
            charts.append(("Layer build of a ~100 MB tree, seconds (lower is better)", "s",
                           [("anysnap-layer build", o, "#2b7bb9"), ("zip -r -X", z, "#b0b0b0")], None))
    else:
        row("layer build", "≤ zip -r -X", "not recorded", "—", None, "—")

    rsd = s.get("reseed-latency")
    if rsd:
        for r in table_rows(rsd):
            m = re.match(r"([+-]?[\d.]+)", r[4]) if len(r) >= 5 else None
            if not m or r[0] == "runtime":
                continue
            row("reseed after restore, %s: restore to the forwarded next, added (median)" % r[0],
                "≤ 1 ms", "%+.0f µs (auto: %s)" % (float(m.group(1)), r[2]), "reseed off: %s" % r[1],
                float(m.group(1)) <= 1000, "reseed-latency, " + provenance(rsd))
    else:
        row("reseed after restore (Node.js, Python)", "≤ 1 ms", "not recorded", "—", None, "—")

    table = "\n".join([
        "| figure (design.md §4) | budget | measured | baseline, same run | verdict | section, date, commit |",
        "|---|---|---|---|---|---|",
    ] + rows)
    return table, charts


def svg(charts):
    """Horizontal bar panels, one per comparison; a dashed line marks a budget."""
    width, label_w, bar_h, gap, title_h, pad = 760, 200, 18, 6, 34, 16
    plot_w = width - label_w - 90
    out, y = [], pad
    for title, unit, bars, budget in charts:
        out.append('<text x="%d" y="%d" font-weight="bold">%s</text>' % (pad, y + 16, html.escape(title)))
        y += title_h
        top = max([b[1] for b in bars] + ([budget] if budget else [])) or 1
        scale = plot_w / top
        y0 = y
        for label, value, color in bars:
            out.append('<text x="%d" y="%d" text-anchor="end">%s</text>' % (label_w - 8, y + 13, html.escape(label)))
            out.append('<rect x="%d" y="%d" width="%.1f" height="%d" fill="%s"/>' % (label_w, y, max(value * scale, 1), bar_h, color))
            out.append('<text x="%.1f" y="%d">%s %s</text>' % (label_w + value * scale + 6, y + 13,
                                                              ("%.2f" % value) if value < 10 else "%.0f" % value, unit))
            y += bar_h + gap
        if budget:
            x = label_w + budget * scale
            out.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#c0392b" stroke-dasharray="4,3"/>' % (x, y0 - 4, x, y))
            out.append('<text x="%.1f" y="%d" fill="#c0392b">budget</text>' % (x + 3, y0 - 6))
        y += pad
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">\n'
            '<rect width="100%%" height="100%%" fill="white"/>\n%s\n</svg>\n' % (width, y + pad, "\n".join(out)))


def main(argv):
    if len(argv) == 3 and argv[1] == "micro":
        sys.stdout.write(micro(argv[2]))
    elif len(argv) == 4 and argv[1] == "summary":
        table, charts = summarize(open(argv[2]).read())
        open(argv[3], "w").write(svg(charts))
        sys.stdout.write(table + "\n")
    else:
        sys.stderr.write(__doc__)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
