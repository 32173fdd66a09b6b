"""Start, stop and inspect a local Label Studio server (the PyPI package, in its own virtual environment).

Layout of the server's home (default `<repo>/.deps/label-studio`, or DQLOOP_LABEL_STUDIO_HOME):

    data/           Label Studio's data dir (SQLite database, exports, media)
    server.json     port, URL, PID of the running server
    server.log      its output
    login           the admin's e-mail and password (mode 0600), shown by `start` so a person can log in

The server binds to 127.0.0.1 only (`--internal-host`), on a free port checked on exactly that port (Label
Studio silently moves to port+1 when the port is busy). A new data dir is copied from the migrated
template `<repo>/.deps/label-studio-template` when there is one (5-15 s instead of a minute of database
migrations); the admin user and its API token are created on that first start. The token is
LABEL_STUDIO_API_KEY when set at the first start (so you choose it and it is never shown or written by
dqloop), otherwise a random one you copy from the web UI (Account & Settings, Legacy Token) after logging in.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from constraints.errors import DqloopError, SetupError, UsageError

REPO = Path(__file__).resolve().parents[1]
OFFLINE = {"SENTRY_DSN": "", "FRONTEND_SENTRY_DSN": "", "COLLECT_ANALYTICS": "false", "LATEST_VERSION_CHECK": "false",
           "LABEL_STUDIO_DISABLE_SIGNUP_WITHOUT_LINK": "true"}
DEFAULT_USER = "admin@dqloop.local"


@dataclass(frozen=True)
class Status:
    running: bool
    url: str | None
    pid: int | None
    home: Path


def home() -> Path:
    return Path(os.environ.get("DQLOOP_LABEL_STUDIO_HOME") or REPO / ".deps" / "label-studio")


def executable() -> Path:
    exe = Path(os.environ.get("DQLOOP_LABEL_STUDIO_BIN") or REPO / ".deps" / "label-studio-venv" / "bin" / "label-studio")
    if not exe.exists():
        raise SetupError(f"Label Studio is not installed ({exe} is missing).",
                         "run ./scripts/setup-label-studio (or ./scripts/setup) to install it into its own venv")
    return exe


def template() -> Path:
    return Path(os.environ.get("DQLOOP_LABEL_STUDIO_TEMPLATE") or REPO / ".deps" / "label-studio-template")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=timeout) as r:
            return json.loads(r.read()).get("status") == "UP"
    except (OSError, ValueError):
        return False


def alive(pid: int) -> bool:
    """The process exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie (exited, not reaped) is not running
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return True


def _ours(pid: int) -> bool:
    """The PID still belongs to a label-studio process (PIDs get reused)."""
    try:
        return "label-studio" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return alive(pid)


def status(base: Path | None = None) -> Status:
    base = base or home()
    state = base / "server.json"
    if not state.exists():
        return Status(False, None, None, base)
    info = json.loads(state.read_text())
    pid, url = info.get("pid"), info.get("url")
    running = bool(pid and alive(pid) and _ours(pid) and healthy(url))
    return Status(running, url, pid, base)


def login(base: Path | None = None) -> tuple[str, str] | None:
    f = (base or home()) / "login"
    if not f.exists():
        return None
    user, password = f.read_text().splitlines()[:2]
    return user, password


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


def start(port: int | None = None, base: Path | None = None, timeout: float = 300.0) -> Status:
    """Start the server (or report the one already running); returns when /health answers on its port."""
    base = base or home()
    current = status(base)
    if current.running:
        return current
    exe = executable()
    base.mkdir(parents=True, exist_ok=True)
    data = base / "data"
    env = {**os.environ, **OFFLINE, "LABEL_STUDIO_BASE_DATA_DIR": str(data)}
    for k in ("LABEL_STUDIO_USERNAME", "LABEL_STUDIO_PASSWORD", "LABEL_STUDIO_USER_TOKEN"):
        env.pop(k, None)
    if not (data / "label_studio.sqlite3").exists():
        if template().joinpath("label_studio.sqlite3").exists():
            shutil.rmtree(data, ignore_errors=True)
            shutil.copytree(template(), data)
        user = os.environ.get("LABEL_STUDIO_USERNAME") or DEFAULT_USER
        password = os.environ.get("LABEL_STUDIO_PASSWORD") or secrets.token_urlsafe(12)
        token = os.environ.get("LABEL_STUDIO_API_KEY") or secrets.token_hex(20)
        if len(token) <= 5:
            raise UsageError("LABEL_STUDIO_API_KEY is too short (Label Studio ignores tokens of 5 characters or fewer).",
                             "choose a longer token, e.g. export LABEL_STUDIO_API_KEY=$(openssl rand -hex 20)")
        env.update({"LABEL_STUDIO_USERNAME": user, "LABEL_STUDIO_PASSWORD": password,
                    "LABEL_STUDIO_USER_TOKEN": token, "LABEL_STUDIO_ENABLE_LEGACY_API_TOKEN": "true"})
        _write_private(base / "login", f"{user}\n{password}\n")
    port = port or free_port()
    url = f"http://127.0.0.1:{port}"
    if healthy(url, 0.5):
        raise UsageError(f"Port {port} is already serving something.", "choose another --port or leave it out")
    log = open(base / "server.log", "ab")
    proc = subprocess.Popen([str(exe), "start", "--data-dir", str(data), "--internal-host", "127.0.0.1",
                             "--port", str(port), "--no-browser"],
                            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, env=env,
                            start_new_session=True, cwd=base)
    log.close()
    (base / "server.json").write_text(json.dumps({"pid": proc.pid, "port": port, "url": url}) + "\n")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            tail = (base / "server.log").read_text(errors="replace").splitlines()[-15:]
            raise DqloopError(f"Label Studio exited with status {proc.returncode} while starting:\n    "
                              + "\n    ".join(tail), f"see {base / 'server.log'}")
        if healthy(url, 1.0):
            return Status(True, url, proc.pid, base)
        time.sleep(0.5)
    stop(base)
    raise DqloopError(f"Label Studio did not answer on {url}/health within {timeout:.0f} s.",
                      f"see {base / 'server.log'}; a first start without the template runs migrations (a minute or two)")


def stop(base: Path | None = None, timeout: float = 20.0) -> bool:
    """Stop the server started from this home, by its PID (its process group); True if one was running."""
    base = base or home()
    state = base / "server.json"
    if not state.exists():
        return False
    pid = json.loads(state.read_text()).get("pid")
    was = bool(pid and alive(pid) and _ours(pid))
    if was:
        try:
            os.killpg(pid, signal.SIGTERM)   # the server runs in its own session: pgid == pid
        except ProcessLookupError:
            pass
        deadline = time.monotonic() + timeout
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if alive(pid):
            os.killpg(pid, signal.SIGKILL)
    state.unlink(missing_ok=True)
    return was

