"""Value parsers and the named validation steps of the stone table.

Every step is a small function ``step(ctx)`` that reads and rewrites the
working table in a :class:`TableContext`, records each problem it finds as a
:class:`~footprint.exceptions.Problem` (file, 1-based data row, field, value,
rule) and counts the values it examined in the
:class:`~footprint._batch.ProcessingReport` under its own name. The steps run
in the order of :data:`STEPS`; nothing stops at the first problem, so one
:class:`~footprint.exceptions.SchemaError` lists everything wrong with a file
(matchms-style filters, pybaselines-style validation layer).
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from .._batch import ProcessingReport
from .._schema import FIELDS, Field, canonical_column, normalise_sieve
from .._text import squash
from ..exceptions import Problem, SchemaError
from ._parse import (
    _BAD_ID_SCAN,
    _COUNTRY_RE,
    _SAMPLE_ID_RE,
    _UNIT_IN_HEADER,
    _UNIT_SPELLINGS,
    MISSING_WORDS,
    _text,
    parse_boolean,
    parse_category,
    parse_date,
    parse_integer,
    parse_number,
)

__all__ = [
    "STEPS",
    "TableContext",
    "parse_boolean",
    "parse_category",
    "parse_date",
    "parse_integer",
    "parse_number",
    "run_steps",
]

# -- the working table --------------------------------------------------------------

@dataclass
class TableContext:
    """State shared by the validation steps for one stone table.

    Parameters
    ----------
    file : str
        Path as the user gave it (for messages).
    raw : DataFrame
        The table as read: original headers, cells as str (CSV) or objects (XLSX).
    extra_fields : sequence of Field
        Custom fields registered in the store, validated like built-ins.
    reference : bool
        Rows are reference stones (``zone`` required).
    keep_columns : sequence of str
        Non-schema columns to keep as they are (e.g. ``parcel_id``).
    decimal_comma : bool
        Numbers may use a comma as decimal separator.
    """

    file: str
    raw: pd.DataFrame
    extra_fields: Sequence[Field] = ()
    reference: bool = True
    keep_columns: Sequence[str] = ()
    decimal_comma: bool = False
    report: ProcessingReport = field(default_factory=ProcessingReport)
    problems: list[Problem] = field(default_factory=list)
    #: canonical field name -> raw header, filled by harmonize_columns
    mapping: dict[str, str] = field(default_factory=dict)
    #: kept non-schema columns: output name -> raw header
    kept: dict[str, str] = field(default_factory=dict)
    #: parsed columns: canonical name -> values, one per row (ndarray or list)
    values: dict[str, Any] = field(default_factory=dict)
    synthetic_column: str | None = None
    #: cells are all str (CSV read with dtype=str); XLSX gives Python objects
    text_cells: bool = True
    #: rows (0-based) that already have a problem in sample_id
    bad_id_rows: set[int] = field(default_factory=set)
    #: data rows of the whole file before this table's first row (a streamed piece)
    row_offset: int = 0

    @property
    def fields(self) -> Mapping[str, Field]:
        """All fields that may appear: built-in then custom, by name (read-only)."""
        return _all_fields(tuple(self.extra_fields))

    def add(self, row: int | None, name: str | None, value: Any, rule: str) -> None:
        """Record one problem; ``row`` is 0-based here, reported 1-based."""
        self.problems.append(
            Problem(self.file, None if row is None else row + 1 + self.row_offset, name, value, rule))

    def column(self, name: str) -> pd.Series | None:
        """Return the raw column mapped to canonical ``name`` (or None)."""
        header = self.mapping.get(name)
        return None if header is None else self.raw[header]


@functools.lru_cache(maxsize=64)
def _all_fields(extra: tuple[Field, ...]) -> Mapping[str, Field]:
    # Looked up per column and per step, for every piece of a streamed file: built once per field set.
    out = {f.name: f for f in FIELDS}
    out.update({f.name: f for f in extra})
    return MappingProxyType(out)


# -- the steps, in order ------------------------------------------------------------

@functools.lru_cache(maxsize=4096)
def _canonical(header: str, extra: tuple[Field, ...]) -> str | None:
    # A streamed file is validated as many pieces with the same header.
    return canonical_column(header, extra)


def _unit_matches(header_unit: str, field_unit: str) -> bool:
    spelled = header_unit.strip().casefold()
    return spelled == field_unit.casefold() or spelled in _UNIT_SPELLINGS.get(field_unit, frozenset())


def _column_hint(header: str, fields: Mapping[str, Field]) -> str:
    names = {}
    for f in fields.values():
        names[squash(f.name)] = f.name
        for s in f.synonyms:
            names[squash(s)] = f.name
    close = difflib.get_close_matches(squash(header), list(names), n=2, cutoff=0.75)
    targets = sorted({names[c] for c in close})
    return f" (did you mean {' or '.join(repr(t) for t in targets)}?)" if targets else ""


def harmonize_columns(ctx: TableContext) -> None:
    """Map every header to a canonical field name, checking any unit it announces.

    A header that maps to no field is an error naming the column (unless it is
    listed in ``keep_columns``), with the advice to declare it with
    ``footprint db fields --add``. A header whose unit differs from the
    field's (``mass (g)``, ``Weight (mg)``) is refused rather than converted:
    silently rescaling a reference value is worse than asking once.
    """
    fields = ctx.fields
    extra = tuple(ctx.extra_fields)
    keep = {squash(k): k for k in ctx.keep_columns}
    for header in ctx.raw.columns:
        ctx.report.count("harmonize_columns")
        text = str(header).strip()
        if not text or text.startswith("Unnamed:"):
            if ctx.raw[header].map(_text).astype(bool).any():
                ctx.add(None, text or None, None,
                        "column without a header holds values; name it or remove it")
            continue
        if squash(text) == "synthetic":
            ctx.synthetic_column = header
            continue
        if squash(text) in keep:
            ctx.kept[keep[squash(text)]] = header
            continue
        name = _canonical(text, extra)
        if name is None:
            match = _UNIT_IN_HEADER.match(text)
            base = _canonical(match["base"], extra) if match else None
            if base is not None:
                f = fields[base]
                unit = match["unit"].strip()  # type: ignore[index]
                if not f.unit or not _unit_matches(unit, f.unit):
                    want = f.unit or "no unit"
                    ctx.add(None, base, text,
                            f"column '{text}' announces unit '{unit}' but {base} is stored in {want}; "
                            f"convert the values to {want} and name the column '{base}'"
                            " (values are never rescaled silently)")
                    continue
                name = base
        if name is None:
            ctx.add(None, text, text,
                    f"unknown column '{text}'{_column_hint(text, fields)}: not a schema field; declare it "
                    f"with `footprint db fields DB --add {text} --unit UNIT --description TEXT` "
                    "or remove the column")
            continue
        if name in ctx.mapping:
            ctx.add(None, name, text,
                    f"columns '{ctx.mapping[name]}' and '{text}' both map to field '{name}'")
            continue
        ctx.mapping[name] = header


def require_columns(ctx: TableContext) -> None:
    """Require the ``sample_id`` column, and ``zone`` for reference rows."""
    needed = [f.name for f in ctx.fields.values()
              if f.required == "always" or (f.required == "reference" and ctx.reference)]
    for name in needed:
        ctx.report.count("require_columns")
        if name not in ctx.mapping:
            why = "every row needs it" if name == "sample_id" else "reference stones need their origin label"
            ctx.add(None, name, None, f"required column '{name}' is missing ({why})")


# Vectorised helpers: a 100,000-row table must validate in about a second, so
# whole columns are parsed with pandas, and Python only looks at the few cells
# that fail (to word the message) or at each *distinct* value of a column.

def _none_where(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Return a copy of the object array ``values`` with None where ``mask`` is true."""
    out = np.array(values, dtype=object)
    out[np.asarray(mask, dtype=bool)] = None
    return out


