"""The KP statistics screening checks: mirror, unit_value, balance, jump, missing, certificates.

Each check is a small named function ``check_<name>(data, settings)`` that
returns a list of findings (dicts with the ANOMALIES.csv columns plus
``flow``). :func:`run_checks` runs them in :data:`CHECKS` order. Every rule
and default threshold is below and in :class:`Settings`; ``score`` is
comparable within a check, ``severity`` follows :data:`SEVERITY_RULES`.

The checks
----------
mirror
    A's exports to B against B's imports from A, per period (at the
    coarser of the two sides' reporting grains), for carats, US$ and US$/ct.
    The measure is the log ratio ``log((A + c) / (B + c))`` (``c`` a small
    materiality offset); the score is a robust z: its distance from the
    median log ratio of all pair-periods in the run, in units of their
    scaled MAD (at least :attr:`Settings.mirror_noise_floor`). A shipment
    certified at the end of a quarter is often recorded by the importer in
    the next one (big shipments can shift in a chain), so before the ratio is
    taken an importer's shortfall is credited with its surplus over the
    exporter's figures in the next one to three periods (cumulated, for
    chains), and a surplus is debited with its cumulated shortfall in the previous
    one to three, never by more than
    the difference itself. A flag also needs a material difference
    (:attr:`Settings.mirror_min_rel` of the larger side and at least
    :attr:`Settings.mirror_min_ct` carats
    or :attr:`Settings.mirror_min_usd` US$). ``participant`` is the
    exporter, ``partner`` the importer; both are asked.
unit_value
    US$/ct of a participant's flow (exports, imports, production) against
    its own history: robust z of log US$/ct against the median of up to
    :attr:`Settings.uv_neighbours` valid periods on each side (the period
    itself left out), scaled by the series' own MAD of those residuals (at
    least :attr:`Settings.uv_noise_floor`). A trade flow is flagged only if
    what its partners report for the same trade disagrees too (robust z of
    own against partners' US$/ct at least :attr:`Settings.uv_partner_z`):
    a move both sides report is a market or assortment change, not an
    anomaly. Flows under :attr:`Settings.uv_min_ct` carats are not judged.
balance
    Per participant and calendar year: exports (ct) against production plus
    imports (ct). Flagged when exports exceed that supply by more than the
    stock tolerance, ``max(stock_tolerance * supply, balance_min_ct)``; the
    score is the relative excess ``exports / supply - 1``. Years whose
    production (for a producer) or imports are not reported in full are not
    judged (``missing`` reports the gap); a participant absent from the
    production table is a non-producer, and without a production table the
    check is not run.
jump
    Per participant and series (production, exports, imports; carats and
    US$): change points of ``log(x + c)`` found by ruptures' PELT search
    (``KernelCPD``, linear kernel = least-squares cost) with a BIC-like
    penalty ``jump_penalty * log(n)`` on the series scaled by its robust
    noise (MAD of first differences / sqrt 2). A change point is flagged
    when the level after it (median of up to 4 periods) differs from the
    level before it (median of up to 4 periods) by at least
    :attr:`Settings.jump_z` noise units and a factor
    :attr:`Settings.jump_min_ratio`; the return from a one- or two-period
    spike is not flagged again. The score is that difference in noise units.
missing
    A participant, or one of its flows, with no figures for a period in
    which partners report trade with it (at least
    :attr:`Settings.missing_min_ct` carats). The score is the share of its
    normal trade the silence hides: ``R / (R + typical)``, with ``R`` the
    partner-reported carats and ``typical`` the participant's median carats
    per period of that flow.
certificates
    Carats or US$ per certificate implausible: zero certificates for
    carats, or (on the exporter's side, which issues the certificates, for
    at least :attr:`Settings.uv_min_ct` carats) a ratio at least
    :attr:`Settings.cert_min_ratio` times away from the pair's own median
    with robust z >= :attr:`Settings.cert_z`;
    or exporter's and importer's certificate counts that disagree by at
    least ``max(cert_abs, cert_rel * larger count)`` after allowing for
    certificates counted in another quarter (as for mirror). The score is
    the distance in doublings (log2 ratio).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ._periods import GRAINS, index_label, period_index, quarters_covered

__all__ = [
    "ANOMALY_COLUMNS",
    "CHECKS",
    "SEVERITY_RULES",
    "Settings",
    "StatsData",
    "check_balance",
    "check_certificates",
    "check_jump",
    "check_missing",
    "check_mirror",
    "check_unit_value",
    "flow_series",
    "prepare",
    "run_checks",
]

logger = logging.getLogger(__name__)

#: Columns of ANOMALIES.csv, in order.
ANOMALY_COLUMNS: tuple[str, ...] = (
    "participant",
    "period",
    "check",
    "partner",
    "observed",
    "expected",
    "score",
    "severity",
    "detail",
)

#: Score thresholds per check: ``(medium, high)``; below ``medium`` a flag is ``low``.
#: Overrides: mirror with one side reporting nothing, and certificates with zero
#: certificates for carats, are ``high``; missing when the participant reported
#: nothing at all that period is at least ``medium``.
SEVERITY_RULES: dict[str, tuple[float, float]] = {
    "mirror": (10.0, 20.0),  # robust z (noise units): ~2x and ~4x the flag threshold
    "unit_value": (8.0, 16.0),  # robust z against own history
    "balance": (0.5, 1.0),  # relative excess: exports 1.5x / 2x the supply
    "jump": (10.0, 20.0),  # change in noise units
    "missing": (0.2, 0.5),  # share of normal trade unreported
    "certificates": (2.0, 3.0),  # doublings: 4x / 8x off
}


@dataclass(frozen=True)
class Settings:
    """Thresholds of the checks (defaults are ESTIMATES: the KP publishes none).

    Every field is documented in the module docstring of
    :mod:`footprint.stats._checks`; the values used are written into every
    report.
    """

    mirror_z: float = 5.0
    mirror_min_rel: float = 0.15
    mirror_min_ct: float = 50.0
    mirror_min_usd: float = 25_000.0
    mirror_noise_floor: float = 0.05
    uv_z: float = 4.0
    uv_partner_z: float = 3.0
    uv_min_ratio: float = 1.3
    uv_min_ct: float = 100.0
    uv_noise_floor: float = 0.10
    uv_neighbours: int = 4
    stock_tolerance: float = 0.25
    balance_min_ct: float = 1000.0
    jump_z: float = 5.0
    jump_min_ratio: float = 1.6
    jump_noise_floor: float = 0.05
    jump_penalty: float = 3.0
    jump_min_points: int = 4
    missing_min_ct: float = 100.0
    cert_min_ratio: float = 5.0
    cert_z: float = 5.0
    cert_abs: int = 3
    cert_rel: float = 0.3
    cert_noise_floor: float = 0.5

    def as_dict(self) -> dict[str, Any]:
        """Return the settings as a plain dict (for reports and JSON)."""
        return asdict(self)


@dataclass
class StatsData:
    """Validated production and trade tables plus derived lookups (see :func:`prepare`)."""

    production: pd.DataFrame
    trade: pd.DataFrame
    coverage: Any = None
    mirror: pd.DataFrame | None = None
    totals: pd.DataFrame | None = None
    synthetic: bool = False
    cache: dict[str, Any] = field(default_factory=dict)


_PROD_COLUMNS = ["participant", "period", "carats", "value_usd", "year", "grain", "part", "row"]
_TRADE_COLUMNS = [
    "participant",
    "period",
    "flow",
    "partner",
    "carats",
    "value_usd",
    "certificates",
    "year",
    "grain",
    "part",
    "row",
]


def _empty(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            c: pd.Series(
                dtype=object
                if c in ("participant", "period", "flow", "partner")
                else "float64"
                if c in ("carats", "value_usd", "certificates")
                else "int64"
            )
            for c in columns
        }
    )


def prepare(production: pd.DataFrame | None, trade: pd.DataFrame | None) -> StatsData:
    """Build the working data of the checks from validated tables.

    Parameters
    ----------
    production : DataFrame or None
        :func:`~footprint.stats.read_production` output (None: no production figures).
    trade : DataFrame or None
        :func:`~footprint.stats.read_trade` output (None: no trade figures).

    Returns
    -------
    StatsData
        With ``coverage`` (per grain code, the (participant, flow, period
        index) reported, flow ``production`` included), the pair-level
        ``mirror`` table and the per participant-flow ``totals``.
    """
    prod = _empty(_PROD_COLUMNS) if production is None else production
    trd = _empty(_TRADE_COLUMNS) if trade is None else trade
    synthetic = bool(
        (production is not None and production.attrs.get("synthetic"))
        or (trade is not None and trade.attrs.get("synthetic"))
    )
    data = StatsData(production=prod, trade=trd, synthetic=synthetic)
    data.coverage = _coverage(prod, trd)
    data.mirror = _mirror_table(trd, data.coverage)
    data.totals = _totals(prod, trd)
    return data


_FLOW_CODE = {"export": 0, "import": 1, "production": 2}


def _positions(values: pd.Series, index: pd.Index) -> np.ndarray:
    """Position of every value in ``index`` (-1 if absent); cheap for categorical columns."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        lookup = index.get_indexer(np.asarray(values.cat.categories, dtype=object))
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, lookup[codes], -1).astype(np.int64)
    return index.get_indexer(values.to_numpy(dtype=object)).astype(np.int64)


