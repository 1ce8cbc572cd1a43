"""The public survey page /s/{token}: no login, friendly refusals with their status, no session,
its own form token instead of the session's CSRF token, a rate limit per client."""

import re
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from app.reviews import surveys
from tests.metrics.quality_helpers import make_solved_ticket, make_survey

FORM_TOKEN_RE = re.compile(r'name="form_token" value="([^"]+)"')


@pytest.fixture
def survey(db):
    """A survey sent just now (the page uses the real clock)."""
    return make_survey(db, make_solved_ticket(db), sent_at=datetime.now(UTC) - timedelta(minutes=5))


def _url(survey) -> str:
    return f"/s/{surveys.survey_token(survey.id)}"


def _form_token(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, response.text
    return FORM_TOKEN_RE.search(response.text).group(1)


def test_the_page_needs_no_login_sets_no_cookie_and_runs_under_the_csp(client, survey):
    response = client.get(_url(survey))
    assert response.status_code == 200
    assert "set-cookie" not in response.headers
    assert "script-src 'self'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["referrer-policy"] == "no-referrer"
    assert "<script" not in response.text and "onclick" not in response.text
    assert 'lang="zh-CN"' in response.text
    assert response.text.count('type="radio" name="rating"') == 5
    assert 'name="viewport"' in response.text


def test_the_page_speaks_the_surveys_language_with_a_switch(client, db, survey):
    survey.locale = "en"
    db.add(survey)
    english = client.get(_url(survey))
    assert 'lang="en"' in english.text and "?lang=zh_CN" in english.text
    chinese = client.get(_url(survey) + "?lang=zh_CN")
    assert 'lang="zh-CN"' in chinese.text and "?lang=en" in chinese.text
    assert client.get(_url(survey) + "?lang=xx").status_code == 200


def test_an_answer_is_recorded_and_the_buyer_thanked(client, db, survey):
    url = _url(survey)
    token = _form_token(client, url)
    response = client.post(
        url, data={"rating": "5", "comment": "很满意", "form_token": token}, follow_redirects=False
    )
    assert response.status_code == 303 and response.headers["location"] == url
    db.refresh(survey)
    assert (survey.rating, survey.comment) == (5, "很满意")
    thanks = client.get(url)
    assert thanks.status_code == 200 and 'id="survey-thanks"' in thanks.text and "很满意" in thanks.text


def test_a_second_answer_gets_a_friendly_409(client, db, survey):
    url = _url(survey)
    token = _form_token(client, url)
    client.post(url, data={"rating": "4", "form_token": token}, follow_redirects=False)
    again = client.post(url, data={"rating": "1", "form_token": token}, follow_redirects=False)
    assert again.status_code == 409 and 'id="survey-problem"' in again.text
    db.refresh(survey)
    assert survey.rating == 4


@pytest.mark.parametrize("rating", ["0", "6", "", "abc", "３"])
def test_a_rating_outside_one_to_five_redisplays_the_form_with_422(client, db, survey, rating):
    url = _url(survey)
    response = client.post(
        url, data={"rating": rating, "comment": "留言还在", "form_token": _form_token(client, url)}
    )
    assert response.status_code == 422
    assert 'id="survey-error"' in response.text and 'id="survey-form"' in response.text
    assert "留言还在" in response.text
    db.refresh(survey)
    assert survey.answered_at is None


def test_a_tampered_link_gets_a_friendly_400_never_a_500(client, survey):
    token = surveys.survey_token(survey.id)
    head, _, signature = token.rpartition(".")
    tampered = f"{head}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    for bad in (tampered, "abc", "a" * 500, token + ".extra"):
        page = client.get(f"/s/{bad}")
        assert page.status_code == 400 and 'id="survey-problem"' in page.text
        answer = client.post(f"/s/{bad}", data={"rating": "5", "form_token": "x"})
        assert answer.status_code == 400


def test_an_expired_link_gets_a_friendly_410(client, survey):
    url = _url(survey)
    token = _form_token(client, url)
    with time_machine.travel(datetime.now(UTC) + timedelta(days=8)):
        assert client.get(url).status_code == 410
        response = client.post(url, data={"rating": "5", "form_token": token})
        assert response.status_code == 410 and 'id="survey-problem"' in response.text


def test_an_answered_survey_still_shows_its_thanks_after_it_closes(client, db, survey):
    surveys.answer(db, survey, rating=3, comment="", now=datetime.now(UTC))
    with time_machine.travel(datetime.now(UTC) + timedelta(days=30)):
        assert client.get(_url(survey)).status_code == 200


def test_an_answer_needs_the_forms_own_token(client, db, survey):
    other = make_survey(db, make_solved_ticket(db), sent_at=survey.sent_at)
    url = _url(survey)
    for token in ("", "forged", surveys.form_token(other.id)):
        response = client.post(url, data={"rating": "5", "form_token": token})
        assert response.status_code == 403 and 'id="survey-problem"' in response.text
    db.refresh(survey)
    assert survey.answered_at is None


def test_an_answer_posted_from_another_site_is_refused(client, db, survey):
    url = _url(survey)
    token = _form_token(client, url)
    response = client.post(
        url, data={"rating": "5", "form_token": token}, headers={"Origin": "https://evil.example"}
    )
    assert response.status_code == 403
    same = client.post(
        url,
        data={"rating": "5", "form_token": token},
        headers={"Origin": "http://testserver"},
        follow_redirects=False,
    )
    assert same.status_code == 303


def test_the_page_is_rate_limited_per_client(client, monkeypatch, survey):
    monkeypatch.setattr(surveys, "MAX_HITS", 3)
    url = _url(survey)
    assert [client.get(url).status_code for _ in range(3)] == [200, 200, 200]
    limited = client.get(url)
    assert limited.status_code == 429 and limited.headers["retry-after"] == "600"
    assert client.post(url, data={"rating": "5", "form_token": "x"}).status_code == 429


def test_guessing_links_is_rate_limited_sooner(client, monkeypatch, survey):
    monkeypatch.setattr(surveys, "MAX_FAILED", 2)
    assert [client.get(f"/s/guess{i}").status_code for i in range(2)] == [400, 400]
    assert client.get(_url(survey)).status_code == 429
