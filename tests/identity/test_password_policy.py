"""security.md tests 1–6: length, personal data, common and breached lists, long passphrases, history, rotation."""

import uuid
from datetime import date

import httpx
import psycopg
import pytest
from identity_flow import bearer, count, password_login, second_step, session_token, sms_code
from identity_world import STRONG, World

from esoz.settings import Settings


@pytest.fixture
def party_id(pg: psycopg.Connection) -> uuid.UUID:
    pid = uuid.uuid4()
    pg.execute(
        "INSERT INTO parties (id, first_name, last_name, second_name, birth_date, gender, tax_id)"
        " VALUES (%s, 'Тарас', 'Шевченко', 'Григорович', %s, 'MALE', '3012345678')",
        (pid, date(1985, 3, 12)),
    )
    return pid


def _create(
    api: httpx.Client, headers: dict[str, str], password: str, party_id: uuid.UUID | None = None
) -> httpx.Response:
    user = {"email": f"new.{uuid.uuid4().hex[:8]}@clinic.ua", "password": password}
    if party_id:
        user["party_id"] = str(party_id)
    return api.post("/admin/users", json={"user": user}, headers=headers)


def _assert_refused(pg: psycopg.Connection, response: httpx.Response, error_type: str, password: str) -> None:
    assert response.status_code == 422, response.text
    assert response.json()["error"]["type"] == error_type
    assert response.json()["error"]["invalid"][0]["entry"] == "$.user.password"
    email = response.request.content.decode().split('"email":"')[1].split('"')[0]
    assert count(pg, "SELECT count(*) FROM users WHERE email = %s", email) == 0
    row = pg.execute(
        "SELECT details::text FROM audit_log WHERE action = 'password.rejected' ORDER BY id DESC LIMIT 1"
    ).fetchone()
    assert row is not None and error_type in row[0] and password not in row[0]


@pytest.mark.parametrize("password", ["123", "Abcdefgh1jk"])
def test_short_passwords(api: httpx.Client, pg: psycopg.Connection, nhs_headers: dict, password: str) -> None:
    _assert_refused(pg, _create(api, nhs_headers, password), "password_too_short", password)


@pytest.mark.parametrize(
    "password",
    ["Шевченко2024!", "shevchenko2024!", "Itdxtyrj2024!", "Taras12031985!", "pass1985-03-12word", "x3012345678x"],
)
def test_personal_data_in_any_script_or_layout(
    api: httpx.Client, pg: psycopg.Connection, nhs_headers: dict, party_id: uuid.UUID, password: str
) -> None:
    _assert_refused(pg, _create(api, nhs_headers, password, party_id), "password_contains_personal_info", password)


@pytest.mark.parametrize("password", ["qwerty123456", "password1234", "йцукен123456", "1q2w3e4r5t6y", "aaaaaaaaaaaa"])
def test_common_and_breached(api: httpx.Client, pg: psycopg.Connection, nhs_headers: dict, password: str) -> None:
    _assert_refused(pg, _create(api, nhs_headers, password), "password_breached_or_common", password)


@pytest.mark.parametrize(
    ("password", "error_type"),
    [
        ("Zoryana-Vatra-Dubrava-6789", "password_sequence"),
        ("zoryanavatradubravaochi7", "password_complexity"),
        ("Password2024!", "password_too_weak"),
    ],
)
def test_other_rules_have_their_own_errors(
    api: httpx.Client, pg: psycopg.Connection, nhs_headers: dict, password: str, error_type: str
) -> None:
    _assert_refused(pg, _create(api, nhs_headers, password), error_type, password)


