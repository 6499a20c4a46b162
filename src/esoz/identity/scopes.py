"""Scopes: what each role (employee type) may do and what each client type may ever be given (§2.7).

A token's scope = the scope requested ∩ the client type's cap ∩ the union of the user's roles for that
client (legal entity) and global roles. НСЗУ types see every scope known here plus every scope a route
declares (core.auth.DECLARED_SCOPES), so a new route needs no edit here for НСЗУ.
"""

from esoz.core.auth import DECLARED_SCOPES


def _expand(*groups: str) -> frozenset[str]:
    """`"division:read write"` → {"division:read", "division:write"}."""
    out: set[str] = set()
    for group in groups:
        resource, _, actions = group.partition(":")
        out |= {f"{resource}:{a}" for a in actions.split()}
    return frozenset(out)


SESSION_SCOPES = frozenset({"app:authorize", "user:change_password", "user:change_factor"})

READS = _expand(
    "legal_entity:read",
    "related_legal_entities:read",
    "division:read details",
    "employee:read details",
    "dictionary:read",
    "drugs:read",
    "medical_program:read",
    "program_service:read",
    "job:read",
    "user:read",
    "event:read",  # the status-change feed; rows are limited to the caller's legal entity
)
CLINICAL_READS = _expand(
    "person:read",
    "declaration:read",
    "episode:read",
    "encounter:read",
    "condition:read",
    "observation:read",
    "immunization:read",
    "allergy_intolerance:read",
    "diagnostic_report:read",
    "procedure:read",
    "medical_event_context:read",  # where a record was made (`.../{id}/context`)
    "patient_summary:read",
    "service_request:read get",
    "composition:read",
    "specimen:read",
    "medication_request:read details",
    "medication_dispense:read",
)
DOCTOR = (
    READS
    | CLINICAL_READS
    | _expand(
        "declaration_request:read write approve sign reject",
        "declaration:terminate",
        "person_request:read write",
        "confidant_person_relationship_request:read write",
        "confidant_person_relationship:read",
        "authentication_method_request:write",
        "personal_data:read",
        "medication_request_request:read write sign reject",
        "medication_request:reject resend block unblock",
        "episode:write",
        "encounter:write cancel",
        "service_request:write use cancel recall complete makeinprogress",
        "composition:create write resend_sms mark_in_error",
        "specimen:write",
        "otp:read write",
        "approval:create read cancel",
    )
)
MANAGEMENT = _expand(
    "legal_entity:write",
    "division:write activate deactivate",
    "employee:write deactivate",
    "employee_request:read write approve reject",
    "contract_request:create read approve sign terminate",
    "contract:read write",
    "capitation_report:read",
    "reimbursement_report:read",
    "client:read",
    "connection:read write delete refresh_secret",
    "secret:refresh",
)
PHARMACY = READS | _expand(
    "person:read",
    # details: the contract's scope of qualify, which a pharmacy calls before it dispenses
    "medication_request:read details details_pharm block_pharm unblock_pharm reject_pharm",
    "medication_dispense:read write process reject read_pharm",
)
NHS_ONLY = _expand(
    "legal_entity:merge nhs_verify deactivate",
    "medical_program:write deactivate",
    "user:write",
    "client:write",
    "audit:read",
)

KNOWN_SCOPES = SESSION_SCOPES | DOCTOR | MANAGEMENT | PHARMACY | NHS_ONLY

ROLE_SCOPES: dict[str, frozenset[str]] = {
    "DOCTOR": DOCTOR,
    "SPECIALIST": DOCTOR - _expand("declaration_request:write approve sign"),
    "ASSISTANT": READS | CLINICAL_READS | _expand("service_request:use"),
    "MED_COORDINATOR": READS | CLINICAL_READS,
    "MED_ADMIN": READS | CLINICAL_READS | _expand("declaration_request:read write", "service_request:use"),
    "LABORANT": READS | _expand("person:read", "service_request:read get use", "specimen:read write"),
    "RECEPTIONIST": READS | _expand("person:read", "declaration_request:read write", "declaration:read"),
    "HR": READS | _expand("employee:write deactivate", "employee_request:read write approve reject"),
    "ADMIN": READS
    | _expand("division:write", "employee:write", "employee_request:read write", "person:read", "declaration:read"),
    "OWNER": READS | MANAGEMENT | _expand("declaration:read", "service_request:read", "medication_request:read"),
    "PHARMACIST": PHARMACY,
    "PHARMACY_OWNER": PHARMACY | MANAGEMENT,
}
NHS_ROLES = ("NHS", "NHS_SIGNER", "NHS ADMIN", "NHS ADMIN SIGNER", "NHS LE VERIFIER")

