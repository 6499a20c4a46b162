"""Property-based fuzzing of every operation of the live app's /openapi.json (schemathesis + Hypothesis).

Each operation is a test of its own. Its generated requests, half that fit the declared schema and half
that break it, are each sent over real HTTP twice: as the НСЗУ operator (every scope, every legal entity)
and as a demo family doctor (their clinic's client). An answer fails the test when it is a 5xx, or when it
breaks the response schema the operation declares. The budget is fixed and small, generation is
derandomized, nothing is shrunk and no example database is kept, so a run is reproducible and bounded.

The operations are listed at collection from the app's own OpenAPI document (built without a database);
at run time each is looked up in the live server's /openapi.json, and a test checks the two lists agree.
"""

from collections.abc import Iterator

import httpx
import pytest
import requests
import schemathesis
from fuzz_support import (
    LINKED_SEQUENCES,
    LINKED_STEPS,
    MAX_EXAMPLES,
    SKIPPED,
    FuzzWorld,
    app_operations,
    fuzz_config,
    with_real_ids,
)
from hypothesis import HealthCheck, Phase, Verbosity, given, settings
from hypothesis import strategies as st
from hypothesis.errors import Flaky
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import response_schema_conformance

CHECKS = [not_a_server_error, response_schema_conformance]
OPERATIONS = app_operations()


@pytest.fixture(scope="module")
def live_openapi(fuzz_world: FuzzWorld) -> dict:
    answer = httpx.get(f"{fuzz_world.url}/openapi.json", timeout=30)
    assert answer.status_code == 200
    return answer.json()


@pytest.fixture(scope="module")
def fuzz_schema(fuzz_world: FuzzWorld, live_openapi: dict) -> schemathesis.BaseSchema:
    schema = schemathesis.openapi.from_dict(live_openapi, config=fuzz_config(fuzz_world.url))
    with_real_ids(schema, fuzz_world.ids)
    return schema


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def test_every_live_operation_is_fuzzed(live_openapi: dict) -> None:
    live = {
        (method.upper(), path)
        for path, item in live_openapi["paths"].items()
        for method in item
        if method in ("get", "put", "post", "patch", "delete")
    }
    assert live == set(OPERATIONS)
    assert {(m, p) for m, p, _ in SKIPPED} <= live, "a skipped operation no longer exists: drop it from SKIPPED"


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_operation(
    method: str, path: str, fuzz_schema: schemathesis.BaseSchema, fuzz_world: FuzzWorld, http: requests.Session
) -> None:
    skipped = {(m, p): why for m, p, why in SKIPPED}
    if (method, path) in skipped:
        pytest.skip(skipped[(method, path)])
    operation = fuzz_schema[path][method]
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE), operation.as_strategy(GenerationMode.NEGATIVE)
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )
    @given(case=cases)
    def run(case: schemathesis.Case) -> None:
        for caller, headers in fuzz_world.callers_for(operation):
            # The reproduction's curl filters the token out: the caller's name goes along in a header it shows.
            headers = {**headers, "X-Fuzz-Caller": caller}
            response = case.call(session=http, headers=headers)
            fuzz_world.answers[(caller, operation.label, response.status_code)] += 1
            case.validate_response(response, checks=CHECKS, headers=headers)

    run()


def test_linked_sequences(fuzz_schema: schemathesis.BaseSchema, fuzz_world: FuzzWorld, http: requests.Session) -> None:
    """Sequences along the links schemathesis infers between operations (an id a POST answers with feeds the
    GET, PATCH and actions on it), as the НСЗУ operator: reaches rows the run itself created."""

    found: list[FailureGroup] = []

    class Links(fuzz_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict:
            _caller, headers = fuzz_world.callers_for(case.operation)[0]
            return {"session": http, "headers": headers}

        def validate_response(self, response: schemathesis.Response, case: schemathesis.Case, **kwargs: object) -> None:
            fuzz_world.answers[("links", case.operation.label, response.status_code)] += 1
            try:
                case.validate_response(response, checks=CHECKS, headers=kwargs.get("headers"))  # type: ignore[arg-type]
            except FailureGroup as failure:
                found.append(failure)
                raise

    try:
        Links.run(
            settings=settings(
                max_examples=LINKED_SEQUENCES,
                stateful_step_count=LINKED_STEPS,
                derandomize=True,
                database=None,
                deadline=None,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
                verbosity=Verbosity.quiet,
            )
        )
    except Flaky:
        # Which steps a sequence can take depends on what the server answered (an id to follow, or none), and the
        # server's rows change as the run writes: when Hypothesis replays a sequence and it goes another way, it
        # calls the generation flaky. That is the server's state, not a failure; the answers were all checked.
        if not found:
            return
        raise found[0] from None


def test_the_run_reached_the_code_behind_the_gate(fuzz_world: FuzzWorld) -> None:
    """Guards the fuzzer itself: a run whose tokens died early, or whose requests all stopped at validation or
    "not found", would pass while testing almost nothing."""
    fuzzed = {operation for caller, operation, _status in fuzz_world.answers if caller != "links"}
    if len(fuzzed) < len(OPERATIONS) - len(SKIPPED):
        pytest.skip("meaningful only after every operation has been fuzzed in this run")
    sign_in = {op for op in fuzzed if op.startswith(("POST /auth/", "POST /oauth/"))}  # 401 = wrong credentials
    # The doctor holds no /admin scope, so fewer of their operations can succeed.
    for caller, share in (("nhs", 4), ("doctor", 6)):
        headers = getattr(fuzz_world, caller)
        assert httpx.get(f"{fuzz_world.url}/api/legal_entities", headers=headers).status_code == 200, caller
        succeeded = {op for who, op, status in fuzz_world.answers if who == caller and 200 <= status < 300}
        refused = {op for who, op, status in fuzz_world.answers if who == caller and status == 401}
        assert len(succeeded) >= len(OPERATIONS) // share, (caller, sorted(succeeded))
        assert not refused - sign_in, (caller, sorted(refused - sign_in))
