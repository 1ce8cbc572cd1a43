import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.errors import Forbidden, InvalidInput, NotFound
from app.orders.lifecycle import Stage
from app.phrasing import access, service, stats
from app.phrasing.models import PhrasingScope, PhrasingTemplate, PhrasingVariant
from app.phrasing.service import LintFailed, TemplateFilters, TemplateInput
from tests.factories import T0, make_agent, make_team
from tests.orders.helpers import make_order
from tests.phrasing.helpers import make_template, make_ticket


def _data(**overrides) -> TemplateInput:
    values = {
        "title": "催付：关心",
        "category": "payment_reminder",
        "variants": {"zh_CN": "亲，订单 {{ order_number }} 还没付款，遇到问题了吗？"},
        "scope": "personal",
    } | overrides
    return TemplateInput(**values)


def _titles(db, agent) -> set[str]:
    rows = service.list_templates(
        db, agent=agent, filters=TemplateFilters(active=None), cursor=None, limit=200
    )
    return {t.title for t in rows.items}


def test_each_scope_is_seen_by_the_right_people(db):
    team, other_team = make_team(db), make_team(db)
    member = make_agent(db, team=team.name)
    outsider = make_agent(db, team=other_team.name)
    admin = make_agent(db, role=Role.admin)
    make_template(db, title="全店模板")
    make_template(db, title="团队模板", scope="team", team_id=team.id)
    make_template(db, title="小美自己的", scope="personal", agent=member)
    assert {"全店模板", "团队模板", "小美自己的"} <= _titles(db, member)
    assert "全店模板" in _titles(db, outsider)
    assert not {"团队模板", "小美自己的"} & _titles(db, outsider)
    assert "团队模板" in _titles(db, admin) and "小美自己的" not in _titles(db, admin)
    assert "小美自己的" not in _titles(db, None)  # an API key never sees personal templates


@pytest.mark.parametrize(
    ("role", "in_team", "scope", "allowed"),
    [
        (Role.agent, True, "global", False),
        (Role.agent, True, "team", False),
        (Role.agent, True, "personal", True),
        (Role.supervisor, True, "global", True),
        (Role.supervisor, True, "team", True),
        (Role.supervisor, False, "team", False),  # a supervisor of another team
        (Role.admin, False, "team", True),
    ],
)
def test_who_may_create_which_scope(db, role, in_team, scope, allowed):
    team, other = make_team(db), make_team(db)
    agent = make_agent(db, role=role, team=(team if in_team else other).name)
    data = _data(scope=scope, team_id=team.id if scope == "team" else None)
    if allowed:
        template = service.create_template(db, data=data, agent=agent, now=T0)
        assert template.scope == PhrasingScope(scope)
        assert template.owner_id == (agent.id if scope == "personal" else None)
    else:
        with pytest.raises(Forbidden):
            service.create_template(db, data=data, agent=agent, now=T0)
        assert db.exec(select(PhrasingTemplate).where(PhrasingTemplate.title == data.title)).first() is None


def test_an_agent_cannot_edit_a_global_template_but_a_supervisor_can(db):
    template = make_template(db, title="全店催付")
    agent, supervisor = make_agent(db), make_agent(db, role=Role.supervisor)
    with pytest.raises(Forbidden):
        service.update_template(db, template, changes={"title": "改了"}, agent=agent, now=T0)
    service.update_template(db, template, changes={"title": "全店催付（新）"}, agent=supervisor, now=T0)
    assert template.title == "全店催付（新）"


def test_someone_elses_personal_template_does_not_exist_for_you(db):
    owner, other = make_agent(db), make_agent(db, role=Role.supervisor)
    mine = make_template(db, scope="personal", agent=owner)
    assert access.require_visible(db, mine.id, owner).id == mine.id
    with pytest.raises(NotFound):
        access.require_visible(db, mine.id, other)


