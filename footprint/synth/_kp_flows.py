"""The flows of the SYNTHETIC KP statistics: yearly production and trade by pair, then shipments."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._kp_world import _walk

_P_SHIFT = 0.08  # share of shipments an importer records in the next quarter

_PerProducer = dict[str, np.ndarray]  # a yearly series per producer
_PerPair = dict[tuple[str, str], np.ndarray]  # a yearly series per (exporter, importer)


def _yearly_flows(
    rng: np.random.Generator,
    codes: list[str],
    role: dict[str, str],
    anchors: dict[str, tuple[float, float]],
    years: np.ndarray,
    spread: float,
) -> tuple[_PerProducer, _PerProducer, _PerPair, _PerPair]:
    """Yearly production and US$/ct per producer, carats and US$/ct per trading pair (exporter, importer).

    Producers ship most of their production to trading centres (and some to cutting centres), trading
    centres re-export to cutting centres and to each other with a sorting mark-up, cutting centres send
    rejections back.
    """
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
    return production, uv, flows, flow_uv


def _shipments(
    rng: np.random.Generator,
    flows: _PerPair,
    flow_uv: _PerPair,
    years: np.ndarray,
) -> pd.DataFrame:
    """Quarterly trade by pair, from shipments each reported by the exporter and by the importer.

    Columns ``pair, q, carats, value_usd, certificates, participant, partner, flow``; ``q`` counts
    quarters from the first year's Q1.
    """
    ny = len(years)
    pairs = list(flows)
    nq = 4 * ny
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
    return trade


def _production_table(
    rng: np.random.Generator,
    production: _PerProducer,
    uv: _PerProducer,
    years: np.ndarray,
) -> pd.DataFrame:
    """Half-yearly production of every producer: ``participant, year, h, carats, value_usd``."""
    producers = list(production)
    ny = len(years)
    prod_rows = []
    for p in producers:
        h1 = np.clip(rng.normal(0.5, 0.03, ny), 0.35, 0.65)
        for j, y in enumerate(years):
            for h, share in ((1, h1[j]), (2, 1 - h1[j])):
                ct = production[p][j] * share
                prod_rows.append((p, int(y), h, ct, ct * uv[p][j] * float(np.exp(rng.normal(0, 0.02)))))
    return pd.DataFrame(prod_rows, columns=["participant", "year", "h", "carats", "value_usd"])
