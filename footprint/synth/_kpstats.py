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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..exceptions import InputError, Problem

__all__ = ["PRODUCER_ANCHORS", "generate_kp_stats", "write_kp_stats"]

log = logging.getLogger(__name__)

_SOURCE_KPCS = (
    "KPCS 2022 figures as republished by the Natural Diamond Council, 'Diamond Facts and "
    "Statistics That Matter' (shared/kp-statistics/production_public.csv)"
)
_SOURCE_KPCS_VC = (
    "KPCS 2022 producer list as republished by Visual Capitalist, carats only "
    "(shared/kp-statistics/production_public.csv); US$/ct estimate"
)

#: Producer anchors: code -> (carats per year, US$ per carat, source). Magnitudes differ by orders of
#: magnitude (RUS ~42 Mct, CMR ~2,400 ct; COD ~7 US$/ct, NAM ~600 US$/ct).
PRODUCER_ANCHORS: dict[str, tuple[float, float, str]] = {
    "RUS": (41_924_000, 3_554e6 / 41_924_000, _SOURCE_KPCS),
    "BWA": (24_510_000, 4_700e6 / 24_510_000, _SOURCE_KPCS),
    "CAN": (16_249_000, 1_878e6 / 16_249_000, _SOURCE_KPCS),
    "COD": (10_780_000, 77e6 / 10_780_000, _SOURCE_KPCS),
    "ZAF": (9_660_000, 1_539e6 / 9_660_000, _SOURCE_KPCS),
    "AGO": (8_763_000, 1_965e6 / 8_763_000, _SOURCE_KPCS),
    "ZWE": (4_461_000, 424e6 / 4_461_000, _SOURCE_KPCS),
    "NAM": (2_054_000, 1_234e6 / 2_054_000, _SOURCE_KPCS),
    "LSO": (1_276_000, 558e6 / 1_276_000, _SOURCE_KPCS),
    "SLE": (689_000, 143e6 / 689_000, _SOURCE_KPCS),
    "TZA": (376_000, 111e6 / 376_000, _SOURCE_KPCS),
    "BRA": (158_420, 100.0, _SOURCE_KPCS_VC),
    "GIN": (128_771, 150.0, _SOURCE_KPCS_VC),
    "CAF": (
        118_044,
        227.0,
        _SOURCE_KPCS_VC + "; 227 US$/ct is the 2019 KP figure quoted in shared/DOMAIN.md",
    ),
    "GUY": (83_382, 150.0, _SOURCE_KPCS_VC),
    "GHA": (82_500, 30.0, _SOURCE_KPCS_VC),
    "LBR": (52_165, 150.0, _SOURCE_KPCS_VC),
    "CIV": (3_904, 150.0, _SOURCE_KPCS_VC),
    "COG": (3_534, 100.0, _SOURCE_KPCS_VC),
    "CMR": (2_431, 180.0, _SOURCE_KPCS_VC + "; ~180 US$/ct from shared/DOMAIN.md section 4.4"),
}
#: Trading centres (EUR: the European Union, i.e. Antwerp, reports as one participant).
TRADING = ("EUR", "ARE", "ISR", "HKG", "CHE", "SGP")
#: Cutting and consuming centres.
CUTTING = ("IND", "CHN", "THA", "ARM", "VNM", "MUS", "LKA", "USA", "JPN", "KOR", "TUR", "MYS", "BLR", "KAZ")

CHECK_KINDS = ("mirror", "unit_value", "balance", "jump", "missing", "certificates")
_P_SHIFT = 0.08  # share of shipments an importer records in the next quarter


@dataclass
class _World:
    codes: list[str]
    role: dict[str, str]
    years: np.ndarray
    rng: np.random.Generator