def _labels(*columns: pd.Series) -> np.ndarray:
    """Return the distinct participant codes of some columns, as an object array."""
    parts = []
    for col in columns:
        if isinstance(col.dtype, pd.CategoricalDtype):
            parts.append(np.asarray(col.cat.categories, dtype=object))
        else:
            parts.append(pd.unique(col.to_numpy(dtype=object)))
    return pd.unique(np.concatenate(parts)) if parts else np.zeros(0, dtype=object)


class _Coverage:
    """Which (participant, flow, period index) have figures, per grain, as sorted integer keys."""

    def __init__(self, prod: pd.DataFrame, trade: pd.DataFrame) -> None:
        self.index = pd.Index(_labels(prod["participant"], trade["participant"], trade["partner"]))
        self.keys: dict[int, np.ndarray] = {}
        parts = []
        for frame, flow in ((prod, None), (trade, "flow")):
            if not len(frame):
                continue
            rows, quarters = quarters_covered(
                frame["year"].to_numpy(), frame["grain"].to_numpy(), frame["part"].to_numpy()
            )
            who = _positions(frame["participant"], self.index)
            flows = (
                np.full(len(frame), 2)
                if flow is None
                else (frame["flow"] == "import").to_numpy().astype(np.int64)
            )
            parts.append(self._key(who[rows], flows[rows], quarters))
        # hash to the few distinct keys first, then sort those (cheaper than sorting every row)
        quarter_keys = np.sort(pd.unique(np.concatenate(parts))) if parts else np.zeros(0, dtype=np.int64)
        for g, per in ((0, 1), (1, 2), (2, 4)):
            q = quarter_keys % 1_000_000
            base = quarter_keys - q
            self.keys[g] = np.sort(pd.unique(base + q // per))

    @staticmethod
    def _key(who: np.ndarray, flow: np.ndarray | int, idx: np.ndarray) -> np.ndarray:
        return (who.astype(np.int64) * 4 + flow) * 1_000_000 + idx

    def covered_codes(
        self, who: np.ndarray, flow: int | np.ndarray, grain: np.ndarray, idx: np.ndarray
    ) -> np.ndarray:
        """As :meth:`covered`, for participant positions in :attr:`index` and a flow code."""
        keys = self._key(np.asarray(who, dtype=np.int64), flow, np.asarray(idx, dtype=np.int64))
        grains = np.broadcast_to(np.asarray(grain, dtype=np.int64), keys.shape)
        out = np.zeros(len(keys), dtype=bool)
        for g in range(3):
            mask = grains == g
            if mask.any() and len(self.keys[g]):
                pos = np.minimum(np.searchsorted(self.keys[g], keys[mask]), len(self.keys[g]) - 1)
                out[mask] = self.keys[g][pos] == keys[mask]
        return out & (np.asarray(who) >= 0)

    def covered(
        self, participant: np.ndarray, flow: np.ndarray | str, grain: np.ndarray | int, idx: np.ndarray
    ) -> np.ndarray:
        """Whether each (participant, flow, period index at grain) has figures."""
        who = self.index.get_indexer(np.asarray(participant, dtype=object))
        flows = np.asarray(flow, dtype=object)
        if flows.ndim == 0:
            fcode = np.full(len(who), _FLOW_CODE[str(flows)], dtype=np.int64)
        else:
            fcode = np.where(flows == "export", 0, np.where(flows == "import", 1, 2)).astype(np.int64)
        grains = np.broadcast_to(np.asarray(grain, dtype=np.int64), who.shape)
        keys = self._key(np.where(who < 0, 0, who), fcode, np.asarray(idx, dtype=np.int64))
        out = np.zeros(len(who), dtype=bool)
        for g in range(3):
            mask = grains == g
            if mask.any():
                found = np.searchsorted(self.keys[g], keys[mask])
                found = np.minimum(found, max(len(self.keys[g]) - 1, 0))
                out[mask] = (
                    (len(self.keys[g]) > 0) & (self.keys[g][found] == keys[mask])
                    if len(self.keys[g])
                    else False
                )
        return out & (who >= 0)


def _coverage(prod: pd.DataFrame, trade: pd.DataFrame) -> _Coverage:
    return _Coverage(prod, trade)


def _covered(
    coverage: _Coverage, participant: np.ndarray, flow: np.ndarray | str, grain: np.ndarray, idx: np.ndarray
) -> np.ndarray:
    return coverage.covered(participant, flow, grain, idx)


_NUM = ["carats", "value_usd", "certificates"]


def _group_max(groups: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Per row, the maximum of ``values`` over its group (groups: integer labels)."""
    inv, uniq = pd.factorize(groups)
    values = values.astype(np.int64)
    top = np.zeros(len(uniq), dtype=np.int64)
    for level in np.unique(values).tolist():  # a handful of levels (grain codes): no slow ufunc.at
        top = np.where(
            np.bincount(inv, values == level, minlength=len(uniq)) > 0, np.maximum(top, level), top
        )
    return top[inv]


#: Neighbouring periods kept for every pair period (offset: column tag).
_NEIGHBOUR = {-3: "prev3", -2: "prev2", -1: "prev", 1: "next", 2: "next2", 3: "next3"}


def _mirror_table(trade: pd.DataFrame, coverage: _Coverage) -> pd.DataFrame:
    """Pair-level table: exporter's and importer's figures per pair period, with neighbouring periods."""
    cols = ["exporter", "importer", "grain", "idx"]
    if not len(trade):
        return pd.DataFrame(columns=cols)
    names = coverage.index.to_numpy(dtype=object)
    n = len(names) + 1
    is_exp = (trade["flow"] == "export").to_numpy()
    pc = _positions(trade["participant"], coverage.index)
    qc = _positions(trade["partner"], coverage.index)
    exp_c = np.where(is_exp, pc, qc)
    imp_c = np.where(is_exp, qc, pc)
    pair = exp_c * n + imp_c
    g = trade["grain"].to_numpy().astype(np.int64)
    grain = _group_max(pair, g)
    idx = period_index(trade["year"].to_numpy(), g, trade["part"].to_numpy(), grain)
    key = (pair * 3 + grain) * 1_000_000 + idx
    inv, uniq = pd.factorize(key)
    uniq = np.asarray(uniq, dtype=np.int64)
    data: dict[str, np.ndarray] = {}
    for side, mask in (("A", is_exp), ("B", ~is_exp)):
        where = inv[mask]
        present = np.bincount(where, minlength=len(uniq)) > 0
        for name in _NUM:
            total = np.bincount(where, trade[name].to_numpy()[mask], minlength=len(uniq))
            data[f"{side}_{name}"] = np.where(present, total, np.nan)
    u_idx = uniq % 1_000_000
    u_grain = (uniq // 1_000_000) % 3
    u_pair = uniq // 1_000_000 // 3
    u_exp, u_imp = u_pair // n, u_pair % n
    a_cov = coverage.covered_codes(u_exp, 0, u_grain, u_idx)
    b_cov = coverage.covered_codes(u_imp, 1, u_grain, u_idx)
    for side, cov in (("A", a_cov), ("B", b_cov)):
        for name in _NUM:
            col = f"{side}_{name}"
            data[col] = np.where(cov, np.nan_to_num(data[col], nan=0.0), np.nan)
    # exporter's minus importer's figure in the neighbouring periods of the same pair (absent: 0)
    diff = np.stack([np.nan_to_num(data[f"A_{name}"] - data[f"B_{name}"], nan=0.0) for name in _NUM], axis=1)
    lookup = pd.Index(uniq)
    for shift, tag in _NEIGHBOUR.items():
        pos = lookup.get_indexer(uniq + shift)
        shifted = np.where((pos >= 0)[:, None], diff[pos], 0.0)
        for j, name in enumerate(_NUM):
            data[f"D_{name}_{tag}"] = shifted[:, j]
    agg = pd.DataFrame(
        {
            "exporter": pd.Categorical.from_codes(u_exp, categories=names),
            "importer": pd.Categorical.from_codes(u_imp, categories=names),
            "grain": u_grain,
            "idx": u_idx,
            **data,
        }
    )
    # rows in order of first appearance in the trade table: deterministic for the same input
    return agg


def _robust(values: np.ndarray, floor: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    if len(values) < 3:
        return 0.0, floor
    centre = float(np.median(values))
    scale = float(1.4826 * np.median(np.abs(values - centre)))
    return centre, max(scale, floor)


def _group_codes(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Integer group number of each row for the combination of ``columns`` (no tuples built)."""
    key = np.zeros(len(frame), dtype=np.int64)
    for col in columns:
        values = frame[col]
        if isinstance(values.dtype, pd.CategoricalDtype):
            codes, size = values.cat.codes.to_numpy().astype(np.int64), len(values.cat.categories)
        else:
            codes, uniques = pd.factorize(values.to_numpy())
            size = len(uniques)
        key = key * (size + 1) + codes
    return pd.factorize(key)[0]


def _med(values: np.ndarray) -> float:
    """Median of a short array (faster than numpy's for a handful of values)."""
    ordered = sorted(values.tolist())
    n = len(ordered)
    if n == 0:
        return math.nan
    mid = n // 2
    return float(ordered[mid]) if n % 2 else 0.5 * (ordered[mid - 1] + ordered[mid])


def _lr(a: np.ndarray, b: np.ndarray, c: float) -> np.ndarray:
    return np.log((a + c) / (b + c))


def _severity(check: str, score: float) -> str:
    medium, high = SEVERITY_RULES[check]
    return "high" if score >= high else "medium" if score >= medium else "low"


def _finding(
    participant: str,
    period: str,
    check: str,
    partner: str,
    observed: float,
    expected: float,
    score: float,
    detail: str,
    flow: str,
    severity: str | None = None,
) -> dict[str, Any]:
    score = float(min(score, 999.0)) if math.isfinite(score) else 999.0
    return {
        "participant": participant,
        "period": period,
        "check": check,
        "partner": partner,
        "observed": float(observed),
        "expected": float(expected),
        "score": round(score, 3),
        "severity": severity or _severity(check, score),
        "detail": detail,
        "flow": flow,
    }


def _fmt(x: float, unit: str) -> str:
    if not np.isfinite(x):
        return "n/a"
    if unit == "US$/ct":
        return f"{x:,.1f} US$/ct"
    if unit == "US$":
        return f"US$ {x:,.0f}"
    return f"{x:,.0f} {unit}"


def _shift_adjusted(m: pd.DataFrame, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the importer's figure of a pair period after allowing for shipments recorded in another quarter.

    With ``d = A - B`` (exporter's minus importer's figure): a shortfall (``d > 0``) may be shipments
    the importer recorded in the next one to three periods (shipments shifted in a chain), so up to
    the importer's cumulative surplus there (the largest of ``-d[t+1]``, ``-(d[t+1] + d[t+2])``, ...)
    is added back; a surplus (``d < 0``) may be shipments certified in the previous one to three
    periods, so up to the importer's cumulative shortfall there is taken off. Never more than the
    difference itself.

    Returns
    -------
    a, b_adjusted, moved : ndarray
        Exporter's figure, importer's adjusted figure, and the amount credited (signed).
    """
    a = m[f"A_{name}"].to_numpy(dtype="float64")
    b = m[f"B_{name}"].to_numpy(dtype="float64")
    d = a - b
    diff = {k: m[f"D_{name}_{tag}"].to_numpy() for k, tag in _NEIGHBOUR.items()}
    # cumulative over the next (previous) one to three periods, so a chain of shifted shipments counts
    later = np.maximum.reduce(
        [np.zeros_like(d), -diff[1], -(diff[1] + diff[2]), -(diff[1] + diff[2] + diff[3])]
    )
    earlier = np.maximum.reduce(
        [np.zeros_like(d), diff[-1], diff[-1] + diff[-2], diff[-1] + diff[-2] + diff[-3]]
    )
    moved = np.where(d > 0, np.minimum(d, later), -np.minimum(-d, earlier))
    return a, b + moved, moved


def _mirror_scores(data: StatsData, s: Settings) -> dict[str, Any]:
    """Return robust z of the shift-adjusted mirror log ratios (for mirror, unit_value, certificates)."""
    key = f"mirror_scores:{s!r}"
    if key not in data.cache:
        data.cache[key] = _compute_mirror_scores(data, s)
    return data.cache[key]  # type: ignore[no-any-return]


def _sample(mask: np.ndarray, limit: int = 50_000) -> np.ndarray:
    """Positions of ``mask``, thinned to at most ``limit`` evenly spaced ones (for robust scales)."""
    pos = np.flatnonzero(mask)
    return pos if len(pos) <= limit else pos[:: int(math.ceil(len(pos) / limit))]


def _compute_mirror_scores(data: StatsData, s: Settings) -> dict[str, Any]:
    m = data.mirror
    assert m is not None
    both = m["A_carats"].notna().to_numpy() & m["B_carats"].notna().to_numpy()
    m = m[both].reset_index(drop=True)
    c_ct, c_usd = s.mirror_min_ct / 5, s.mirror_min_usd / 5
    act, bct, moved_ct = _shift_adjusted(m, "carats")
    ausd, busd, moved_usd = _shift_adjusted(m, "value_usd")
    a_ct, b_ct = m["A_carats"].to_numpy(), m["B_carats"].to_numpy()
    a_usd, b_usd = m["A_value_usd"].to_numpy(), m["B_value_usd"].to_numpy()
    pos = (a_ct > 0) & (b_ct > 0) & (a_usd > 0) & (b_usd > 0)
    sample = _sample(pos)
    lr_ct, lr_usd = _lr(act, bct, c_ct), _lr(ausd, busd, c_usd)
    with np.errstate(divide="ignore", invalid="ignore"):
        lr_uv = np.log(a_usd / a_ct) - np.log(b_usd / b_ct)
    med_ct, sc_ct = _robust(lr_ct[sample], s.mirror_noise_floor)
    med_usd, sc_usd = _robust(lr_usd[sample], s.mirror_noise_floor)
    med_uv, sc_uv = _robust(lr_uv[sample], s.mirror_noise_floor)
    z_uv = np.where(np.isfinite(lr_uv), np.abs(lr_uv - med_uv) / sc_uv, 0.0)
    return {
        "m": m,
        "act": act,
        "bct": bct,
        "ausd": ausd,
        "busd": busd,
        "moved_ct": moved_ct,
        "moved_usd": moved_usd,
        "z_ct": np.abs(lr_ct - med_ct) / sc_ct,
        "z_usd": np.abs(lr_usd - med_usd) / sc_usd,
        "z_uv": z_uv,
        "uv": (med_uv, sc_uv),
    }


def check_mirror(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag pair periods where exporter's and importer's reports of the same trade disagree."""
    if data.mirror is None or not len(data.mirror):
        return []
    r = _mirror_scores(data, s)
    m = r["m"]
    act, bct, ausd, busd = r["act"], r["bct"], r["ausd"], r["busd"]
    big_ct = np.maximum(act, bct)
    big_usd = np.maximum(ausd, busd)
    diff_ct = np.abs(act - bct)
    diff_usd = np.abs(ausd - busd)
    flag_ct = (
        (r["z_ct"] >= s.mirror_z) & (diff_ct >= s.mirror_min_ct) & (diff_ct >= s.mirror_min_rel * big_ct)
    )
    flag_usd = (
        (r["z_usd"] >= s.mirror_z) & (diff_usd >= s.mirror_min_usd) & (diff_usd >= s.mirror_min_rel * big_usd)
    )
    m_act, m_bct = m["A_carats"].to_numpy(), m["B_carats"].to_numpy()
    m_diff_usd = np.abs(m["A_value_usd"].to_numpy() - m["B_value_usd"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        uv_a, uv_b = m["A_value_usd"].to_numpy() / m_act, m["B_value_usd"].to_numpy() / m_bct
        uv_ratio = np.maximum(uv_a / uv_b, uv_b / uv_a)
    flag_uv = (
        (r["z_uv"] >= s.mirror_z)
        & (uv_ratio >= 1 + s.mirror_min_rel)
        & (m_act >= s.mirror_min_ct)
        & (m_bct >= s.mirror_min_ct)
        & (m_diff_usd >= s.mirror_min_usd)
    )
    flagged = flag_ct | flag_usd | flag_uv
    out = []
    labels = index_label(m["idx"].to_numpy(), m["grain"].to_numpy())
    for i in np.flatnonzero(flagged):
        scores = {
            "carats": r["z_ct"][i] if flag_ct[i] else 0.0,
            "US$": r["z_usd"][i] if flag_usd[i] else 0.0,
            "US$/ct": r["z_uv"][i] if flag_uv[i] else 0.0,
        }
        worst = max(scores, key=lambda k: scores[k])
        sa_ct, sb_ct = float(m["A_carats"].iat[i]), float(m["B_carats"].iat[i])
        sa_usd, sb_usd = float(m["A_value_usd"].iat[i]), float(m["B_value_usd"].iat[i])
        sa_uv = sa_usd / sa_ct if sa_ct > 0 else math.nan
        sb_uv = sb_usd / sb_ct if sb_ct > 0 else math.nan
        obs, exp = {"carats": (sa_ct, sb_ct), "US$": (sa_usd, sb_usd), "US$/ct": (sa_uv, sb_uv)}[worst]
        a, b = m["exporter"].iat[i], m["importer"].iat[i]
        one_side_empty = (act[i] == 0) != (bct[i] == 0)
        unit = "ct" if worst == "carats" else worst
        window = ""
        if r["moved_ct"][i] != 0:
            window = (
                f"; after allowing for {_fmt(abs(r['moved_ct'][i]), 'ct')} recorded by the importer in "
                f"{'a later' if r['moved_ct'][i] > 0 else 'this instead of an earlier'} quarter "
                f"(shipments crossing a quarter boundary), still {_fmt(act[i], 'ct')} against "
                f"{_fmt(bct[i], 'ct')}"
            )
        detail = (
            f"{a} reports exports to {b} of {_fmt(sa_ct, 'ct')}, {_fmt(sa_usd, 'US$')} "
            f"({_fmt(sa_uv, 'US$/ct')}); {b} reports imports from {a} of {_fmt(sb_ct, 'ct')}, "
            f"{_fmt(sb_usd, 'US$')} ({_fmt(sb_uv, 'US$/ct')}){window}; worst measure {worst} "
            f"(observed = exporter's figure in {unit}, expected = importer's)"
        )
        out.append(
            _finding(
                a,
                labels[i],
                "mirror",
                b,
                obs,
                exp,
                max(scores.values()),
                detail,
                "export",
                "high" if one_side_empty else None,
            )
        )
    return out


def _totals(prod: pd.DataFrame, trade: pd.DataFrame) -> pd.DataFrame:
    """Per participant, flow (export, import, production) and period: own totals at the series' grain."""
    columns = ["participant", "flow", "grain", "idx", "carats", "value_usd", "n_value"]
    # participants numbered in alphabetical order, so the output is sorted by name
    names_sorted = np.array(sorted(_labels(trade["participant"], prod["participant"])), dtype=object)
    index = pd.Index(names_sorted)
    parts = []
    for frame, flows in ((trade, None), (prod, "production")):
        if not len(frame):
            continue
        f = (
            np.where((frame["flow"] == "export").to_numpy(), 0, 1)
            if flows is None
            else np.full(len(frame), 2)
        )
        parts.append(
            (
                _positions(frame["participant"], index),
                f.astype(np.int64),
                frame["year"].to_numpy(),
                frame["grain"].to_numpy(),
                frame["part"].to_numpy(),
                frame["carats"].to_numpy(),
                frame["value_usd"].to_numpy(dtype="float64"),
            )
        )
    if not parts:
        return pd.DataFrame(columns=columns)
    who, flow, year, grain, part, ct, usd = (np.concatenate(x) for x in zip(*parts, strict=True))
    series = who.astype(np.int64) * 3 + flow
    sgrain = _group_max(series, grain)
    idx = period_index(year, grain, part, sgrain)
    key = (series * 3 + sgrain) * 1_000_000 + idx
    inv, uniq = pd.factorize(key)  # hash the rows, then sort only the distinct keys
    order = np.argsort(uniq)
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    uniq, inv = np.asarray(uniq)[order], rank[inv]
    has_value = ~np.isnan(usd)
    n_rows = np.bincount(inv, minlength=len(uniq))
    n_value = np.bincount(inv, has_value.astype(np.int64), minlength=len(uniq))
    value = np.bincount(inv, np.where(has_value, usd, 0.0), minlength=len(uniq))
    u_series = uniq // 1_000_000 // 3
    flow_names = np.array(["export", "import", "production"], dtype=object)
    return pd.DataFrame(
        {
            "participant": names_sorted[u_series // 3],
            "flow": flow_names[u_series % 3],
            "grain": (uniq // 1_000_000) % 3,
            "idx": uniq % 1_000_000,
            "carats": np.bincount(inv, ct, minlength=len(uniq)),
            "value_usd": np.where(n_value < n_rows, np.nan, value),  # a missing value makes the total unknown
            "n_value": n_value,
        }
    )


def _neighbour_median(y: np.ndarray, series: np.ndarray, k: int) -> np.ndarray:
    """Median of up to k valid values on each side within the same series (self excluded)."""
    n = len(y)
    cols = []
    for off in [*range(-k, 0), *range(1, k + 1)]:
        shifted = np.full(n, np.nan)
        src = np.arange(n) + off
        ok = (src >= 0) & (src < n)
        ok[ok] &= series[src[ok]] == series[ok]
        shifted[ok] = y[src[ok]]
        cols.append(shifted)
    block = np.stack(cols, axis=1)
    enough = np.isfinite(block).sum(axis=1) >= 3
    out = np.full(n, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        out[enough] = np.nanmedian(block[enough], axis=1)
    return out


def check_unit_value(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag flows whose US$/ct is far from their own history and from their partners' reports."""
    t = data.totals
    if t is None or not len(t):
        return []
    valid = (t["carats"].to_numpy() >= s.uv_min_ct) & (t["value_usd"].to_numpy() > 0)
    t = t[valid].reset_index(drop=True)
    if not len(t):
        return []
    y = np.log(t["value_usd"].to_numpy() / t["carats"].to_numpy())
    series = _group_codes(t, ["participant", "flow"])
    # each valid value's neighbours are the valid values of the same series, in time order
    med = _neighbour_median(y, series, s.uv_neighbours)
    resid = y - med
    scale = pd.Series(np.abs(resid)).groupby(series).transform("median").to_numpy() * 1.4826
    scale = np.where(np.isfinite(scale), np.maximum(scale, s.uv_noise_floor), s.uv_noise_floor)
    z = resid / scale
    cand = np.isfinite(z) & (np.abs(z) >= s.uv_z) & (np.abs(resid) >= math.log(s.uv_min_ratio))
    if not cand.any():
        return []
    partner = _partner_uv(data, s, set(t["participant"].to_numpy(dtype=object)[cand]))
    out = []
    labels = index_label(t["idx"].to_numpy(), t["grain"].to_numpy())
    for i in np.flatnonzero(cand):
        who, flow = t["participant"].iat[i], t["flow"].iat[i]
        key = (who, flow, int(t["grain"].iat[i]), int(t["idx"].iat[i]))
        own_uv = math.exp(y[i])
        history_uv = math.exp(med[i])
        note = ""
        if flow != "production" and key in partner.index:
            z_p, p_uv = (float(v) for v in partner.loc[key, ["z", "partner_uv"]])
            if z_p < s.uv_partner_z:
                continue  # partners report the same unit value: a real change, not a reporting anomaly
            note = f"; its partners report {_fmt(p_uv, 'US$/ct')} for the same trade (robust z {z_p:.1f})"
        elif flow != "production":
            note = "; no partner reports the same trade"
        detail = (
            f"{flow} of {who}: {_fmt(own_uv, 'US$/ct')} ({_fmt(t['carats'].iat[i], 'ct')}, "
            f"{_fmt(t['value_usd'].iat[i], 'US$')}) against {_fmt(history_uv, 'US$/ct')} in its "
            f"neighbouring periods (x{own_uv / history_uv:.2f}, robust z {z[i]:+.1f}){note}"
        )
        out.append(_finding(who, labels[i], "unit_value", "", own_uv, history_uv, abs(z[i]), detail, flow))
    return out


def _partner_uv(data: StatsData, s: Settings, participants: set[str] | None = None) -> pd.DataFrame:
    """Own against partners' US$/ct of the same trade, per participant flow period (robust z).

    Returns a frame indexed by (participant, flow, grain, idx) with columns ``z`` and ``partner_uv``,
    for ``participants`` only when given.
    """
    m = data.mirror
    if m is None or not len(m):
        return pd.DataFrame(columns=["z", "partner_uv"])
    both = (m["A_carats"] > 0) & (m["B_carats"] > 0) & (m["A_value_usd"] > 0) & (m["B_value_usd"] > 0)
    m = m[both.to_numpy()]
    med_uv, sc_uv = _mirror_scores(data, s)["uv"]
    parts = []
    for who, flow, own, other in (("exporter", "export", "A", "B"), ("importer", "import", "B", "A")):
        rows = m if participants is None else m[m[who].isin(sorted(participants)).to_numpy()]
        g = rows.groupby([who, "grain", "idx"], sort=False, observed=True)[
            [f"{own}_carats", f"{own}_value_usd", f"{other}_carats", f"{other}_value_usd"]
        ].sum()
        own_uv = (g[f"{own}_value_usd"] / g[f"{own}_carats"]).to_numpy()
        other_uv = (g[f"{other}_value_usd"] / g[f"{other}_carats"]).to_numpy()
        sign = 1.0 if own == "A" else -1.0  # med_uv is log(A/B)
        z = np.abs(np.log(own_uv / other_uv) - sign * med_uv) / sc_uv
        index = pd.MultiIndex.from_arrays(
            [
                g.index.get_level_values(0),
                np.full(len(g), flow, dtype=object),
                g.index.get_level_values(1),
                g.index.get_level_values(2),
            ],
            names=["participant", "flow", "grain", "idx"],
        )
        parts.append(pd.DataFrame({"z": z, "partner_uv": other_uv}, index=index))
    return pd.concat(parts)


def check_balance(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag participant years whose exports exceed production plus imports beyond the stock tolerance."""
    t = data.totals
    if t is None or not len(t):
        return []
    if not len(data.production):
        # without production figures nobody's supply is known (a participant absent from a
        # production table is a non-producer; with no table at all it is unknown)
        logger.info("check balance: no production figures given, not judged")
        return []
    grain = t["grain"].to_numpy()
    frame = pd.DataFrame(
        {
            "participant": t["participant"].to_numpy(),
            "flow": t["flow"].to_numpy(),
            "year": t["idx"].to_numpy() // np.array([4, 2, 1])[grain],
            "ct": t["carats"].to_numpy(),
            "q": np.array([1, 2, 4])[grain],
        }
    )
    y = frame.groupby(["participant", "year", "flow"], sort=True)[["ct", "q"]].sum().unstack("flow")

    def col(name: str, flow: str) -> np.ndarray:
        return y[(name, flow)].to_numpy(dtype="float64") if (name, flow) in y else np.full(len(y), np.nan)

    exports, imports, prod = col("ct", "export"), col("ct", "import"), col("ct", "production")
    q_exp, q_imp, q_prod = col("q", "export"), col("q", "import"), col("q", "production")
    who = y.index.get_level_values("participant").to_numpy(dtype=object)
    year = y.index.get_level_values("year").to_numpy()
    producers = (
        np.isin(who, data.production["participant"].unique())
        if len(data.production)
        else np.zeros(len(y), dtype=bool)
    )
    importers = np.isin(who, data.trade.loc[data.trade["flow"] == "import", "participant"].unique())
    # judged: a full year of exports; for a producer a full year of production; for an importer a full
    # year of imports (a gap is reported by ``missing``, not guessed here)
    judged = (
        (np.nan_to_num(exports) > 0)
        & (q_exp == 4)
        & (~producers | (q_prod == 4))
        & (~importers | (q_imp == 4))
    )
    supply = np.where(producers, np.nan_to_num(prod), 0.0) + np.nan_to_num(imports)
    excess = np.nan_to_num(exports) - supply
    tolerance = np.maximum(s.stock_tolerance * supply, s.balance_min_ct)
    out = []
    for i in np.flatnonzero(judged & (excess > tolerance)):
        p_ct = float(prod[i]) if producers[i] else 0.0
        i_ct = float(np.nan_to_num(imports[i]))
        score = exports[i] / max(supply[i], s.balance_min_ct) - 1.0
        detail = (
            f"{who[i]} {year[i]}: exports {_fmt(exports[i], 'ct')} against production {_fmt(p_ct, 'ct')} "
            f"plus imports {_fmt(i_ct, 'ct')} = {_fmt(supply[i], 'ct')}; excess {_fmt(excess[i], 'ct')} is "
            f"over the stock tolerance {_fmt(tolerance[i], 'ct')} (max of {s.stock_tolerance:.0%} of supply "
            f"and {s.balance_min_ct:,.0f} ct)"
        )
        out.append(
            _finding(str(who[i]), str(year[i]), "balance", "", exports[i], supply[i], score, detail, "export")
        )
    return out


def _change_points(y: np.ndarray, s: Settings) -> list[tuple[int, float, float]]:
    """Return the flagged change points of one series: (position, change in log units, in noise units)."""
    import ruptures

    n = len(y)
    diffs = np.diff(y)
    sigma = max(1.4826 * _med(np.abs(diffs - _med(diffs))) / math.sqrt(2), s.jump_noise_floor)
    z = (y - _med(y)) / sigma
    bkps = ruptures.KernelCPD(kernel="linear", min_size=1).fit(z).predict(pen=s.jump_penalty * math.log(n))
    edges = [0, *[int(b) for b in bkps]]
    segments = list(zip(edges[:-1], edges[1:], strict=True))
    out = []
    prev_flagged: tuple[int, float] | None = None
    for k in range(1, len(segments)):
        (a0, a1), (b0, b1) = segments[k - 1], segments[k]
        before = float(_med(y[max(a0, a1 - 4) : a1]))
        after = float(_med(y[b0 : min(b1, b0 + 4)]))
        delta = after - before
        if abs(delta) / sigma < s.jump_z or abs(delta) < math.log(s.jump_min_ratio) or b0 < 3:
            continue  # too small, or too little history before it
        if prev_flagged is not None and k >= 2 and a1 - a0 <= 2 and prev_flagged[0] == a0:
            p0, p1 = segments[k - 2]
            level = float(_med(y[max(p0, p1 - 4) : p1]))
            if abs(after - level) < 0.5 * abs(delta):
                continue  # the end of a short spike already flagged: back to the earlier level
        out.append((b0, delta, delta / sigma))
        prev_flagged = (b0, delta)
    return out


def check_jump(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag changes from the previous periods beyond a series' normal variation (ruptures PELT)."""
    t = data.totals
    if t is None or not len(t):
        return []
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    labels_all = index_label(t["idx"].to_numpy(), t["grain"].to_numpy())
    series = _group_codes(t, ["participant", "flow"])
    starts = np.flatnonzero(np.r_[True, series[1:] != series[:-1]])
    ends = np.r_[starts[1:], len(t)]
    who_all = t["participant"].to_numpy(dtype=object)
    flow_all = t["flow"].to_numpy(dtype=object)
    min_log = math.log(s.jump_min_ratio)
    for measure, unit in (("carats", "ct"), ("value_usd", "US$")):
        values = t[measure].to_numpy(dtype="float64")
        for a, b in zip(starts.tolist(), ends.tolist(), strict=True):
            if b - a < s.jump_min_points:
                continue
            x = values[a:b]
            if not np.isfinite(x).all() or x.max() <= 0:
                continue
            c = max(1.0, 0.01 * float(_med(x)))
            y = np.log(x + c)
            if y.max() - y.min() < min_log:
                continue  # no change of that size anywhere in the series
            who, flow = who_all[a], flow_all[a]
            labels = labels_all[a:b]
            for pos, _delta, zz in _change_points(y, s):
                before = x[max(0, pos - 4) : pos]
                base = _med(before)
                ratio = f"x{x[pos] / base:.2f}" if base > 0 else "from zero"
                text = (
                    f"{measure.replace('_', ' ')}: {_fmt(x[pos], unit)} against a median of "
                    f"{_fmt(float(_med(before)), unit)} over the previous {len(before)} periods "
                    f"({ratio}, {zz:+.1f} noise units)"
                )
                key = (who, flow, labels[pos])
                if key in found:
                    prev = found[key]
                    prev["detail"] += "; " + text
                    if abs(zz) > prev["score"]:
                        prev.update(
                            _finding(
                                who,
                                labels[pos],
                                "jump",
                                "",
                                x[pos],
                                float(_med(before)),
                                abs(zz),
                                prev["detail"],
                                flow,
                            )
                        )
                    continue
                found[key] = _finding(
                    who,
                    labels[pos],
                    "jump",
                    "",
                    x[pos],
                    float(_med(before)),
                    abs(zz),
                    f"{flow} of {who}, change point (ruptures PELT): {text}",
                    flow,
                )
    return list(found.values())


def check_missing(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag a participant or flow with no figures for a period its partners report."""
    trade = data.trade
    m = data.mirror
    if not len(trade) or m is None or not len(m):
        return []
    # the pair table already knows, per pair period (at the coarser grain of the two sides),
    # whether each side has figures for its flow in that period (NaN: none at all)
    parts = []
    for target, reporter, own, other, flow in (
        ("exporter", "importer", "A", "B", "export"),
        ("importer", "exporter", "B", "A", "import"),
    ):
        rows = (m[f"{own}_carats"].isna() & (m[f"{other}_carats"] > 0)).to_numpy()
        if rows.any():
            parts.append(
                pd.DataFrame(
                    {
                        "target": np.asarray(m[target].to_numpy()[rows], dtype=object),
                        "flow": flow,
                        "grain": m["grain"].to_numpy()[rows],
                        "idx": m["idx"].to_numpy()[rows],
                        "reporter": np.asarray(m[reporter].to_numpy()[rows], dtype=object),
                        "carats": m[f"{other}_carats"].to_numpy()[rows],
                        "value_usd": m[f"{other}_value_usd"].to_numpy()[rows],
                    }
                )
            )
    if not parts:
        return []
    g = pd.concat(parts, ignore_index=True)
    who_all, gr_all, ix_all = g["target"].to_numpy(dtype=object), g["grain"].to_numpy(), g["idx"].to_numpy()
    cov = data.coverage
    g["silent"] = ~(
        cov.covered(who_all, "export", gr_all, ix_all) | cov.covered(who_all, "import", gr_all, ix_all)
    )
    typical = _typical(data)
    participants = set(trade["participant"].unique())
    out = []
    for (who, flow, gr, ix), grp in g.groupby(["target", "flow", "grain", "idx"], sort=True):
        total = float(grp["carats"].sum())
        if total < s.missing_min_ct:
            continue
        by = grp.groupby("reporter")["carats"].sum().sort_values(ascending=False)
        per_q = typical.get((who, flow), 0.0)
        normal = per_q * (1, 2, 4)[int(gr)]
        share = total / (total + normal)
        silent = bool(grp["silent"].all())
        period = str(index_label(np.array([ix]), int(gr))[0])
        if who not in participants:
            what = f"{who} has no figures at all in the trade file"
        elif silent:
            what = f"{who} reports no trade at all for {period}"
        else:
            what = f"{who} reports no {flow}s for {period}"
        reporters = ", ".join(f"{r} {_fmt(v, 'ct')}" for r, v in by.items())
        verb = "exports to" if flow == "import" else "imports from"
        detail = (
            f"{what}, while partners report {verb} {who} of {_fmt(total, 'ct')}, "
            f"{_fmt(float(grp['value_usd'].sum()), 'US$')} ({reporters}); its typical {flow}s per period: "
            f"{_fmt(normal, 'ct')}"
        )
        severity = None
        if silent and _severity("missing", share) == "low":
            severity = "medium"
        out.append(
            _finding(who, period, "missing", str(by.index[0]), 0.0, total, share, detail, flow, severity)
        )
    return out


def _typical(data: StatsData) -> dict[tuple[str, str], float]:
    """Median carats per quarter of each participant's export and import flows."""
    t = data.totals
    if t is None or not len(t):
        return {}
    t = t[t["flow"] != "production"]
    per_q = t["carats"].to_numpy() / np.array([1, 2, 4])[t["grain"].to_numpy()]
    med = pd.Series(per_q).groupby([t["participant"].to_numpy(), t["flow"].to_numpy()]).median()
    return {(str(a), str(b)): float(v) for (a, b), v in med.items()}


def check_certificates(data: StatsData, s: Settings) -> list[dict[str, Any]]:
    """Flag implausible carats or US$ per certificate, and partners' certificate counts that disagree."""
    trade = data.trade
    if not len(trade):
        return []
    found: dict[tuple[str, str, str], dict[str, Any]] = {}
    labels = trade["period"].to_numpy(dtype=object)
    ct = trade["carats"].to_numpy()
    usd = trade["value_usd"].to_numpy()
    certs = trade["certificates"].to_numpy()
    group = _group_codes(trade, ["participant", "flow", "partner"])
    sizes = np.bincount(group)[group]
    is_export = (trade["flow"] == "export").to_numpy()
    zero = (ct > 0) & (certs == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        per = {
            "ct": np.where((ct > 0) & (certs > 0), np.log(ct / certs), np.nan),
            "US$": np.where((usd > 0) & (certs > 0), np.log(usd / certs), np.nan),
        }
    flags = {}
    ex = np.flatnonzero(is_export)  # only the exporter's side is judged: medians over its rows
    for unit, v in per.items():
        med = np.full(len(v), np.nan)
        mad = np.full(len(v), np.nan)
        med[ex] = pd.Series(v[ex]).groupby(group[ex]).transform("median").to_numpy()
        mad[ex] = (
            pd.Series(np.abs(v[ex] - med[ex])).groupby(group[ex]).transform("median").to_numpy() * 1.4826
        )
        scale = np.maximum(np.nan_to_num(mad, nan=s.cert_noise_floor), s.cert_noise_floor)
        dist = np.abs(v - med)
        # judged on the exporter's side (the exporting authority issues the certificates), on material rows
        flags[unit] = (
            np.isfinite(dist)
            & (sizes >= 4)
            & (dist / scale >= s.cert_z)
            & is_export
            & (ct >= s.uv_min_ct)
            & (dist >= math.log(s.cert_min_ratio)),
            dist,
            med,
        )
    hits = np.flatnonzero(zero | flags["ct"][0] | flags["US$"][0])
    part = dict(zip(hits.tolist(), trade["participant"].to_numpy(dtype=object)[hits], strict=True))
    partner = dict(zip(hits.tolist(), trade["partner"].to_numpy(dtype=object)[hits], strict=True))
    flow = dict(zip(hits.tolist(), trade["flow"].to_numpy(dtype=object)[hits], strict=True))
    for i in hits.tolist():
        if zero[i]:
            detail = (
                f"{part[i]} reports {flow[i]}s {'to' if flow[i] == 'export' else 'from'} {partner[i]} of "
                f"{_fmt(ct[i], 'ct')} on zero certificates"
            )
            found[(part[i], labels[i], partner[i])] = _finding(
                part[i],
                labels[i],
                "certificates",
                partner[i],
                0.0,
                float("nan"),
                10.0,
                detail,
                flow[i],
                "high",
            )
            continue
        unit = (
            "ct"
            if flags["ct"][0][i] and (not flags["US$"][0][i] or flags["ct"][1][i] >= flags["US$"][1][i])
            else "US$"
        )
        _, dist, med = flags[unit]
        observed = math.exp(per[unit][i])
        typical = math.exp(med[i])
        detail = (
            f"{part[i]} {flow[i]}s {'to' if flow[i] == 'export' else 'from'} {partner[i]}: "
            f"{int(certs[i])} certificates for {_fmt(ct[i], 'ct')}, {_fmt(usd[i], 'US$')}: "
            f"{observed:,.1f} {unit} per certificate against a median of {typical:,.1f} for this pair"
        )
        found[(part[i], labels[i], partner[i])] = _finding(
            part[i],
            labels[i],
            "certificates",
            partner[i],
            observed,
            typical,
            dist[i] / math.log(2),
            detail,
            flow[i],
        )
    m = data.mirror
    if m is not None and len(m):
        mm = _mirror_scores(data, s)["m"]
        ca, cb_adj, moved = _shift_adjusted(mm, "certificates")
        cb = mm["B_certificates"].to_numpy()
        diff = np.abs(ca - cb_adj)
        # counts disagree only after allowing for certificates counted by the importer in another quarter
        disagree = (diff >= s.cert_abs) & (diff >= s.cert_rel * np.maximum(ca, cb_adj))
        mlabels = index_label(mm["idx"].to_numpy(), mm["grain"].to_numpy())
        for i in np.flatnonzero(disagree).tolist():
            a, b = mm["exporter"].iat[i], mm["importer"].iat[i]
            score = abs(math.log2((ca[i] + 1) / (cb_adj[i] + 1)))
            text = (
                f"{a} counts {int(ca[i])} export certificates to {b}, {b} counts {int(cb[i])} import "
                f"certificates from {a}"
            )
            if moved[i]:
                text += (
                    f"; still {int(ca[i])} against {int(cb_adj[i])} after allowing for {int(abs(moved[i]))} "
                    "counted in another quarter"
                )
            key = (a, mlabels[i], b)
            if key in found:
                found[key]["detail"] += "; " + text
                continue
            found[key] = _finding(a, mlabels[i], "certificates", b, ca[i], cb[i], score, text, "export")
    return list(found.values())


#: The checks in the order they run.
CHECKS: dict[str, Callable[[StatsData, Settings], list[dict[str, Any]]]] = {
    "mirror": check_mirror,
    "unit_value": check_unit_value,
    "balance": check_balance,
    "jump": check_jump,
    "missing": check_missing,
    "certificates": check_certificates,
}

_SEVERITY_ORDER = {"high": 0, "medium": 1, "low": 2}


def run_checks(
    production: pd.DataFrame | None,
    trade: pd.DataFrame | None,
    *,
    settings: Settings | None = None,
    checks: Iterable[str] | None = None,
) -> pd.DataFrame:
    """Run the screening checks and return one row per finding.

    Parameters
    ----------
    production, trade : DataFrame or None
        Validated tables (:func:`~footprint.stats.read_production`,
        :func:`~footprint.stats.read_trade`); a missing table skips the
        checks that need it.
    settings : Settings, optional
        Thresholds; default :class:`Settings()`.
    checks : iterable of str, optional
        Names from :data:`CHECKS` (default all).

    Returns
    -------
    DataFrame
        :data:`ANOMALY_COLUMNS` plus ``flow`` (the series a finding is
        about: export, import or production), sorted by severity (high
        first), check, participant, period. ``attrs``: ``synthetic``,
        ``settings``, ``counts`` (findings per check, every check listed).
    """
    settings = settings or Settings()
    names = list(CHECKS) if checks is None else list(checks)
    unknown = [n for n in names if n not in CHECKS]
    if unknown:
        from ..exceptions import InputError, Problem

        raise InputError(
            "unknown check",
            [Problem(None, None, "check", n, f"must be one of {', '.join(CHECKS)}") for n in unknown],
        )
    data = prepare(production, trade)
    rows: list[dict[str, Any]] = []
    counts = {}
    for name in names:
        found = CHECKS[name](data, settings)
        counts[name] = len(found)
        logger.info("check %s: %d finding(s)", name, len(found))
        rows.extend(found)
    frame = pd.DataFrame(rows, columns=[*ANOMALY_COLUMNS, "flow"])
    if len(frame):
        frame["_s"] = frame["severity"].map(_SEVERITY_ORDER)
        frame["_c"] = frame["check"].map({n: i for i, n in enumerate(CHECKS)})
        frame = (
            frame.sort_values(["_s", "_c", "participant", "period", "partner"], kind="stable")
            .drop(columns=["_s", "_c"])
            .reset_index(drop=True)
        )
    frame.attrs.update(synthetic=data.synthetic, settings=settings.as_dict(), counts=counts)
    return frame


def flow_series(
    production: pd.DataFrame | None,
    trade: pd.DataFrame | None,
    participant: str,
    flow: str,
    *,
    data: StatsData | None = None,
) -> pd.DataFrame:
    """Return a participant's own totals of one flow per period, with what its partners report for it.

    Parameters
    ----------
    production, trade : DataFrame or None
        Validated tables.
    participant : str
        Participant code.
    flow : {"export", "import", "production"}
        The series.
    data : StatsData, optional
        :func:`prepare` of the same tables, to reuse across many calls.

    Returns
    -------
    DataFrame
        ``period, idx, grain, carats, value_usd, usd_per_ct, partner_carats,
        partner_value_usd`` in time order (partner columns NaN for production).
    """
    data = data if data is not None else prepare(production, trade)
    t = data.totals
    assert t is not None
    own = t[(t["participant"] == participant) & (t["flow"] == flow)].copy()
    if not len(own):
        return pd.DataFrame(
            columns=[
                "period",
                "idx",
                "grain",
                "carats",
                "value_usd",
                "usd_per_ct",
                "partner_carats",
                "partner_value_usd",
            ]
        )
    grain = int(own["grain"].max())
    own["period"] = index_label(own["idx"].to_numpy(), own["grain"].to_numpy())
    with np.errstate(divide="ignore", invalid="ignore"):
        own["usd_per_ct"] = own["value_usd"] / own["carats"]
    own["partner_carats"] = np.nan
    own["partner_value_usd"] = np.nan
    if flow in ("export", "import") and len(data.trade):
        opposite = "import" if flow == "export" else "export"
        mirror = data.trade[(data.trade["partner"] == participant) & (data.trade["flow"] == opposite)]
        if len(mirror):
            pidx = period_index(
                mirror["year"].to_numpy(),
                mirror["grain"].to_numpy(),
                mirror["part"].to_numpy(),
                np.maximum(mirror["grain"].to_numpy(), grain),
            )
            pg = pd.DataFrame(
                {"idx": pidx, "c": mirror["carats"].to_numpy(), "v": mirror["value_usd"].to_numpy()}
            )
            sums = pg.groupby("idx")[["c", "v"]].sum()
            own["partner_carats"] = own["idx"].map(sums["c"]).to_numpy()
            own["partner_value_usd"] = own["idx"].map(sums["v"]).to_numpy()
    own = own.sort_values("idx")
    return own[
        ["period", "idx", "grain", "carats", "value_usd", "usd_per_ct", "partner_carats", "partner_value_usd"]
    ].reset_index(drop=True)


GRAIN_NAMES = dict(zip(GRAINS, ("quarter", "half-year", "year"), strict=True))