_MSP = SESSION_SCOPES | DOCTOR | MANAGEMENT | frozenset().union(*(ROLE_SCOPES[r] for r in ROLE_SCOPES))
_MSP -= PHARMACY - READS - CLINICAL_READS  # pharmacy-only actions; reads shared with doctors stay
CLIENT_TYPE_SCOPES: dict[str, frozenset[str]] = {
    "MSP": _MSP,
    "PHARMACY": SESSION_SCOPES | PHARMACY | MANAGEMENT,
    "MSP_PHARMACY": _MSP | PHARMACY,
    "MIS": _MSP | PHARMACY,
    "CABINET": SESSION_SCOPES
    | _expand(
        "person:read",
        "declaration:read terminate terminate_pis",
        "declaration_request:read write",
        "person_access_history:read",
    ),
}
CLIENT_TYPES = (*CLIENT_TYPE_SCOPES, "NHS")
# Legal entity types (registry) → the client type their OAuth client gets.
LEGAL_ENTITY_CLIENT_TYPE = {
    "MSP": "MSP",
    "PRIMARY_CARE": "MSP",
    "OUTPATIENT": "MSP",
    "EMERGENCY": "MSP",
    "PHARMACY": "PHARMACY",
    "MSP_PHARMACY": "MSP_PHARMACY",
    "MIS": "MIS",
    "NHS": "NHS",
}


def all_scopes() -> frozenset[str]:
    return KNOWN_SCOPES | frozenset(DECLARED_SCOPES)


def client_type_scopes(client_type: str) -> frozenset[str]:
    if client_type == "NHS":
        return all_scopes()
    return CLIENT_TYPE_SCOPES.get(client_type, frozenset())


def role_scopes(role: str) -> frozenset[str]:
    if role in NHS_ROLES:
        return all_scopes() - SESSION_SCOPES
    return ROLE_SCOPES.get(role, frozenset())


def roles_scopes(roles: list[str]) -> frozenset[str]:
    return frozenset().union(*(role_scopes(r) for r in roles)) if roles else frozenset()


def split(scope: str | None) -> list[str]:
    return sorted({s for s in (scope or "").split() if s})


def join(scopes: frozenset[str] | set[str] | list[str]) -> str:
    return " ".join(sorted(scopes))


_RESOURCE_UK = {
    "legal_entity": "заклади",
    "division": "підрозділи",
    "employee": "працівники",
    "employee_request": "запити на працівників",
    "person": "пацієнти",
    "authentication_method_request": "запити на зміну способів автентифікації пацієнтів",
    "personal_data": "персональні дані пацієнтів",
    "declaration": "декларації",
    "declaration_request": "запити на декларації",
    "medication_request": "рецепти",
    "medication_request_request": "запити на рецепти",
    "medication_dispense": "погашення рецептів",
    "service_request": "направлення",
    "approval": "дозволи на доступ до медичних записів",
    "composition": "медичні висновки",
    "encounter": "взаємодії",
    "episode": "епізоди",
    "drugs": "ліки",
    "medical_program": "медичні програми",
    "contract": "договори",
    "contract_request": "запити на договори",
}
_ACTION_UK = {
    "read": "перегляд",
    "details": "перегляд подробиць",
    "write": "створення та зміна",
    "create": "створення",
    "sign": "підписання",
    "approve": "підтвердження",
    "reject": "відхилення",
    "cancel": "скасування",
    "deactivate": "деактивація",
    "use": "використання",
}


def describe(scope: str) -> str:
    """A Ukrainian label for the approval page, e.g. `employee:read` → «працівники — перегляд»."""
    resource, _, action = scope.partition(":")
    return f"{_RESOURCE_UK.get(resource, resource)} — {_ACTION_UK.get(action, action)}"
