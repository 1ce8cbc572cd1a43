"""/api/docs in headless Chromium under our Content-Security-Policy: the vendored Swagger UI starts
(no inline script, nothing from another site) and lists the API's operations. Any CSP refusal is a
console error, which the `page` fixture turns into a failure."""

import pytest

pytestmark = pytest.mark.browser


def test_the_api_docs_render_under_the_csp(live_server, page):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto(f"{live_server}/api/docs")
    assert response.status == 200
    assert "script-src 'self'" in response.headers["content-security-policy"]
    operations = page.locator(".opblock")
    operations.first.wait_for(timeout=15_000)
    assert operations.count() > 50
    assert page.locator(".info .title").inner_text().startswith("Huitou API")
    assert requested and all(url.startswith(live_server) for url in requested), requested
