"""Chromium through Playwright for the browser tests: the browser, where screenshots go, signing in."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.db import connections

from tests.conftest import PASSWORD, ROOT, services_required

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT_MS = 30_000


@pytest.fixture
def output_dir() -> Path:
    """Screenshots are test artefacts: under $FLOWGATE_TEST_OUTPUT/approvals (scripts/test.sh sets it)."""
    folder = Path(os.environ.get("FLOWGATE_TEST_OUTPUT") or ROOT / "test-output") / "approvals"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def browser(monkeypatch):
    if not CHROMIUM.exists():
        reason = f"needs Chromium at {CHROMIUM} (Debian's chromium package)"
        if services_required():
            pytest.fail(f"FLOWGATE_REQUIRE_SERVICES is set but this test {reason}", pytrace=False)
        pytest.skip(reason)
    # Playwright's sync API runs an event loop in this thread; the test's own queries are still synchronous.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()
            # With Playwright's loop running, Django keeps this test's database connections apart from
            # the thread's own; close them here, or the test database cannot be dropped at the end.
            connections.close_all()


def sign_in(page, base_url: str, username: str) -> None:
    page.goto(f"{base_url}/approvals/")
    assert "/accounts/login/" in page.url
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base_url}/approvals/")
