"""dqloop report: an index over all validated partitions under a root, from the metrics history.

    dqloop report --output-root DIR [--metrics-repo DIR] [--prometheus-textfile FILE]

Writes DIR/index.html: a timeline across partitions (rows, violations, labeled accuracy with its
interval when labels exist, the checks across features, drift distance and completeness per feature)
linking each partition's DIR/<partition>/report.html. The history is DIR/_metrics unless --metrics-repo names another
folder; it includes the labeling loop's <partition>.labels.json files. --prometheus-textfile also
writes the history's latest metrics of every partition (labeled accuracy included) in Prometheus's
text format. No Spark session is started.

Exit status: 0 written; 2 usage error (no such root, no history); 3 a history file unreadable (the
index is still written from the others, and the file is named on stderr).
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlparse


from constraints.errors import UsageError
from constraints.errors import EXIT_OK, EXIT_RUNTIME
from dqloop.options import IndexOptions
from dqloop.results import Index
from jobs.history import default_repository, load_history
from jobs.io import write_file
from jobs.render import exposition, history_samples, index_page


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--output-root", required=True, metavar="DIR", help="the --output folder of `dqloop validate`")
    p.add_argument("--metrics-repo", metavar="DIR", help="metrics history folder (default: DIR/_metrics)")
    p.add_argument("--index", metavar="FILE", help="where the index goes (default: DIR/index.html)")
    p.add_argument("--prometheus-textfile", metavar="FILE",
                   help="also write every partition's latest metrics in Prometheus text format (e.g. into "
                        "node_exporter's textfile-collector folder as dqloop.prom)")
    p.add_argument("--title", default="dqloop: partitions", help="the index page's title")


def report_links(root: Path, partitions: list[str], index_dir: Path) -> dict[str, str]:
    """partition -> relative href of its report.html, for the reports that exist."""
    links = {}
    for p in partitions:
        target = root / p / "report.html"
        if target.is_file():
            rel = Path(*([".."] * len(index_dir.relative_to(root).parts))) / p / "report.html" \
                if index_dir.is_relative_to(root) else target.resolve()
            links[p] = quote(rel.as_posix(), safe="/") if not rel.is_absolute() else rel.as_uri()
    return links


def local_folder(uri: str) -> Path:
    """The index is built from a local copy of the output root (the history is many small files)."""
    parsed = urlparse(uri)
    if parsed.scheme not in ("", "file"):
        raise UsageError(f"{uri} is not a local path; `dqloop report` reads and writes local folders.",
                         "copy the validate output root (with its _metrics folder) to a local folder first")
    return Path(parsed.path if parsed.scheme else uri)


@dataclass(frozen=True, kw_only=True)
class Request(IndexOptions):
    """One index build: the options and the validate output root (the body reads them by flag name)."""
    output_root: str
    cli: argparse.Namespace | None = field(default=None, repr=False, compare=False)


def run(args: argparse.Namespace) -> int:
    return EXIT_RUNTIME if execute(Request.from_args(args)).problems else EXIT_OK


def execute(args: Request) -> Index:
    """Write the index page (dqloop.build_index and the command line); unreadable history files are named
    on stderr and in the result."""
    root = local_folder(args.output_root)
    if not root.is_dir():
        raise UsageError(f"--output-root {args.output_root} is not a folder.",
                         "point it at the --output folder of `dqloop validate`")
    repo = local_folder(args.metrics_repo or default_repository(root))
    if not repo.is_dir() or not any(repo.glob("*.json")):
        raise UsageError(f"No metrics history in {repo}.",
                         "validate partitions first (`dqloop validate`), or pass --metrics-repo DIR")
    history, problems = load_history(repo)
    index = local_folder(args.index) if args.index else root / "index.html"
    partitions = sorted(set(history.partition))
    write_file(index, index_page(history, report_links(root.resolve(), partitions, index.parent.resolve()), args.title))
    if args.prometheus_textfile:
        samples = []
        for p in partitions:
            rows = history[history.partition == p]
            samples += history_samples(p, rows.to_dict("records"))
        write_file(args.prometheus_textfile, exposition(samples))
    print(f"index: {index} ({len(partitions)} partitions)")
    for problem in problems:
        print(f"dqloop report: error: unreadable metrics history file skipped: {problem}\n"
              f"  fix: validate that partition again to rewrite it, or remove the file", file=sys.stderr)
    return Index(str(index), history, tuple(problems))


def main(argv: list[str] | None = None) -> int:
    from jobs.cli import main as cli_main
    return cli_main(["report", *(sys.argv[1:] if argv is None else argv)])


if __name__ == "__main__":
    sys.exit(main())
