"""The cached date, duration and money formatting says exactly what Babel says, in each locale."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from babel import Locale
from babel.dates import format_datetime, format_timedelta
from babel.numbers import format_currency

from app.i18n import current_locale
from app.web import format_duration, format_money, format_time

LOCALES = ["zh_CN", "en"]
# Around every unit's edges (threshold 1.5: 89 s is seconds, 90 s two minutes; 35.9 h hours,
# 36 h days), zero, and long spans.
SECONDS = [0, 0.4, 1, 59, 89, 90, 91, 150, 3599, 5399, 5400, 7200, 86399, 129_239, 129_600, 129_601]
DAY = 86400
SECONDS += [7 * DAY, 10 * DAY, 11 * DAY, 40 * DAY, 45 * DAY, 400 * DAY, 548 * DAY, 3 * 365 * DAY]


@pytest.mark.parametrize("locale", LOCALES)
def test_format_duration_is_babels_format_timedelta(locale):
    token = current_locale.set(locale)
    try:
        for seconds in SECONDS:
            for delta in (timedelta(seconds=seconds), -timedelta(seconds=seconds)):
                expected = format_timedelta(abs(delta), threshold=1.5, locale=Locale.parse(locale))
                assert format_duration(delta) == expected, (seconds, locale)
    finally:
        current_locale.reset(token)


def test_format_duration_follows_the_request_locale():
    texts = []
    for locale in LOCALES:
        token = current_locale.set(locale)
        texts.append(format_duration(timedelta(hours=5)))
        current_locale.reset(token)
    assert texts == ["5小时", "5 hours"]


@pytest.mark.parametrize("locale", LOCALES)
def test_format_time_is_babels_in_the_zone_and_locale(locale):
    token = current_locale.set(locale)
    try:
        value = datetime(2026, 11, 24, 3, 4, 5, tzinfo=UTC)
        zones = [("Asia/Shanghai", "short"), ("Asia/Shanghai", "medium"), ("America/New_York", "short")]
        for tz, fmt in zones:
            local = value.astimezone(ZoneInfo(tz))
            expected = format_datetime(local, format=fmt, locale=Locale.parse(locale))
            assert format_time(value, tz, fmt) == expected
            assert format_time(value, tz, fmt) == expected  # again, from the cache
        assert format_time(None) == "—"
    finally:
        current_locale.reset(token)


@pytest.mark.parametrize("locale", LOCALES)
def test_format_money_is_babels_in_the_locale(locale):
    token = current_locale.set(locale)
    try:
        amounts = [(Decimal("1299.00"), "CNY"), (Decimal("1299"), "CNY"), (Decimal("0.5"), "USD")]
        for amount, currency in amounts:
            expected = format_currency(amount, currency, locale=Locale.parse(locale))
            assert format_money(amount, currency) == expected
            assert format_money(amount, currency) == expected  # again, from the cache
        assert format_money(None) == "—"
    finally:
        current_locale.reset(token)