def _swap(parse: Callable[[Any, Field], Any], f: Field, raw: Any) -> Any:
    return parse(raw, f)


def _factorize(col: pd.Series) -> tuple[np.ndarray, list[Any]]:
    """Codes and distinct values; a missing cell becomes the extra last value None.

    (``use_na_sentinel=False`` would run a slow per-cell isna over the column.)
    """
    codes, uniques = pd.factorize(np.asarray(col, dtype=object))
    return codes, [*uniques, None]


def _per_unique(col: pd.Series, func: Callable[[Any], Any]) -> np.ndarray:
    """Apply ``func`` once per distinct cell value; return an object array, one per row."""
    codes, uniques = _factorize(col)
    results = np.empty(len(uniques), dtype=object)
    for k, raw in enumerate(uniques):
        results[k] = func(raw)
    return results[codes] if len(col) else np.empty(0, dtype=object)


#: A cell that starts or ends with whitespace, in cells joined by NUL.
_UNSTRIPPED = re.compile(r"(?:\A|\x00)\s|\s(?:\x00|\Z)")


def _already_stripped(values: np.ndarray) -> bool:
    """Whether every cell is a str without leading/trailing whitespace (one C-level scan).

    A cell holding NUL may give a false "no" (then the caller strips cell by
    cell), never a false "yes".
    """
    try:
        joined = "\x00".join(values)
    except TypeError:  # a non-str cell (NaN of a short row)
        return False
    words = joined.split()  # C speed; ids and codes usually hold no whitespace at all
    if len(words) == (1 if joined else 0) and (not words or len(words[0]) == len(joined)):
        return True
    return _UNSTRIPPED.search(joined) is None


