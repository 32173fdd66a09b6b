"""The alert message for a run with violations: Slack-compatible JSON ({"text", "blocks"}).

`text` is the notification's plain fallback; `blocks` list each partition with violations and its
first few failed checks. Data-derived strings are escaped for Slack's mrkdwn (&, <, >), so a
column or category named like markup or a link shows as text; Slack's limits (50 blocks, 3,000
characters a section) are kept.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

MAX_PARTITIONS = 10
MAX_CHECKS = 5
MAX_SECTION = 2900


def mrkdwn(value: object) -> str:
    """Escape a data-derived string for Slack's mrkdwn."""
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _fmt(x: Any) -> str:
    return "-" if x is None else (f"{x:.4g}" if isinstance(x, float) else str(x))


def alert_payload(reports: Sequence[Mapping[str, Any]], total: int, where: Mapping[str, str] | None = None,
                  bad: int | None = None) -> dict[str, Any]:
    """`reports`: checks.json documents of the partitions with violations (the first ones at least);
    `total`: partitions in the run; `where`: partition -> where its report is (a path or URL, shown as text);
    `bad`: partitions with violations in the run, when `reports` are only the first of them."""
    n = max(bad or 0, len(reports))
    text = f"dqloop: violations in {n} of {total} partition{'s' if total != 1 else ''}: " + \
        ", ".join(mrkdwn(r.get("partition")) for r in reports[:MAX_PARTITIONS]) + (" ..." if n > MAX_PARTITIONS else "")
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{text}*"}}]
    for r in reports[:MAX_PARTITIONS]:
        failed = [c for c in r.get("checks", []) if c.get("status") == "failed"]
        lines = [f"*{mrkdwn(r.get('partition'))}*: {len(failed)} violation{'s' if len(failed) != 1 else ''}, "
                 f"{_fmt(r.get('rows'))} rows"]
        for c in failed[:MAX_CHECKS]:
            lines.append(f"\u2022 `{mrkdwn(c.get('check'))}` {mrkdwn(c.get('feature') or '-')}: measured "
                         f"{_fmt(c.get('measured'))}, threshold {_fmt(c.get('threshold'))}")
        if len(failed) > MAX_CHECKS:
            lines.append(f"\u2022 and {len(failed) - MAX_CHECKS} more")
        if where and r.get("partition") in where:
            lines.append(f"report: {mrkdwn(where[r['partition']])}")
        section = "\n".join(lines)
        if len(section) > MAX_SECTION:
            section = section[:MAX_SECTION] + " ..."
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": section}})
    if n > MAX_PARTITIONS:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn",
                                                        "text": f"and {n - MAX_PARTITIONS} more partitions"}]})
    return {"text": text, "blocks": blocks}
