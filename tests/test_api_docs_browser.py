"""The two API documentation pages render in a real browser under the site's CSP."""

from __future__ import annotations

import pytest
from playwright.sync_api import sync_playwright

from apps.devreload.tests.harness import launch_chromium
from catfeeder.testing import AsgiServer, api_schema


@pytest.mark.parametrize("path", ["/api/docs", "/_allauth/openapi.html"])
def test_the_api_docs_render_with_no_csp_violation(asgi_server: AsgiServer, path: str) -> None:
    violations: list[str] = []
    api_schema(asgi_server.url)  # built before the page asks for it: the page does not retry a 503
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page()
            page.on("console", lambda m: violations.append(m.text) if "Content Security Policy" in m.text else None)
            page.goto(f"{asgi_server.url}{path}")
            page.locator(".swagger-ui .information-container").wait_for(timeout=60_000)
            operations = page.locator(".opblock").count()
        finally:
            browser.close()
    assert violations == []
    assert operations > 3
