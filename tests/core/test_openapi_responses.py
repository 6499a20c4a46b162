"""Every operation of the published OpenAPI documents its success answer: a JSON answer has a schema (the
route declares `response_model=`), any other answer names its media type (`response_class=`), so an MIS
vendor can generate a client from /openapi.json and the fuzzer can check every answer against it."""

from typing import Any

import httpx

JSON = "application/json"


def _undocumented(spec: dict[str, Any]) -> list[str]:
    missing = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method not in ("get", "put", "post", "patch", "delete"):
                continue
            success = {code: answer for code, answer in op["responses"].items() if code.startswith("2")}
            if not success:
                missing.append(f"{method.upper()} {path}: no success response")
            for code, answer in success.items():
                content = answer.get("content") or {}
                if not content and code != "204":  # 204 has no body to describe
                    missing.append(f"{method.upper()} {path} {code}: no media type")
                elif JSON in content and not content[JSON].get("schema"):
                    # FastAPI's default for a route without response_model is `application/json` with `{}`.
                    missing.append(f"{method.upper()} {path} {code}: no schema (declare response_model=)")
    return missing


def test_every_success_answer_is_documented(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    assert _undocumented(spec) == []


def test_an_operation_without_a_response_model_is_found() -> None:
    spec = {
        "paths": {
            "/a": {"get": {"responses": {"200": {"content": {JSON: {"schema": {}}}}}}},
            "/b": {"get": {"responses": {"200": {"content": {JSON: {"schema": {"$ref": "#/x"}}}}}}},
            "/c": {"get": {"responses": {"200": {"content": {"text/csv": {"schema": {"type": "string"}}}}}}},
            "/d": {"delete": {"responses": {"204": {"description": "gone"}}}},
            "/e": {"post": {"responses": {"200": {"description": "done"}}}},
        }
    }
    assert _undocumented(spec) == ["GET /a 200: no schema (declare response_model=)", "POST /e 200: no media type"]
