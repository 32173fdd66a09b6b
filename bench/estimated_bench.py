"""What label-free quality estimation adds to `dqloop validate`: whole processes, with and without a model reference.

    .venv/bin/python bench/estimated_bench.py --rows 10000000 [--repeat 5]

One baseline (`dqloop baseline`) from the 200,000-row training table of baseline_bench.py with a model reference
(200,000 rows of jobs.sample_data.make_frame with a target drawn from its score, so the score is calibrated);
the same folder without model_reference.json is the plain baseline. Then, per table size and repeat, one
`dqloop validate` process against each (their order alternating), each watched from outside: wall time, CPU
seconds of its process tree (driver Python, JVM, Python workers) and the peak load average. The ratio
with / without is taken within each pair (the two runs minutes apart), and the table gives every pair's
ratios, their median and range. Writes its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from baseline_bench import environment, table_path, write_section  # noqa: E402
from peers_bench import watch  # noqa: E402

from jobs.sample_data import make_frame  # noqa: E402

SECTION = "## Label-free quality estimation: added cost in validate (bench/estimated_bench.py)"
DQLOOP = str(REPO / ".venv" / "bin" / "dqloop")


def run(argv: list[str], log: Path) -> dict:
    t0 = time.perf_counter()
    load0 = os.getloadavg()[0]
    with open(log, "w") as f:
        proc = subprocess.Popen(argv, cwd=REPO, stdout=f, stderr=subprocess.STDOUT)
        _, cpu, load = watch(proc)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}): see {log}")
    return {"wall": wall, "cpu": cpu, "load": max(load, load0)}


def baselines(data_dir: Path, out: Path) -> tuple[Path, Path]:
    ref_path = data_dir / "reference-200000.parquet"
    data_dir.mkdir(parents=True, exist_ok=True)
    if not ref_path.exists():
        ref = make_frame(200_000, seed=77)
        ref["churned"] = np.where(np.random.default_rng(78).random(len(ref)) < ref["score"], "churn", "stay")
        ref.to_parquet(ref_path, index=False)
    with_ref, plain = out / "baseline-reference", out / "baseline-plain"
    if not (with_ref / "model_reference.json").exists():
        out.mkdir(parents=True, exist_ok=True)
        run([DQLOOP, "baseline", "--input", str(table_path(data_dir, 200_000)), "--output", str(with_ref),
             "--predictions", "score,predicted_label", "--target", "churned", "--reference", str(ref_path),
             "--prediction-column", "predicted_label", "--score-column", "score", "--positive-label", "churn"],
            out / "baseline.log")
    shutil.rmtree(plain, ignore_errors=True)
    shutil.copytree(with_ref, plain)
    (plain / "model_reference.json").unlink()
    return with_ref, plain


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rows", type=int, nargs="+", default=[10_000_000])
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--data-dir", type=Path, default=REPO / "bench" / "_data")
    args = p.parse_args()
    start = time.perf_counter()
    env = environment()
    out = REPO / "bench" / "_out" / "estimated"
    with_ref, plain = baselines(args.data_dir, out)
    lines = ["| table | pair | order | validate s (CPU s), no reference | with reference | wall ratio | CPU ratio "
             "| peak load |", "|---|---:|---|---:|---:|---:|---:|---:|"]
    summary = []
    for rows in args.rows:
        table = table_path(args.data_dir, rows)
        pairs = []
        for r in range(args.repeat):
            order = [("plain", plain), ("reference", with_ref)]
            if r % 2:
                order.reverse()
            got = {}
            for name, base in order:
                target = out / f"validate-{name}"
                shutil.rmtree(target, ignore_errors=True)
                got[name] = run([DQLOOP, "validate", "--baseline", str(base), "--input", str(table), "--output",
                                 str(target), "--no-history"], out / f"validate-{name}.log")
            assert (target.parent / "validate-reference" / "model_quality_estimated.json").exists(), "no estimate"
            a, b = got["plain"], got["reference"]
            pair = {"wall": b["wall"] / a["wall"], "cpu": b["cpu"] / a["cpu"], "load": max(a["load"], b["load"])}
            pairs.append(pair)
            lines.append(f"| {rows:,} rows x 20 columns | {r + 1} | {' then '.join(n for n, _ in order)} "
                         f"| {a['wall']:.1f} ({a['cpu']:.1f}) | {b['wall']:.1f} ({b['cpu']:.1f}) "
                         f"| {pair['wall'] - 1:+.1%} | {pair['cpu'] - 1:+.1%} | {pair['load']:.1f} |")
            print(lines[-1], flush=True)
        for k in ("wall", "cpu"):
            v = [q[k] - 1 for q in pairs]
            summary.append(f"- {rows:,} rows, {k} time added by estimation: median {statistics.median(v):+.1%}, "
                           f"range {min(v):+.1%} to {max(v):+.1%} over {len(v)} pairs")
    cmd = "`.venv/bin/python bench/estimated_bench.py " + " ".join(sys.argv[1:]) + "`"
    section = "\n".join([SECTION, "", f"Command: {cmd}  ", f"Whole run {(time.perf_counter() - start) / 60:.1f} min "
                         "(data generation included). Each figure is a whole `dqloop validate --no-history` process "
                         "(JVM start included) watched from outside; CPU s: its process tree's. The machine is "
                         "shared with other engineers' jobs: the load column is the peak 1-minute load average "
                         "during the pair.", "", *env, "", *lines, "", *summary, ""])
    print("\n" + section)
    write_section(REPO / "bench" / "RESULTS.md", section)


if __name__ == "__main__":
    main()