def _participants(
    n: int, rng: np.random.Generator
) -> tuple[list[str], dict[str, str], dict[str, tuple[float, float]]]:
    base = list(PRODUCER_ANCHORS) + list(TRADING) + list(CUTTING)
    role = (
        {c: "producer" for c in PRODUCER_ANCHORS}
        | {c: "trading" for c in TRADING}
        | {c: "cutting" for c in CUTTING}
    )
    anchors = {c: (a[0], a[1]) for c, a in PRODUCER_ANCHORS.items()}
    if n <= len(base):
        # keep the roles balanced: drop from the end of each group
        n_p = max(3, round(n * len(PRODUCER_ANCHORS) / len(base)))
        n_t = max(2, round(n * len(TRADING) / len(base)))
        chosen = list(PRODUCER_ANCHORS)[:n_p] + list(TRADING)[:n_t] + list(CUTTING)[: max(1, n - n_p - n_t)]
        return chosen, {c: role[c] for c in chosen}, {c: anchors[c] for c in chosen if c in anchors}
    from importlib import resources

    text = resources.files("footprint").joinpath("data/iso3166_alpha3.csv").read_text(encoding="utf-8")
    listed = [line.split(",")[0] for line in text.splitlines()[1:] if line and not line.startswith("#")]
    extra = [c for c in listed if len(c) == 3 and c.isupper() and c not in role]
    rng.shuffle(extra)
    chosen = base + extra[: n - len(base)]
    for c in chosen[len(base) :]:
        kind = rng.choice(["producer", "trading", "cutting"], p=[0.3, 0.1, 0.6])
        role[c] = str(kind)
        if kind == "producer":
            anchors[c] = (float(10 ** rng.uniform(3.5, 7.0)), float(10 ** rng.uniform(0.9, 2.7)))
    return chosen, {c: role[c] for c in chosen}, anchors


