"""SYNTHETIC KP production and trade statistics with anomalies injected at known places.

Participants are producers, trading centres and cutting centres. Producers'
yearly carats and US$/ct are anchored on published KPCS figures (2022, or the
latest year with a value; :data:`PRODUCER_ANCHORS`, copied with their source
from ``shared/kp-statistics/production_public.csv`` and ``shared/DOMAIN.md``);
figures marked ``estimate`` are not published and are guesses of the right
order of magnitude. The flows are built as shipments, each with one KP
certificate: producers ship most of their production to trading centres (and
some to cutting centres), trading centres re-export most of what they receive
to cutting centres and to each other with a sorting mark-up, cutting centres
send rejections back. Each shipment is reported by the exporter in its
quarter and by the importer in the same quarter or, for some shipments that
cross a quarter boundary, the next one; the importer's carats and valuation
differ slightly (rounding, valuation practice). Production is reported by
half-year, trade by quarter and partner.

Injected anomalies (``truth.csv``), one kind per check: a partner's import
record scaled (mirror), an exporter's values scaled for one quarter
(unit_value), a year of exports far beyond supply (balance), a production
level shift (jump), a quarter with no figures or no imports (missing), and
certificate counts inflated or zeroed (certificates). Each injection lists
its primary finding and the secondary findings it legitimately causes (e.g.
a unit-value injection also makes the partners' mirror figures disagree).

Everything written is labelled SYNTHETIC.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError, Problem
from ._kp_flows import _production_table, _shipments, _yearly_flows
from ._kp_injections import _inject, _qlabel
from ._kp_world import PRODUCER_ANCHORS, _participants

__all__ = ["PRODUCER_ANCHORS", "generate_kp_stats", "write_kp_stats"]


log = logging.getLogger(__name__)


def generate_kp_stats(
    *,
    seed: int = 0,
    n_participants: int = 40,
    n_years: int = 10,
    start_year: int = 2014,
    inject: bool = True,
    per_check: int = 10,
    spread: float = 1.0,
) -> dict[str, pd.DataFrame]:
    """Generate a SYNTHETIC KP statistics set.

    Parameters
    ----------
    seed : int
        Random seed (the same seed gives the same tables).
    n_participants : int
        About 40 gives the bundled set's producers, trading and cutting
        centres; more adds participants with random roles and magnitudes.
    n_years : int
        Years of figures, from ``start_year``.
    start_year : int
        First year.
    inject : bool
        Inject anomalies (``per_check`` of each kind); ``False`` gives a
        clean set for false-positive rates.
    per_check : int
        Injections per check.
    spread : float
        Multiplies the number of trade partners of every participant (1: the
        bundled mix, about 2-3 partners per participant and flow).

    Returns
    -------
    dict
        ``production`` (participant, period, carats, value_usd),
        ``trade`` (participant, period, flow, partner, carats, value_usd,
        certificates) and ``truth`` (injection_id, kind, role, check,
        participant, period, partner, factor, description).
    """
    rng = np.random.default_rng(seed)
    codes, role, anchors = _participants(n_participants, rng)
    years = np.arange(start_year, start_year + n_years)
    production, uv, flows, flow_uv = _yearly_flows(rng, codes, role, anchors, years, spread)
    trade = _shipments(rng, flows, flow_uv, years)
    prod = _production_table(rng, production, uv, years)
    q0, nq = int(years[0]) * 4, 4 * len(years)

    truth: list[dict[str, Any]] = []
    if inject:
        trade = _inject(rng, prod, trade, truth, per_check=per_check, role=role, q0=q0, nq=nq, years=years)

    trade["period"] = [_qlabel(q0, q) for q in trade["q"].tolist()]
    trade = trade.sort_values(["participant", "flow", "partner", "q"], kind="stable")
    trade_out = trade[
        ["participant", "period", "flow", "partner", "carats", "value_usd", "certificates"]
    ].copy()
    trade_out["carats"] = trade_out["carats"].round(2)
    trade_out["value_usd"] = trade_out["value_usd"].round(0)
    trade_out["certificates"] = trade_out["certificates"].astype(int)
    prod["period"] = prod["year"].astype(str) + "-H" + prod["h"].astype(str)
    prod_out = prod[["participant", "period", "carats", "value_usd"]].copy()
    prod_out["carats"] = prod_out["carats"].round(2)
    prod_out["value_usd"] = prod_out["value_usd"].round(0)
    truth_frame = pd.DataFrame(
        truth,
        columns=[
            "injection_id",
            "kind",
            "role",
            "check",
            "participant",
            "period",
            "partner",
            "factor",
            "description",
        ],
    )
    roles = pd.DataFrame({"participant": codes, "role": [role[c] for c in codes]})
    return {
        "production": prod_out.reset_index(drop=True),
        "trade": trade_out.reset_index(drop=True),
        "truth": truth_frame,
        "participants": roles,
    }


_MARK = "SYNTHETIC"


def write_kp_stats(
    out_dir: str | Path,
    *,
    seed: int = 0,
    n_participants: int = 40,
    n_years: int = 10,
    start_year: int = 2014,
    inject: bool = True,
    per_check: int = 10,
    spread: float = 1.0,
) -> dict[str, Any]:
    """Write a SYNTHETIC KP statistics set: PROD.csv, TRADE.csv, truth.csv, participants.csv, README.txt.

    Parameters
    ----------
    out_dir : path-like
        A new or empty folder, or one holding a previous synthetic set.
    seed, n_participants, n_years, start_year, inject, per_check, spread
        As for :func:`generate_kp_stats`.

    Returns
    -------
    dict
        Paths and counts.
    """
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        readme = out / "README.txt"
        if not (readme.is_file() and readme.read_text("utf-8", errors="replace").startswith(_MARK)):
            raise InputError(
                f"{out} is not empty and holds no SYNTHETIC statistics set",
                [Problem(str(out), None, None, None, "give an empty or new folder")],
            )
    out.mkdir(parents=True, exist_ok=True)
    sets = generate_kp_stats(
        seed=seed,
        n_participants=n_participants,
        n_years=n_years,
        start_year=start_year,
        inject=inject,
        per_check=per_check,
        spread=spread,
    )
    tag = f"seed {seed}, {n_participants} participants, {n_years} years from {start_year}"
    files = {
        "production": "PROD.csv",
        "trade": "TRADE.csv",
        "truth": "truth.csv",
        "participants": "participants.csv",
    }
    for key, name in files.items():
        with (out / name).open("w", encoding="utf-8", newline="") as fh:
            fh.write(
                f"# SYNTHETIC KP statistics ({key}) from footprint synth kp-stats ({tag}); not real figures\n"
            )
            sets[key].to_csv(fh, index=False, lineterminator="\n")
    n_inj = int(sets["truth"]["injection_id"].nunique()) if len(sets["truth"]) else 0
    (out / "README.txt").write_text(
        f"SYNTHETIC KP STATISTICS - NOT REAL FIGURES\n\nfootprint synth kp-stats ({tag}).\n"
        "PROD.csv    production by participant and half-year (carats, US$)\n"
        "TRADE.csv   trade by participant, quarter, flow and partner (carats, US$, certificates)\n"
        f"truth.csv   {n_inj} injected anomalies: the finding each should cause (role primary) and the\n"
        "            findings it may legitimately cause as well (role secondary)\n"
        "participants.csv  the role of each participant (producer, trading, cutting)\n"
        "Producer magnitudes are anchored on KPCS production figures (see footprint/synth/_kpstats.py).\n",
        encoding="utf-8",
    )
    log.info("wrote SYNTHETIC KP statistics to %s", out)
    return {
        "out_dir": str(out),
        "production_rows": len(sets["production"]),
        "trade_rows": len(sets["trade"]),
        "participants": len(sets["participants"]),
        "injections": n_inj,
    }
