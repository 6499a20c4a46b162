"""Every operation of the published OpenAPI that can return a patient's data declares it (`x-esoz-patient-data`),
so the gate records each read and the answer is never cached: forgetting it fails here, not in an audit."""

import re
from typing import Any

import httpx

from esoz.core.patient_data import KEY

# A path with one of these segments is about patients: its GET operations return their data.
PATIENT_SEGMENTS = {
    "persons",
    "patients",
    "declarations",
    "medication_request_requests",
    "medication_requests",
    "medication_dispenses",
    "service_requests",
    "compositions",
    "access_history",
    "audit_log",
}
# GET operations under such paths that return no patient's data, each with the reason.
NOT_PATIENT_DATA = {
    "/api/patients/{patient_id}/composition_title": "reserves a conclusion number; answers with the number only",
    "/admin/audit_log": (
        "the operators' audit search: names patients by id only, for the audit:read scope that only НСЗУ holds"
    ),
}


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


def _is_patient_path(path: str) -> bool:
    return any(segment in PATIENT_SEGMENTS for segment in path.strip("/").split("/"))


def test_every_operation_that_returns_patient_data_declares_it(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    missing = [
        path
        for path, method, op in _operations(spec)
        if method == "get" and _is_patient_path(path) and KEY not in op and path not in NOT_PATIENT_DATA
    ]
    assert missing == [], f"declare patient_data(...) on these routes, or list them with a reason: {missing}"
    stale = [path for path in NOT_PATIENT_DATA if path not in spec["paths"]]
    assert stale == [], f"exemptions for routes that no longer exist: {stale}"


def test_every_declaration_names_where_the_patient_is(client: httpx.Client) -> None:
    spec = client.get("/openapi.json").json()
    declared = [(path, method, op[KEY]) for path, method, op in _operations(spec) if KEY in op]
    assert len(declared) >= 20
    for path, method, declaration in declared:
        assert method == "get", (path, method)
        params = set(re.findall(r"{(\w+)}", path))
        for ref in (declaration["person"], declaration["id"]):
            if ref is not None and ref.startswith("path:"):
                assert ref.removeprefix("path:") in params, (path, ref)
        assert declaration["resource"] and declaration["action"], path


def test_every_declared_resource_has_its_ukrainian_name_for_the_access_history(client: httpx.Client) -> None:
    from esoz.audit.service import RESOURCE_NAMES_UK

    spec = client.get("/openapi.json").json()
    declared = {op[KEY]["resource"] for _, _, op in _operations(spec) if KEY in op}
    assert declared, "no route declares patient data"
    missing = sorted(declared - set(RESOURCE_NAMES_UK))
    assert missing == [], f"the patient's access history would show these untranslated: {missing}"