def _stripped(ctx: TableContext, col: pd.Series) -> np.ndarray:
    """Cells as stripped text ('' = blank), an object array."""
    if ctx.text_cells and col.dtype == object:
        values = col.to_numpy(dtype=object)
        if _already_stripped(values):
            return values.copy()
        # CSV text columns hold only str: str.strip per distinct value, no checks.
        codes, uniques = _factorize(col)
        stripped = np.array([u.strip() if isinstance(u, str) else _text(u) for u in uniques], dtype=object)
        return stripped[codes] if len(col) else np.empty(0, dtype=object)
    return _per_unique(col, _text)


def _map_unique(ctx: TableContext, name: str, col: pd.Series, step: str,
                parse: Callable[[Any], Any]) -> np.ndarray:
    """Parse each distinct value once; report every row holding a bad one."""
    codes, uniques = _factorize(col)
    results = np.empty(len(uniques), dtype=object)
    bad: dict[int, str] = {}
    for k, raw in enumerate(uniques):
        try:
            results[k] = parse(raw)
        except ValueError as exc:
            results[k] = None
            bad[k] = str(exc)
    for k, rule in bad.items():
        for i in np.flatnonzero(codes == k):
            ctx.add(int(i), name, uniques[k], rule)
    ctx.report.count(step, len(col))
    return results[codes] if len(col) else np.empty(0, dtype=object)


def require_sample_id(ctx: TableContext) -> None:
    """Require a non-blank, file-name-safe ``sample_id`` on every row."""
    col = ctx.column("sample_id")
    if col is None:
        return
    text = _stripped(ctx, col)
    blank = text == ""
    # One C-level regex scan over all ids finds whether any is malformed (the usual
    # answer is none); only then are ids checked one by one.
    if _BAD_ID_SCAN.search("\n".join(text)) is None:
        ok = np.ones(len(text), dtype=bool)
    else:
        ok = np.fromiter((bool(_SAMPLE_ID_RE.match(t)) for t in text), dtype=bool, count=len(text))
    for i in np.flatnonzero(blank):
        ctx.add(int(i), "sample_id", None, "sample_id is required on every row")
    for i in np.flatnonzero(~ok & ~blank):
        ctx.add(int(i), "sample_id", text[i], "sample_id may use only letters, digits, '.', '_' and '-' "
                "(at most 64 characters, starting with a letter or digit)")
    ctx.bad_id_rows.update(int(i) for i in np.flatnonzero(~ok))
    ctx.values["sample_id"] = _none_where(~ok, text)
    ctx.report.count("require_sample_id", len(col))


