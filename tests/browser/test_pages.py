"""Every page a role can reach renders in Chromium without errors, on the demo data."""

import re

import pytest

from tests.browser.conftest import login_as

pytestmark = pytest.mark.browser

PAGES = ["/", "/customers", "/orders", "/inquiries", "/cases", "/reviews", "/catalog", "/settings"]
SUPERVISOR_PAGES = ["/approvals", "/settings/audit"]
ADMIN_PAGES = ["/settings/accounts"]


@pytest.mark.parametrize(
    ("username", "password", "extra"),
    [
        ("xiaomei", "huitou-agent", []),
        ("zhuguan", "huitou-super", SUPERVISOR_PAGES),
        ("admin", "huitou-admin", SUPERVISOR_PAGES + ADMIN_PAGES),
    ],
)
def test_pages_render_for_each_role(live_server, page, username, password, extra):
    login_as(page, live_server, username, password)
    for path in PAGES + extra:
        response = page.goto(f"{live_server}{path}")
        assert response is not None and response.status == 200, path
        assert page.locator("h1").count() >= 1, path
    # A customer's whole story and an order's lifecycle, reached by clicking through.
    page.goto(f"{live_server}/orders")
    page.locator("#order-rows a").first.click()
    page.wait_for_selector(".stepper")
    assert re.search(r"/orders/\d+$", page.url)
    page.goto(f"{live_server}/customers")
    page.locator("table a[href^='/customers/']").first.click()
    page.wait_for_load_state()
    assert re.search(r"/customers/\d+$", page.url)
    body = page.content()
    if username == "xiaomei":
        assert "****" in body  # phones are masked for agents
