"""The canary's state between looks, in DIR/_canary/, consistent after a crash at any point.

    labeled-<look>-<random>.parquet   the labeled rows of every look so far (a new file each look, never rewritten)
    looks.json                        the look history, the mode, and the name of the labeled file that goes
                                      with it: the manifest, written last (atomically), so it is the commit

A look writes its labeled file first, then the manifest naming it, then removes the files no manifest names.
A crash before the manifest leaves the previous look's pair as it was (the new file is a leftover, removed by
the next look); a crash after it leaves a complete new pair. State written before the manifest existed
(labeled.parquet beside a looks.json without "labeled") is read as it was and replaced at the next look.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pandas as pd

from constraints.errors import UnreadableInput
from jobs.io import json_text, write_file, write_parquet

STATE = "_canary"
MANIFEST = "looks.json"
LEGACY = "labeled.parquet"


def read_state(root: Path, columns: list[str]) -> tuple[pd.DataFrame, list[dict], str | None]:
    """The labeled rows of earlier looks, the look history and the canary's mode (None before the first look)."""
    folder = root / STATE
    labeled, looks, mode = pd.DataFrame(columns=columns), [], None
    try:
        if (folder / MANIFEST).exists():
            state = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
            looks, mode = state["looks"], state["mode"]
            name = state.get("labeled", LEGACY if (folder / LEGACY).exists() else None)
            if name is not None:
                labeled = pd.read_parquet(folder / name)
    except Exception as exc:
        raise UnreadableInput(f"The canary's state in {folder} is unreadable: {type(exc).__name__}: {exc}",
                              f"restore it, or remove {folder} to start the canary's looks afresh") from None
    return labeled, looks, mode


def write_state(root: Path, labeled: pd.DataFrame, looks: list[dict], mode: str) -> Path:
    """Commit a look's state (see the module's docstring); returns the labeled file now in use."""
    folder = root / STATE
    name = f"labeled-{len(looks):04d}-{uuid.uuid4().hex[:8]}.parquet"
    write_parquet(labeled, folder / name)
    write_file(folder / MANIFEST, json_text({"mode": mode, "looks": looks, "labeled": name}))
    for old in [*folder.glob("labeled-*.parquet"), folder / LEGACY]:
        if old.name != name:
            old.unlink(missing_ok=True)
    return folder / name


def labeled_file(root: Path) -> Path | None:
    """The labeled rows' file the manifest names (None before the first look)."""
    manifest = root / STATE / MANIFEST
    if not manifest.exists():
        return None
    return root / STATE / json.loads(manifest.read_text(encoding="utf-8")).get("labeled", LEGACY)