def _parse_numeric(ctx: TableContext, name: str, f: Field) -> np.ndarray:
    col = ctx.raw[ctx.mapping[name]]
    if pd.api.types.is_numeric_dtype(col.dtype) and not pd.api.types.is_bool_dtype(col.dtype):
        values = col.to_numpy(dtype=float, copy=True)  # parsed by the CSV reader already
        source = col
    else:
        source = col.astype(object)
        if ctx.text_cells and ctx.decimal_comma:
            source = source.str.replace(",", ".", regex=False)
        values = np.array(pd.to_numeric(source, errors="coerce"), dtype=float)  # writable copy
    if not ctx.text_cells and source.dtype == object:  # XLSX: a TRUE cell must not become 1.0
        is_bool = col.map(lambda v: isinstance(v, (bool, np.bool_))).to_numpy(dtype=bool)
        values[is_bool] = np.nan
    suspect = np.flatnonzero(~np.isfinite(values))
    if suspect.size:
        cells = col.iloc[suspect]
        missing = cells.isna().to_numpy(dtype=bool)
        if not missing.all():  # a CSV number column parsed by pandas has only NaN here
            words = _per_unique(cells, lambda v: _text(v).casefold())
            missing = missing | np.isin(words, list(MISSING_WORDS))
        for i in suspect[~missing]:
            raw = col.iat[i]
            try:
                parse_number(raw, decimal_comma=ctx.decimal_comma)
                rule = "must be a number (blank if not measured)"
            except ValueError as exc:
                rule = str(exc)
            ctx.add(int(i), name, _text(raw) if isinstance(raw, float) else raw, rule)
        values[suspect] = np.nan
    if f.kind == "integer":
        fractional = np.flatnonzero(np.isfinite(values) & (values != np.round(values)))
        for i in fractional:
            ctx.add(int(i), name, _text(col.iat[i]), "must be a whole number")
        values[fractional] = np.nan
    ctx.report.count("parse_numbers", len(col))
    return values


def parse_numbers(ctx: TableContext) -> None:
    """Parse number and integer columns (built-in and custom) to floats, NaN if blank."""
    for name in ctx.mapping:
        f = ctx.fields[name]
        if f.kind in ("number", "integer"):
            ctx.values[name] = _parse_numeric(ctx, name, f)


def _parse_kind(ctx: TableContext, step: str, kind: str, parse: Callable[[Any, Field], Any]) -> None:
    for name, header in ctx.mapping.items():
        f = ctx.fields[name]
        if f.kind == kind:
            one = functools.partial(_swap, parse, f)
            ctx.values[name] = _map_unique(ctx, name, ctx.raw[header], step, one)


def parse_booleans(ctx: TableContext) -> None:
    """Parse boolean columns (true/false, yes/no, 1/0)."""
    _parse_kind(ctx, "parse_booleans", "boolean", lambda raw, f: parse_boolean(raw))


def parse_dates(ctx: TableContext) -> None:
    """Parse date columns, which must be ISO 8601 (YYYY-MM-DD)."""
    _parse_kind(ctx, "parse_dates", "date", lambda raw, f: parse_date(raw))


def require_vocabulary(ctx: TableContext) -> None:
    """Map category words to the vocabulary (case/space-folded), refusing unknown words."""
    _parse_kind(ctx, "require_vocabulary", "category", parse_category)


