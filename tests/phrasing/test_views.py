import re

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.phrasing.models import PhrasingTemplate, PhrasingUsage
from tests.factories import count, login, make_agent, make_team
from tests.phrasing.helpers import make_template, make_ticket, shipped_order

HX = {"HX-Request": "true"}


def _logged_in(client, db, role=Role.agent, **kw):
    agent = make_agent(db, role=role, **kw)
    db.commit()
    return agent, login(client, agent)


def _form(**overrides):
    return {
        "title": "催付：关心",
        "category": "payment_reminder",
        "scope": "personal",
        "shortcut": "",
        "is_active": "1",
        "body_zh_CN": "亲，订单 {{ order_number }} 还没付款，遇到问题了吗？",
        "body_zh_TW": "",
        "body_en": "",
    } | overrides


def test_the_library_needs_login(client):
    assert client.get("/phrasing", follow_redirects=False).status_code == 303


def test_the_library_lists_templates_with_chinese_labels_and_is_in_the_nav(client, db):
    make_template(db, title="催付：关心一下", shortcut="/cf")
    _logged_in(client, db)
    page = client.get("/phrasing")
    assert page.status_code == 200 and "催付：关心一下" in page.text and "<code>/cf</code>" in page.text
    assert 'href="/phrasing"' in page.text  # the navigation links the library
    assert "催付" in page.text


def test_filtering_with_htmx_returns_just_the_list(client, db):
    make_template(db, title="催付甲")
    make_template(db, title="议价乙", category="bargaining", variants={"zh_CN": "实在价"})
    _logged_in(client, db)
    response = client.get("/phrasing?category=bargaining", headers=HX)
    assert response.text.lstrip().startswith('<div id="phrasing-list">')
    assert "议价乙" in response.text and "催付甲" not in response.text


def test_an_agent_cannot_edit_a_global_template(client, db):
    template = make_template(db, title="全店催付")
    _, token = _logged_in(client, db)
    page = client.get(f"/phrasing/{template.id}")
    assert page.status_code == 200 and "readonly" in page.text and ">保存<" not in page.text
    response = client.post(f"/phrasing/{template.id}", data=_form(title="改掉", csrf_token=token))
    assert response.status_code == 403 and template.title == "全店催付"
    assert client.post(f"/phrasing/{template.id}/deactivate", data={"csrf_token": token}).status_code == 403


def test_a_supervisor_edits_a_global_template(client, db):
    template = make_template(db, title="全店催付")
    _, token = _logged_in(client, db, Role.supervisor)
    response = client.post(
        f"/phrasing/{template.id}",
        data=_form(title="全店催付（新）", scope="global", csrf_token=token),
        follow_redirects=False,
    )
    assert response.status_code == 303 and response.headers["location"] == "/phrasing"
    db.refresh(template)
    assert template.title == "全店催付（新）"


def test_posting_without_the_csrf_token_is_refused(client, db):
    _logged_in(client, db)
    assert client.post("/phrasing", data=_form()).status_code == 403
    assert count(db, PhrasingTemplate) == 0


def test_an_agent_creates_a_personal_template(client, db):
    agent, token = _logged_in(client, db)
    response = client.post("/phrasing", data=_form(shortcut="/my", csrf_token=token), headers=HX)
    assert response.status_code == 204 and response.headers["HX-Redirect"] == "/phrasing"
    template = db.exec(select(PhrasingTemplate).where(PhrasingTemplate.shortcut == "/my")).one()
    assert template.owner_id == agent.id and template.scope == "personal"


@pytest.mark.parametrize(
    ("overrides", "shown"),
    [
        ({"body_zh_CN": "五星好评返现 5 元"}, "五星"),
        ({"body_zh_CN": "亲\n{{ order_number }"}, "第 2 行"),  # the zh-CN UI names the line
        ({"body_zh_CN": "{{ ''.__class__.__mro__ }}"}, "__class__"),
        ({"body_zh_CN": "{{ nope }}"}, "nope"),
        ({"title": ""}, 'aria-invalid="true"'),
        ({"scope": "global"}, "global"),  # an agent may not write global templates: 403 below
    ],
)
def test_bad_input_comes_back_inline_and_writes_nothing(client, db, overrides, shown):
    _, token = _logged_in(client, db)
    response = client.post("/phrasing", data=_form(**overrides), headers=HX | {"X-CSRF-Token": token})
    if overrides.get("scope") == "global":
        assert response.status_code == 403
    else:
        assert response.status_code == 422
        assert response.text.lstrip().startswith('<form method="post" action="/phrasing" id="phrasing-form"')
        assert shown in response.text
    assert count(db, PhrasingTemplate) == 0


