"""Every error footprint raises on purpose.

The tree, with the built-in each class also inherits so callers can catch
either the footprint class or the usual Python one::

    FootprintError(Exception)                      exit code 1 (generic)
    ├── UsageError(FootprintError, ValueError)     exit code 2: a bad argument or option
    │   └── OutputError                            an output would overwrite an input, has no
    │                                              folder, exists without --force, cannot be written
    ├── InputError(FootprintError, ValueError)     exit code 3: bad user input
    │   ├── SchemaError                            unknown field / vocabulary / range
    │   ├── SpectrumError                          not a usable (diamond) spectrum
    │   ├── DuplicateRecordError                   sample_id clash without --replace
    │   └── DecisionError                          a review decision breaks a register rule
    ├── StoreError(FootprintError, OSError)        exit code 4: the reference store
    │   ├── StoreVersionError                      newer or unknown format/schema version
    │   ├── StoreLockedError(.., TimeoutError)     another writer held the lock too long
    │   ├── StoreIntegrityError                    verify found a broken checksum/reference
    │   └── RegisterError                          the review register (SQL database)
    │       └── RegisterVersionError               register schema newer than / unknown to this code
    └── ModelError(FootprintError, RuntimeError)   exit code 5: models and artefacts
        ├── InsufficientDataError(.., ValueError)  too few stones/lots/sites to train
        └── ModelIntegrityError                    tampered or mismatched model directory

Input errors carry a list of :class:`Problem` records (file, row, field,
value, rule) so that a whole batch's problems are reported together.

Exit code 2 is shared with the command-line parser (usage errors), and exit
code 6 is used by ``footprint classify`` for "ran, and some parcels need
expert review" (not an exception).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "MAX_REPORTED_PROBLEMS",
    "DecisionError",
    "DuplicateRecordError",
    "FootprintError",
    "InputError",
    "InsufficientDataError",
    "ModelError",
    "ModelIntegrityError",
    "OutputError",
    "Problem",
    "RegisterError",
    "RegisterVersionError",
    "SchemaError",
    "SpectrumError",
    "StoreError",
    "StoreIntegrityError",
    "StoreLockedError",
    "StoreVersionError",
    "UsageError",
]

#: How many problems an :class:`InputError` message lists before summarising.
MAX_REPORTED_PROBLEMS = 50


@dataclass(frozen=True)
class Problem:
    """One thing wrong with one piece of user input.

    Parameters
    ----------
    file : str or None
        The file the value came from (a path as the user gave it).
    row : int or None
        1-based data row in that file (the header is row 0), or ``None``
        where the problem is not tied to a row.
    field : str or None
        Schema field name (or the raw column name when it maps to none).
    value : Any
        The offending value, as read.
    rule : str
        The rule that was broken, in words a lab technician understands.
    """

    file: str | None
    row: int | None
    field: str | None
    value: Any
    rule: str

    def __str__(self) -> str:
        """Render as ``file, row N, field 'f', value 'v': rule``."""
        parts = []
        if self.file is not None:
            parts.append(str(self.file))
        if self.row is not None:
            parts.append(f"row {self.row}")
        if self.field is not None:
            parts.append(f"field '{self.field}'")
        if self.value is not None:
            text = repr(self.value) if not isinstance(self.value, str) else f"'{self.value}'"
            if len(text) > 80:
                text = text[:77] + "..."
            parts.append(f"value {text}")
        where = ", ".join(parts)
        return f"{where}: {self.rule}" if where else self.rule


class FootprintError(Exception):
    """Base class of every error footprint raises on purpose."""

    exit_code: int = 1


class UsageError(FootprintError, ValueError):
    """A command-line argument or option is unusable (a zero worker count, an empty id...)."""

    exit_code = 2


class OutputError(UsageError):
    """An output path cannot be used: it is an input, its folder is missing, it exists without --force."""


class InputError(FootprintError, ValueError):
    """User input (a file, a value, an option) breaks a rule.

    Parameters
    ----------
    message : str
        What went wrong, in one sentence.
    problems : iterable of Problem, optional
        The individual problems; all of them are kept in ``problems``, the
        message lists the first :data:`MAX_REPORTED_PROBLEMS`.
    """

    exit_code = 3

    def __init__(self, message: str, problems: Iterable[Problem] = ()) -> None:
        self.problems: list[Problem] = list(problems)
        self.summary = message
        super().__init__(self._render())

    def _render(self) -> str:
        if not self.problems:
            return self.summary
        shown = self.problems[:MAX_REPORTED_PROBLEMS]
        lines = [f"{self.summary} ({len(self.problems)} problem(s)):"]
        lines += [f"  - {p}" for p in shown]
        hidden = len(self.problems) - len(shown)
        if hidden > 0:
            lines.append(f"  ... and {hidden} more problem(s) not shown")
        return "\n".join(lines)


class SchemaError(InputError):
    """A field, vocabulary word, type or range does not fit the schema."""


class SpectrumError(InputError):
    """A spectrum file cannot be read, or is not a usable diamond spectrum."""


class DuplicateRecordError(InputError):
    """A different record exists under the same ``sample_id``."""


class DecisionError(InputError):
    """A review decision breaks a register rule (a hold without a reason, one expert approving twice)."""


class StoreError(FootprintError, OSError):
    """The reference store cannot be opened, written or trusted."""

    exit_code = 4


class StoreVersionError(StoreError):
    """The store's format or schema version is newer than, or unknown to, this code."""


class StoreLockedError(StoreError, TimeoutError):
    """Another writer held the store's lock for longer than the timeout."""


class StoreIntegrityError(StoreError):
    """A checksum, a cross-table reference or the audit log does not verify."""


class RegisterError(StoreError):
    """The review register (SQLite file or PostgreSQL database) cannot be opened, written or trusted."""


class RegisterVersionError(RegisterError):
    """The register's schema revision is newer than, or unknown to, this code."""


class ModelError(FootprintError, RuntimeError):
    """A model cannot be trained, loaded or applied."""

    exit_code = 5


class InsufficientDataError(ModelError, ValueError):
    """The reference set has too few stones, lots or sites to train on."""


class ModelIntegrityError(ModelError):
    """A model directory was tampered with or does not match its manifest."""
