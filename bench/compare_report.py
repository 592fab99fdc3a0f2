#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""compare_report.py OUTDIR: turn compare.sh's JSON lines into results.md and
the gnuplot data files (cases.dat, sweep_map.dat, sweep_unmap.dat,
threads.dat). Per case: ns and instructions per op for iopt and each Linux
peer in the run, and the ratios iopt / peer of both, from the same run.
Targets are issue 6's and issue 13's (ns ratio, against every peer)."""
import json
import os
import sys

out = sys.argv[1]
TARGETS = {  # by row name: case, "/threads:N" for --threads rows
    "iova.cached_pair": 0.35, "iova.cached_ring512": 0.45, "iova.cached_mixed_sizes": 0.45,
    "iova.rbtree_fragmented": 1.0, "iova.rbtree_worstcase": 0.0015,
    "iova.threads2_ring512": 0.4,
    "dma.map_unmap_4k_strict": 0.5, "dma.map_unmap_4k_lazy": 0.4,
    "dma.map_unmap_4k_strict_threads/threads:2": 0.5, "dma.map_unmap_4k_lazy_threads2": 0.5,
}
for f in ("x86_64", "amd_v1", "lpae_s1_4k"):
    for c in ("map_4k", "unmap_4k", "map_2m", "unmap_2m"):
        TARGETS[f + "." + c] = 0.7
    TARGETS[f + ".iova_to_phys"] = 0.6
    for c in ("map_256x4k", "unmap_256x4k"):
        TARGETS[f + "." + c] = 0.3
SWEEP_FORMATS = ("x86_64", "amd_v1", "lpae_s1_4k", "vtd_ss")
SWEEP_N = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)


def load(name):
    """ns and instr by (case, threads, peer); ratio lines by (case, threads, peer)."""
    ns, ins, ratio = {}, {}, {}
    path = os.path.join(out, name)
    if not os.path.exists(path):
        return ns, ins, ratio
    for line in open(path):
        if not line.startswith("{"):
            continue
        o = json.loads(line)
        key = (o["case"], o.get("threads", 0))
        if "ratio" in o:
            ratio[key + (o["ratio"].split("/", 1)[1],)] = o
        else:
            ns[key + (o["peer"],)] = o["ns_per_op"]
            if o.get("instr_per_op") is not None:
                ins[key + (o["peer"],)] = o["instr_per_op"]
    return ns, ins, ratio


ns, ins, ratio = load("raw.jsonl")
tns, _, _ = load("threads.jsonl")
peers = sorted({k[2] for k in ns if k[2] != "iopt"}, key=lambda p: [int(x) for x in
                                                                     p[6:].split(".")])


def sweep_case(op, n):
    return "%s_4k" % op if n == 1 else "%s_%dx4k" % (op, n)


def is_sweep(case):
    c = case.split(".", 1)[1]
    return any(c == "%s_%dx4k" % (op, n) for op in ("map", "unmap") for n in SWEEP_N
               if n not in (1, 256))


def num(v, fmt):
    return fmt % v if v is not None else "-"


md = ["# iopt vs Linux %s: iopt-bench --ratio --instr" % " and ".join(p[6:] for p in peers), ""]
if os.path.exists(os.path.join(out, "machine.txt")):
    md += ["```"] + open(os.path.join(out, "machine.txt")).read().splitlines() + ["```", ""]
md += ["ns and instructions (user space, callgrind or perf) per op, medians of the "
       "repetitions; ratio = iopt / peer (lower is better for iopt), ns spread = min..max "
       "of the per-repetition ratios; met: the ns ratio meets the target against every "
       "peer.", ""]
head = ["case", "iopt ns"] + ["%s ns" % p for p in peers] + ["iopt instr"] + \
    ["%s instr" % p for p in peers]
for p in peers:
    head += ["ns ratio %s" % p[6:], "spread %s" % p[6:], "instr ratio %s" % p[6:]]
head += ["target", "met"]
md += ["| " + " | ".join(head) + " |",
       "|---|" + "---:|" * (len(head) - 2) + ":-:|"]
cases = []
for (case, thr, peer) in ns:
    if peer == "iopt" and not is_sweep(case) and (case, thr) not in cases:
        cases.append((case, thr))
hits = misses = 0
for case, thr in cases:
    name = case + ("/threads:%d" % thr if thr else "")
    row = [name] + [num(ns.get((case, thr, p)), "%.3f") for p in ["iopt"] + peers]
    row += [num(ins.get((case, thr, p)), "%.1f") for p in ["iopt"] + peers]
    rs = []
    for p in peers:
        r = ratio.get((case, thr, p))
        rs.append(r)
        row += [num(r and r["median"], "%.4g"),
                "%.4g..%.4g" % (r["min"], r["max"]) if r else "-",
                num(r and r.get("instr_ratio"), "%.4g")]
    t = TARGETS.get(name)
    met = ""
    if t is not None and any(rs):
        ok = all(r and r["median"] <= t for r in rs)
        met = "yes" if ok else "**no**"
        hits += ok
        misses += not ok
    row += ["<= %g" % t if t else "", met]
    md.append("| " + " | ".join(row) + " |")
md += ["", "Targets met: %d of %d." % (hits, hits + misses), ""]

with open(os.path.join(out, "cases.dat"), "w") as f:
    f.write("case iopt %s\n" % " ".join(peers))
    for case, thr in cases:
        if not thr and all((case, thr, p) in ns for p in peers):
            f.write('"%s" %s\n' % (case, " ".join("%.3f" % ns[(case, thr, p)]
                                                  for p in ["iopt"] + peers)))

for op in ("map", "unmap"):
    with open(os.path.join(out, "sweep_%s.dat" % op), "w") as f:
        cols = [(fm, p) for fm in SWEEP_FORMATS for p in ["iopt"] + peers
                if (fm + "." + sweep_case(op, 1), 0, p) in ns]
        f.write("pages " + " ".join("%s/%s" % c for c in cols) + "\n")
        for n in SWEEP_N:
            row = [ns.get((fm + "." + sweep_case(op, n), 0, p), float("nan")) for fm, p in cols]
            f.write("%d %s\n" % (n, " ".join("%.3f" % v for v in row)))
    md += ["%s ns per call against pages per call: sweep_%s.png / .svg" % (op, op)]

with open(os.path.join(out, "threads.dat"), "w") as f:
    cols = [(c, p) for c in ("iova.threads_ring512", "dma.map_unmap_4k_strict_threads",
                             "dma.map_unmap_4k_lazy_threads") for p in ["iopt"] + peers]
    f.write("threads " + " ".join("%s/%s" % (c.split(".")[1], p) for c, p in cols) + "\n")
    for t in sorted({k[1] for k in tns}):
        f.write("%d %s\n" % (t, " ".join("%.3f" % tns.get((c, t, p), float("nan"))
                                        for c, p in cols)))
md += ["allocator and DMA ns/op per thread against threads: threads.png / .svg",
       "ns/op by case and peer: cases.png / .svg", ""]
open(os.path.join(out, "results.md"), "w").write("\n".join(md))
print("\n".join(md))