def _sieve(raw: Any, f: Field) -> str | None:
    text = _text(raw)
    if not text:
        return None
    try:
        return normalise_sieve(text)
    except SchemaError as exc:
        raise ValueError(exc.summary) from None


def normalize_sieve(ctx: TableContext) -> None:
    """Normalise sieve classes to ``dtc:+N`` / ``mm:X.XX``."""
    _parse_kind(ctx, "normalize_sieve", "sieve", _sieve)


def harmonize_text(ctx: TableContext) -> None:
    """Strip free-text cells; upper-case and check ISO 3166 alpha-3 country codes."""
    for name, header in ctx.mapping.items():
        f = ctx.fields[name]
        if f.kind != "text" or name == "sample_id":
            continue
        col = ctx.raw[header]
        if name == "country":
            text = _per_unique(col, lambda v: _text(v).upper())
            bad = _per_unique(col, lambda v: bool(_text(v)) and not _COUNTRY_RE.match(_text(v).upper()))
            for i in np.flatnonzero(bad.astype(bool)):
                ctx.add(int(i), name, col.iat[i], "must be an ISO 3166-1 alpha-3 country code (e.g. CAF)")
        else:
            text = _stripped(ctx, col)
        ctx.values[name] = _none_where(text == "", text)
        ctx.report.count("harmonize_text", len(col))


def require_range(ctx: TableContext) -> None:
    """Check numbers against each field's range (``mass_ct > 0``, ``resorption 0..3``...)."""
    for name in list(ctx.values):
        f = ctx.fields.get(name)
        if f is None or f.kind not in ("number", "integer"):
            continue
        values = np.asarray(ctx.values[name], dtype=float)
        bad = np.zeros(values.shape, dtype=bool)
        with np.errstate(invalid="ignore"):
            if f.minimum is not None:
                bad |= (values <= f.minimum) if f.exclusive_minimum else (values < f.minimum)
            if f.maximum is not None:
                bad |= values > f.maximum
        header = ctx.mapping[name]
        unit = f" {f.unit}" if f.unit else ""
        for i in np.flatnonzero(bad):
            ctx.add(int(i), name, _text(ctx.raw[header].iat[i]), f"{f.check(float(values[i]))}{unit}")
        ctx.report.count("require_range", len(values))


def require_zone(ctx: TableContext) -> None:
    """Require a zone on every reference row (the origin label)."""
    if not ctx.reference or "zone" not in ctx.values:
        return
    zones = np.asarray(ctx.values["zone"], dtype=object)
    for i in np.flatnonzero(pd.isna(zones)):
        ctx.add(int(i), "zone", None, "zone is required for reference stones (the origin label)")
    ctx.report.count("require_zone", len(zones))


def require_unique_ids(ctx: TableContext) -> None:
    """Refuse a ``sample_id`` that appears on more than one row of the file."""
    if "sample_id" not in ctx.values:
        return
    ids = pd.Series(ctx.values["sample_id"], dtype=object)
    present = ids.notna()
    dup = (present & ids.duplicated(keep="first")).to_numpy(dtype=bool)
    if dup.any():
        first = {sid: i for i, sid in ids[present].drop_duplicates(keep="first").items()}
        for i in np.flatnonzero(dup):
            sid = ids.iat[i]
            ctx.add(int(i), "sample_id", sid,
                    f"duplicate sample_id: already used on row {first[sid] + 1 + ctx.row_offset}")
    ctx.report.count("require_unique_ids", len(ids))


def harmonize_kept_columns(ctx: TableContext) -> None:
    """Keep the listed non-schema columns as stripped text (e.g. ``parcel_id``)."""
    for name, header in ctx.kept.items():
        arr = _stripped(ctx, ctx.raw[header])
        ctx.values[name] = _none_where(arr == "", arr)
        ctx.report.count("harmonize_kept_columns", len(ctx.raw))


