from datetime import timedelta

import pytest

from app.accounts import service
from app.accounts.models import Role, Scope
from app.errors import Conflict, Forbidden, InvalidInput, NotAuthenticated, RateLimited
from tests.factories import PASSWORD, make_agent, make_api_key, make_team


def test_password_is_stored_as_argon2_hash(db, now):
    agent = make_agent(db, username="meimei")
    assert agent.password_hash.startswith("$argon2")
    assert PASSWORD not in agent.password_hash


def test_authenticate_accepts_the_right_password_case_insensitive_username(db, now):
    agent = make_agent(db, username="XiaoMei")
    assert (
        service.authenticate(db, username="xiaomei", password=PASSWORD, client="1.2.3.4", now=now).id
        == agent.id
    )


def test_wrong_password_and_unknown_user_get_the_same_message(db, now):
    make_agent(db, username="known")
    with pytest.raises(NotAuthenticated) as wrong:
        service.authenticate(db, username="known", password="nope-nope", client="c", now=now)
    with pytest.raises(NotAuthenticated) as unknown:
        service.authenticate(db, username="ghost", password="nope-nope", client="c", now=now)
    assert wrong.value.english() == unknown.value.english() == "Wrong username or password."


def test_disabled_agent_cannot_log_in(db, now):
    agent = make_agent(db)
    service.update_agent(db, agent, is_active=False)
    with pytest.raises(Forbidden):
        service.authenticate(db, username=agent.username, password=PASSWORD, client="c", now=now)


def test_repeated_failures_for_one_username_are_throttled_then_released(db, now):
    agent = make_agent(db)
    for i in range(5):
        with pytest.raises(NotAuthenticated):
            service.authenticate(
                db, username=agent.username, password="bad-password", client=f"c{i}", now=now
            )
    with pytest.raises(RateLimited):
        service.authenticate(db, username=agent.username, password=PASSWORD, client="c9", now=now)
    later = now + timedelta(minutes=16)
    assert service.authenticate(db, username=agent.username, password=PASSWORD, client="c9", now=later)


def test_repeated_failures_from_one_client_are_throttled_across_usernames(db, now):
    for i in range(20):
        with pytest.raises(NotAuthenticated):
            service.authenticate(db, username=f"user{i}", password="bad-password", client="9.9.9.9", now=now)
    agent = make_agent(db)
    with pytest.raises(RateLimited):
        service.authenticate(db, username=agent.username, password=PASSWORD, client="9.9.9.9", now=now)


def test_usernames_are_unique_regardless_of_case(db, now):
    make_agent(db, username="Lina")
    with pytest.raises(Conflict):
        make_agent(db, username="lina")


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "a"}, "username"),
        ({"password": "short"}, "password"),
        ({"role": "boss"}, "role"),
        ({"team": "no-such-team"}, "team"),
        ({"locale": "fr"}, "locale"),
    ],
)
def test_invalid_agent_input_names_the_field(db, overrides, field):
    with pytest.raises(InvalidInput) as exc:
        make_agent(db, **overrides)
    assert field in exc.value.fields


def test_agent_joins_a_team_by_name(db):
    team = make_team(db, name="售前")
    agent = make_agent(db, team="售前", role=Role.supervisor)
    assert agent.team_id == team.id and agent.role == Role.supervisor


def test_new_password_or_disabling_ends_existing_sessions(db):
    agent = make_agent(db)
    epoch = agent.session_epoch
    service.update_agent(db, agent, password="another-password")
    assert agent.session_epoch == epoch + 1
    service.update_agent(db, agent, is_active=False)
    assert agent.session_epoch == epoch + 2


def test_api_key_is_stored_hashed_and_verifies(db, now):
    secret = make_api_key(db, scope=Scope.write)
    key = service.verify_api_key(db, secret, now=now)
    assert key.scope == Scope.write
    assert secret not in key.key_hash and key.last_used_at == now


def test_revoked_or_forged_api_key_is_refused(db, now):
    created = service.create_api_key(db, name="bridge", scope="read", now=now)
    with pytest.raises(NotAuthenticated):
        service.verify_api_key(db, created.secret[:-2] + "xx", now=now)
    service.revoke_api_key(db, created.key, now=now)
    with pytest.raises(NotAuthenticated, match="revoked"):
        service.verify_api_key(db, created.secret, now=now)
    with pytest.raises(NotAuthenticated):
        service.verify_api_key(db, "not-a-key", now=now)


def test_scope_hierarchy():
    assert Scope.admin.allows(Scope.write) and Scope.write.allows(Scope.read)
    assert not Scope.read.allows(Scope.write)
    assert Role.admin.at_least(Role.supervisor) and not Role.agent.at_least(Role.supervisor)
