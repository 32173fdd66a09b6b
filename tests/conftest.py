"""One local Spark session for the whole test run: local[2], UI off, 127.0.0.1, real Deequ jar.

The session comes from jobs.session.build_session, so tests go through the same spark-conf/
and jar resolution as the `dqloop` command.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@pytest.fixture(scope="session")
def spark():
    from constraints.deequ import shutdown_callback_server
    from jobs.session import build_session

    session = build_session("dqloop-tests", "local[2]")
    session.conf.set("spark.sql.shuffle.partitions", "4")
    yield session
    shutdown_callback_server(session)
    session.stop()


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    """A standalone Spark cluster on 127.0.0.1 (scripts/cluster: a master and two one-core workers), one for the
    run's cluster tests: (master URL, its folder); stopped, by the PIDs it recorded, even when a test fails."""
    folder = tmp_path_factory.mktemp("cluster")
    script = str(REPO / "scripts" / "cluster")
    try:
        start = subprocess.run([script, "start", "--dir", str(folder)], capture_output=True, text=True, timeout=300)
        assert start.returncode == 0, start.stderr
        yield start.stdout.strip(), folder
    finally:
        subprocess.run([script, "stop", "--dir", str(folder)], capture_output=True, text=True, timeout=120)


def run_dqloop(*args: str, env: dict | None = None, timeout: int = 300) -> subprocess.CompletedProcess:
    """Run the real `dqloop` command in a fresh process (its own JVM)."""
    return subprocess.run([str(REPO / ".venv" / "bin" / "dqloop"), *args], capture_output=True, text=True,
                          timeout=timeout, cwd=REPO, env={**os.environ, **(env or {})})


CHROMIUM = os.environ.get("DQLOOP_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():
    """Debian's headless Chromium driven by Playwright (no browser download)."""
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/setup (installs Debian's chromium as root), "
                    "or set DQLOOP_CHROMIUM to a Chromium binary")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM)
        yield b
        b.close()


class Watched:
    """A page with everything a person would not see recorded: console messages, page errors,
    requests, dialogs."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.console, self.errors, self.requests, self.dialogs = [], [], [], []
        self.page.on("console", lambda m: self.console.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("request", lambda r: self.requests.append(r.url))

        def dialog(d):
            self.dialogs.append(d.message)
            d.dismiss()

        self.page.on("dialog", dialog)

    def quiet(self, allowed: set[str]) -> None:
        """No console error or warning, page error or dialog; no request but to `allowed`."""
        assert [m for m in self.console if m[0] in ("error", "warning")] == []
        assert self.errors == [] and self.dialogs == []
        assert set(self.requests) <= allowed, set(self.requests) - allowed

    def close(self):
        self.context.close()


@contextlib.contextmanager
def label_studio_server(home: Path):
    """A real Label Studio server started by `dqloop label server start` in `home`, with a fresh token; stopped
    at the end. Yields the started command's output and the server's env, URL, token, home and PID."""
    token = secrets.token_hex(20)
    env = {"DQLOOP_LABEL_STUDIO_HOME": str(home), "LABEL_STUDIO_API_KEY": token}
    started = run_dqloop("label", "server", "start", env=env, timeout=400)
    assert started.returncode == 0, started.stderr
    info = json.loads((home / "server.json").read_text())
    env = {**env, "LABEL_STUDIO_URL": info["url"]}
    server = {"env": env, "url": info["url"], "token": token, "home": home, "pid": info["pid"], "started": started}
    yield server
    server["stopped"] = run_dqloop("label", "server", "stop", env=env)
    assert server["stopped"].returncode == 0
