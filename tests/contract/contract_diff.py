"""The served OpenAPI held against the published contract: what differs, per contract endpoint and kind.

A difference is `(endpoint id, kind) -> items`; `esoz.core.contract_deviations` lists the known ones with reasons.
Run `python tests/contract/contract_diff.py` (with ESOZ_DATABASE_URL set to any URL; nothing connects) to print
the differences the list does not cover yet, as entries to paste and give a reason, and the entries that are stale.
"""

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SHARED_CONTRACT = Path(__file__).resolve().parents[3] / "shared" / "reference" / "contract.json"
# What the comparison reads from the published contract (names, scopes, statuses), kept beside the test so that the
# suite runs where the shared reference is not checked out; the test checks it is up to date when it is.
SUMMARY = Path(__file__).with_name("contract_summary.json")
METHODS = ("get", "post", "put", "patch", "delete")

Diff = dict[tuple[str, str], frozenset[str]]


def summarize(endpoints: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each contract endpoint reduced to what the comparison reads."""
    return [
        {
            "id": ep["id"],
            "area": ep["area"],
            "method": ep["method"],
            "path": ep["path"],
            "deprecated": ep["deprecated"],
            "scopes": ep["scopes"],
            "other_scopes": [d["scopes"] for d in ep.get("also_documented_in", []) if d.get("scopes")],
            "query": [p["name"] for p in ep["query_params"]],
            "request": _required_in_mson(ep.get("request_mson")),
            "success": ep["success_statuses"],
            "data_keys": ep.get("response_data_keys") or [],
        }
        for ep in endpoints
    ]


def summary_text(endpoints: Iterable[dict[str, Any]]) -> str:
    """One endpoint a line, so that a change of the contract reads as a short diff."""
    lines = (json.dumps(ep, ensure_ascii=False) for ep in summarize(endpoints))
    return "[\n" + ",\n".join(lines) + "\n]\n"


def load_contract() -> list[dict[str, Any]]:
    endpoints: list[dict[str, Any]] = json.loads(SUMMARY.read_text())
    return endpoints


def norm_path(path: str) -> str:
    """Path parameters by position only: `{id}`, `{person_id}` and `{employee_id}` name the same slot."""
    return re.sub(r"\{[^}]*\}", "{}", path.rstrip("/"))


def _resolve(schema: dict[str, Any] | None, spec: dict[str, Any]) -> dict[str, Any]:
    while schema and "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    if schema and "anyOf" in schema:
        real = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if len(real) == 1:
            return _resolve(real[0], spec)
    return schema or {}


def _required_in_mson(mson: str | None) -> dict[str, list[str]] | None:
    """Top-level request fields and the required ones from an API Blueprint MSON block; None when not spelled out."""
    if not mson:
        return None
    lines = [line for line in mson.splitlines()[1:] if line.strip().startswith("+ ")]
    attrs = [(len(line) - len(line.lstrip()), line.strip()[2:]) for line in lines]
    attrs = [(indent, text) for indent, text in attrs if not text.startswith("include")]
    if not attrs:
        return None
    top = min(indent for indent, _ in attrs)
    fields: set[str] = set()
    required: set[str] = set()
    for indent, text in attrs:
        if indent != top:
            continue
        match = re.match(r"`?([A-Za-z_][\w]*)`?", text)
        if not match:
            continue
        fields.add(match.group(1))
        paren = re.search(r"\(([^)]*)\)", text)
        if paren and re.search(r"\brequired\b", paren.group(1)):
            required.add(match.group(1))
    return {"fields": sorted(fields), "required": sorted(required)}


def _success(op: dict[str, Any]) -> list[int]:
    return sorted(int(code) for code in op.get("responses", {}) if code.isdigit() and 200 <= int(code) < 400)


def _data_keys(op: dict[str, Any], spec: dict[str, Any]) -> set[str] | None:
    for code in _success(op):
        content = op["responses"][str(code)].get("content", {})
        schema = content.get("application/json", {}).get("schema")
        if not schema:
            continue
        envelope = _resolve(schema, spec)
        data = _resolve(envelope.get("properties", {}).get("data"), spec)
        if data.get("type") == "array":
            data = _resolve(data.get("items"), spec)
        properties = data.get("properties")
        return set(properties) if properties else None
    return None


def served_operations(spec: dict[str, Any]) -> dict[tuple[str, str], dict[str, Any]]:
    return {
        (method.upper(), norm_path(path)): op
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
        if method in METHODS
    }


def differences(contract: Iterable[dict[str, Any]], spec: dict[str, Any]) -> Diff:
    """Every difference between the contract's endpoints and the served operations."""
    contract = list(contract)
    served = served_operations(spec)
    documented = {(ep["method"], norm_path(ep["path"])) for ep in contract}
    found: dict[tuple[str, str], set[str]] = {}

    def add(endpoint: str, kind: str, items: Iterable[str]) -> None:
        items = set(items)
        if items:
            found.setdefault((endpoint, kind), set()).update(items)

    for ep in contract:
        eid, path = ep["id"], norm_path(ep["path"])
        op = served.get((ep["method"], path))
        if op is None:
            # Served under another method that no contract endpoint of this path has (e.g. PUT documented, POST served).
            other = sorted(m for m, p in served if p == path and (m, p) not in documented)
            add(eid, "method" if other else "missing", other or ["not served"])
            if not other:
                continue
            op = served[(other[0], path)]

        named = [set(ep["scopes"])] + [set(other) for other in ep["other_scopes"]]
        scopes = set(op.get("x-scopes", []))
        if ep["scopes"] and scopes not in named:
            add(eid, "scopes", [" ".join(sorted(scopes)) or "(none)"])

        query = set(ep["query"])
        served_query = {p["name"] for p in op.get("parameters", []) if p.get("in") == "query"}
        add(eid, "query.missing", query - served_query)
        add(eid, "query.extra", served_query - query)

        request = ep["request"]
        if request is not None and request["required"]:
            fields, required = set(request["fields"]), set(request["required"])
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            if body is None:
                add(eid, "request.undocumented", required)
            else:
                schema = _resolve(body, spec)
                properties = set(schema.get("properties", {}))
                served_required = set(schema.get("required", []))
                add(eid, "request.missing", required - properties)
                add(eid, "request.optional", (required & properties) - served_required)
                add(eid, "request.required_extra", served_required - fields)

        statuses = _success(op)
        if statuses and not set(statuses) & set(ep["success"]):
            add(eid, "status", [str(s) for s in statuses])

        keys = set(ep["data_keys"])
        if keys:
            served_keys = _data_keys(op, spec)
            if served_keys is None:
                add(eid, "answer.untyped", ["data"])
            else:
                add(eid, "answer.missing", keys - served_keys)
                add(eid, "answer.extra", served_keys - keys)
    return {key: frozenset(items) for key, items in found.items()}


def served_spec() -> dict[str, Any]:
    from esoz.app import create_app

    spec: dict[str, Any] = create_app().openapi()
    return spec


def endpoint_name(ep: dict[str, Any]) -> str:
    return f"{ep['method']} {ep['path']}"


def found_by_endpoint(contract: list[dict[str, Any]], spec: dict[str, Any]) -> Diff:
    """The differences keyed as the list names endpoints (two contract entries may share a method and path)."""
    names = {ep["id"]: endpoint_name(ep) for ep in contract}
    merged: dict[tuple[str, str], set[str]] = {}
    for (eid, kind), items in differences(contract, spec).items():
        merged.setdefault((names[eid], kind), set()).update(items)
    return {key: frozenset(items) for key, items in merged.items()}


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["--summarize"]:
        SUMMARY.write_text(summary_text(json.loads(SHARED_CONTRACT.read_text())))
        sys.exit(0)
    from esoz.core.contract_deviations import expected

    known = expected()
    found = found_by_endpoint(load_contract(), served_spec())
    for (endpoint, kind), items in sorted(found.items()):
        if known.get((endpoint, kind)) != items:
            print(f'    D("{endpoint}", "{kind}", "{" ".join(sorted(items))}", ...),')
    for endpoint, kind in sorted(set(known) - set(found)):
        print(f"    no longer differs: {endpoint} {kind}")
