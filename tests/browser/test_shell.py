"""The web shell in headless Chromium: log in as each demo role, switch language, log out."""

import pytest

from app.demo import demo_logins
from tests.browser.conftest import login_as

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("username", "password", "role"), demo_logins())
def test_each_demo_role_logs_in_and_sees_the_workbench(live_server, page, username, password, role):
    login_as(page, live_server, username, password)
    assert page.locator("h1").inner_text() == "工作台"
    nav = page.locator("header nav").inner_text()
    assert "设置" in nav
    assert {"admin": "管理员", "supervisor": "主管", "agent": "客服"}[role] in nav


def test_wrong_password_shows_an_error_and_stays_on_login(live_server, page):
    page.goto(f"{live_server}/login")
    page.fill("input[name=username]", "xiaomei")
    page.fill("input[name=password]", "wrong-password")
    page.click("form[action='/login'] button[type=submit]")
    assert "用户名或密码错误" in page.locator("[role=alert]").inner_text()


def test_switch_to_english_and_log_out(live_server, page):
    login_as(page, live_server, "xiaoli", "huitou-agent")
    page.click("button[name=locale][value=en]")
    page.wait_for_load_state()
    assert page.locator("h1").inner_text() == "Workbench"
    page.click("text=Log out")
    page.wait_for_url(f"{live_server}/login")
    page.goto(f"{live_server}/settings")
    assert page.url.startswith(f"{live_server}/login")
