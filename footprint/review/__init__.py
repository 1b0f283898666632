"""The monthly export review register: certificates, parcels, verdicts, decisions and history.

KP experts check every month the parcels exported from the CAR compliant
zones. The register keeps what they checked and what they decided, in a real
database: SQLite by default (one file), PostgreSQL by URL for a team
(SQLAlchemy Core; Alembic migrations shipped in ``migrations/`` run on open).
It is append-only: a decision is never edited, a later one supersedes it;
every row records who, when, and the model, reference store and threshold
versions behind the verdict.

- :class:`Register` - ``open``, ``add_batch``, ``decide``, ``list``,
  ``history``, ``month_report``;
- :func:`read_certificates`, :class:`ComplianceList` / :func:`load_compliance`
  - the certificates file and the compliance list (a SYNTHETIC example is
  bundled; replace it with ``--compliance``);
- :func:`control_charts`, :class:`ControlRule` - monthly control charts and
  their documented rule;
- :func:`write_export_months`, :func:`synth_certificates` - SYNTHETIC months
  with known drifts, and certificates for SYNTHETIC parcels.

Command line: ``footprint review add|decide|list|history|report``.
"""

from ._compliance import COMPLIANCE_COLUMNS, ComplianceList, Place, bundled_compliance_path, load_compliance
from ._db import head_revision
from ._generate import DEFAULT_DRIFTS, EXPORTERS, synth_certificates, write_export_months
from ._history import METRICS, ControlRule, control_charts, hellinger
from ._inputs import CERTIFICATE_COLUMNS, HS_CODES, SIZE_EDGES_CT, read_certificates
from ._register import DECISIONS, DEFAULT_TOLERANCES, STATUSES, Register, decision_status

__all__ = [
    "CERTIFICATE_COLUMNS",
    "COMPLIANCE_COLUMNS",
    "DECISIONS",
    "DEFAULT_DRIFTS",
    "DEFAULT_TOLERANCES",
    "EXPORTERS",
    "HS_CODES",
    "METRICS",
    "SIZE_EDGES_CT",
    "STATUSES",
    "ComplianceList",
    "ControlRule",
    "Place",
    "Register",
    "bundled_compliance_path",
    "control_charts",
    "decision_status",
    "head_revision",
    "hellinger",
    "load_compliance",
    "read_certificates",
    "synth_certificates",
    "write_export_months",
]