def _walk(rng: np.random.Generator, n: int, sigma: float) -> np.ndarray:
    return np.exp(np.cumsum(rng.normal(0.0, sigma, n)) - rng.normal(0.0, sigma) * 0)


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
    ny = len(years)
    volume_index = _walk(rng, ny, 0.05)
    price_index = _walk(rng, ny, 0.05)
    producers = [c for c in codes if role[c] == "producer"]
    trading = [c for c in codes if role[c] == "trading"]
    cutting = [c for c in codes if role[c] == "cutting"]

    # -- yearly production, exports by pair, unit values -------------------------------------------
    production = {p: anchors[p][0] * volume_index * _walk(rng, ny, 0.06) for p in producers}
    uv = {p: anchors[p][1] * price_index * _walk(rng, ny, 0.04) for p in producers}
    flows: dict[tuple[str, str], np.ndarray] = {}
    flow_uv: dict[tuple[str, str], np.ndarray] = {}

    def destinations(options: list[str], k_lo: int, k_hi: int) -> dict[str, float]:
        k = min(len(options), int(rng.integers(round(k_lo * spread), round(k_hi * spread) + 1)))
        chosen = rng.choice(options, size=k, replace=False)
        w = rng.dirichlet(np.full(k, 2.0))
        return {str(c): float(x) for c, x in zip(chosen, w, strict=True)}

    receipts = {c: np.zeros(ny) for c in codes}
    receipts_value = {c: np.zeros(ny) for c in codes}
    for p in producers:
        share = rng.uniform(0.88, 0.97)
        dests = destinations(trading, 1, 3) | destinations(cutting, 0, 2)
        total = sum(dests.values())
        for d, w in dests.items():
            flows[(p, d)] = production[p] * share * w / total
            flow_uv[(p, d)] = uv[p]
            receipts[d] += flows[(p, d)]
            receipts_value[d] += flows[(p, d)] * uv[p]
    for t in trading:
        if receipts[t].sum() <= 0:
            continue
        share = rng.uniform(0.85, 0.95)
        avg_uv = receipts_value[t] / np.maximum(receipts[t], 1e-9)
        dests = destinations(cutting, 3, 6) | destinations([x for x in trading if x != t], 1, 2)
        total = sum(dests.values())
        base = receipts[t].copy()
        for d, w in dests.items():
            flows[(t, d)] = base * share * w / total
            flow_uv[(t, d)] = avg_uv * 1.05
            receipts[d] += flows[(t, d)]
            receipts_value[d] += flows[(t, d)] * avg_uv * 1.05
    for c in cutting:
        if receipts[c].sum() <= 0:
            continue
        avg_uv = receipts_value[c] / np.maximum(receipts[c], 1e-9)
        dests = destinations(trading, 1, 2)
        share = rng.uniform(0.05, 0.15)
        for d, w in dests.items():
            flows[(c, d)] = receipts[c] * share * w
            flow_uv[(c, d)] = avg_uv * 0.6

    # -- shipments: pair x quarter -> shipments, reported by both sides ----------------------------------
    pairs = list(flows)
    nq = 4 * ny
    q0 = int(years[0]) * 4
    pair_ct = np.zeros((len(pairs), nq))
    pair_uv = np.zeros((len(pairs), nq))
    for i, key in enumerate(pairs):
        yearly = flows[key]
        shares = rng.dirichlet(np.full(4, 25.0), size=ny)  # quarters of each year
        pair_ct[i] = (yearly[:, None] * shares).ravel()
        pair_uv[i] = np.repeat(flow_uv[key], 4) * np.exp(rng.normal(0, 0.03, nq))
    size = np.array([max(300.0, float(np.median(flows[k])) / 12.0) for k in pairs])  # ~3 shipments a quarter
    lam = np.clip(pair_ct / size[:, None], 0.0, 40.0)
    n_ship = 1 + rng.poisson(lam)
    flat = n_ship.ravel()
    owner = np.repeat(np.arange(flat.size), flat)
    weight = rng.exponential(1.0, owner.size)
    wsum = np.bincount(owner, weight, minlength=flat.size)
    ship_ct = pair_ct.ravel()[owner] * weight / wsum[owner]
    ship_usd = ship_ct * pair_uv.ravel()[owner] * np.exp(rng.normal(0, 0.03, owner.size))
    pair_of = owner // nq
    q_of = owner % nq
    shift = (rng.random(owner.size) < _P_SHIFT) & (q_of < nq - 1)
    q_imp = q_of + shift
    imp_ct = ship_ct * (1 + rng.normal(0, 0.002, owner.size))
    imp_usd = ship_usd * np.exp(rng.normal(0, 0.04, owner.size))
    exporter = np.array([k[0] for k in pairs], dtype=object)
    importer = np.array([k[1] for k in pairs], dtype=object)

    def aggregate(q: np.ndarray, ct: np.ndarray, usd: np.ndarray) -> pd.DataFrame:
        key = pair_of * nq + q
        uniq, inv = np.unique(key, return_inverse=True)
        return pd.DataFrame(
            {
                "pair": uniq // nq,
                "q": uniq % nq,
                "carats": np.bincount(inv, ct),
                "value_usd": np.bincount(inv, usd),
                "certificates": np.bincount(inv).astype(float),
            }
        )

    exp_rec = aggregate(q_of, ship_ct, ship_usd)
    imp_rec = aggregate(q_imp, imp_ct, imp_usd)
    exp_rec["participant"], exp_rec["partner"], exp_rec["flow"] = (
        exporter[exp_rec["pair"]],
        importer[exp_rec["pair"]],
        "export",
    )
    imp_rec["participant"], imp_rec["partner"], imp_rec["flow"] = (
        importer[imp_rec["pair"]],
        exporter[imp_rec["pair"]],
        "import",
    )
    trade = pd.concat([exp_rec, imp_rec], ignore_index=True)
    trade = trade[trade["carats"] > 0].reset_index(drop=True)

    prod_rows = []
    for p in producers:
        h1 = np.clip(rng.normal(0.5, 0.03, ny), 0.35, 0.65)
        for j, y in enumerate(years):
            for h, share in ((1, h1[j]), (2, 1 - h1[j])):
                ct = production[p][j] * share
                prod_rows.append((p, int(y), h, ct, ct * uv[p][j] * float(np.exp(rng.normal(0, 0.02)))))
    prod = pd.DataFrame(prod_rows, columns=["participant", "year", "h", "carats", "value_usd"])

    truth: list[dict[str, Any]] = []
    if inject:
        trade = _inject(rng, prod, trade, truth, per_check=per_check, role=role, q0=q0, nq=nq, years=years)

    trade["period"] = [f"{(q0 + q) // 4}-Q{(q0 + q) % 4 + 1}" for q in trade["q"].tolist()]
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


