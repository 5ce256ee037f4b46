"""The HTML report in a real browser: headless Chromium renders it to a screenshot.

Skipped where Chromium is not installed (CI may not have it). The PNG goes to pytest's tmp_path and
is never kept in the repository; set CROSSGEN_SCREENSHOT_DIR to keep a copy to look at.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from tests.report.sample import FEEDBACK, NOW, PAIRS, PROGRAMME, sessions
from worker.report.model import build_report
from worker.report.render_html import render_html

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed")
def test_the_report_renders_in_headless_chromium(tmp_path: Path) -> None:
    report = build_report(
        programme=PROGRAMME, pairs=PAIRS, sessions=sessions(), feedback_sent=FEEDBACK, now=NOW
    )
    page = tmp_path / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    png = tmp_path / "report.png"
    assert CHROMIUM is not None
    flags = [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
        f"--screenshot={png}",
        "--window-size=1200,900",
    ]
    result = subprocess.run(
        [CHROMIUM, *flags, page.as_uri()], capture_output=True, text=True, timeout=60, check=False
    )
    assert png.exists(), result.stderr[-2000:]
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (1200, 900)
    assert len(data) > 20_000  # a blank page compresses to a few KB; ours has a chart and a table
    if keep := os.environ.get("CROSSGEN_SCREENSHOT_DIR"):
        shutil.copy(png, Path(keep) / "report.png")
