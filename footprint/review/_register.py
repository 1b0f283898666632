"""The export review register: certificates, parcels, verdicts, flags and expert decisions.

:class:`Register` is the Python API behind ``footprint review``. Everything
is appended, never edited: a decision is superseded by a later one, which
names the decision it supersedes; every row records who, when, and the model,
reference store and threshold versions behind the verdict (from the classify
run's audit).
"""

from __future__ import annotations

from ._batches import Adding
from ._certificate_checks import DEFAULT_TOLERANCES
from ._decisions import DECISIONS, STATUSES, Deciding, decision_status
from ._reading import Reading

__all__ = ["DECISIONS", "DEFAULT_TOLERANCES", "STATUSES", "Register", "decision_status"]


class Register(Adding, Deciding, Reading):
    """An open review register (SQLite file or PostgreSQL database).

    Use :meth:`open`; close with :meth:`close` or a ``with`` block. Its
    parts: opening and transactions (:mod:`._connection`), adding batches
    (:mod:`._batches`), decisions (:mod:`._decisions`), reading
    (:mod:`._reading`).
    """
