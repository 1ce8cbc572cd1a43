import pytest

from app.aftersales.lifecycle import CaseKind, CaseReason
from app.aftersales.policy import EXPLANATIONS, recommend

K, R = CaseKind, CaseReason


@pytest.mark.parametrize(
    ("kind", "reason", "days", "code"),
    [
        (K.return_refund, R.quality, 3, "approve_shop_pays_shipping"),
        (K.exchange, R.wrong_item, 1, "approve_shop_pays_shipping"),
        (K.resend, R.wrong_item, None, "approve_shop_pays_shipping"),
        (K.refund_only, R.damaged_in_transit, 1, "shop_takes_responsibility"),
        (K.return_refund, R.not_as_described, 2, "shop_takes_responsibility"),
        (K.price_adjustment, R.other, 20, "shop_takes_responsibility"),
        (K.return_refund, R.seven_day_no_reason, 2, "approve_if_intact"),
        (K.return_refund, R.seven_day_no_reason, 7, "approve_if_intact"),
        (K.return_refund, R.seven_day_no_reason, None, "approve_if_intact"),
        (K.return_refund, R.seven_day_no_reason, 7.5, "past_seven_days"),
        (K.exchange, R.size_fit, 3, "approve_exchange"),
        (K.return_refund, R.size_fit, 3, "offer_exchange_or_refund"),
    ],
)
def test_recommendation_follows_the_house_stance(kind, reason, days, code):
    advice = recommend(kind, reason, days_since_delivery=days)
    assert advice.code == code and advice.explanation == EXPLANATIONS[code]


def test_seven_day_advice_mentions_the_intact_condition():
    assert "完好" in recommend(K.return_refund, R.seven_day_no_reason, days_since_delivery=1).explanation


@pytest.mark.parametrize("kind", list(CaseKind))
@pytest.mark.parametrize("reason", list(CaseReason))
def test_every_kind_and_reason_gets_advice_that_fits_the_column(kind, reason):
    advice = recommend(kind, reason, days_since_delivery=30)
    assert advice.explanation and len(advice.code) <= 64
