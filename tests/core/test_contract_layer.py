"""The envelope, request ids and the body guards, over real HTTP."""

import httpx


def test_health_and_ready(client: httpx.Client) -> None:
    assert client.get("/health").json()["data"] == {"status": "ok"}
    ready = client.get("/ready")
    assert ready.status_code == 200
    assert ready.json()["data"] == {"status": "ready", "checks": {"database": "ok", "migrations": "ok"}}


def test_envelope_and_request_id_echo(client: httpx.Client) -> None:
    response = client.get("/api/dictionaries", headers={"x-request-id": "mis-req-42"})
    body = response.json()
    assert response.headers["x-request-id"] == "mis-req-42"
    assert body["meta"] == {
        "url": str(response.url),
        "type": "list",
        "code": 200,
        "request_id": "mis-req-42",
    }
    names = {d["name"] for d in body["data"]}
    assert {"GENDER", "DOCUMENT_TYPE", "DIVISION_TYPE"} <= names


def test_request_id_generated_when_absent_or_unsafe(client: httpx.Client) -> None:
    response = client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    generated = response.headers["x-request-id"]
    assert generated != "bad id\twith spaces" and len(generated) == 36
    assert response.json()["meta"]["request_id"] == generated


def test_unknown_route_is_contract_404(client: httpx.Client) -> None:
    response = client.get("/api/no_such_thing")
    assert response.status_code == 404
    assert response.json()["error"]["type"] == "not_found"
