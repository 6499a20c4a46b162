"""What each rollup counts, as SQL over the source tables: one definition for the event consumer (restricted to
the entities of new events, `ids`) and for the rebuild (every row), so the two cannot drift apart.

A record's month is the document's own date (prescription `created_at`, `dispensed_at`) or the Kyiv month of its
signing time; an oblast is the facility's (`legal_entities.region`; a dispense carries its pharmacy's oblast).
"""

from esoz.prescriptions.common import SYSTEM_USER

KYIV = "'Europe/Kyiv'"


def kmonth(ts: str) -> str:
    return f"date_trunc('month', {ts} AT TIME ZONE {KYIV})::date"


def dmonth(day: str) -> str:
    return f"date_trunc('month', {day})::date"


def _where(column: str, by_ids: bool) -> str:
    return f"{column} = ANY(:ids)" if by_ids else "true"


def records(kind: str, by_ids: bool) -> str:
    """(month, kind, region, n) of one record type."""
    le = "LEFT JOIN legal_entities le ON le.id = {}"
    q = {
        "declaration": (kmonth("t.signed_at"), "declarations t " + le.format("t.legal_entity_id"), "t.id", "true"),
        "medication_request": (
            dmonth("t.created_at"),
            "medication_requests t " + le.format("t.legal_entity_id"),
            "t.id",
            "true",
        ),
        "medication_dispense": (dmonth("t.dispensed_at"), "medication_dispenses t", "t.id", "t.status = 'PROCESSED'"),
        "service_request": (
            kmonth("t.inserted_at"),
            "service_requests t " + le.format("t.requester_legal_entity_id"),
            "t.id",
            "true",
        ),
        "composition": (
            kmonth("t.signed_at"),
            "compositions t " + le.format("t.custodian_id"),
            "t.id",
            "t.signed_at IS NOT NULL",
        ),
    }[kind]
    month, source, id_col, extra = q
    region = "coalesce(t.region, '')" if kind == "medication_dispense" else "coalesce(le.region, '')"
    return (
        f"SELECT {month} AS month, '{kind}' AS kind, {region} AS region, count(*) AS n FROM {source}"
        f" WHERE {_where(id_col, by_ids)} AND {extra} GROUP BY 1, 2, 3"
    )


RECORD_KINDS = ("declaration", "medication_request", "medication_dispense", "service_request", "composition")


def rx_prescriptions(by_ids: bool) -> str:
    return (
        f"SELECT {dmonth('m.created_at')} AS month, coalesce(le.region, '') AS region,"
        " coalesce(m.medical_program_id::text, '') AS program, count(*) AS prescriptions, 0 AS dispenses"
        " FROM medication_requests m LEFT JOIN legal_entities le ON le.id = m.legal_entity_id"
        f" WHERE {_where('m.id', by_ids)} GROUP BY 1, 2, 3"
    )


def rx_dispenses(by_ids: bool) -> str:
    return (
        f"SELECT {dmonth('d.dispensed_at')} AS month, coalesce(d.region, '') AS region,"
        " coalesce(d.medical_program_id::text, '') AS program, 0 AS prescriptions, count(*) AS dispenses"
        f" FROM medication_dispenses d WHERE {_where('d.id', by_ids)} AND d.status = 'PROCESSED' GROUP BY 1, 2, 3"
    )


def rx_innm(by_ids: bool) -> str:
    """Prescriptions per INN, also under '*' for every region and programme: a top-INN query reads one slice of
    (months × INNs) rows whatever the filters and however many records there are."""
    return (
        f"SELECT {dmonth('m.created_at')} AS month, k.region, k.program, m.innm_id, count(*) AS prescriptions"
        " FROM medication_requests m LEFT JOIN legal_entities le ON le.id = m.legal_entity_id"
        f" CROSS JOIN LATERAL ({_ALL_COMBOS.format(region='le.region', program='m.medical_program_id')})"
        " AS k(region, program)"
        f" WHERE {_where('m.id', by_ids)} GROUP BY 1, 2, 3, 4"
    )


_ALL_COMBOS = (
    "VALUES (coalesce({region}, ''), coalesce({program}::text, '')), (coalesce({region}, ''), '*'),"
    " ('*', coalesce({program}::text, '')), ('*', '*')"
)


_DISPENSE_COMBOS = _ALL_COMBOS.format(region="d.region", program="d.medical_program_id")


