"""Runner for the pandas tools: Evidently's data drift preset (venv bench/_envs/evidently) and whylogs
profiling (venv bench/_envs/whylogs).

    bench/_envs/evidently/bin/python bench/peers/run_pandas_tools.py --only evidently --data D --train T --warmup W --out R.json
    bench/_envs/whylogs/bin/python   bench/peers/run_pandas_tools.py --only whylogs   --data D --warmup W --out R.json

Timed: reading --data into pandas (pyarrow) and the tool's work, reported separately ("read" in the
detail; the figure includes it, as the Spark tools' figures include their read). Evidently compares
--data (current) with --train (reference, read untimed) over every column but the id (dqloop gives
identifiers no drift check either); whylogs profiles every column of --data (why.log).
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import Timer, arguments, versions, write  # noqa: E402


def main() -> None:
    args = arguments()
    import pandas as pd

    if args.only == "evidently":
        from evidently import Report
        from evidently.presets import DataDriftPreset

        reference = pd.read_parquet(args.train).drop(columns=["id"])

        def tool(frame):
            snapshot = Report([DataDriftPreset()]).run(current_data=frame.drop(columns=["id"]),
                                                      reference_data=reference)
            d = snapshot.dict()
            drifted = [m for m in d.get("metrics", []) if "DriftedColumnsCount" in str(m.get("metric_id", ""))]
            return {"metrics": len(d.get("metrics", [])), "drifted": drifted[0].get("value") if drifted else None}
        names = ("evidently", "pandas", "numpy", "scipy", "pyarrow")
    elif args.only == "whylogs":
        import whylogs as why

        def tool(frame):
            view = why.log(pandas=frame).view()
            return {"columns": len(view.get_columns())}
        names = ("whylogs", "pandas", "numpy", "pyarrow")
    else:
        raise SystemExit(f"unknown --only {args.only}")

    def work(path):
        t = time.perf_counter()
        frame = pd.read_parquet(path)
        read = time.perf_counter() - t
        return {"read_s": round(read, 2), "rows": len(frame), **tool(frame)}

    work(args.warmup)
    with Timer() as t:
        detail = work(args.data)
    write(args.out, [{"name": args.only, **t.result, "detail": detail}], versions(*names))


if __name__ == "__main__":
    main()
