"""HTML building blocks: escaping, number formatting, a self-contained page shell, sortable tables.

Every data-derived string goes through `esc` (html.escape with quote=True), in text and in
attributes alike; nothing derived from data is ever placed inside <script> or <style>. The page's
Content-Security-Policy allows only its own inline style and script (pinned by their SHA-256) and
data: images, and forbids every network load, so a report opened from disk stays offline.
"""

from __future__ import annotations

import base64
import hashlib
import html
import math
from typing import Iterable, Sequence

STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#1f2328;max-width:80rem}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.2rem;margin:2rem 0 .5rem;border-bottom:1px solid #d0d7de}
h3{font-size:1rem;margin:0 0 .3rem}
table{border-collapse:collapse;font-size:.85rem;margin:.5rem 0}
th,td{border:1px solid #d0d7de;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f6f8fa}table.sortable th{cursor:pointer;user-select:none}
table.sortable th[aria-sort=ascending]::after{content:" \\25B2"}table.sortable th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.verdict{display:inline-block;padding:.2rem .7rem;border-radius:1rem;font-weight:600;color:#fff}
.v-ok{background:#1a7f37}.v-violations{background:#cf222e}.v-empty,.v-error{background:#9a6700}
.failed{color:#cf222e;font-weight:600}.passed{color:#1a7f37}.skipped{color:#6e7781}
.facts{display:flex;flex-wrap:wrap;gap:1.5rem;margin:.5rem 0}.facts div{min-width:8rem}
.facts b{display:block;font-size:1.2rem}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(26rem,1fr));gap:1rem}
.card{border:1px solid #d0d7de;border-radius:.4rem;padding:.7rem}.card.bad{border-color:#cf222e}
.card p{margin:.2rem 0;font-size:.85rem}
.legend{font-size:.8rem;color:#57606a}
.sw-base{color:#5b8def}.sw-cur{color:#f08c00}
svg text{font-family:system-ui,sans-serif}
code{font-size:.8rem}
#summary{margin:.3rem 0 1rem}.verdict-line{font-size:1.05rem;margin:.3rem 0}
#ranked{margin:.4rem 0;padding-left:1.6rem}#ranked li{margin:.15rem 0;font-size:.9rem}
#ranked a{color:inherit}#ranked .fname{display:inline-block;min-width:9rem}.times{display:inline-block;min-width:4.5rem;font-variant-numeric:tabular-nums;color:#cf222e;font-weight:600}
details.derivation{font-size:.8rem;color:#57606a;margin-top:.2rem}details.derivation summary{cursor:pointer}
details.derivation p{margin:.2rem 0;max-width:50rem}.card .check{font-size:.85rem;margin:.2rem 0}
"""

SORT_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      function key(row) {
        var cell = row.cells[col];
        var v = cell.getAttribute("data-sort");
        if (v !== null && v !== "" && !isNaN(Number(v))) { return [0, Number(v)]; }
        return [1, (v !== null ? v : cell.textContent).toLowerCase()];
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        var c = x[0] - y[0] || (x[1] < y[1] ? -1 : x[1] > y[1] ? 1 : 0);
        return asc ? c : -c;
      });
      rows.forEach(function (r) { body.appendChild(r); });
    });
  });
});
"""


def esc(value: object) -> str:
    """Text or attribute content: &, <, >, " and ' escaped."""
    return html.escape("" if value is None else str(value), quote=True)


def fmt(x: float | int | None, digits: int = 4) -> str:
    """A number for people: 4 significant digits, '-' for none, nan/inf spelled out."""
    if x is None:
        return "-"
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int):
        return f"{x:,}"
    if math.isnan(x) or math.isinf(x):
        return str(x)
    if x == int(x) and abs(x) < 1e15:
        return f"{int(x):,}"
    return f"{x:.{digits}g}"


def compact(x: float) -> str:
    """A number for an axis: at most 3 significant digits with k, M, G, T for thousands and up (2.3M, -45k)."""
    if not math.isfinite(x):
        return str(x)
    for size, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(x) >= size:
            return f"{x / size:.3g}{suffix}"
    return "0" if x == 0 else f"{x:.3g}"


def pct(x: float | None) -> str:
    return "-" if x is None else f"{100 * x:.3g}%"


def _hash(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode("utf-8")).digest()).decode("ascii") + "'"


CSP = (f"default-src 'none'; style-src {_hash(STYLE)}; script-src {_hash(SORT_SCRIPT)}; img-src data:; "
       "base-uri 'none'; form-action 'none'")


def page(title: str, body: str) -> str:
    """A complete HTML document: no external resource of any kind; `title` is escaped here."""
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<meta http-equiv=\"Content-Security-Policy\" content=\"{esc(CSP)}\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            "<meta name=\"referrer\" content=\"no-referrer\">\n"
            f"<title>{esc(title)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}\n"
            f"<script>{SORT_SCRIPT}</script>\n</body>\n</html>\n")


class Cell:
    """A table cell: its HTML (already escaped), a sort key and a class."""

    __slots__ = ("html", "sort", "cls")

    def __init__(self, html_: str, sort: object = None, cls: str = ""):
        self.html, self.sort, self.cls = html_, sort, cls


def text(value: object, cls: str = "") -> Cell:
    return Cell(esc(value), None, cls)


def number(x: float | int | None, shown: str | None = None) -> Cell:
    sort = "" if x is None or (isinstance(x, float) and math.isnan(x)) else repr(float(x))
    return Cell(esc(fmt(x) if shown is None else shown), sort, "num")


def table(headers: Sequence[str], rows: Iterable[Sequence[Cell]], *, cls: str = "sortable", id_: str = "") -> str:
    head = "".join(f"<th scope=\"col\">{esc(h)}</th>" for h in headers)
    body = []
    for row in rows:
        cells = []
        for c in row:
            attrs = (f" class=\"{esc(c.cls)}\"" if c.cls else "") + \
                    (f" data-sort=\"{esc(c.sort)}\"" if c.sort is not None else "")
            cells.append(f"<td{attrs}>{c.html}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    ident = f" id=\"{esc(id_)}\"" if id_ else ""
    return (f"<table class=\"{esc(cls)}\"{ident}><thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body)
            + "\n</tbody></table>")
