#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""compare_report.py OUTDIR: turn compare.sh's JSON lines into results.md and
the gnuplot data files (cases.dat, sweep_map.dat, sweep_unmap.dat,
threads.dat). Targets are issue 6's: ratio iopt / linux-6.1, same run."""
import json
import os
import sys

out = sys.argv[1]
PEER = "linux-6.1"
TARGETS = {
    "iova.cached_pair": 0.35, "iova.cached_ring512": 0.5, "iova.cached_mixed_sizes": 0.5,
    "iova.rbtree_fragmented": 1.0, "iova.rbtree_worstcase": 0.0015,
    "iova.threads2_ring512": 0.4,
}
for f in ("x86_64", "amd_v1", "lpae_s1_4k"):
    for c in ("map_4k", "unmap_4k", "map_2m", "unmap_2m", "iova_to_phys"):
        TARGETS[f + "." + c] = 0.7
    for c in ("map_256x4k", "unmap_256x4k"):
        TARGETS[f + "." + c] = 0.3
SWEEP_FORMATS = ("x86_64", "amd_v1", "lpae_s1_4k", "vtd_ss")
SWEEP_N = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def load(name):
    ns, ratio = {}, {}
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return ns, ratio
    for line in open(path):
        if not line.startswith("{"):
            continue
        o = json.loads(line)
        key = (o["case"], o.get("threads", 0))
        if "ratio" in o:
            ratio[key] = o
        else:
            ns[key + (o["peer"],)] = o["ns_per_op"]
    return ns, ratio


ns, ratio = load("raw.jsonl")
tns, _ = load("threads.jsonl")


def sweep_case(op, n):
    return "%s_4k" % op if n == 1 else "%s_%dx4k" % (op, n)


def is_sweep(case):
    c = case.split(".", 1)[1]
    return any(c == "%s_%dx4k" % (op, n) for op in ("map", "unmap") for n in SWEEP_N
               if n not in (1, 256))


md = ["# iopt vs Linux 6.1: iopt-bench --ratio", ""]
if os.path.exists(os.path.join(out, "machine.txt")):
    md += ["```"] + open(os.path.join(out, "machine.txt")).read().splitlines() + ["```", ""]
md += ["ns per op, median of the repetitions; ratio = iopt / linux-6.1 (lower is better for "
       "iopt), spread = min..max of the per-repetition ratios.", "",
       "| case | iopt ns/op | linux-6.1 ns/op | ratio | spread | target | met |",
       "|---|---:|---:|---:|---|---:|:-:|"]
cases = []
for (case, thr, peer) in ns:
    if peer == "iopt" and not is_sweep(case) and (case, thr) not in cases:
        cases.append((case, thr))
hits = misses = 0
for case, thr in cases:
    name = case + ("/threads:%d" % thr if thr else "")
    i = ns[(case, thr, "iopt")]
    p = ns.get((case, thr, PEER))
    r = ratio.get((case, thr))
    t = TARGETS.get(case)
    met = ""
    if t is not None and r:
        met = "yes" if r["median"] <= t else "**no**"
        hits += r["median"] <= t
        misses += r["median"] > t
    md.append("| %s | %.3f | %s | %s | %s | %s | %s |" % (
        name, i, "%.3f" % p if p else "-", "%.4f" % r["median"] if r else "-",
        "%.4f..%.4f" % (r["min"], r["max"]) if r else "-", "<= %g" % t if t else "", met))
md += ["", "Targets met: %d of %d." % (hits, hits + misses), ""]

with open(os.path.join(out, "cases.dat"), "w") as f:
    f.write("# case iopt linux-6.1 (ns/op)\n")
    for case, thr in cases:
        if (case, thr, PEER) in ns and not thr:
            f.write('"%s" %.3f %.3f\n' % (case, ns[(case, thr, "iopt")], ns[(case, thr, PEER)]))

for op in ("map", "unmap"):
    with open(os.path.join(out, "sweep_%s.dat" % op), "w") as f:
        cols = [(fm, p) for fm in SWEEP_FORMATS for p in ("iopt", PEER)
                if (fm + "." + sweep_case(op, 1), 0, p) in ns]
        f.write("pages " + " ".join("%s/%s" % c for c in cols) + "\n")
        for n in SWEEP_N:
            row = [ns.get((fm + "." + sweep_case(op, n), 0, p), float("nan")) for fm, p in cols]
            f.write("%d %s\n" % (n, " ".join("%.3f" % v for v in row)))
    md += ["%s ns per call against pages per call: sweep_%s.png / .svg" % (op, op)]

with open(os.path.join(out, "threads.dat"), "w") as f:
    cols = [("iova.threads_ring512", "iopt"), ("iova.threads_ring512", PEER),
            ("dma.map_unmap_4k_strict_threads", "iopt"), ("dma.map_unmap_4k_strict_threads", PEER),
            ("dma.map_unmap_4k_lazy_threads", "iopt")]
    f.write("threads " + " ".join("%s/%s" % (c.split(".")[1], p) for c, p in cols) + "\n")
    for t in sorted({k[1] for k in tns}):
        f.write("%d %s\n" % (t, " ".join("%.3f" % tns.get((c, t, p), float("nan"))
                                        for c, p in cols)))
md += ["allocator and DMA ns/op per thread against threads: threads.png / .svg",
       "ns/op by case and peer: cases.png / .svg", ""]
open(os.path.join(out, "results.md"), "w").write("\n".join(md))
print("\n".join(md))
