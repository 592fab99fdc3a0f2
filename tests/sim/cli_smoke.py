#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""iopt-sim end to end (TAP): every scenario in strict and lazy mode with a
small --ops must run clean (exit 0, valid --json, no rejected event, zero
oracle violations, the workload's traffic visible in the counters); trace
replay of both formats; malformed traces and bad usage give exit 2 with a
line-numbered message; a single-threaded strict run is reproducible; the
hardware options (--no-ril, --hw-caps, --tlb-whole-runs) reach the run.

usage: cli_smoke.py BUILD/sim/iopt-sim
"""
import json
import os
import subprocess
import sys
import tempfile

SIM = sys.argv[1]
SCENARIOS = ["nic", "nvme", "vm", "sva", "nested"]
n = 0
failed = 0


def check(ok, what):
    global n, failed
    n += 1
    print(("ok %d - %s" if ok else "not ok %d - %s") % (n, what))
    if not ok:
        failed += 1
    return ok


def run(*args):
    p = subprocess.run([SIM, *args], capture_output=True, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def run_json(*args, validate=False):
    rc, out, err = run(*args, "--json")
    if validate:
        # The stock validator too, not only json.loads (once: it is slow to start).
        tool = subprocess.run([sys.executable, "-m", "json.tool"], input=out, capture_output=True,
                              text=True)
        check(tool.returncode == 0, "json.tool accepts the output of %s" % " ".join(args))
    try:
        doc = json.loads(out)
    except ValueError:
        print("# not JSON: %r %r" % (out[:200], err[:200]))
        doc = {"runs": [], "violations": -1}
    return rc, doc, err


def clean(doc, what):
    """Exit 0 was checked by the caller; every run rejected nothing and saw no violation."""
    ok = doc.get("violations") == 0 and all(
        r["rejected"] == 0 and r["stats"]["violations"] == 0 for r in doc["runs"])
    if not check(ok and doc["runs"], what + ": 0 violations, 0 rejected"):
        print("# %s" % json.dumps(doc)[:400])


def replay(what, path, *args, validate=False):
    """Replay a trace file; it must run clean. Return (run record, its stats)."""
    rc, doc, err = run_json(*args, path, validate=validate)
    if not check(rc == 0, what + ": exit 0"):
        print("# " + err.strip().replace("\n", "\n# "))
    clean(doc, what)
    r = doc["runs"][0] if doc["runs"] else {"events": -1, "stats": {}}
    return r, r["stats"]


for scn in SCENARIOS:
    for mode in ("strict", "lazy"):
        what = "%s %s" % (scn, mode)
        rc, doc, err = run_json("--scenario", scn, "--mode", mode, "--ops", "300", "--seed", "7")
        if not check(rc == 0, what + ": exit 0"):
            print("# " + err.strip().replace("\n", "\n# "))
        clean(doc, what)
        r = doc["runs"][0] if doc["runs"] else {"stats": {}, "ops": 0, "mode": ""}
        st = r["stats"]
        check(r["ops"] == 300 and r["mode"] == mode, what + ": ops and mode reported")
        check(st.get("dmas", 0) > 0, what + ": DMAs translated")
        if scn in ("nic", "nvme", "nested"):
            check(st.get("maps", 0) > 0 and st.get("unmaps", 0) > 0, what + ": maps and unmaps")
        if scn == "sva":
            check(st.get("pri_requests", 0) > 0 and st.get("pri_success", 0) > 0 and
                  st.get("pri_invalid", 0) > 0,
                  what + ": page requests raised, served, stray ones refused")
        if scn == "nested":
            check("/" in r.get("format", ""), what + ": nested format pair reported")

# The tour with a tiny op count: every run, one document, one total.
rc, doc, err = run_json("--tour", "--ops", "100", validate=True)
check(rc == 0, "tour: exit 0")
clean(doc, "tour")
check(len(doc["runs"]) == 22, "tour: 22 runs")
noril = [r for r in doc["runs"] if r.get("hw", {}).get("smmu_idr3") == "0x1004"]
check(sorted((r["workload"], r["format"], r["mode"]) for r in noril) ==
      [("nvme", "lpae_s1", "lazy"), ("nvme", "lpae_s1", "strict"),
       ("vm", "lpae_s2", "lazy"), ("vm", "lpae_s2", "strict")],
      "tour: nvme and vm also on an SMMU without RIL (IDR3 0x1004)")
check(doc["violations"] == sum(r["stats"]["violations"] for r in doc["runs"]),
      "tour: top-level violations is the total")
check({r["workload"] for r in doc["runs"]} == set(SCENARIOS), "tour: every scenario")
rc, out, err = run("--tour", "--ops", "50", "--mode", "strict")
check(rc == 0 and "0 violations" in out.splitlines()[-1], "tour table ends with the violation count")

# The IOMMU's registers: QEMU 7.2's by default, --no-ril and --hw-caps change them.
runs = run_json("--scenario", "nic", "--ops", "100")[1]["runs"]
check(runs and runs[0]["hw"] == {"vtd_cap": "0xd2008c222f0606", "vtd_ecap": "0xf00f4a"},
      "vtd_ss: QEMU 7.2 CAP (48-bit SAGAW/MGAW) and legacy ECAP")
runs = run_json("--scenario", "nic", "--format", "amd_v1", "--ops", "100")[1]["runs"]
check(runs and runs[0]["hw"] == {"amd_efr": "0x29d3"}, "amd_v1: QEMU 7.2 EFR")
rc, doc, err = run_json("--scenario", "vm", "--format", "lpae_s2", "--ops", "3000", "--no-ril")
r = doc["runs"][0] if doc["runs"] else {"hw": {}, "stats": {}}
check(rc == 0 and r["hw"] == {"smmu_idr0": "0xd40101b", "smmu_idr3": "0x1004", "smmu_idr5": "0x74"},
      "--no-ril: IDR3.RIL cleared; stage 2 adds IDR0.S2P")
clean(doc, "vm lpae_s2 --no-ril")
check(r["stats"].get("cmds_range", 0) > r["stats"].get("cmds_sync", 0),
      "--no-ril: 32M balloons take one command per 2M block")
rc, doc, err = run_json("--scenario", "nvme", "--format", "lpae_s1", "--ops", "300",
                        "--hw-caps", "smmu-idr3=0,smmu-idr0=0x0d40101a")
clean(doc, "nvme lpae_s1 --hw-caps smmu-idr3=0")
check(rc == 0 and doc["runs"] and doc["runs"][0]["hw"]["smmu_idr3"] == "0x0",
      "--hw-caps sets the registers")
whole = run_json("--scenario", "vm", "--format", "lpae_s2", "--ops", "3000", "--tlb-whole-runs")[1]
clean(whole, "vm lpae_s2 --tlb-whole-runs")
split = run_json("--scenario", "vm", "--format", "lpae_s2", "--ops", "3000")[1]
hits = [d["runs"][0]["stats"]["iotlb_hits"] if d["runs"] else -1 for d in (whole, split)]
check(whole["runs"] and whole["runs"][0]["tlb_whole_runs"] and hits[0] > hits[1],
      "--tlb-whole-runs: a 32M run is one IOTLB entry (more hits than one per descriptor)")

# Reproducible: a single-threaded strict run, twice, same counters.
COUNTERS = ("maps", "unmaps", "dmas", "iotlb_hits", "iotlb_misses", "walk_reads", "cmds_range",
            "cmds_scope", "cmds_sync", "flushes")
a = run_json("--scenario", "nvme", "--ops", "200", "--seed", "3")[1]["runs"]
b = run_json("--scenario", "nvme", "--ops", "200", "--seed", "3")[1]["runs"]
check(a and b and all(a[0]["stats"][k] == b[0]["stats"][k] for k in COUNTERS),
      "same seed: same counters")

with tempfile.TemporaryDirectory() as tmp:
    own = os.path.join(tmp, "own.trace")
    with open(own, "w") as f:
        f.write("# two DMA-API buffers and a raw IOMMU-API mapping\r\n"
                "map 1 0x100000 8192 rw\n"
                "map_sg 2 0x200000:4K,0x300000:4K r cpu=1\n"
                "dma 1 0 8192 w\n"
                "dma 2 4096 4096 r\n"
                "unmap 1\n"
                "unmap 2 cpu=1\n"
                "map_at 0x40000000 0x400000 2M rw\n"
                "dma_at 0x40001000 64 w dev=1\n"
                "unmap_at 0x40000000 2M\n")
    r, st = replay("own trace", own, "--trace", validate=True)
    check(r["events"] == 9 and st.get("dmas") == 3, "own trace: 9 events, 3 DMAs")

    ft = os.path.join(tmp, "ftrace.txt")
    with open(ft, "w") as f:
        f.write("# tracer: nop\n"
                "  kworker/0:1-123 [001] ..... 10.000001: map: IOMMU: iova=0x00000000fffff000 - "
                "0x0000000100000000 paddr=0x0000000000123000 size=4096\n"
                "  kworker/0:1-123 [001] ..... 10.000002: sched_switch: prev_comm=x\n"
                "  kworker/0:1-123 [001] ..... 10.000003: unmap: IOMMU: iova=0x00000000fffff000 - "
                "0x0000000100000000 size=4096 unmapped_size=4096\n")
    r, st = replay("ftrace", ft, "--ftrace-dma", "--ftrace")
    check(r["events"] == 4 and st.get("dmas") == 2, "ftrace: map, unmap and two synthetic DMAs")
    check(st.get("faults_not_present", 0) >= 1, "ftrace: the read after unmap faults")

    bad = os.path.join(tmp, "bad.trace")
    with open(bad, "w") as f:
        f.write("map 1 0x1000 4096 rw\n\nmap 2 0x2000 4096 rx\nunmap 1\n")
    rc, out, err = run("--trace", bad)
    check(rc == 2 and "trace:3: PROT" in err, "malformed trace: exit 2, names line 3")
    with open(bad, "w") as f:
        f.write("x-1 [000] 1.0: map: IOMMU: iova=0x1000 size=4096\n")
    rc, out, err = run("--ftrace", bad)
    check(rc == 2 and "trace:1: map: missing paddr=" in err, "malformed ftrace: exit 2, names line 1")
    with open(bad, "w") as f:
        f.write("nothing to see\n")
    rc, out, err = run("--ftrace", bad)
    check(rc == 2 and "no iommu map/unmap events" in err, "ftrace without events: exit 2")
    rc, out, err = run("--trace", os.path.join(tmp, "missing"))
    check(rc == 2 and "missing" in err, "unreadable trace: exit 2")

    # --dump writes a trace whose replay is the same run (one thread, strict).
    dumped = os.path.join(tmp, "dump.trace")
    rc, out, err = run("--scenario", "nvme", "--ops", "100", "--dump")
    with open(dumped, "w") as f:
        f.write(out)
    r, st = replay("dumped nvme trace", dumped, "--trace")
    direct = run_json("--scenario", "nvme", "--ops", "100")[1]["runs"]
    check(rc == 0 and direct and r["events"] == direct[0]["events"] and
          all(st.get(k) == direct[0]["stats"][k] for k in COUNTERS),
          "--dump output replays to the same counters as the scenario")

    # A VFIO-style trace on nested tables: stage 2 covers the trace's RAM.
    rc, out, err = run("--scenario", "vm", "--ops", "200", "--dump")
    vmtrace = os.path.join(tmp, "vm.trace")
    with open(vmtrace, "w") as f:
        f.write(out)
    r, st = replay("vm trace on x86_64/vtd_ss", vmtrace, "--format", "x86_64/vtd_ss", "--trace")
    check(st.get("dmas") == 200, "vm trace on nested tables: every DMA translated")

for args in (["--bogus"], ["--scenario", "nope"], ["--format", "x86_32"], ["--mode", "eager"],
             ["--ops", "0"], ["--iotlb-entries", "x"], ["--tour", "--scenario", "nic"],
             ["--ftrace-dma"], ["extra"], ["--phys-mem", "1G"], ["--trace", "x", "--phys-mem", "1"],
             ["--no-ril"], ["--scenario", "nic", "--format", "amd_v1", "--no-ril"],
             ["--hw-caps", "vtd-cap"], ["--hw-caps", "nope=1"], ["--hw-caps", "smmu-idr3=0x100000000"],
             ["--hw-caps", ""]):
    rc, out, err = run(*args)
    check(rc == 2 and err, "usage error exits 2: %s" % " ".join(args))
rc, out, err = run("--help")
check(rc == 0 and "--scenario" in out, "--help")

print("1..%d" % n)
sys.exit(1 if failed else 0)
