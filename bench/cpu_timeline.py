"""A whole command's CPU over time, per kind of process: which of the driver, the JVM and the Python workers
is busy when (how bench/RESULTS.md found that the pass is bound by the workers' folds).

    .venv/bin/python bench/cpu_timeline.py .venv/bin/dqloop validate --baseline B --input T --output O

Runs the command, samples /proc of its process tree every second and prints, per second, the CPU seconds
spent by the driver (the command's own process), the JVM (`java`) and the Python workers (other `python`
processes): 2.0 means two cores busy.
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from peers_bench import _tree  # noqa: E402  (the process tree, as the other benches walk it)


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        raise SystemExit(__doc__)
    proc = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    tick = os.sysconf("SC_CLK_TCK")
    last: dict[int, float] = {}
    start = time.time()
    while proc.poll() is None:
        spent = collections.Counter()
        for pid in _tree(proc.pid):
            try:
                stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                comm = Path(f"/proc/{pid}/comm").read_text().strip()
            except OSError:
                continue
            cpu = (int(stat[11]) + int(stat[12])) / tick
            kind = "JVM" if comm == "java" else "driver" if pid == proc.pid else \
                "Python workers" if comm.startswith("python") else comm
            spent[kind] += cpu - last.get(pid, 0.0)
            last[pid] = cpu
        print(f"{time.time() - start:5.1f} s  " + "  ".join(f"{k} {v:.1f}" for k, v in sorted(spent.items()) if v > 0.05),
              flush=True)
        time.sleep(1.0)
    raise SystemExit(proc.returncode)


if __name__ == "__main__":
    main()
