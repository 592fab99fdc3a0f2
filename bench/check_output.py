#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_output.py BENCH PEERS CALLGRIND: iopt-bench's machine-readable outputs hold.

PEERS is the comma-separated list of the build's peer names ("" without
-Dpeers, else e.g. "linux-6.1,linux-6.12"); CALLGRIND is "callgrind" when the
build has the callgrind mode. Checks:
  --format=gbench is one Google Benchmark JSON document (context +
  benchmarks[] with name, real_time, cpu_time, time_unit, iterations), one
  entry per peer and case in order iopt, peers, thread counts in the names of
  --threads runs;
  --json lines parse and carry peer/case/ns_per_op/ops;
  --ratio prints one ratio per peer, and without peers exits 2 saying how to
  get them; bad --threads and --instr values are refused;
  --instr adds instr_per_op (positive) to every line and instr_ratio (iopt's
  over the peer's) to every ratio, in json and gbench; where neither a perf
  counter nor callgrind is there it exits 2 saying why.
Exit 0 when all hold; prints what failed otherwise.
"""
import json
import subprocess
import sys

bench, peers, callgrind = sys.argv[1], sys.argv[2], sys.argv[3] == "callgrind"
failed = []


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what)
    if not ok:
        failed.append(what)


def run(*args):
    return subprocess.run([bench, *args], capture_output=True, text=True, timeout=900)


want_peers = ["iopt"] + [p for p in peers.split(",") if p]
has_peers = len(want_peers) > 1

r = run("--format=gbench", "--reps", "1", "iova.rbtree_worstcase")
check(r.returncode == 0, "gbench run exits 0")
doc = json.loads(r.stdout)
ctx = doc.get("context", {})
check(all(k in ctx for k in ("date", "host_name", "num_cpus", "library_build_type")),
      "gbench context has date, host_name, num_cpus, library_build_type")
names = [b["name"] for b in doc["benchmarks"]]
check(names == ["iova.rbtree_worstcase/" + p for p in want_peers],
      "gbench names are case/peer for %s (got %s)" % (want_peers, names))
for b in doc["benchmarks"]:
    check(isinstance(b["real_time"], float) and b["real_time"] > 0 and
          b["cpu_time"] == b["real_time"] and b["time_unit"] == "ns" and
          isinstance(b["iterations"], int) and b["iterations"] == 200 and
          "instr_per_op" not in b,
          "gbench entry %s has positive times in ns and 200 iterations" % b["name"])

r = run("--format=gbench", "--reps", "1", "--threads", "1,2", "iova.threads_ring512")
doc = json.loads(r.stdout)
got = sorted((b["name"], b["threads"]) for b in doc["benchmarks"])
exp = sorted(("iova.threads_ring512/threads:%d/%s" % (t, p), t) for t in (1, 2)
             for p in want_peers)
check(got == exp, "--threads 1,2 runs only the scaling case once per count and peer")

r = run("--json", "--reps", "1", "iova.rbtree_worstcase")
lines = [json.loads(l) for l in r.stdout.splitlines()]
check([l["peer"] for l in lines] == want_peers and
      all(set(l) == {"peer", "case", "ns_per_op", "ops"} for l in lines),
      "--json prints one line per peer with peer, case, ns_per_op, ops")

# A case whose ratio prints above 0 at 4 decimals (rbtree_worstcase's is ~4e-5).
r = run("--json", "--ratio", "--reps", "2", "iova.cached_pair")
if has_peers:
    rat = [json.loads(l) for l in r.stdout.splitlines() if '"ratio"' in l]
    check(r.returncode == 0 and [x["ratio"] for x in rat] == ["iopt/" + p for p in want_peers[1:]]
          and all(x["case"] == "iova.cached_pair" and 0 < x["min"] <= x["max"] and
                  x["median"] > 0 and "instr_ratio" not in x for x in rat),
          "--ratio prints one ratio line per peer with 0 < min <= max")
else:
    check(r.returncode == 2 and "apt-get install linux-source-6.1" in r.stderr and
          r.stdout == "", "--ratio without peers exits 2 and says how to get them")

for bad in ("0", "65", "1,x", ""):
    r = run("--threads", bad, "iova.threads_ring512")
    check(r.returncode == 2 and "--threads" in r.stderr, "--threads %r is refused" % bad)
r = run("--instr=cycles", "iova.cached_pair")
check(r.returncode == 2 and "usage" in r.stderr, "--instr=cycles is refused")

# --instr: a perf counter where the machine has one, else callgrind.
perf = run("--instr=perf", "--json", "--reps", "1", "iova.cached_pair")
if perf.returncode == 2:
    check("no instruction counter" in perf.stderr, "--instr=perf without a counter says so")
args = ["--instr", "--json", "--reps", "2"] + (["--ratio"] if has_peers else []) + \
    ["iova.cached_pair", "dma.map_unmap_4k_lazy_threads2"]
r = run(*args)
if perf.returncode != 0 and not callgrind:
    check(r.returncode == 2 and "callgrind" in r.stderr and "apt-get install valgrind" in r.stderr,
          "--instr without perf or callgrind exits 2 saying why")
else:
    lines = [json.loads(l) for l in r.stdout.splitlines()]
    runs = [l for l in lines if "peer" in l]
    ok = r.returncode == 0 and len(runs) == 2 * len(want_peers) and \
        all(isinstance(l.get("instr_per_op"), float) and l["instr_per_op"] > 0 for l in runs)
    check(ok, "--instr: every line has a positive instr_per_op" +
          ("" if ok else " (stderr: %s)" % r.stderr.strip()[-300:]))
    ins = {(l["case"], l["peer"]): l["instr_per_op"] for l in runs}
    for x in (l for l in lines if "ratio" in l):
        want = ins[(x["case"], "iopt")] / ins[(x["case"], x["ratio"][5:])]
        check(abs(x["instr_ratio"] - want) <= 1e-3 * want,
              "--instr --ratio: %s %s instr_ratio is iopt's over the peer's" %
              (x["case"], x["ratio"]))
    r = run("--instr", "--format=gbench", "--reps", "1", "iova.cached_pair")
    doc = json.loads(r.stdout)
    check(len(doc["benchmarks"]) == len(want_peers) and
          all(b["instr_per_op"] > 0 for b in doc["benchmarks"]),
          "--instr --format=gbench: every entry has instr_per_op")

sys.exit(1 if failed else 0)
