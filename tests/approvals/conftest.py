"""Fixtures of the approvers' tests: Chromium and the screenshot folder for the browser tests."""

from tests.support.browser import browser, output_dir  # noqa: F401 (fixtures)
