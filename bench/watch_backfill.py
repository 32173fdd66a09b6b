"""Sample a running `dqloop validate` backfill: partitions done, driver memory, CPU seconds of its process tree.

    .venv/bin/python bench/watch_backfill.py PID OUTPUT_DIR [--every 30]

PID is the dqloop driver process (the one stress_bench.py starts); OUTPUT_DIR its --output. Every --every
seconds one line: seconds since the start, partition folders written, the driver Python's resident and peak
MiB, the JVM's resident MiB, and the CPU seconds of the driver, the JVM and the JVM's Python workers
(user + system): CPU seconds per partition do not depend on how loaded the machine is, wall seconds do.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

TICK = os.sysconf("SC_CLK_TCK")
PAGE = os.sysconf("SC_PAGE_SIZE")


def tree(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += parents.get(p, [])
    return out


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / TICK   # own + reaped children


def status(pid: int) -> dict[str, str]:
    try:
        return dict(line.split(":", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":" in line)
    except OSError:
        return {}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("pid", type=int)
    p.add_argument("output", type=Path)
    p.add_argument("--every", type=float, default=30.0)
    args = p.parse_args()
    start = time.time()
    while Path(f"/proc/{args.pid}").exists():
        pids = tree(args.pid)
        names = {q: status(q).get("Name", "").strip() for q in pids}
        driver = status(args.pid)
        jvm = sum(int(status(q).get("VmRSS", "0 kB").split()[0]) for q in pids if names[q] == "java")
        done = sum(1 for d in args.output.glob("*=*") if d.is_dir()) if args.output.is_dir() else 0
        print(f"{time.time() - start:7.0f} s  partitions {done:5d}  driver RSS "
              f"{int(driver.get('VmRSS', '0 kB').split()[0]) / 1024:6.0f} MiB  peak "
              f"{int(driver.get('VmHWM', '0 kB').split()[0]) / 1024:6.0f} MiB  JVM RSS {jvm / 1024:6.0f} MiB  "
              f"CPU {sum(cpu_seconds(q) for q in pids):8.1f} s  load {Path('/proc/loadavg').read_text().split()[0]}",
              flush=True)
        time.sleep(args.every)


if __name__ == "__main__":
    main()
