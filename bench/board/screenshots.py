"""Screenshots of the board pages with Debian's headless chromium (for looking, not asserting).

    .venv/bin/python bench/board/screenshots.py --base http://127.0.0.1:8705 --alert 301

Logs in as ana@bench.example (see seed.py) and writes PNGs to artifacts/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OUT = Path(__file__).resolve().parents[2] / "artifacts"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", default="http://127.0.0.1:8705")
    parser.add_argument("--alert", type=int, required=True)
    parser.add_argument("--email", default="ana@bench.example")
    parser.add_argument("--password", default="bench-password-1")
    args = parser.parse_args()
    OUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for name, viewport in (("desktop", {"width": 1440, "height": 900}), ("phone", {"width": 390, "height": 844})):
            context = browser.new_context(viewport=viewport, device_scale_factor=1)
            page = context.new_page()
            page.goto(f"{args.base}/board/login/")
            page.screenshot(path=OUT / f"login-{name}.png")
            page.fill("#id_username", args.email)
            page.fill("#id_password", args.password)
            page.click("button[type=submit]")
            page.wait_for_url(f"{args.base}/board/")
            page.wait_for_selector("[data-live-status][data-state=live]", timeout=5000)
            page.screenshot(path=OUT / f"board-{name}.png")
            page.goto(f"{args.base}/board/alerts/{args.alert}/")
            page.wait_for_selector("[data-live-status][data-state=live]", timeout=5000)
            page.screenshot(path=OUT / f"detail-{name}.png", full_page=True)
            page.goto(f"{args.base}/board/stats/")
            page.screenshot(path=OUT / f"stats-{name}.png", full_page=True)
            context.close()
        browser.close()
    print("\n".join(str(p) for p in sorted(OUT.glob("*.png"))))


if __name__ == "__main__":
    main()
