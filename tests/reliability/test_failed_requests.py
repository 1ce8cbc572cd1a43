"""A request that fails after loading the logged-in agent is rolled back, and its error page is
still rendered with that agent (nav, name): a real server answers 404 / 403, never a 500.
(The test client shares one session and never closes it, so only a real server shows this.)"""

from __future__ import annotations

from tests.reliability.helpers import PASSWORD, Server, scratch_database
from tests.reliability.load import logged_in_client


def test_error_pages_of_a_logged_in_agent_survive_the_rollback(tmp_path):
    with scratch_database("pages", agents={"lead": "supervisor", "desk": "agent"}) as db:
        server = Server(db.env, tmp_path / "serve.log")
        try:
            lead = logged_in_client(server.base, "lead", PASSWORD)
            desk = logged_in_client(server.base, "desk", PASSWORD)
            answers = [
                (lead.get("/orders/99999999"), 404),  # the route raised NotFound
                (lead.get("/customers/99999999"), 404),
                (lead.get("/orders/99999999", headers={"HX-Request": "true"}), 404),
                (desk.get("/settings/accounts"), 403),  # a role check (a dependency) refused
            ]
            for response, status in answers:
                assert response.status_code == status, response.text[:300]
                assert response.headers["content-type"].startswith("text/html")
            for response, _ in answers[:2] + answers[3:]:  # full pages: the agent's name in the bar
                assert 'class="who"' in response.text
            lead.close()
            desk.close()
        finally:
            server.stop()
        assert "Traceback" not in server.log(), server.log()[-3000:]
