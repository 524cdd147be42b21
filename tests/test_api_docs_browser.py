"""Swagger UI and Redoc in Chromium: they render, Redoc's search and Swagger's "Try it out" work, and
nothing is fetched from outside Flowgate."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from config.docs import OFFLINE_POLICY
from tests.support.browser import TIMEOUT_MS, browser  # noqa: F401 (the shared Chromium fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# Redoc's bundle always asks for Redocly's logo from its CDN; the page's policy refuses it (and says so
# on the console), and Redoc leaves the image out.
REDOCLY_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@pytest.fixture
def watched_page(browser, live_server):  # noqa: F811
    """A page and what it did: every request, those the browser sent out of Flowgate, failures, errors.

    A request for another origin that the browser does send is answered here (aborted) and recorded as
    sent: the test never reaches the internet, and a page that tries to is caught.
    """
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(TIMEOUT_MS)
    origin = urlsplit(live_server.url)[:2]
    seen = {"requests": [], "sent_out": [], "failed": {}, "bad_answers": [], "errors": []}

    def elsewhere(url: str) -> bool:
        return urlsplit(url).scheme in ("http", "https") and urlsplit(url)[:2] != origin

    def refuse(route):
        seen["sent_out"].append(route.request.url)
        route.abort("internetdisconnected")

    page.route(elsewhere, refuse)
    page.on("request", lambda request: seen["requests"].append(request.url))
    page.on("requestfailed", lambda request: seen["failed"].__setitem__(request.url, request.failure))
    page.on("response", lambda response: seen["bad_answers"].append(
        (urlsplit(response.url).path, response.status)) if response.status >= 400 else None)
    # "Failed to load resource" repeats a bad answer, which bad_answers records with its URL.
    page.on("console", lambda message: seen["errors"].append(message.text) if message.type == "error"
            and not message.text.startswith("Failed to load resource") else None)
    page.on("pageerror", lambda error: seen["errors"].append(f"uncaught: {error}"))
    seen["elsewhere"] = elsewhere
    yield page, seen
    page.close()


def assert_nothing_from_outside(seen) -> None:
    """No request left Flowgate; any other one was refused by the page's policy before it was sent."""
    assert seen["sent_out"] == [], seen["sent_out"]
    refused = [url for url in seen["requests"] if seen["elsewhere"](url)]
    assert all(seen["failed"].get(url) == "csp" for url in refused), (refused, seen["failed"])
    assert all(urlsplit(url).scheme in ("http", "https", "blob", "data") for url in seen["requests"])


def test_redoc_renders_and_searches_with_nothing_from_outside(watched_page, live_server):
    from playwright.sync_api import expect

    page, seen = watched_page
    response = page.goto(f"{live_server.url}/api/redoc/")
    assert response.headers["content-security-policy"] == OFFLINE_POLICY
    # The page renders once the schema, generated on request, has arrived.
    expect(page.locator("h2", has_text="Start an execution")).to_be_visible(timeout=TIMEOUT_MS)
    # The sidebar's footer, where the logo would be, rendered without it.
    expect(page.get_by_role("link", name="API docs by Redocly")).to_be_visible()
    expect(page.locator("img[alt='redocly logo']")).to_have_count(0)

    # The search index runs in a worker made from a blob: URL.
    page.get_by_placeholder("Search...").fill("Start an execution")
    results = page.locator("[data-role='search:results'] [role=menuitem]")
    expect(results.filter(has_text="Start an execution").first).to_be_visible(timeout=TIMEOUT_MS)
    results.filter(has_text="Start an execution").first.click()
    expect(page).to_have_url(f"{live_server.url}/api/redoc/#tag/executions/operation/api_v1_executions_create")

    assert_nothing_from_outside(seen)
    assert f"{live_server.url}/api/schema/" in seen["requests"], seen["requests"]
    assert seen["failed"] == {REDOCLY_LOGO: "csp"}, seen["failed"]
    assert set(seen["bad_answers"]) <= {("/favicon.ico", 404)}, seen["bad_answers"]
    # The one complaint: the policy refused the logo.
    assert len(seen["errors"]) == 1 and REDOCLY_LOGO in seen["errors"][0], seen["errors"]


def test_swagger_ui_renders_and_tries_an_operation_with_nothing_from_outside(watched_page, live_server):
    from playwright.sync_api import expect

    page, seen = watched_page
    response = page.goto(f"{live_server.url}/api/docs/")
    assert response.headers["content-security-policy"] == OFFLINE_POLICY
    expect(page.locator(".opblock", has_text="Start an execution").first).to_be_visible(timeout=TIMEOUT_MS)

    # "Try it out" calls Flowgate's own API from the page (here without a key: 401).
    me = page.locator(".opblock", has=page.locator("[data-path='/api/v1/me']")).first
    me.locator(".opblock-summary").click()
    me.get_by_role("button", name="Try it out").click()
    me.get_by_role("button", name="Execute").click()
    expect(me.locator(".live-responses-table tbody .response-col_status").first).to_have_text("401", timeout=TIMEOUT_MS)

    assert_nothing_from_outside(seen)
    assert f"{live_server.url}/api/v1/me" in seen["requests"], seen["requests"]
    assert seen["failed"] == {}, seen["failed"]
    assert seen["bad_answers"] == [("/api/v1/me", 401)], seen["bad_answers"]
    assert seen["errors"] == [], seen["errors"]
