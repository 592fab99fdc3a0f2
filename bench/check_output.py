#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""check_output.py BENCH PEERS: iopt-bench's machine-readable outputs hold.

PEERS is the build's -Dpeers value (none or linux61). Checks:
  --format=gbench is one Google Benchmark JSON document (context +
  benchmarks[] with name, real_time, cpu_time, time_unit, iterations), one
  entry per peer and case, thread counts in the names of --threads runs;
  --json lines parse and carry peer/case/ns_per_op/ops;
  --ratio prints ratios with peers, and without them exits 2 saying how to
  get them; bad --threads is refused.
Exit 0 when all hold; prints what failed otherwise.
"""
import json
import subprocess
import sys

bench, peers = sys.argv[1], sys.argv[2]
failed = []


def check(ok, what):
    print(("ok: " if ok else "FAILED: ") + what)
    if not ok:
        failed.append(what)


def run(*args):
    return subprocess.run([bench, *args], capture_output=True, text=True, timeout=600)


want_peers = ["iopt"] + (["linux-6.1"] if peers == "linux61" else [])

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
          isinstance(b["iterations"], int) and b["iterations"] == 200,
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
if peers == "linux61":
    rat = [json.loads(l) for l in r.stdout.splitlines() if '"ratio"' in l]
    check(r.returncode == 0 and len(rat) == 1 and rat[0]["case"] == "iova.cached_pair"
          and 0 < rat[0]["min"] <= rat[0]["max"] and rat[0]["median"] > 0,
          "--ratio prints one ratio line with 0 < min <= max")
else:
    check(r.returncode == 2 and "apt-get install linux-source-6.1" in r.stderr and
          r.stdout == "", "--ratio without peers exits 2 and says how to get them")

for bad in ("0", "65", "1,x", ""):
    r = run("--threads", bad, "iova.threads_ring512")
    check(r.returncode == 2 and "--threads" in r.stderr, "--threads %r is refused" % bad)

sys.exit(1 if failed else 0)