def _qlabel(q0: int, q: int) -> str:
    return f"{(q0 + q) // 4}-Q{(q0 + q) % 4 + 1}"


def _inject(
    rng: np.random.Generator,
    prod: pd.DataFrame,
    trade: pd.DataFrame,
    truth: list[dict[str, Any]],
    *,
    per_check: int,
    role: dict[str, str],
    q0: int,
    nq: int,
    years: np.ndarray,
) -> pd.DataFrame:
    """Modify ``prod`` in place and ``trade`` (returned), and record what each injection should cause."""
    busy: set[tuple[str, int]] = set()  # (participant, year) already touched
    first_year = int(years[0])
    n_years = len(years)
    inj = 0

    def year_of(q: int) -> int:
        return (q0 + q) // 4

    def free(*items: tuple[str, int]) -> bool:
        return not any(i in busy for i in items)

    def take(*items: tuple[str, int]) -> None:
        busy.update(items)

    def add(
        kind: str,
        row_role: str,
        check: str,
        participant: str,
        period: str,
        partner: str,
        factor: float,
        text: str,
    ) -> None:
        truth.append(
            {
                "injection_id": inj,
                "kind": kind,
                "role": row_role,
                "check": check,
                "participant": participant,
                "period": period,
                "partner": partner,
                "factor": round(float(factor), 3),
                "description": text,
            }
        )

    exp_mask = (trade["flow"] == "export").to_numpy()
    # candidate pair quarters: material exports away from the edges
    cand = trade[
        exp_mask
        & (trade["q"] >= 2).to_numpy()
        & (trade["q"] < nq - 2).to_numpy()
        & (trade["carats"] >= 2000).to_numpy()
        & (trade["value_usd"] >= 200_000).to_numpy()
    ]

    def record(participant: str, flow: str, partner: str, q: int) -> np.ndarray:
        return np.flatnonzero(
            (
                (trade["participant"] == participant)
                & (trade["flow"] == flow)
                & (trade["partner"] == partner)
                & (trade["q"] == q)
            ).to_numpy()
        )

    def pick_pair() -> tuple[str, str, int] | None:
        for _ in range(500):
            r = cand.iloc[int(rng.integers(len(cand)))]
            a, b, q = str(r["participant"]), str(r["partner"]), int(r["q"])
            y = year_of(q)
            if free((a, y), (b, y)) and len(record(b, "import", a, q)):
                return a, b, q
        return None

    def factor(low: tuple[float, float], high: tuple[float, float]) -> float:
        return float(rng.uniform(*low) if rng.random() < 0.5 else rng.uniform(*high))

    for _ in range(per_check):  # mirror: the importer's record of one pair quarter scaled
        got = pick_pair()
        if got is None:
            break
        a, b, q = got
        f = factor((0.1, 0.35), (2.8, 4.0))
        rows = record(b, "import", a, q)
        trade.loc[rows, ["carats", "value_usd"]] *= f
        y = year_of(q)
        take((a, y), (b, y))
        add("mirror", "primary", "mirror", a, _qlabel(q0, q), b, f, f"{b}'s imports from {a} scaled x{f:.2f}")
        add(
            "mirror",
            "secondary",
            "jump",
            b,
            _qlabel(q0, q),
            "",
            f,
            "the scaled record moves the importer's total",
        )
        add("mirror", "secondary", "balance", b, str(y), "", f, "less imports, exports may exceed supply")
        add("mirror", "secondary", "certificates", a, _qlabel(q0, q), b, f, "carats per certificate scaled")
        for qq in (q - 1, q + 1):
            add("mirror", "secondary", "mirror", a, _qlabel(q0, qq), b, f, NEIGHBOUR_NOTE)
        inj += 1

    exporters = sorted(set(trade.loc[exp_mask, "participant"]))
    for _ in range(per_check):  # unit_value: all of one exporter's values in a quarter scaled
        for _ in range(500):
            p = exporters[int(rng.integers(len(exporters)))]
            q = int(rng.integers(4, nq - 4))
            y = year_of(q)
            rows = np.flatnonzero(
                exp_mask & (trade["participant"] == p).to_numpy() & (trade["q"] == q).to_numpy()
            )
            if len(rows) and trade.loc[rows, "carats"].sum() >= 2000 and free((p, y)):
                partners = trade.loc[rows, "partner"].tolist()
                if all(free((b, y)) for b in partners) or len(partners) <= 2:
                    break
        else:
            break
        f = factor((0.25, 0.45), (2.2, 3.5))
        trade.loc[rows, "value_usd"] *= f
        take((p, y), (p, y + 1), (p, y - 1))
        period = _qlabel(q0, q)
        add(
            "unit_value",
            "primary",
            "unit_value",
            p,
            period,
            "",
            f,
            f"{p}'s export values in {period} x{f:.2f}",
        )
        add("unit_value", "secondary", "jump", p, period, "", f, "export value series jumps")
        add("unit_value", "secondary", "jump", p, _qlabel(q0, q + 1), "", f, "and comes back")
        for b in partners:
            add("unit_value", "secondary", "mirror", p, period, b, f, "partners' values disagree")
            for qq in (q - 1, q + 1):
                add("unit_value", "secondary", "mirror", p, _qlabel(q0, qq), b, f, NEIGHBOUR_NOTE)
            add("unit_value", "secondary", "certificates", p, period, b, f, "US$ per certificate off")
            add(
                "unit_value", "secondary", "unit_value", b, period, "", f, "partner's import unit value moves"
            )
        inj += 1

    movers = [p for p in exporters if role.get(p) in ("producer", "trading")]
    for _ in range(per_check):  # balance: a year of exports (both sides' records) scaled up
        for _ in range(500):
            p = movers[int(rng.integers(len(movers)))]
            y = int(rng.integers(first_year + 1, first_year + n_years - 1))
            if free((p, y)) and free((p, y + 1)):
                break
        else:
            break
        qs = np.arange(4) + (y * 4 - q0)
        own = exp_mask & (trade["participant"] == p).to_numpy() & np.isin(trade["q"], qs)
        supply = float(
            prod.loc[(prod["participant"] == p) & (prod["year"] == y), "carats"].sum()
            + trade.loc[
                (~exp_mask) & (trade["participant"] == p).to_numpy() & np.isin(trade["q"], qs), "carats"
            ].sum()
        )
        exported = float(trade.loc[own, "carats"].sum())
        if exported <= 0 or supply <= 0:
            continue
        target = float(rng.uniform(1.6, 2.5))  # exports set to 1.6-2.5 x production plus imports
        f = max(1.0, target * supply / exported)
        mirror = (~exp_mask) & (trade["partner"] == p).to_numpy() & np.isin(trade["q"], np.r_[qs, qs[-1] + 1])
        partners = sorted(set(trade.loc[own, "partner"]))
        trade.loc[own | mirror, ["carats", "value_usd"]] *= f
        take((p, y), (p, y + 1))
        add(
            "balance",
            "primary",
            "balance",
            p,
            str(y),
            "",
            f,
            f"{p}'s exports in {y} x{f:.2f} (partners agree), {target:.2f} x its production plus imports",
        )
        for q in [*qs.tolist(), int(qs[-1]) + 1]:
            add("balance", "secondary", "jump", p, _qlabel(q0, q), "", f, "exports jump for a year")
            for b in partners:
                add("balance", "secondary", "jump", b, _qlabel(q0, q), "", f, "partner's imports jump")
                add(
                    "balance",
                    "secondary",
                    "mirror",
                    p,
                    _qlabel(q0, q),
                    b,
                    f,
                    "the year's first or last shipments recorded across the boundary of the scaled year",
                )
                add(
                    "balance",
                    "secondary",
                    "certificates",
                    p,
                    _qlabel(q0, q),
                    b,
                    f,
                    "carats per certificate x f",
                )
                add(
                    "balance",
                    "secondary",
                    "unit_value",
                    b,
                    _qlabel(q0, q),
                    "",
                    f,
                    "partner's import mix changes",
                )
        inj += 1

    producers = sorted(set(prod["participant"]))
    for _ in range(per_check):  # jump: production level shift from a half-year on
        for _ in range(500):
            p = producers[int(rng.integers(len(producers)))]
            y = int(rng.integers(first_year + 2, first_year + n_years - 1))
            if all(free((p, yy)) for yy in range(y - 1, first_year + n_years)):
                break  # the shift lasts to the end: no other injection may sit on those years
        else:
            break
        h = int(rng.integers(1, 3))
        up = rng.random() < 0.7
        f = float(rng.uniform(2.5, 3.5) if up else rng.uniform(0.2, 0.3))
        later = (prod["participant"] == p) & ((prod["year"] > y) | ((prod["year"] == y) & (prod["h"] >= h)))
        prod.loc[later, ["carats", "value_usd"]] *= f
        take(*[(p, yy) for yy in range(y, first_year + n_years)])
        add("jump", "primary", "jump", p, f"{y}-H{h}", "", f, f"{p}'s production x{f:.2f} from {y}-H{h} on")
        if not up:
            for yy in range(y, first_year + n_years):
                add("jump", "secondary", "balance", p, str(yy), "", f, "exports now exceed production")
        inj += 1

    everyone = sorted(set(trade["participant"]))
    for _ in range(per_check):  # missing: a participant silent for a quarter, or without imports
        for _ in range(500):
            p = everyone[int(rng.integers(len(everyone)))]
            q = int(rng.integers(4, nq - 4))
            y = year_of(q)
            if free((p, y)):
                break
        else:
            break
        silent = rng.random() < 0.5
        sel = (trade["participant"] == p).to_numpy() & (trade["q"] == q).to_numpy()
        if not silent:
            sel &= ~exp_mask
        if not sel.any():
            continue
        removed_partners = trade.loc[sel, "partner"].tolist()
        trade = trade[~sel].reset_index(drop=True)
        exp_mask = (trade["flow"] == "export").to_numpy()
        take((p, y))
        what = "no figures at all" if silent else "no imports"
        add(
            "missing",
            "primary",
            "missing",
            p,
            _qlabel(q0, q),
            "",
            0.0,
            f"{p} reports {what} for {_qlabel(q0, q)}",
        )
        add("missing", "secondary", "balance", p, str(y), "", 0.0, "a quarter of imports unreported")
        for b in sorted(set(removed_partners)):
            for qq in (q - 1, q + 1):
                add("missing", "secondary", "mirror", p, _qlabel(q0, qq), b, 0.0, NEIGHBOUR_NOTE)
                add("missing", "secondary", "certificates", p, _qlabel(q0, qq), b, 0.0, NEIGHBOUR_NOTE)
        inj += 1

    cand = trade[
        (trade["flow"] == "export").to_numpy()
        & (trade["q"] >= 2).to_numpy()
        & (trade["q"] < nq - 2).to_numpy()
        & (trade["carats"] >= 500).to_numpy()
    ]
    for _ in range(per_check):  # certificates: the exporter's count inflated, or zero
        got = None
        for _ in range(500):
            r = cand.iloc[int(rng.integers(len(cand)))]
            a, b, q = str(r["participant"]), str(r["partner"]), int(r["q"])
            if free((a, year_of(q)), (b, year_of(q))) and len(record(b, "import", a, q)):
                got = (a, b, q)
                break
        if got is None:
            break
        a, b, q = got
        rows = record(a, "export", b, q)
        n = float(trade.loc[rows, "certificates"].iloc[0])
        zero = rng.random() < 0.2
        f = 0.0 if zero else float(rng.integers(4, 9))
        trade.loc[rows, "certificates"] = 0.0 if zero else max(n * f, n + 6)
        take((a, year_of(q)), (b, year_of(q)))
        add(
            "certificates",
            "primary",
            "certificates",
            a,
            _qlabel(q0, q),
            b,
            f,
            f"{a}'s export certificates to {b} {'set to 0' if zero else f'x{f:.0f}'}",
        )
        inj += 1
    return trade


_MARK = "SYNTHETIC"
#: Why an injection also explains findings in the quarters next to it.
NEIGHBOUR_NOTE = (
    "next to the anomalous quarter: shipments recorded across its boundary cannot be reconciled with it"
)


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
