"""The register's tables (SQLAlchemy Core), as migration ``0001`` creates them.

Every table is append-only: rows are inserted, never updated or deleted (the
migrations install triggers that refuse UPDATE and DELETE on both SQLite and
PostgreSQL). A later decision supersedes an earlier one and says which
(``decisions.supersedes``). Times are ISO 8601 UTC text with microseconds
(``2026-12-03T08:30:00.123456+00:00``) and dates ISO text, so that both
backends store and sort them the same way.
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, ForeignKey, Integer, MetaData, String, Table, Text

__all__ = [
    "APPEND_ONLY_TABLES",
    "batches",
    "certificates",
    "decisions",
    "flags",
    "metadata",
    "parcels",
    "photos",
    "reference_footprints",
]

metadata = MetaData()

batches = Table(
    "batches",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("recorded_at", String(40), nullable=False),
    Column("recorded_by", String(200), nullable=False),
    Column("checked_on", String(10), nullable=False),
    Column("certificates_file", Text, nullable=False),
    Column("certificates_sha256", String(64), nullable=False),
    Column("results_file", Text, nullable=False),
    Column("results_sha256", String(64), nullable=False),
    Column("stones_sha256", String(64)),
    Column("compliance_file", Text, nullable=False),
    Column("compliance_sha256", String(64), nullable=False),
    Column("model_fingerprint", String(64), nullable=False),
    Column("model_version", String(40), nullable=False),
    Column("store_hash", String(64)),
    Column("thresholds_version", String(40), nullable=False),
    Column("tool_version", String(40), nullable=False),
    Column("synthetic", Boolean, nullable=False),
    Column("audit", Text, nullable=False),
)

certificates = Table(
    "certificates",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False, index=True),
    Column("kp_certificate", String(100), nullable=False, index=True),
    Column("issued_on", String(10), nullable=False),
    Column("expires_on", String(10), nullable=False),
    Column("exporter", String(200), nullable=False),
    Column("importer_country", String(100), nullable=False),
    Column("hs_code", String(10), nullable=False),
    Column("carats", Float, nullable=False),
    Column("n_stones", Integer, nullable=False),
    Column("value_usd", Float, nullable=False),
    Column("declared_origin", String(200), nullable=False),
    Column("source_row", Integer, nullable=False),
)

parcels = Table(
    "parcels",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("batch_id", Integer, ForeignKey("batches.id"), nullable=False, index=True),
    Column("certificate_id", Integer, ForeignKey("certificates.id"), nullable=False),
    Column("parcel_id", String(200), nullable=False, unique=True),
    Column("kp_certificate", String(100), nullable=False),
    Column("month", String(7), nullable=False, index=True),
    Column("exporter", String(200), nullable=False, index=True),
    Column("declared_zone", String(100)),
    Column("declared_origin", String(200), nullable=False),
    Column("zone", String(100)),
    Column("subprefecture", String(200)),
    Column("site", String(200)),
    Column("compliance", String(20), nullable=False),
    Column("compliance_ref", Text),
    Column("n_stones", Integer, nullable=False),
    Column("carats", Float, nullable=False),
    Column("carats_measured", Boolean, nullable=False),
    Column("mass_sq_sum", Float),
    Column("value_usd", Float, nullable=False),
    Column("n_quality", Integer),
    Column("n_gem", Integer),
    Column("n_industrial", Integer),
    Column("size_counts", Text),
    Column("verdict", String(40), nullable=False),
    Column("best_zone", String(100)),
    Column("log10_lr", Float),
    Column("foreign_fraction", Float),
    Column("foreign_fraction_lo", Float),
    Column("foreign_fraction_hi", Float),
    Column("novelty_p", Float),
    Column("model_fingerprint", String(64), nullable=False),
    Column("store_hash", String(64)),
    Column("thresholds_version", String(40), nullable=False),
    Column("synthetic", Boolean, nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("recorded_by", String(200), nullable=False),
)

flags = Table(
    "flags",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parcel_pk", Integer, ForeignKey("parcels.id"), nullable=False, index=True),
    Column("code", String(40), nullable=False),
    Column("detail", Text, nullable=False),
)

photos = Table(
    "photos",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parcel_pk", Integer, ForeignKey("parcels.id"), nullable=False, index=True),
    Column("file", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("parcel_pk", Integer, ForeignKey("parcels.id"), nullable=False, index=True),
    Column("parcel_id", String(200), nullable=False),
    Column("decision", String(10), nullable=False),
    Column("reason", Text),
    Column("decided_by", String(200), nullable=False),
    Column("decided_at", String(40), nullable=False),
    Column("supersedes", Integer, ForeignKey("decisions.id")),
    Column("model_fingerprint", String(64), nullable=False),
    Column("store_hash", String(64)),
    Column("thresholds_version", String(40), nullable=False),
    Column("tool_version", String(40), nullable=False),
)

reference_footprints = Table(
    "reference_footprints",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("zone", String(100), nullable=False, index=True),
    Column("size_counts", Text, nullable=False),
    Column("source", Text, nullable=False),
    Column("recorded_at", String(40), nullable=False),
    Column("recorded_by", String(200), nullable=False),
)

#: Tables whose rows may never be updated or deleted.
APPEND_ONLY_TABLES = (
    "batches",
    "certificates",
    "parcels",
    "flags",
    "photos",
    "decisions",
    "reference_footprints",
)
