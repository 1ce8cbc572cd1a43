import csv
import io as stdio
import json

import pytest
from sqlmodel import select

from app.accounts.models import Role
from app.errors import InvalidInput
from app.phrasing import io, service
from app.phrasing.io import ImportFailed
from app.phrasing.models import PhrasingTemplate
from tests.factories import T0, count, make_agent, make_team
from tests.phrasing.helpers import make_template


@pytest.fixture
def library(db):
    team = make_team(db, name="售前")
    supervisor = make_agent(db, role=Role.supervisor, team=team.name)
    make_template(
        db,
        title="催付：关心",
        shortcut="/cf",
        variants={
            "zh_CN": "亲，订单 {{ order_number }} 还没付款～",
            "zh_TW": "親，還沒付款～",
            "en": "Unpaid?",
        },
    )
    make_template(db, title="团队开场", category="presale_reassurance", scope="team", team_id=team.id,
                  variants={"zh_CN": "=亲，您好，\"正品\"，逗号,换行\n第二行"})  # fmt: skip
    off = make_template(db, title="旧的议价", category="bargaining", variants={"en": "A fair price."})
    service.set_active(db, off, active=False, agent=supervisor, now=T0)
    return supervisor


def _wipe(db, agent):
    for template in db.exec(select(PhrasingTemplate)).all():
        service.delete_template(db, template, agent=agent, now=T0)
    assert count(db, PhrasingTemplate) == 0


def test_csv_round_trip_restores_the_library(db, library):
    exported = io.export_csv(db, agent=library)
    rows = list(csv.DictReader(stdio.StringIO(exported)))
    assert len(rows) == 5 and tuple(rows[0]) == io.CSV_COLUMNS
    # A cell a spreadsheet would run as a formula is quoted; the import takes the quote off again.
    assert next(r for r in rows if r["title"] == "团队开场")["body"].startswith("'=亲")
    _wipe(db, library)
    result = io.import_library(db, content=exported.encode("utf-8-sig"), fmt="csv", agent=library, now=T0)
    assert (result.created, result.updated) == (3, 0)
    assert io.export_csv(db, agent=library) == exported
    team_one = db.exec(select(PhrasingTemplate).where(PhrasingTemplate.title == "团队开场")).one()
    assert service.variants_for(db, [team_one.id])[team_one.id]["zh_CN"].startswith('=亲，您好，"正品"')


def test_json_round_trip_restores_the_library(db, library):
    exported = json.loads(io.export_json(db, agent=library, now=T0))
    assert exported["format"] == "huitou-phrasing" and len(exported["templates"]) == 3
    first = exported["templates"][0]
    assert set(first) == {"title", "category", "scope", "team", "shortcut", "is_active", "variants"}
    _wipe(db, library)
    content = json.dumps(exported, ensure_ascii=False).encode()
    assert io.import_library(db, content=content, fmt="json", agent=library, now=T0).created == 3
    again = json.loads(io.export_json(db, agent=library, now=T0))
    assert again["templates"] == exported["templates"]


def test_importing_again_updates_by_shortcut_or_title(db, library):
    payload = {
        "templates": [
            {
                "title": "催付：新标题",
                "category": "payment_reminder",
                "shortcut": "/cf",
                "variants": {"zh_CN": "新的"},
            },
            {
                "title": "旧的议价",
                "category": "bargaining",
                "is_active": True,
                "variants": {"zh_CN": "实在价"},
            },
            {"title": "全新", "category": "lost_lead", "variants": {"zh_CN": "还在考虑吗？"}},
        ]
    }
    result = io.import_library(db, content=json.dumps(payload).encode(), fmt="json", agent=library, now=T0)
    assert (result.created, result.updated) == (1, 2)
    renamed = db.exec(select(PhrasingTemplate).where(PhrasingTemplate.shortcut == "/cf")).one()
    assert renamed.title == "催付：新标题"
    assert service.variants_for(db, [renamed.id])[renamed.id] == {"zh_CN": "新的"}  # texts replaced
    assert db.exec(select(PhrasingTemplate).where(PhrasingTemplate.title == "旧的议价")).one().is_active


