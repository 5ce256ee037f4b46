"""The ``browser`` fixture: one headless Chromium per test module (see ``chromium``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.browser.chromium import FLAGS, Browser, artifacts_dir, require


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    path = require()
    from playwright.sync_api import sync_playwright

    profile = tmp_path_factory.mktemp("chromium-profile")  # a fresh --user-data-dir
    with sync_playwright() as pw:
        context = pw.chromium.launch_persistent_context(
            str(profile), executable_path=path, headless=True, args=list(FLAGS), java_script_enabled=True
        )
        # The pages under test are ours, loaded with set_content: no request leaves the machine.
        context.route("**/*", lambda route: route.abort())
        try:
            yield Browser(context, artifacts_dir(tmp_path_factory))
        finally:
            context.close()
