"""security.md tests 7, 8, 10: brute force on one account, credential stuffing, SMS-code guessing and sends."""

import httpx
import psycopg
import pytest
from identity_flow import bearer, count, password_login, second_step, sms_code
from identity_world import World

from esoz.settings import Settings


def test_ten_failures_lock_the_account_for_the_window(
    server: str, pg: psycopg.Connection, world: World, make_user
) -> None:
    user = make_user()
    bodies = []
    for i in range(10):  # from different addresses: the lock is per account, not per IP
        with httpx.Client(base_url=server, headers={"X-Forwarded-For": f"10.77.0.{i + 1}"}) as api:
            response = password_login(api, world, user.email, f"Wrong-Password-{i}-Zebra")
        assert response.status_code == 401
        bodies.append(response.json()["error"])
    assert all(b == {"type": "access_denied", "message": "Identity, password combination is wrong."} for b in bodies)
    with httpx.Client(base_url=server, headers={"X-Forwarded-For": "10.77.1.1"}) as api:
        locked = password_login(api, world, user.email, user.password)  # the right password, yet locked
        assert locked.status_code == 401
        assert locked.json()["error"] == {
            "type": "access_denied",
            "message": "You reached login attempts limit. Try again later",
        }
        assert count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s", user.id) == 0
        assert (
            count(pg, "SELECT count(*) FROM audit_log WHERE action = 'login.failure' AND actor_user_id = %s", user.id)
            == 10
        )
        assert (
            count(pg, "SELECT count(*) FROM audit_log WHERE action = 'user.locked' AND actor_user_id = %s", user.id)
            == 1
        )
        # the window passes (timestamps moved back instead of waiting): the account opens again
        pg.execute("UPDATE login_failures SET at = at - interval '11 minutes' WHERE user_id = %s", (user.id,))
        assert password_login(api, world, user.email, user.password).status_code == 201


def test_unknown_user_gets_the_same_answers(server: str, world: World, make_user) -> None:
    """Wrong password and unknown e-mail answer alike, and lock alike (no account discovery by the lock)."""
    user = make_user()
    answers: dict[str, list[dict]] = {}
    for email in (user.email, f"nobody.{user.id.hex[:8]}@clinic.ua"):
        answers[email] = []
        for i in range(11):
            with httpx.Client(base_url=server, headers={"X-Forwarded-For": f"10.78.{i}.{len(answers)}"}) as api:
                answers[email].append(password_login(api, world, email, "Wrong-Password-Zebra-1").json()["error"])
    known, unknown = answers.values()
    assert known == unknown
    assert known[-1]["message"] == "You reached login attempts limit. Try again later"


def test_credential_stuffing_from_one_ip(
    server: str, pg: psycopg.Connection, world: World, make_user, settings: Settings
) -> None:
    victims = [make_user() for _ in range(3)]
    emails = [v.email for v in victims] + [f"user{i}@clinic.ua" for i in range(27)]
    statuses = []
    with httpx.Client(base_url=server, headers={"X-Forwarded-For": "10.88.0.1"}) as attacker:
        for email in emails:
            statuses.append(password_login(attacker, world, email, "Spring-Password-2024").status_code)
    limit = settings.login_max_failures_per_ip
    assert statuses[:limit] == [401] * limit
    assert set(statuses[limit:]) == {429}
    # other addresses are unaffected, and no account was locked by a single try
    with httpx.Client(base_url=server, headers={"X-Forwarded-For": "10.88.0.2"}) as other:
        assert password_login(other, world, victims[0].email, victims[0].password).status_code == 201
    assert (
        count(pg, "SELECT count(*) FROM audit_log WHERE action = 'user.locked' AND actor_user_id = %s", victims[1].id)
        == 0
    )


def test_wrong_sms_codes_block_the_user(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    two_fa = password_login(api, world, user.email, user.password).json()["data"]["value"]
    right = sms_code(pg, user.phone)
    wrong = "000000" if right != "000000" else "111111"
    errors = [second_step(api, two_fa, wrong).json()["error"]["type"] for _ in range(3)]
    assert errors == ["otp_invalid", "otp_invalid", "otp_reached_max_attempts"]
    # the transaction is dead: the right code does not open it, and the user is blocked
    late = second_step(api, two_fa, right)
    assert late.status_code == 401 and late.json()["error"]["type"] == "user_blocked"
    assert pg.execute("SELECT is_blocked FROM users WHERE id = %s", (user.id,)).fetchone()[0] is True
    assert count(pg, "SELECT count(*) FROM tokens WHERE user_id = %s AND name = 'access_token'", user.id) == 0
    again = password_login(api, world, user.email, user.password)
    assert (again.status_code, again.json()["error"]["type"]) == (401, "user_blocked")


def test_sms_sends_are_limited(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    two_fa = password_login(api, world, user.email, user.password).json()["data"]["value"]  # send 1
    for _ in range(2):  # sends 2 and 3
        resent = api.post(
            "/auth/login", json={"token": {"grant_type": "refresh_2fa_access_token"}}, headers=bearer(two_fa)
        )
        assert resent.status_code == 201, resent.text
        two_fa = resent.json()["data"]["value"]
    fourth = api.post("/auth/login", json={"token": {"grant_type": "refresh_2fa_access_token"}}, headers=bearer(two_fa))
    assert fourth.status_code == 429
    assert fourth.json()["error"] == {"type": "otp_timeout", "message": "Sending OTP timeout. Try later."}
    assert count(pg, "SELECT count(*) FROM otps WHERE user_id = %s", user.id) == 3
    # only the latest code works
    assert second_step(api, two_fa, sms_code(pg, user.phone)).status_code == 201


@pytest.mark.parametrize("otp", ["", "12345678901234567"])
def test_malformed_codes_are_422(api: httpx.Client, world: World, make_user, otp: str) -> None:
    user = make_user()
    two_fa = password_login(api, world, user.email, user.password).json()["data"]["value"]
    response = second_step(api, two_fa, otp)
    assert (response.status_code, response.json()["error"]["type"]) == (422, "validation_failed")
