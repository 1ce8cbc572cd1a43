"""Demo seed: the starter library, plus a team template and an agent's personal ones, as a shop
that has used Huitou for a while would have."""

from __future__ import annotations

from sqlmodel import Session, select

from app.accounts import service as accounts
from app.demo import DemoContext
from app.phrasing.models import PhrasingScope, PhrasingTemplate
from app.phrasing.service import TemplateInput, create_template
from app.phrasing.starter import load_starter


def _exists(session: Session, title: str) -> bool:
    query = select(PhrasingTemplate.id).where(PhrasingTemplate.title == title)
    return session.exec(query).first() is not None


def seed(ctx: DemoContext) -> None:
    session, now = ctx.session, ctx.now
    load_starter(session, now=now)  # nothing when `huitou migrate` already loaded it
    presale = accounts.get_team_by_name(session, "售前")
    if presale is not None and not _exists(session, "售前：茶叶新鲜度"):
        create_template(
            session,
            data=TemplateInput(
                title="售前：茶叶新鲜度",
                category="presale_reassurance",
                scope=PhrasingScope.team,
                team_id=presale.id,
                shortcut="/xx",
                variants={
                    "zh_CN": "亲，咱家的茶都是当季新茶，密封冷藏发货，"
                    "收到后如果觉得不新鲜，可以直接找我退换～",
                    "en": "Our tea is from this season's harvest and ships sealed and chilled. If it doesn't "
                    "taste fresh when it arrives, tell me and we'll exchange or refund it.",
                },
            ),
            agent=None,
            now=now,
        )
    xiaomei = accounts.get_agent_by_username(session, "xiaomei")
    if xiaomei is not None and not _exists(session, "我的开场白"):
        create_template(
            session,
            data=TemplateInput(
                title="我的开场白",
                category="presale_reassurance",
                scope=PhrasingScope.personal,
                shortcut="/hi",
                variants={"zh_CN": "亲，您好，我是{{ agent_name }}，很高兴为您服务～有什么可以帮您？"},
            ),
            agent=xiaomei,
            now=now,
        )
