"""What the labeling loop costs against a real local Label Studio: push and pull through the `dqloop` command.

    .venv/bin/python bench/label_bench.py [--push 1000 10000] [--pull 10000] [--repeat 2]

A fresh server (copy of the migrated template, bench/_out/label-studio) is started once. For each push size:
`dqloop label push` of a uniform sample of that many rows of a 20,000-row partition (jobs.sample_data) into a
new project (wall time of the whole command: reading, sampling, task building, listing what is there, batched
imports of 1,000 with a prediction each), then the same push again (the de-duplicating no-op). For pull: a
project seeded with N tasks that carry an annotation each (imported with embedded annotations, untimed),
then `dqloop label pull` (export, resolution, Parquet). The table replaces its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import secrets
import statistics
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

from baseline_bench import write_section  # noqa: E402

SECTION = "## Labeling: push and pull against a local Label Studio (bench/label_bench.py)"


def dqloop(env: dict, *args: str) -> tuple[float, str]:
    t = time.perf_counter()
    r = subprocess.run([str(REPO / ".venv" / "bin" / "dqloop"), *args], capture_output=True, text=True,
                       env={**os.environ, **env})
    if r.returncode:
        raise SystemExit(f"dqloop {' '.join(args)} failed:\n{r.stderr}")
    return time.perf_counter() - t, r.stdout.strip().splitlines()[-1]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--push", type=int, nargs="+", default=[1000, 10000])
    p.add_argument("--pull", type=int, default=10000)
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args()
    import pandas as pd

    from jobs.sample_data import make_frame
    from labeling import server
    from labeling.client import Client
    from labeling.config import label_config

    out = REPO / "bench" / "_out" / "label"
    out.mkdir(parents=True, exist_ok=True)
    part = out / "partition"
    part.mkdir(exist_ok=True)
    rows = max(20000, *args.push, args.pull)
    make_frame(rows, 3).to_parquet(part / "part-0.parquet", index=False)
    home = REPO / "bench" / "_out" / "label-studio"
    server.stop(home)
    subprocess.run(["rm", "-rf", str(home)], check=True)
    token = secrets.token_hex(20)
    os.environ["LABEL_STUDIO_API_KEY"] = token
    load = os.getloadavg()[0]
    t = time.perf_counter()
    st = server.start(base=home)
    startup = time.perf_counter() - t
    env = {"LABEL_STUDIO_URL": st.url, "LABEL_STUDIO_API_KEY": token}
    results = []
    try:
        for size in args.push:
            for rep in range(args.repeat):
                project = f"push-{size}-{rep}"
                common = ("label", "push", "--input", str(part), "--project", project, "--size", str(size),
                          "--seed", str(rep), "--score-column", "score", "--show", "age,income,region,plan,country")
                first, line = dqloop(env, *common)
                again, line2 = dqloop(env, *common)
                assert f"{size} tasks added" in line and "0 tasks added" in line2, (line, line2)
                results.append(("push", size, first, again))
                print(f"push {size}: {first:.1f} s, again {again:.1f} s", flush=True)
        client = Client(st.url, token)
        me = client.check()["id"]
        frame = make_frame(args.pull, 4)
        columns = ["age", "region"]
        for rep in range(args.repeat):
            project = client.create_project(f"pull-{rep}", label_config(["churn", "stay"], columns))
            t = time.perf_counter()
            for start in range(0, args.pull, 1000):
                chunk = frame.iloc[start:start + 1000]
                tasks = [{"data": {"c0": str(r.age), "c1": r.region, "dqloop_row_id": str(r.id),
                                   "dqloop_inclusion_probability": 0.5, "dqloop_strategy": "uniform"},
                          "annotations": [{"completed_by": me, "result": [
                              {"from_name": "label", "to_name": "c0", "type": "choices",
                               "value": {"choices": [r.predicted_label]}}]}]} for r in chunk.itertuples()]
                client.sdk.projects.import_tasks(id=project.id, request=tasks, request_options={"max_retries": 0})
            seed = time.perf_counter() - t
            pulled, line = dqloop(env, "label", "pull", "--project", f"pull-{rep}", "--output", str(out / "labels.parquet"))
            assert len(pd.read_parquet(out / "labels.parquet")) == args.pull, line
            results.append(("pull", args.pull, pulled, seed))
            print(f"pull {args.pull}: {pulled:.1f} s (seeding {seed:.1f} s)", flush=True)
    finally:
        server.stop(home)
    section = report(results, startup, load)
    print(section)
    write_section(REPO / "bench" / "RESULTS.md", section)


def report(results: list, startup: float, load: float) -> str:
    mem = re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1)
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    ls_version = subprocess.run([str(REPO / ".deps" / "label-studio-venv" / "bin" / "python"), "-c",
                                 "import importlib.metadata as m; print(m.version('label-studio'))"],
                                capture_output=True, text=True).stdout.strip()
    lines = [SECTION, "",
             f"Command: `{' '.join(['.venv/bin/python', 'bench/label_bench.py', *sys.argv[1:]])}`  ",
             f"Server start from the migrated template: {startup:.1f} s",
             "",
             f"- python {platform.python_version()}, label-studio {ls_version} (own venv, SQLite, Django development "
             f"server), label-studio-sdk {version('label-studio-sdk')}, pandas {version('pandas')}, pyarrow {version('pyarrow')}",
             f"- machine: {len(os.sched_getaffinity(0))} cores (nproc), {int(mem) / 2**20:.1f} GiB memory, {cpu}; "
             f"load average at start {load:.2f}; shared with other engineers' work at the time",
             "",
             "| operation | tasks | runs (s) | median s | tasks/s |",
             "|---|---:|---|---:|---:|"]
    for kind in ("push", "push again (no-op)", "pull"):
        sizes = sorted({r[1] for r in results if r[0] == kind.split()[0]})
        for size in sizes:
            runs = [r[3] if kind.startswith("push again") else r[2] for r in results
                    if r[0] == kind.split()[0] and r[1] == size]
            med = statistics.median(runs)
            lines.append(f"| `dqloop label {kind.split()[0]}`{' again (nothing to add)' if 'again' in kind else ''} "
                         f"| {size:,} | {', '.join(f'{x:.1f}' for x in runs)} | {med:.1f} | {size / med:,.0f} |")
    seeds = [r[3] for r in results if r[0] == "pull"]
    lines += ["", "Notes:",
              "- Whole commands in a subprocess: Python start-up and imports (~2-3 s), reading the partition, "
              "sampling, building tasks, the API-key check, listing the project's row ids (the de-duplication), "
              "imports in batches of 1,000 tasks with one prediction each; pull: export of the annotated tasks, "
              "majority resolution, Parquet.",
              f"- Seeding the pull projects (import of tasks with an embedded annotation, untimed in the table): "
              f"{', '.join(f'{s:.1f}' for s in seeds)} s.",
              "- Compare rows within one run; the server is Django's single-process development server on SQLite."]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