def rx_patients(by_ids: bool) -> str:
    """(year, region, program, person_id), also under '*' for every region and every programme."""
    return (
        "SELECT DISTINCT extract(year FROM d.dispensed_at)::smallint AS year, k.region, k.program, d.person_id"
        f" FROM medication_dispenses d CROSS JOIN LATERAL ({_DISPENSE_COMBOS}) AS k(region, program)"
        f" WHERE {_where('d.id', by_ids)} AND d.status = 'PROCESSED'"
    )


def abx(by_ids: bool) -> str:
    """DDDs dispensed by AWaRe group: the DDDs of each line were computed at dispensing (stewardship.ddd_count)."""
    return (
        f"SELECT {dmonth('d.dispensed_at')} AS month, coalesce(d.region, '') AS region, i.aware,"
        " coalesce(sum(dd.ddd_count), 0) AS ddd, count(DISTINCT d.id) AS dispenses"
        " FROM medication_dispenses d"
        " JOIN medication_dispense_details dd ON dd.medication_dispense_id = d.id"
        " JOIN medication_requests m ON m.id = d.medication_request_id"
        " JOIN innms i ON i.id = m.innm_id"
        f" WHERE {_where('d.id', by_ids)} AND d.status = 'PROCESSED' AND i.aware IS NOT NULL GROUP BY 1, 2, 3"
    )


ACKED_AT = (
    "(SELECT min((e->'details'->>'acknowledged_at')::timestamptz) FROM jsonb_array_elements(c.integration_data) e"
    " WHERE e->>'type' = 'CREATE_ERLN_RECORD' AND e->>'integration_status' = 'SUCCESS')"
)


def conclusions(by_ids: bool, with_delivery: bool) -> str:
    """Signed conclusions per month, oblast and category; with_delivery adds those the ПФУ registry acknowledged."""
    delivered = "count(a.at)" if with_delivery else "0"
    seconds = "coalesce(sum(greatest(extract(epoch FROM a.at - c.signed_at), 0)), 0)" if with_delivery else "0"
    return (
        f"SELECT {kmonth('c.signed_at')} AS month, coalesce(le.region, '') AS region, c.category,"
        f" count(*) AS signed, {delivered} AS delivered, {seconds}::float8 AS ack_seconds"
        " FROM compositions c LEFT JOIN legal_entities le ON le.id = c.custodian_id"
        f" CROSS JOIN LATERAL (SELECT {ACKED_AT} AS at) a"
        f" WHERE {_where('c.id', by_ids)} AND c.signed_at IS NOT NULL GROUP BY 1, 2, 3"
    )


def pending(by_ids: bool) -> str:
    """Signed conclusions without the registry's acknowledgement."""
    return (
        "SELECT c.id AS composition_id, c.person_id FROM compositions c"
        f" WHERE {_where('c.id', by_ids)} AND c.signed_at IS NOT NULL AND {ACKED_AT} IS NULL"
    )


# The consumer's check of pending conclusions: the ones acknowledged since, with what to add.
ACKNOWLEDGED = (
    f"SELECT p.composition_id, {kmonth('c.signed_at')} AS month, coalesce(le.region, '') AS region, c.category,"
    " greatest(extract(epoch FROM a.at - c.signed_at), 0)::float8 AS seconds"
    " FROM analytics_pfu_pending p JOIN compositions c ON c.id = p.composition_id AND c.person_id = p.person_id"
    " LEFT JOIN legal_entities le ON le.id = c.custodian_id"
    f" CROSS JOIN LATERAL (SELECT {ACKED_AT} AS at) a WHERE a.at IS NOT NULL LIMIT :limit"
)


def active(by_ids: bool, since_day: bool = False) -> str:
    """Facilities and users that changed anything (an event) per Kyiv day; system jobs are nobody."""
    day = f"(e.event_time AT TIME ZONE {KYIV})::date"
    where = _where("e.id", by_ids) + (f" AND {day} >= :since" if since_day else "")
    return (
        f"SELECT DISTINCT {day} AS day, k.kind, k.id FROM events e"
        " CROSS JOIN LATERAL (VALUES ('legal_entity', e.legal_entity_id), ('user', e.changed_by)) AS k(kind, id)"
        f" WHERE {where} AND k.id IS NOT NULL AND k.id <> '{SYSTEM_USER}'::uuid"
    )


# Which status changes create a record (each happens once per entity).
CREATING = {
    ("Declaration", "active"): "declaration",
    ("Declaration", "pending_verification"): "declaration",
    ("MedicationRequest", "ACTIVE"): "medication_request",
    ("MedicationDispense", "PROCESSED"): "medication_dispense",
    ("ServiceRequest", "active"): "service_request",
    ("Composition", "FINAL"): "composition",
}