CSV_HEAD = "title,category,scope,team,shortcut,is_active,locale,body\n"


@pytest.mark.parametrize(
    ("body", "rows"),
    [
        ("好,payment_reminder,global,,/a1,1,zh_CN,亲\n坏,haggle,global,,,1,zh_CN,亲\n", ["row 3"]),
        ("返现,review_request,global,,,1,zh_CN,好评返现 5 元\n", ["row 2"]),
        ("语法,review_request,global,,,1,zh_CN,{{ order_number\n", ["row 2"]),
        ("变量,review_request,global,,,1,zh_CN,{{ nope }}\n", ["row 2"]),
        ("团队,review_request,team,没有这个队,,1,zh_CN,亲\n", ["row 2"]),
        ("范围,review_request,everyone,,,1,zh_CN,亲\n", ["row 2"]),
        ("快捷,review_request,team,售前,/cf,1,zh_CN,亲\n", ["row 2"]),  # the global /cf is seen too
        ("一,review_request,global,,/zz,1,zh_CN,亲\n二,review_request,global,,/zz,1,zh_CN,亲\n", ["row 3"]),
        ("一,review_request,global,,,1,zh_CN,亲\n一,review_request,global,,,1,zh_CN,亲\n", ["row 3"]),
        ("法语,review_request,global,,,1,fr,Bonjour\n", ["row 2"]),
    ],
)
def test_a_bad_csv_imports_nothing_and_names_its_rows(db, library, body, rows):
    before = count(db, PhrasingTemplate)
    with pytest.raises(ImportFailed) as caught:
        io.import_library(db, content=(CSV_HEAD + body).encode(), fmt="csv", agent=library, now=T0)
    assert list(caught.value.fields) == rows
    assert count(db, PhrasingTemplate) == before


@pytest.mark.parametrize(
    ("content", "fmt", "field"),
    [
        (b"", "csv", "file"),
        (b"title,body\nx,y\n", "csv", "file"),
        (b"{not json", "json", "file"),
        (b'{"templates": {}}', "json", "file"),
        (b'{"templates": [1]}', "json", "template 1"),
        (b"\xff\xfe\x00\xd8\x00", "csv", "file"),
        (b"x" * (io.MAX_BYTES + 1), "csv", "file"),
        (b"title", "xlsx", "file"),
    ],
)
def test_unreadable_files_are_refused_clearly(db, library, content, fmt, field):
    with pytest.raises(InvalidInput) as caught:
        io.import_library(db, content=content, fmt=fmt, agent=library, now=T0)
    assert field in caught.value.fields


def test_a_csv_saved_by_chinese_excel_in_gbk_imports(db, library):
    content = (CSV_HEAD + "签收关怀,delivery_care,global,,/qs,1,zh_CN,亲，收到还满意吗？\n").encode("gbk")
    assert io.import_library(db, content=content, fmt="csv", agent=library, now=T0).created == 1


def test_a_supervisor_cannot_import_into_another_teams_templates(db, library):
    other = make_team(db, name="售后")
    content = (CSV_HEAD + f"售后开场,aftersales,team,{other.name},,1,zh_CN,亲\n").encode()
    with pytest.raises(ImportFailed) as caught:
        io.import_library(db, content=content, fmt="csv", agent=library, now=T0)
    assert "row 2" in caught.value.fields


def test_an_agent_exports_only_what_they_can_see(db, library):
    agent, other = make_agent(db), make_agent(db)
    make_template(db, title="我的", scope="personal", agent=agent, variants={"zh_CN": "亲"})
    make_template(db, title="别人的", scope="personal", agent=other, variants={"zh_CN": "亲"})
    titles = {t["title"] for t in io.export_items(db, agent=agent)}
    assert "我的" in titles and "别人的" not in titles and "团队开场" not in titles