def test_variants_are_cleaned_and_replaced_on_update(db):
    agent = make_agent(db)
    template = service.create_template(
        db, data=_data(variants={"zh_CN": "  亲～\r\n你好  ", "en": "Hi", "zh_TW": "  "}), agent=agent, now=T0
    )
    assert service.variants_for(db, [template.id])[template.id] == {"zh_CN": "亲～\n你好", "en": "Hi"}
    service.update_template(db, template, changes={"variants": {"zh_TW": "親，您好"}}, agent=agent, now=T0)
    rows = db.exec(select(PhrasingVariant).where(PhrasingVariant.template_id == template.id)).all()
    assert [(r.locale, r.body) for r in rows] == [("zh_TW", "親，您好")]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"variants": {}}, "empty"),
        ({"variants": {"fr": "Bonjour"}}, "variants.fr"),
        ({"title": ""}, "title"),
        ({"category": "haggling"}, "category"),
        ({"scope": "everyone"}, "scope"),
        ({"shortcut": "yp!"}, "shortcut"),
        ({"variants": {"zh_CN": "好评返现 5 元"}}, "variants.zh_CN"),
        ({"variants": {"zh_CN": "{{ order_number"}}, "variants.zh_CN"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_written(db, changes, field):
    agent = make_agent(db)
    with pytest.raises(InvalidInput) as caught:
        service.create_template(db, data=_data(**changes), agent=agent, now=T0)
    assert field in caught.value.fields
    assert db.exec(select(PhrasingTemplate).where(PhrasingTemplate.created_by_id == agent.id)).first() is None


def test_lint_failure_carries_every_issue_for_the_form(db):
    with pytest.raises(LintFailed) as caught:
        service.create_template(
            db, data=_data(variants={"zh_CN": "全网最低价！{{ foo }}"}), agent=make_agent(db), now=T0
        )
    codes = {issue.code for issue in caught.value.issues}
    assert {"superlative", "unknown_variable"} <= codes


def test_shortcuts_are_normalized_and_unique_among_what_an_agent_sees(db):
    team = make_team(db)
    member, other = make_agent(db, team=team.name), make_agent(db)
    supervisor = make_agent(db, role=Role.supervisor, team=team.name)
    mine = service.create_template(db, data=_data(shortcut="YP"), agent=member, now=T0)
    assert mine.shortcut == "/yp"
    # Another agent's personal /yp does not clash: they never see both.
    service.create_template(db, data=_data(shortcut="/yp"), agent=other, now=T0)
    # A team template /yp would sit beside the member's own /yp.
    with pytest.raises(InvalidInput) as caught:
        service.create_template(
            db, data=_data(scope="team", team_id=team.id, shortcut="/yp"), agent=supervisor, now=T0
        )
    assert "shortcut" in caught.value.fields
    # So would a global one, for everybody.
    with pytest.raises(InvalidInput):
        make_template(db, shortcut="/yp")
    # Switched off, a template frees its shortcut; switching it back on checks again.
    service.set_active(db, mine, active=False, agent=member, now=T0)
    team_one = service.create_template(
        db, data=_data(scope="team", team_id=team.id, shortcut="/yp"), agent=supervisor, now=T0
    )
    with pytest.raises(InvalidInput):
        service.set_active(db, mine, active=True, agent=member, now=T0)
    assert team_one.is_active and not mine.is_active


def test_a_used_template_is_switched_off_instead_of_deleted(db):
    agent = make_agent(db)
    unused, used = make_template(db), make_template(db)
    ticket = make_ticket(db)
    stats.record_usage(
        db, template_id=used.id, agent=agent, ticket=ticket, action="copied", locale="zh_CN", now=T0
    )
    supervisor = make_agent(db, role=Role.supervisor)
    assert service.delete_template(db, unused, agent=supervisor, now=T0) == "deleted"
    assert db.get(PhrasingTemplate, unused.id) is None
    assert service.delete_template(db, used, agent=supervisor, now=T0) == "deactivated"
    assert db.get(PhrasingTemplate, used.id).is_active is False


def test_search_matches_title_text_and_shortcut_and_escapes_wildcards(db):
    make_template(db, title="发货提醒", category="shipping_notice", shortcut="/fh")
    make_template(db, title="催付", variants={"zh_CN": "亲，回购率 98%，放心"}, shortcut="/cf")
    agent = make_agent(db)

    def found(q):
        rows = service.list_templates(db, agent=agent, filters=TemplateFilters(q=q), cursor=None, limit=50)
        return {t.title for t in rows.items}

    assert found("发货") == {"发货提醒"}
    assert found("放心") == {"催付"}
    assert found("/fh") == {"发货提醒"}
    assert (
        found("98%") == {"催付"} and found("%") == {"催付"} and found("d_r") == set()
    )  # "_" is no wildcard ("order")


def test_suggest_puts_the_tickets_kind_then_its_stage_first(db):
    agent = make_agent(db)
    order = make_order(db, stage=Stage.delivered)
    ticket = make_ticket(db, kind="confirm_nudge", order=order)
    other = make_template(db, title="议价", category="bargaining", variants={"zh_CN": "实在价"})
    care = make_template(db, title="签收关怀", category="delivery_care", variants={"zh_CN": "收到还满意吗"})
    confirm = make_template(
        db, title="确认收货", category="confirm_receipt", variants={"zh_CN": "帮忙确认收货"}
    )
    ranked = service.suggest(db, agent=agent, ticket=ticket)
    assert [s.template_id for s in ranked] == [confirm.id, care.id, other.id]
    assert [s.relevance for s in ranked] == [0, 1, 2] and ranked[0].fits and not ranked[2].fits
    assert ranked[0].category_zh == "确认收货" and ranked[0].preview == "帮忙确认收货"


def test_suggest_searches_text_and_shortcut_and_puts_an_exact_shortcut_first(db):
    agent = make_agent(db)
    ticket = make_ticket(db, kind="payment_reminder")
    make_template(db, title="催付一", shortcut="/cf")
    exact = make_template(db, title="议价", category="bargaining", shortcut="/yj")
    longer = make_template(db, title="议价二", category="bargaining", shortcut="/yj2")
    assert [s.template_id for s in service.suggest(db, agent=agent, ticket=ticket, q="/YJ")] == [
        exact.id,
        longer.id,
    ]
    assert [s.title for s in service.suggest(db, agent=agent, ticket=ticket, q="议价二")] == ["议价二"]
    assert service.suggest(db, agent=agent, ticket=ticket, q="没有这个") == []


def test_suggest_skips_switched_off_and_invisible_templates_and_favours_my_most_used(db):
    agent, other = make_agent(db), make_agent(db)
    ticket = make_ticket(db, kind="payment_reminder")
    first = make_template(db, title="A 催付")
    favourite = make_template(db, title="B 催付")
    off = make_template(db, title="C 催付")
    service.set_active(db, off, active=False, agent=None, now=T0)
    make_template(db, title="别人的", scope="personal", agent=other)
    for _ in range(2):
        stats.record_usage(
            db, template_id=favourite.id, agent=agent, ticket=ticket, action="sent", locale="zh_CN", now=T0
        )
    titles = [s.title for s in service.suggest(db, agent=agent, ticket=ticket)]
    assert titles[:2] == [favourite.title, first.title]
    assert off.title not in titles and "别人的" not in titles
