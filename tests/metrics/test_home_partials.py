"""The agent's home page (the workbench) shows their own KPIs and targets, loaded as fragments."""

from app.accounts.models import Role
from tests.factories import login, make_agent

HX = {"HX-Request": "true"}


def test_workbench_loads_the_agents_own_figures_and_targets(client, db):
    agent = make_agent(db, role=Role.agent)
    db.commit()
    login(client, agent)
    home = client.get("/")
    assert home.status_code == 200
    assert 'hx-get="/reports/me/kpis"' in home.text and 'hx-get="/reports/me/targets"' in home.text
    for path in ("/reports/me/kpis", "/reports/me/targets"):
        fragment = client.get(path, headers=HX)
        assert fragment.status_code == 200, path
        assert "<html" not in fragment.text  # a fragment, swapped into the home page
        assert fragment.text.lstrip().startswith("<")
