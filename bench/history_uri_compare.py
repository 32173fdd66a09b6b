"""A metrics history on a Hadoop URI read a file at a time over Py4J vs by one Spark job (wholeTextFiles).

    .venv/bin/python bench/history_uri_compare.py

1,000 partitions as bench/history_study.py writes them (2,100 files), read through a file:// URI, the two
ways alternated twice in one session; figures in bench/RESULTS.md (Metrics repository: notes).
"""

import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from baseline_bench import jvm_cpu  # noqa: E402
from history_study import write_history  # noqa: E402
from jobs import hadoop_fs  # noqa: E402
from jobs.history import MetricsRepository  # noqa: E402
from jobs.session import build_session  # noqa: E402


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        repo = Path(tmp) / "_metrics"
        write_history(repo, 1000)
        spark = build_session("uri-cmp", "local[2]")
        uri = MetricsRepository(f"file://{repo}")
        uri.load()  # warm
        for few in (10**9, 50, 10**9, 50):
            hadoop_fs.FEW_FILES = few
            j0, c0, t0 = jvm_cpu(spark), time.process_time(), time.perf_counter()
            t, _ = uri.load()
            print(f"{'per file' if few > 50 else 'one job (wholeTextFiles)'}: {len(t)} rows, wall {time.perf_counter()-t0:.2f} s, "
                  f"python CPU {time.process_time()-c0:.2f} s, JVM CPU {jvm_cpu(spark)-j0:.2f} s", flush=True)
        spark.stop()


if __name__ == "__main__":
    main()
