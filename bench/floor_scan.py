"""The floor as a whole process: a Spark session like dqloop's, then one plain aggregation over a table.

    .venv/bin/python bench/floor_scan.py TABLE        # count(*), count and sum of every column (lengths of strings)
    .venv/bin/python bench/floor_scan.py --session-only

Prints the session start and the scan in seconds as JSON (bench/shapes_bench.py times the whole process).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench" / "peers"))

from common import floor  # noqa: E402
from jobs.session import spark_session  # noqa: E402


def main() -> None:
    t0 = time.perf_counter()
    with spark_session("bench-floor") as spark:
        started = time.perf_counter() - t0
        scan = None
        if sys.argv[1:] != ["--session-only"]:
            t1 = time.perf_counter()
            floor(spark, sys.argv[1])
            scan = time.perf_counter() - t1
    print(json.dumps({"session": started, "scan": scan}))


if __name__ == "__main__":
    main()