def test_a_plain_form_error_renders_the_whole_page(client, db):
    _, token = _logged_in(client, db)
    response = client.post("/phrasing", data=_form(body_zh_CN="全网最低价", csrf_token=token))
    assert response.status_code == 422 and "<html" in response.text and "全网最低" in response.text


def test_live_preview_renders_sample_data_and_highlights_gaps(client, db):
    _, token = _logged_in(client, db)
    response = client.post(
        "/phrasing/preview",
        data=_form(
            body_zh_CN="{{ buyer_nickname }}，订单 {{ order_number }}，{{ colour }}",
            body_en="Hi {{ store_name }}",
        ),
        headers=HX | {"X-CSRF-Token": token},
    )
    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="phrasing-preview"')
    assert "小鹿买家，订单 20261111-0001" in response.text and "Hi West Lake Tea House" in response.text
    assert '<mark class="missing-var">【缺少：colour】</mark>' in response.text
    assert "colour" in re.sub(r"<[^>]+>", "", response.text.split("lint-issues")[-1])


def test_preview_with_a_ticket_uses_its_order(client, db):
    order = shipped_order(db)
    ticket = make_ticket(db, kind="shipping", order=order)
    _, token = _logged_in(client, db)
    response = client.post(
        "/phrasing/preview",
        data=_form(body_zh_CN="{{ carrier }} {{ tracking_number }}", preview_ticket_id=str(ticket.id)),
        headers=HX | {"X-CSRF-Token": token},
    )
    assert "顺丰速运 SF1234567890" in response.text


def test_preview_without_javascript_renders_the_editor_page(client, db):
    _, token = _logged_in(client, db)
    response = client.post("/phrasing/preview", data=_form(csrf_token=token))
    assert response.status_code == 200 and 'id="phrasing-form"' in response.text and "<html" in response.text


def test_switching_off_and_deleting(client, db):
    supervisor, token = _logged_in(client, db, Role.supervisor)
    unused, used = make_template(db), make_template(db)
    ticket = make_ticket(db)
    db.add(
        PhrasingUsage(
            template_id=used.id,
            category=used.category,
            locale="zh_CN",
            ticket_id=ticket.id,
            action="sent",
            used_at=used.created_at,
        )
    )
    db.commit()
    assert client.post(f"/phrasing/{unused.id}/deactivate", data={"csrf_token": token}).status_code == 200
    db.refresh(unused)
    assert unused.is_active is False
    client.post(f"/phrasing/{unused.id}/activate", data={"csrf_token": token})
    db.refresh(unused)
    assert unused.is_active is True
    client.post(f"/phrasing/{unused.id}/delete", data={"csrf_token": token})
    client.post(f"/phrasing/{used.id}/delete", data={"csrf_token": token})
    assert db.get(PhrasingTemplate, unused.id) is None
    db.refresh(used)
    assert used.is_active is False


