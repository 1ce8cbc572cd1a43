"""The starter library arrives with the demo and on first install (`huitou migrate`)."""

import os
import random
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from faker import Faker
from rich.progress import Progress
from sqlmodel import select

from app.demo import DemoContext, DemoSizes, seed_accounts
from app.phrasing import demo
from app.phrasing.models import PhrasingScope, PhrasingTemplate
from app.phrasing.starter import STARTERS

HUITOU = str(Path(sys.executable).with_name("huitou"))


def _ctx(db, now):
    return DemoContext(
        session=db,
        sizes=DemoSizes(customers=0, orders=0),
        rng=random.Random(1),
        faker=Faker("zh_CN"),
        now=now,
        progress=Progress(disable=True),
    )


def test_the_demo_seeds_the_starter_library_a_team_template_and_a_personal_one(db, now):
    ctx = _ctx(db, now)
    seed_accounts(ctx)
    demo.seed(ctx)
    templates = db.exec(select(PhrasingTemplate)).all()
    assert sum(t.is_starter for t in templates) == len(STARTERS)
    assert {t.scope for t in templates} == {PhrasingScope.global_, PhrasingScope.team, PhrasingScope.personal}
    demo.seed(ctx)  # seeding again adds nothing
    assert len(db.exec(select(PhrasingTemplate)).all()) == len(templates)


def test_migrate_loads_the_starter_library_once(fresh_database_url):
    env = os.environ | {"HUITOU_DATABASE_URL": fresh_database_url, "NO_COLOR": "1"}

    def migrate() -> str:
        result = subprocess.run([HUITOU, "migrate"], env=env, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stderr
        return result.stdout

    assert f"{len(STARTERS)} starter templates added" in migrate()
    assert "starter" not in migrate()
    engine = sa.create_engine(fresh_database_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM phrasing_templates")).scalar() == len(STARTERS)
    engine.dispose()
