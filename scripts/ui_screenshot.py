"""The README's picture of the web UI: the shipped model animating a procedural test character with a
generated motion, the pose preview and the result on the page, in headless Chromium.

    python scripts/ui_screenshot.py [--output docs/images/ui.png]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from animate_anyone.ui.child_server import ui_child
from animate_anyone.ui.examples import example_references

TIMEOUT_MS = 600_000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default="docs/images/ui.png")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        reference = example_references(Path(folder) / "examples")[0]
        with ui_child(["--output", str(Path(folder) / "results")], Path(folder) / "server.log", timeout=300) as server, \
                sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=["--no-sandbox"])
            page = browser.new_page(viewport={"width": 1280, "height": 1080})
            page.goto(server.url, wait_until="networkidle", timeout=TIMEOUT_MS)
            page.locator("#reference input[type=file]").set_input_files(str(reference))
            page.locator("#motion input").click()
            page.get_by_role("option", name="generated motion 1").click()
            page.locator("#preview-button").click()
            page.locator("#preview video").wait_for(timeout=TIMEOUT_MS)
            page.locator("#generate-button").click()
            page.locator("#result video").wait_for(timeout=TIMEOUT_MS)
            page.locator("#sheet img").wait_for(timeout=TIMEOUT_MS)
            page.evaluate("document.querySelectorAll('video').forEach(v => { v.currentTime = 0.5; })")
            page.wait_for_timeout(1000)
            page.screenshot(path=args.output, full_page=True)
            browser.close()
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
