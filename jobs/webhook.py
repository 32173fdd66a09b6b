"""Sending the alert: one HTTP POST of JSON to a webhook, with a timeout and retries with backoff.

The URL is a secret (a Slack webhook URL embeds its token): it comes from the environment
(DQLOOP_WEBHOOK_URL) or a file (--webhook-url-file), and is never printed, logged or written;
error messages name the source of the URL, not the URL, and have it scrubbed if a library quotes it.
Retried: connection failures, timeouts, HTTP 429 and 5xx. Not retried: other 4xx (the URL or payload
is wrong; retrying cannot help).
"""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from constraints.errors import UsageError

ENV = "DQLOOP_WEBHOOK_URL"
TIMEOUT = 10.0
ATTEMPTS = 4
BACKOFF = 1.0          # seconds before the 2nd attempt, doubling after each (1, 2, 4)


@dataclass(frozen=True)
class Webhook:
    url: str
    source: str          # where the URL came from, safe to print

    def __repr__(self) -> str:             # never show the secret, not even in a traceback
        return f"Webhook(source={self.source!r})"


@dataclass(frozen=True)
class Delivery:
    ok: bool
    attempts: int
    detail: str          # safe to print: no URL


def webhook_from(url_file: str | None, environ: dict[str, str] | None = None) -> Webhook | None:
    """The configured webhook, or None: --webhook-url-file wins over DQLOOP_WEBHOOK_URL."""
    env = os.environ if environ is None else environ
    if url_file:
        path = Path(url_file)
        if not path.is_file():
            raise UsageError(f"--webhook-url-file {url_file} does not exist.",
                             "write the webhook URL into that file (one line), or set DQLOOP_WEBHOOK_URL")
        url, source = path.read_text(encoding="utf-8").strip(), f"the file {url_file}"
    elif env.get(ENV, "").strip():
        url, source = env[ENV].strip(), f"${ENV}"
    else:
        return None
    if not url.startswith(("https://", "http://")):
        raise UsageError(f"The webhook URL from {source} is not an http(s) URL.",
                         "put the full URL (https://...) there, nothing else")
    return Webhook(url, source)


def _scrub(text: str, url: str) -> str:
    return text.replace(url, "<webhook URL>") if url else text


def post_json(hook: Webhook, payload: dict[str, Any], *, timeout: float | None = None, attempts: int | None = None,
              backoff: float | None = None, sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """POST `payload`; never raises for a delivery failure, returns what happened. Defaults: the module's
    TIMEOUT, ATTEMPTS and BACKOFF."""
    timeout = TIMEOUT if timeout is None else timeout
    attempts = ATTEMPTS if attempts is None else attempts
    backoff = BACKOFF if backoff is None else backoff
    data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
    detail = ""
    for attempt in range(1, attempts + 1):
        request = urllib.request.Request(hook.url, data=data, method="POST",
                                         headers={"Content-Type": "application/json; charset=utf-8",
                                                  "User-Agent": "dqloop"})
        retry_after = None
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) checked above)
                return Delivery(True, attempt, f"HTTP {response.status}")
        except urllib.error.HTTPError as exc:
            detail = f"HTTP {exc.code} {exc.reason}"
            if exc.code != 429 and exc.code < 500:
                return Delivery(False, attempt, _scrub(detail, hook.url))
            header = exc.headers.get("Retry-After") if exc.headers else None
            retry_after = float(header) if header and header.strip().isdigit() else None
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            detail = f"{type(reason).__name__}: {reason}"
        if attempt < attempts:
            sleep(min(retry_after if retry_after is not None else backoff * 2 ** (attempt - 1), 60.0))
    return Delivery(False, attempts, _scrub(detail, hook.url))
