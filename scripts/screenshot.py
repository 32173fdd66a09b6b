"""The README's screenshot: a report.html as a person first sees it (1280x800, headless Chromium).

    .venv/bin/python scripts/screenshot.py out/validate/chunk=03/report.html docs/img/report.png

Run ./scripts/demo first. Uses Debian's /usr/bin/chromium through Playwright (DQLOOP_CHROMIUM for another).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", type=Path, help="an HTML page written by dqloop")
    parser.add_argument("png", type=Path, help="where to write the screenshot")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=800)
    args = parser.parse_args(argv)
    if not args.page.is_file():
        print(f"{args.page}: no such page; run ./scripts/demo first", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=os.environ.get("DQLOOP_CHROMIUM", "/usr/bin/chromium"))
        page = browser.new_page(viewport={"width": args.width, "height": args.height})
        page.goto(args.page.resolve().as_uri())
        args.png.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(args.png))
        browser.close()
    print(f"{args.png}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
