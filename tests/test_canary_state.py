"""The canary's state pair (labeled rows, look history) stays consistent when a look dies between writing
the two: the look history (looks.json, the manifest) is written last and names its labeled file."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from test_canary import _hour


@pytest.fixture
def looks(tmp_path):
    table = tmp_path / "predictions"
    for i, name in enumerate(("hour=01", "hour=02")):
        frame = _hour(table / name, i + 1, 1000, 0.9, 0.85, i * 1000)
        frame.sample(400, random_state=0)[["id", "truth"]].rename(columns={"truth": "label"}).to_csv(
            tmp_path / f"{name}.csv", index=False)
    return lambda name: ["canary", "--input", str(table / name), "--output-root", str(tmp_path / "canary"),
                         "--arm-column", "arm", "--labels", str(tmp_path / f"{name}.csv")]


def test_a_look_killed_between_its_two_writes_leaves_the_previous_pair(looks, tmp_path, monkeypatch):
    from jobs import canary_state, cli
    from jobs.canary import STATE_COLUMNS
    from jobs.canary_state import labeled_file, read_state

    root = tmp_path / "canary"
    assert cli.main(looks("hour=01")) in (0, 1)
    first = labeled_file(root)
    real = canary_state.write_file

    def die_before_the_manifest(path, text):
        raise KeyboardInterrupt   # the process is killed after the labeled rows are written
    monkeypatch.setattr(canary_state, "write_file", die_before_the_manifest)
    assert cli.main(looks("hour=02")) == 130
    assert len(list((root / "_canary").glob("labeled-*.parquet"))) == 2      # the new rows were written ...
    labeled, history, mode = read_state(root, STATE_COLUMNS)                   # ... but are not the state
    assert labeled_file(root) == first and [lk["partition"] for lk in history] == ["hour=01"]
    assert set(labeled["partition"]) == {"hour=01"} and len(labeled) == 400 and mode == "traffic-split"

    monkeypatch.setattr(canary_state, "write_file", real)
    assert cli.main(looks("hour=02")) in (0, 1)                               # the look run again
    doc = json.loads((root / "hour=02" / "canary.json").read_text())
    assert doc["look"] == 2 and [lk["partition"] for lk in doc["looks"]] == ["hour=01", "hour=02"]
    assert doc["accuracy"]["labeled"] == 800
    labeled, history, _ = read_state(root, STATE_COLUMNS)
    assert labeled.groupby("partition").size().to_dict() == {"hour=01": 400, "hour=02": 400}
    assert sorted(f.name for f in (root / "_canary").iterdir()) == sorted(["looks.json", labeled_file(root).name])


def test_state_written_before_the_manifest_is_read_and_replaced(looks, tmp_path):
    from jobs import cli
    from jobs.canary import STATE_COLUMNS
    from jobs.canary_state import labeled_file, read_state

    root = tmp_path / "canary"
    assert cli.main(looks("hour=01")) in (0, 1)
    folder = root / "_canary"
    labeled, history, mode = read_state(root, STATE_COLUMNS)
    labeled_file(root).rename(folder / "labeled.parquet")                    # the old pair: fixed names
    (folder / "looks.json").write_text(json.dumps({"mode": mode, "looks": history}))
    again, _, _ = read_state(root, STATE_COLUMNS)
    pd.testing.assert_frame_equal(again, labeled)
    assert cli.main(looks("hour=02")) in (0, 1)
    assert json.loads((root / "hour=02" / "canary.json").read_text())["accuracy"]["labeled"] == 800
    assert not (folder / "labeled.parquet").exists() and len(list(folder.glob("labeled-*.parquet"))) == 1


def test_an_unreadable_labeled_file_is_a_clear_error(looks, tmp_path, capsys):
    from jobs import cli
    from jobs.canary_state import labeled_file

    assert cli.main(looks("hour=01")) in (0, 1)
    labeled_file(tmp_path / "canary").write_bytes(b"PAR1 not really")
    assert cli.main(looks("hour=02")) == 3
    err = capsys.readouterr().err
    assert "canary's state" in err and "unreadable" in err and "remove" in err
