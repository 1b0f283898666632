"""Initial review register: batches, certificates, parcels, flags, photos, decisions, reference footprints.

Revision ID: 0001
Revises:
Create Date: 2026-12-03

The tables are append-only: triggers refuse UPDATE and DELETE (SQLite and
PostgreSQL), so a decision can only be superseded by a later one.
"""

from alembic import op

from footprint.review._tables import APPEND_ONLY_TABLES, metadata

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

_PG_FUNCTION = """
CREATE OR REPLACE FUNCTION footprint_append_only() RETURNS trigger AS $$
BEGIN
  RAISE EXCEPTION 'footprint review register: table % is append-only (% refused)', TG_TABLE_NAME, TG_OP;
END;
$$ LANGUAGE plpgsql
"""


def upgrade() -> None:
    """Create the tables and the append-only triggers."""
    bind = op.get_bind()
    metadata.create_all(bind)
    if bind.dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for table in APPEND_ONLY_TABLES:
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION footprint_append_only()"
            )
    elif bind.dialect.name == "sqlite":
        for table in APPEND_ONLY_TABLES:
            for op_name in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{op_name.lower()} BEFORE {op_name} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, 'footprint review register: table {table} is "
                    f"append-only ({op_name} refused)'); END"
                )


def downgrade() -> None:
    """Refuse: an append-only register is never rolled back."""
    raise NotImplementedError("the review register is append-only; there is no downgrade")
