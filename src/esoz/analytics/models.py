"""Rollup tables of the dashboards (DDL in migrations/versions/0009_analytics.py).

Keys are text so that "none" and "all" have values a primary key accepts: region '' = not known,
program '' = no programme (own money); '*' in the distinct sets = every region / programme.
"""

from sqlalchemy import BigInteger, Column, Date, DateTime, Float, Integer, Numeric, SmallInteger, Table, Text
from sqlalchemy.dialects.postgresql import UUID

from esoz.core.db import metadata

NONE, ALL = "", "*"

# Where the event consumer stopped: (event_time, event_id) of the last event applied.
analytics_state = Table(
    "analytics_state",
    metadata,
    Column("name", Text, primary_key=True),
    Column("event_time", DateTime(timezone=True), nullable=False),
    Column("event_id", UUID(as_uuid=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Events a rebuild already counted although they lie past the high-water mark: the consumer passes over them.
analytics_skip = Table(
    "analytics_skip",
    metadata,
    Column("event_id", UUID(as_uuid=True), primary_key=True),
    Column("event_time", DateTime(timezone=True), nullable=False),
)

records_monthly = Table(
    "analytics_records_monthly",
    metadata,
    Column("month", Date, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

rx_monthly = Table(
    "analytics_rx_monthly",
    metadata,
    Column("month", Date, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("program", Text, primary_key=True),
    Column("prescriptions", BigInteger, nullable=False),
    Column("dispenses", BigInteger, nullable=False),
)

# Also under '*' (every region / programme); the key leads with the filters so one slice is read.
rx_innm_monthly = Table(
    "analytics_rx_innm_monthly",
    metadata,
    Column("region", Text, primary_key=True),
    Column("program", Text, primary_key=True),
    Column("month", Date, primary_key=True),
    Column("innm_id", UUID(as_uuid=True), primary_key=True),
    Column("prescriptions", BigInteger, nullable=False),
)

# Patients served (a processed dispense) per year: the set makes the count distinct, the counter makes it cheap.
rx_patients = Table(
    "analytics_rx_patients",
    metadata,
    Column("year", SmallInteger, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("program", Text, primary_key=True),
    Column("person_id", UUID(as_uuid=True), primary_key=True),
)

rx_patients_count = Table(
    "analytics_rx_patients_count",
    metadata,
    Column("year", SmallInteger, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("program", Text, primary_key=True),
    Column("n", BigInteger, nullable=False),
)

abx_monthly = Table(
    "analytics_abx_monthly",
    metadata,
    Column("month", Date, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("aware", Text, primary_key=True),
    Column("ddd", Numeric(20, 4), nullable=False),
    Column("dispenses", BigInteger, nullable=False),
)

conclusions_monthly = Table(
    "analytics_conclusions_monthly",
    metadata,
    Column("month", Date, primary_key=True),
    Column("region", Text, primary_key=True),
    Column("category", Text, primary_key=True),
    Column("signed", BigInteger, nullable=False),
    Column("delivered", BigInteger, nullable=False),
    Column("ack_seconds", Float, nullable=False),  # sum over the delivered ones
)

# Signed temporary-disability conclusions the ПФУ registry has not acknowledged yet (re-checked every run).
pfu_pending = Table(
    "analytics_pfu_pending",
    metadata,
    Column("composition_id", UUID(as_uuid=True), primary_key=True),
    Column("person_id", UUID(as_uuid=True), nullable=False),
)

active_ids = Table(
    "analytics_active",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", Text, primary_key=True),  # legal_entity | user
    Column("id", UUID(as_uuid=True), primary_key=True),
)

active_count = Table(
    "analytics_active_count",
    metadata,
    Column("day", Date, primary_key=True),
    Column("kind", Text, primary_key=True),
    Column("n", Integer, nullable=False),
)
