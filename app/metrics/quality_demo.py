"""Demo targets and quality inspection: this month's targets for the demo agents and teams, one
self-assessment, and a scored inspection batch of recently solved tickets with one open appeal."""

from __future__ import annotations

from sqlmodel import select

from app.accounts.models import Agent, Role, Team
from app.demo import DemoContext
from app.errors import InvalidInput
from app.metrics import quality, targets
from app.metrics import quality_appeals as appeals
from app.metrics import quality_sampling as sampling
from app.metrics.models import QaInspection

AGENT_TARGETS = (("reply_rate", "95"), ("first_response_avg", "120"), ("csat_avg", "4.5"), ("qa_score", "90"))
TEAM_TARGETS = {
    "售前": (("inquiry_conversion", "30"),),
    "售后": (("csat_satisfied", "85"), ("refund_rate", "5")),
}
FULL = {"greeting": 15, "accuracy": 35, "empathy": 25, "policy": 25}


def seed(ctx: DemoContext) -> None:
    session, rng, now = ctx.session, ctx.rng, ctx.now
    boss = session.exec(select(Agent).where(Agent.role == Role.supervisor).order_by(Agent.id)).first()
    agents = list(session.exec(select(Agent).where(Agent.role == Role.agent).order_by(Agent.id)))
    if boss is None or not agents:
        return
    year, month = targets.current_month(now)
    for agent in agents:
        for kpi, value in AGENT_TARGETS:
            targets.set_target(
                session,
                subject=f"agent:{agent.id}",
                year=year,
                month=month,
                kpi=kpi,
                value=value,
                actor=boss,
                now=now,
            )
    for team in session.exec(select(Team)):
        for kpi, value in TEAM_TARGETS.get(team.name, ()):
            targets.set_target(
                session,
                subject=f"team:{team.id}",
                year=year,
                month=month,
                kpi=kpi,
                value=value,
                actor=boss,
                now=now,
            )
    targets.write_self_assessment(
        session,
        agents[0],
        year=year,
        month=month,
        text="本月响应速度提升明显，议价时更注意说明价值而不是直接让价；下月想把催付的话术再打磨一下。",
        rating="4",
        now=now,
    )
    quality.ensure_rubric(session, now=now)
    try:
        batch = sampling.sample(
            session,
            filters=sampling.SampleFilters(),
            size="6",
            mode="latest",
            name="演示质检",
            actor=boss,
            now=now,
        )
    except InvalidInput:  # no solved tickets in this demo
        return
    inspections = list(session.exec(select(QaInspection).where(QaInspection.batch_id == batch.id)))
    for index, inspection in enumerate(inspections[:-1]):  # the last one waits to be scored
        marks = {key: max(0, top - rng.choice((0, 0, 2, 5, 8))) for key, top in FULL.items()}
        comments = {"empathy": "可以多一句安抚的话"} if marks["empathy"] < FULL["empathy"] else {}
        fatal = ["leaked_buyer_data"] if index == 3 else []
        quality.score(
            session,
            inspection,
            marks=marks,
            fatal_keys=fatal,
            comments=comments,
            comment="整体规范，回复及时。"
            if not fatal
            else "在对话中完整发出了买家手机号，属于泄露买家信息。",
            actor=boss,
            now=now,
        )
        if fatal:
            appellant = session.get(Agent, inspection.agent_id)
            appeals.appeal(
                session, inspection, agent=appellant, reason="号码是买家自己要求核对的，已打码处理。", now=now
            )
