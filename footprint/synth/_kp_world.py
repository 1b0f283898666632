"""The world of the SYNTHETIC KP statistics: participants, their roles, producers' anchors (KPCS figures)."""

from __future__ import annotations

import numpy as np

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