def test_long_passphrases_accepted_and_exact(api: httpx.Client, world: World, nhs_headers: dict, pg) -> None:
    ascii64 = "Vyshyvanka Dnipro Karpaty Sonyashnyk 7 Kobzar Trembita Varenyky!!"[:64]
    unicode100 = ("Синій кит пливе до зорі 7 разів 🐋 і співає пісню про Карпати та Дніпро, " * 2)[:100]
    for password in (ascii64, unicode100):
        created = _create(api, nhs_headers, password)
        assert created.status_code == 201, created.text
        email = created.json()["data"]["email"]
        assert password_login(api, world, email, password).status_code == 201
        assert password_login(api, world, email, password[:-1]).json()["error"]["type"] == "access_denied"
    too_long = _create(api, nhs_headers, "Aa1" + "x" * 130)
    assert (too_long.status_code, too_long.json()["error"]["type"]) == (422, "password_too_long")


def test_history_and_current_password(api: httpx.Client, pg: psycopg.Connection, world: World, make_user) -> None:
    user = make_user()
    session = session_token(api, pg, world, user)

    def change(password: str, current: str | None) -> httpx.Response:
        body: dict = {"user": {"password": password}}
        if current is not None:
            body["user"]["current_password"] = current
        return api.post("/oauth/users/actions/update_password", json=body, headers=bearer(session))

    assert change("Kobzar-Trembita-Karpaty-92", None).status_code == 403
    assert change("Kobzar-Trembita-Karpaty-92", "wrong-one").status_code == 403
    reused = change(STRONG, STRONG)
    assert (reused.status_code, reused.json()["error"]["type"]) == (422, "password_recently_used")
    hash_before = pg.execute("SELECT password_hash FROM users WHERE id = %s", (user.id,)).fetchone()[0]
    assert pg.execute("SELECT password_hash FROM users WHERE id = %s", (user.id,)).fetchone()[0] == hash_before
    changed = change("Kobzar-Trembita-Karpaty-92", STRONG)
    assert changed.status_code == 200, changed.text
    # the change ended every session, this one included
    assert change("Kobzar-Trembita-Karpaty-93", "Kobzar-Trembita-Karpaty-92").status_code == 401


def test_rotation_gives_only_a_change_password_token(
    api: httpx.Client, pg: psycopg.Connection, world: World, make_user, settings: Settings, monkeypatch
) -> None:
    user = make_user()
    pg.execute("UPDATE users SET password_set_at = now() - interval '91 days' WHERE id = %s", (user.id,))
    expired = password_login(api, world, user.email, user.password)
    assert expired.status_code == 401
    assert expired.json()["error"] == {
        "type": "password_expired",
        "message": f"The password expired for user: {user.id}",
    }
    # change_password grant → second factor → a token that opens only the password change
    first = password_login(api, world, user.email, user.password, grant="change_password")
    assert first.status_code == 201 and first.json()["urgent"]["next_step"] == "REQUEST_OTP"
    second = second_step(api, first.json()["data"]["value"], sms_code(pg, user.phone))
    assert second.json()["data"]["name"] == "change_password_token"
    change_token = second.json()["data"]["value"]
    elsewhere = api.get("/api/employees", headers=bearer(change_token))
    assert elsewhere.status_code == 403
    assert "Missing allowances: employee:read" in elsewhere.json()["error"]["message"]
    authorize = api.post(
        "/oauth/apps/authorize",
        json={"app": {"client_id": world.client_id, "redirect_uri": world.redirect_uri, "scope": "employee:read"}},
        headers=bearer(change_token),
    )
    assert authorize.status_code == 401
    updated = api.post(
        "/oauth/users/actions/update_password",
        json={"user": {"password": "Kobzar-Trembita-Karpaty-92"}},
        headers=bearer(change_token),
    )
    assert updated.status_code == 200, updated.text
    assert password_login(api, world, user.email, "Kobzar-Trembita-Karpaty-92").status_code == 201

    # rotation off (NIST SP 800-63B): an old password never expires
    monkeypatch.setattr(settings, "password_max_age_days", 0)
    pg.execute("UPDATE users SET password_set_at = now() - interval '3650 days' WHERE id = %s", (user.id,))
    assert password_login(api, world, user.email, "Kobzar-Trembita-Karpaty-92").status_code == 201
