"""Headless Chromium for the rendering tests: found on the machine, driven through playwright.

Playwright speaks the Chrome DevTools protocol to the machine's own Chromium (``executable_path``; no
browser is downloaded), so a test sets an exact viewport, measures the laid-out page and takes a
screenshot in one browser. Where Chromium is missing the tests skip with one line, except in CI
(``CI=true``), where ``.ci/run`` installs it and a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

CANDIDATES = ("chromium", "chromium-browser", "google-chrome")
# The flags every launch uses: no sandbox (CI runs as root), no GPU, nothing fetched in the background.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DESKTOP = 1200
PHONE = 375  # an iPhone's CSS width


def executable() -> str | None:
    return next((p for p in map(shutil.which, CANDIDATES) if p), None)


def require() -> str:
    """The Chromium to use; skips the test where there is none, fails in CI."""
    found = executable()
    if found is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI is set but Chromium is missing: .ci/run installs Debian's chromium package")
        pytest.skip("headless Chromium is not installed (apt-get install chromium)")
    return found


def artifacts_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go: CROSSGEN_SCREENSHOT_DIR (``.ci/run`` sets it), else pytest's temporary dir."""
    if keep := os.environ.get("CROSSGEN_SCREENSHOT_DIR"):
        path = Path(keep)
        path.mkdir(parents=True, exist_ok=True)
        return path
    return tmp_path_factory.mktemp("screenshots")


@dataclass(frozen=True)
class Layout:
    """What the page looks like once laid out at one width."""

    viewport: int
    scroll_width: int  # the document's; wider than the viewport means a horizontal scroll bar
    text: str  # the rendered, visible text (innerText)
    hidden_overflow: list[str]  # elements whose right edge lies past the viewport (tag.class)
    injected: int  # elements or handlers that can only come from unescaped user text


MEASURE = """() => {
  const vw = window.innerWidth;
  const wide = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1 && !el.closest('.scroll')) {
      wide.push(el.tagName.toLowerCase() + (el.className && el.className.baseVal === undefined
                ? '.' + el.className : ''));
    }
  }
  const made = 'img, script, iframe, object, embed, [onerror], [onclick]';
  const injected = document.querySelectorAll(made).length + (window.__pwned ? 1 : 0);
  return {viewport: vw, scroll_width: document.documentElement.scrollWidth, text: document.body.innerText,
          hidden_overflow: wide.slice(0, 10), injected: injected};
}"""


class Browser:
    """One Chromium for a test module; each ``render`` opens a fresh page at the given width."""

    def __init__(self, context: Any, shots: Path) -> None:
        self._context = context
        self.shots = shots

    def render(self, name: str, html: str, width: int) -> tuple[Layout, Any]:
        page = self._context.new_page()
        page.set_viewport_size({"width": width, "height": 900})
        page.set_content(html, wait_until="load")
        layout = Layout(**page.evaluate(MEASURE))
        page.screenshot(path=str(self.shots / f"{name}-{width}.png"), full_page=True)
        return layout, page
