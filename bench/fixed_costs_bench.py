"""Whole `dqloop validate` processes of this checkout against another checkout's, run in turn (A B A B ...):
what validate's fixed costs around its pass (session, reading the schema, setting up the pass, the domain
classifier, the reports) add to a user's command, before and after a change, in one run.

    .venv/bin/python bench/fixed_costs_bench.py --vs /tmp/base --table bench/_data/shapes/numeric-2000000 \\
        --baseline bench/_out/shapes/numeric-baseline [--pairs 3] [-- extra validate arguments]

`--vs DIR` is another checkout of dqloop (e.g. `git archive <commit> | tar -x -C DIR`, with DIR/.deps linked
to this checkout's .deps); both run with this checkout's .venv, each with PYTHONPATH at its own tree. Per
run: wall seconds, and the CPU seconds of the process tree by kind (the driver, the JVM, the Python workers),
sampled every 0.2 s. CPU seconds are the figure to trust on a shared machine; wall seconds are printed beside
the load average. The medians and the median of the pairs' ratios A/B are printed last. --floor also runs,
before each pair, bench/floor_scan.py's session alone and its plain aggregation of the table (bench/shapes_bench.py's
yardstick) and prints each validate's ratio to the floor after session start, (validate - session) / (floor - session).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))

from peers_bench import _tree  # noqa: E402  (the process tree, as the other benches walk it)

TICK = os.sysconf("SC_CLK_TCK")


def _kind_cpu(root: int) -> dict[int, tuple[str, float]]:
    out = {}
    for pid in _tree(root):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            comm = Path(f"/proc/{pid}/comm").read_text().strip()
        except OSError:
            continue
        kind = "jvm" if comm == "java" else "driver" if pid == root else "workers"
        out[pid] = (kind, (int(stat[11]) + int(stat[12])) / TICK)
    return out


def run(tree: Path, argv: list[str], module: list[str] = ["-m", "jobs.cli"]) -> dict:
    """One whole process: wall seconds and CPU seconds by kind."""
    seen: dict[int, tuple[str, float]] = {}
    env = {**os.environ, "PYTHONPATH": str(tree)}
    t0 = time.perf_counter()
    with tempfile.TemporaryFile() as sink:
        proc = subprocess.Popen([str(REPO / ".venv" / "bin" / "python"), *module, *argv], cwd=tree, env=env,
                                stdout=sink, stderr=sink)
        while proc.poll() is None:
            seen.update(_kind_cpu(proc.pid))
            time.sleep(0.2)
    wall = time.perf_counter() - t0
    cpu = {"driver": 0.0, "jvm": 0.0, "workers": 0.0}
    for kind, seconds in seen.values():
        cpu[kind] += seconds
    return {"wall": wall, "rc": proc.returncode, **cpu, "cpu": sum(cpu.values()), "load": os.getloadavg()[0]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--vs", required=True, type=Path, help="the other checkout (B)")
    p.add_argument("--table", required=True)
    p.add_argument("--baseline", required=True)
    p.add_argument("--pairs", type=int, default=3)
    p.add_argument("--floor", action="store_true", help="also the floor (bench/floor_scan.py) before each pair")
    p.add_argument("extra", nargs="*", help="more validate arguments (after --)")
    a = p.parse_args()
    out = Path(tempfile.mkdtemp(prefix="fixed-costs-"))
    argv = ["validate", "--baseline", str(Path(a.baseline).resolve()), "--input", str(Path(a.table).resolve()),
            *a.extra]
    rows = {"A": [], "B": []}
    print(f"A = {REPO}, B = {a.vs}; {' '.join(argv)}", flush=True)
    floor_script = [str(REPO / "bench" / "floor_scan.py")]
    for i in range(a.pairs):
        if a.floor:
            session, floor = run(REPO, ["--session-only"], floor_script), run(REPO, [str(Path(a.table).resolve())],
                                                                               floor_script)
            print(f"session {session['wall']:5.1f} s, floor {floor['wall']:5.1f} s (cpu {floor['cpu']:5.1f} s)  "
                  f"load {floor['load']:.2f}", flush=True)
        for name, tree in (("A", REPO), ("B", a.vs.resolve())):
            r = run(tree, [*argv, "--output", str(out / f"{name}{i}")])
            if a.floor:
                r["ratio"] = (r["wall"] - session["wall"]) / (floor["wall"] - session["wall"])
            rows[name].append(r)
            print(f"{name} {i}: wall {r['wall']:5.1f} s  cpu {r['cpu']:5.1f} s (driver {r['driver']:.1f}, JVM "
                  f"{r['jvm']:.1f}, workers {r['workers']:.1f})  exit {r['rc']}  load {r['load']:.2f}"
                  + (f"  {r['ratio']:.2f}x the floor" if a.floor else ""), flush=True)
    for key in ("wall", "cpu", "driver", "jvm", "workers", *(("ratio",) if a.floor else ())):
        ma, mb = (statistics.median(r[key] for r in rows[n]) for n in ("A", "B"))
        ratio = statistics.median(x[key] / y[key] for x, y in zip(rows["A"], rows["B"]) if y[key])
        print(f"median {key:8s} A {ma:6.2f}  B {mb:6.2f}  A/B (pairs' median) {ratio:.3f}")


if __name__ == "__main__":
    main()