#: Text fields whose values define groups (a zone, a site, a lot, a lab): names
#: that differ only by case, accents or spacing are reported.
GROUP_FIELDS: tuple[str, ...] = ("zone", "site", "lot_id", "lab")


def name_key(text: str) -> str:
    """Fold a name for near-duplicate detection: no accents, no case, one space for ``-``, ``_``, ``.``."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return re.sub(r"[\s_\-\.]+", " ", bare.casefold()).strip()


def near_duplicates(values: Any) -> list[list[str]]:
    """Return groups of distinct names that fold to the same :func:`name_key` (each sorted)."""
    groups: dict[str, set[str]] = {}
    for value in pd.unique(np.asarray(values, dtype=object)):
        if isinstance(value, str) and value:
            groups.setdefault(name_key(value), set()).add(value)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _distinct_text(values: np.ndarray) -> list[str]:
    return [u for u in pd.unique(values) if isinstance(u, str) and u]


def harmonize_unicode(ctx: TableContext) -> None:
    """Normalise every text value to Unicode NFC; warn about near-duplicate group names.

    ``Berbérati`` typed with a composed ``é`` (NFC) and with ``e`` + combining
    accent (NFD, as macOS and some exports write) is one name after this
    step. Names of :data:`GROUP_FIELDS` that still differ only by case,
    accents or spacing (``Berbérati`` / ``Berberati`` / ``BERBERATI``) stay
    distinct, because they may be distinct places, but each such group is
    named in a warning with its row counts. Work is per distinct value, and
    plain ASCII columns (most of them) are passed over in one check.
    """
    names = [n for n, f in ctx.fields.items()
             if f.kind == "text" and n in ctx.values and n != "sample_id"] + list(ctx.kept)
    for name in names:
        values = np.asarray(ctx.values[name], dtype=object)
        uniques = _distinct_text(values)
        if not uniques:
            continue
        ascii_only = "".join(uniques).isascii()
        if not ascii_only:
            changed = {u: unicodedata.normalize("NFC", u) for u in uniques
                       if not unicodedata.is_normalized("NFC", u)}
            if changed:
                n_changed = sum(1 for v in values if isinstance(v, str) and v in changed)
                ctx.report.count("harmonize_unicode", n_changed)
                values = np.array([changed.get(v, v) if isinstance(v, str) else v for v in values],
                                  dtype=object)
                ctx.values[name] = values
                uniques = _distinct_text(values)
        if name not in GROUP_FIELDS or len(uniques) < 2:
            continue
        keys: dict[str, list[str]] = {}
        for u in uniques:
            keys.setdefault(name_key(u) if not ascii_only else _ascii_key(u), []).append(u)
        groups = sorted(sorted(g) for g in keys.values() if len(g) > 1)
        if not groups:
            continue
        counts = pd.Series(values).value_counts()
        for group in groups:
            listed = ", ".join(f"'{g}' ({int(counts.get(g, 0))} rows)" for g in group)
            ctx.report.warnings.append(
                f"{ctx.file}: field '{name}' has names that differ only by case, accents or spacing: "
                f"{listed}; they are kept as different {name} values - correct the file if they are the same")


def _ascii_key(text: str) -> str:
    return re.sub(r"[\s_\-\.]+", " ", text.lower()).strip()


#: The steps, in the order they run.
STEPS: tuple[Callable[[TableContext], None], ...] = (
    harmonize_columns,
    require_columns,
    require_sample_id,
    parse_numbers,
    parse_booleans,
    parse_dates,
    require_vocabulary,
    normalize_sieve,
    harmonize_text,
    require_range,
    require_zone,
    require_unique_ids,
    harmonize_kept_columns,
    harmonize_unicode,
)


def run_steps(ctx: TableContext) -> None:
    """Run :data:`STEPS` in order on ``ctx`` (problems are collected, not raised)."""
    for step in STEPS:
        step(ctx)
