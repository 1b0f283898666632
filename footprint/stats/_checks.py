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
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from ._balance import check_balance
from ._certificates import check_certificates
from ._core import ANOMALY_COLUMNS, SEVERITY_RULES, Settings, StatsData
from ._jump import check_jump
from ._mirror import check_mirror
from ._missing import check_missing
from ._periods import GRAINS, index_label, period_index
from ._prepare import prepare
from ._unit_value import check_unit_value

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