def test_import_and_export(client, db):
    team = make_team(db, name="售前")
    make_template(db, title="催付：关心", shortcut="/cf")
    _, token = _logged_in(client, db, Role.supervisor, team=team.name)
    exported = client.get("/phrasing/export?format=csv")
    assert exported.status_code == 200 and exported.text.startswith("\ufefftitle,category")
    assert "attachment" in exported.headers["content-disposition"]
    as_json = client.get("/phrasing/export?format=json").json()
    assert as_json["templates"][0]["shortcut"] == "/cf"
    good = "title,category,locale,body\n签收关怀,delivery_care,zh_CN,亲，收到还满意吗？\n"
    response = client.post(
        "/phrasing/import",
        data={"csrf_token": token},
        files={"file": ("library.csv", good.encode(), "text/csv")},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert db.exec(select(PhrasingTemplate).where(PhrasingTemplate.title == "签收关怀")).one()
    bad = "title,category,locale,body\n好,delivery_care,zh_CN,亲\n坏,nope,zh_CN,亲\n"
    response = client.post(
        "/phrasing/import", data={"csrf_token": token}, files={"file": ("x.csv", bad.encode(), "text/csv")}
    )
    assert response.status_code == 422 and "row 3" in response.text and 'id="import-error"' in response.text
    assert db.exec(select(PhrasingTemplate).where(PhrasingTemplate.title == "好")).first() is None


def test_agents_cannot_import(client, db):
    _, token = _logged_in(client, db)
    response = client.post(
        "/phrasing/import",
        data={"csrf_token": token},
        files={"file": ("x.csv", b"title,category,locale,body\n", "text/csv")},
    )
    assert response.status_code == 403


# --- the desk's routes -------------------------------------------------------------------------


def test_suggestions_for_a_ticket_link_to_the_render_route(client, db):
    ticket = make_ticket(db, kind="payment_reminder")
    first = make_template(db, title="催付：关心", shortcut="/cf")
    make_template(db, title="议价", category="bargaining", shortcut="/yj", variants={"zh_CN": "实在价"})
    _logged_in(client, db)
    response = client.get(f"/phrasing/suggest?ticket_id={ticket.id}", headers=HX)
    assert response.text.lstrip().startswith('<div id="phrasing-suggestions"')
    assert f'hx-get="/phrasing/{first.id}/render?ticket_id={ticket.id}"' in response.text
    assert response.text.index("催付：关心") < response.text.index("议价")
    narrowed = client.get(f"/phrasing/suggest?ticket_id={ticket.id}&q=/yj", headers=HX)
    assert "议价" in narrowed.text and "催付：关心" not in narrowed.text
    assert client.get("/phrasing/suggest?ticket_id=999999", headers=HX).status_code == 404
    assert client.get("/phrasing/suggest?ticket_id=abc", headers=HX).status_code == 422


def test_inserting_renders_into_the_composer_and_blocks_gaps(client, db):
    order = shipped_order(db)
    ticket = make_ticket(db, kind="shipping", order=order)
    template = make_template(
        db,
        category="shipping_notice",
        variants={
            "zh_CN": "{{ carrier }} {{ tracking_number }}，预计 {{ delivered_at }} 送达",
            "en": "{{ carrier }}",
        },
    )
    _logged_in(client, db)
    response = client.get(f"/phrasing/{template.id}/render?ticket_id={ticket.id}", headers=HX)
    html = response.text
    assert response.status_code == 200 and html.lstrip().startswith('<div id="composer-insert"')
    assert '<textarea name="body" id="reply-body"' in html and "顺丰速运 SF1234567890" in html
    assert f'name="template_id" value="{template.id}"' in html and 'data-copy-target="#reply-body"' in html
    assert '<mark class="missing-var">【缺少：delivered_at】</mark>' in html and 'aria-invalid="true"' in html
    english = client.get(f"/phrasing/{template.id}/render?ticket_id={ticket.id}&locale=en", headers=HX)
    assert ">顺丰速运</textarea>" in english.text


def test_copying_records_a_use(client, db):
    ticket = make_ticket(db)
    template = make_template(db)
    agent, token = _logged_in(client, db)
    response = client.post(
        f"/phrasing/{template.id}/copied", data={"ticket_id": str(ticket.id), "csrf_token": token}
    )
    assert response.status_code == 204
    usage = db.exec(select(PhrasingUsage).where(PhrasingUsage.template_id == template.id)).one()
    assert (usage.action, usage.agent_id, usage.ticket_id) == ("copied", agent.id, ticket.id)
    assert (
        client.post(f"/phrasing/{template.id}/copied", data={"ticket_id": str(ticket.id)}).status_code == 403
    )
    missing = client.post(f"/phrasing/{template.id}/copied", data={"csrf_token": token})
    assert missing.status_code == 422


def test_a_personal_template_of_someone_else_is_not_found(client, db):
    other = make_agent(db)
    theirs = make_template(db, scope="personal", agent=other)
    ticket = make_ticket(db)
    _logged_in(client, db)
    assert client.get(f"/phrasing/{theirs.id}").status_code == 404
    assert client.get(f"/phrasing/{theirs.id}/render?ticket_id={ticket.id}", headers=HX).status_code == 404
