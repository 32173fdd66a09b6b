"""The only module that talks to Label Studio (label-studio-sdk 2.x, plain HTTP).

Errors (all DqloopError, so the CLI prints one message with the fix and exits with its code):

    LabelStudioError            base
    ├── ServerUnreachable (3)   nothing answers at LABEL_STUDIO_URL, or it keeps failing (5xx, timeouts)
    ├── NotAuthorized (2)       401/403: LABEL_STUDIO_API_KEY is wrong or not a legacy token
    ├── ProjectNotFound (2)     no project of that title, or it was deleted while we worked
    └── Rejected (3)            the server refused a request (400): its validation message is included

Retries: reads are retried with exponential backoff on connection errors, timeouts, 429 and 5xx. Imports
are never retried blindly (the SDK's own retries can duplicate tasks after a partial write: every SDK
call here has max_retries=0); after a failed import batch we list the row ids the project holds and
import only the missing ones, so a push that stopped half-way resumes and a second push adds nothing.
The API key is read from the environment by the caller and never printed or logged.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from label_studio_sdk import LabelStudio
from label_studio_sdk.core.api_error import ApiError

from constraints.errors import DqloopError
from labeling.tasks import ROW_ID

log = logging.getLogger(__name__)
T = TypeVar("T")
RETRIES = 4
BACKOFF = 0.5
NO_RETRY = {"max_retries": 0}


class LabelStudioError(DqloopError):
    pass


class ServerUnreachable(LabelStudioError):
    exit_code = 3


class NotAuthorized(LabelStudioError):
    exit_code = 2


class ProjectNotFound(LabelStudioError):
    exit_code = 2


class Rejected(LabelStudioError):
    exit_code = 3


def _transient(exc: Exception) -> bool:
    if isinstance(exc, (httpx.TransportError,)):
        return True
    return isinstance(exc, ApiError) and (exc.status_code or 0) in (408, 429) or (
        isinstance(exc, ApiError) and (exc.status_code or 0) >= 500)


@dataclass(frozen=True)
class Project:
    id: int
    title: str


class Client:
    """A Label Studio connection: `Client(url, api_key)`; the key comes from the environment, never from argv."""

    def __init__(self, url: str, api_key: str, timeout: float = 120.0, sleep: Callable[[float], None] = time.sleep):
        if not url:
            raise LabelStudioError("LABEL_STUDIO_URL is not set.",
                                   "start the server with `dqloop label server start` and export the URL it prints")
        if not api_key:
            raise NotAuthorized("LABEL_STUDIO_API_KEY is not set.",
                                "export LABEL_STUDIO_API_KEY=<your token> (Label Studio: Account & Settings, "
                                "Legacy Token)")
        self.url = url.rstrip("/")
        self._ls = LabelStudio(base_url=self.url, api_key=api_key, timeout=timeout, max_retries=0)
        self._sleep = sleep

    # -- error translation --------------------------------------------------------------------------
    def _error(self, exc: Exception, what: str, project: str | None = None) -> LabelStudioError:
        if isinstance(exc, httpx.TransportError):
            return ServerUnreachable(f"Label Studio at {self.url} did not answer while {what}: {type(exc).__name__}.",
                                     "start it with `dqloop label server start` (or check LABEL_STUDIO_URL)")
        assert isinstance(exc, ApiError)
        code = exc.status_code
        if code in (401, 403):
            return NotAuthorized(f"Label Studio at {self.url} refused the API key ({code}) while {what}.",
                                 "set LABEL_STUDIO_API_KEY to your Legacy Token (Label Studio: Account & Settings)")
        if code == 404:
            return ProjectNotFound(f"Label Studio answered 404 while {what}"
                                   + (f": project {project!r} does not exist (any more)." if project else "."),
                                   "check the project name; `dqloop label push` creates it again")
        if code is not None and code >= 500:
            return ServerUnreachable(f"Label Studio at {self.url} failed with {code} while {what}, after retries.",
                                     "see the server log (`dqloop label server status`) and try again")
        body = exc.body if isinstance(exc.body, str) else json.dumps(exc.body)[:500]
        return Rejected(f"Label Studio rejected the request ({code}) while {what}: {body}",
                        "the server's validation message above names the field to fix")

    def _retrying(self, fn: Callable[[], T], what: str, project: str | None = None) -> T:
        """Call a read (or an idempotent write) with backoff on transient failures."""
        for attempt in range(RETRIES + 1):
            try:
                return fn()
            except (ApiError, httpx.TransportError) as exc:
                if not _transient(exc) or attempt == RETRIES:
                    raise self._error(exc, what, project) from None
                delay = BACKOFF * 2 ** attempt
                log.info("%s failed (%s); retrying in %.1fs", what, type(exc).__name__, delay)
                self._sleep(delay)
        raise AssertionError("unreachable")

    # -- calls --------------------------------------------------------------------------------------
    def check(self) -> dict[str, Any]:
        """Who we are: proves the server answers and the key works."""
        me = self._retrying(lambda: self._ls.users.whoami(request_options=NO_RETRY), "checking the API key")
        return {"id": me.id, "email": me.email}

    def find_project(self, title: str) -> Project | None:
        def find():
            for p in self._ls.projects.list(title=title, page_size=100, request_options=NO_RETRY):
                if p.title == title:
                    return Project(p.id, p.title)
            return None
        return self._retrying(find, f"looking up project {title!r}")

    def project(self, title: str) -> Project:
        p = self.find_project(title)
        if p is None:
            raise ProjectNotFound(f"Label Studio at {self.url} has no project {title!r}.",
                                  "check the name (`dqloop label push --project NAME` creates it)")
        return p

    def create_project(self, title: str, label_config: str) -> Project:
        try:
            p = self._ls.projects.create(title=title, label_config=label_config, request_options=NO_RETRY)
        except (ApiError, httpx.TransportError) as exc:
            raise self._error(exc, f"creating project {title!r}") from None
        return Project(p.id, title)

    def row_ids(self, project: Project) -> set[str]:
        """The dqloop row ids of the tasks already in the project."""
        def listing():
            ids = set()
            for t in self._ls.tasks.list(project=project.id, fields="task_only", include="id,data", page_size=1000,
                                         request_options=NO_RETRY):
                rid = (t.data or {}).get(ROW_ID)
                if rid is not None:
                    ids.add(str(rid))
            return ids
        return self._retrying(listing, f"listing the tasks of project {project.title!r}", project.title)

    def import_tasks(self, project: Project, tasks: list[dict[str, Any]], batch_size: int = 1000,
                     progress: Callable[[int], None] | None = None) -> int:
        """Import the tasks whose row id the project does not hold yet; return how many were added."""
        existing = self.row_ids(project)
        todo = [t for t in tasks if t["data"][ROW_ID] not in existing]
        if progress:
            progress(len(tasks) - len(todo))
        added = 0
        for start in range(0, len(todo), batch_size):
            batch = todo[start:start + batch_size]
            added += self._import_batch(project, batch)
            if progress:
                progress(len(batch))
        return added

    def _import_batch(self, project: Project, batch: list[dict[str, Any]]) -> int:
        what = f"importing {len(batch)} tasks into project {project.title!r}"
        pending = batch
        for attempt in range(RETRIES + 1):
            try:
                self._ls.projects.import_tasks(id=project.id, request=pending, return_task_ids=True,
                                               request_options=NO_RETRY)
                return len(batch)
            except (ApiError, httpx.TransportError) as exc:
                if not _transient(exc) or attempt == RETRIES:
                    raise self._error(exc, what, project.title) from None
                delay = BACKOFF * 2 ** attempt
                log.warning("%s failed (%s); checking what arrived, retrying in %.1fs", what, type(exc).__name__, delay)
                self._sleep(delay)
                there = self.row_ids(project)        # a partial write must not be imported twice
                pending = [t for t in pending if t["data"][ROW_ID] not in there]
                if not pending:
                    return len(batch)
        raise AssertionError("unreachable")

    def export(self, project: Project) -> list[dict[str, Any]]:
        """Every annotated task with its annotations (cancelled ones included; resolve drops them)."""
        def download():
            chunks: Iterable[bytes] = self._ls.projects.exports.download_sync(
                id=project.id, export_type="JSON", request_options=NO_RETRY)
            return json.loads(b"".join(chunks))
        return self._retrying(download, f"exporting project {project.title!r}", project.title)

    @property
    def sdk(self) -> LabelStudio:
        """The SDK client itself (tests and benchmarks annotate through it)."""
        return self._ls
