"""The checks of a certificate against its parcels (carats, stones, duplicates, expiry, HS code, origin)."""

from __future__ import annotations

from typing import Any

from ._compliance import COMPLIANT
from ._inputs import (
    HS_CODES,
)

#: Default tolerances of the certificate checks (stated in every report).
DEFAULT_TOLERANCES = {
    "carats_relative": 0.005,  # 0.5 % of the declared carats ...
    "carats_absolute_ct": 0.01,  # ... or 0.01 ct (a balance's last digit), whichever is larger
    "stones": 0,  # declared stone count must equal the count
    "quality_share": 0.10,  # HS 7102.31 with > 10 % industrial stones, or 7102.21 with > 10 % gem/near-gem
}


def _certificate_flags(
    cert: dict[str, Any],
    rows: list[dict[str, Any]],
    measured: list[dict[str, Any]] | None,
    place: Any,
    tol: dict[str, float],
    checked_on: str,
    *,
    duplicate: bool,
) -> list[tuple[str, str]]:
    """Check one certificate against its parcels; each failed check is a (code, detail) flag."""
    out: list[tuple[str, str]] = []
    n_counted = sum(int(float(r["n_stones"])) for r in rows)
    if abs(n_counted - cert["n_stones"]) > tol["stones"]:
        out.append(
            (
                "stones_mismatch",
                f"certificate declares {cert['n_stones']} stones, {n_counted} counted "
                f"(tolerance {int(tol['stones'])})",
            )
        )
    if measured is not None and all(m.get("n_weighed") == m["n_stones"] for m in measured):
        carats = sum(m["carats"] for m in measured)
        allowed = max(tol["carats_absolute_ct"], tol["carats_relative"] * cert["carats"])
        if abs(carats - cert["carats"]) > allowed:
            out.append(
                (
                    "carats_mismatch",
                    f"certificate declares {cert['carats']:.2f} ct, {carats:.2f} ct weighed "
                    f"(tolerance {allowed:.2f} ct)",
                )
            )
    if duplicate:
        out.append(
            (
                "duplicate_certificate",
                f"certificate {cert['kp_certificate']} appears more than once "
                "(in this file or already in the register)",
            )
        )
    if cert["expires_on"] < cert["issued_on"]:
        out.append(
            (
                "expired_certificate",
                f"expires {cert['expires_on']}, before it was issued ({cert['issued_on']})",
            )
        )
    elif cert["expires_on"] < checked_on:
        out.append(("expired_certificate", f"expired on {cert['expires_on']}, checked on {checked_on}"))
    if measured is not None:
        n_q = sum(m.get("n_quality") or 0 for m in measured)
        if n_q:
            industrial = sum(m.get("n_industrial") or 0 for m in measured) / n_q
            kind = HS_CODES[cert["hs_code"]]
            if kind == "gem" and industrial > tol["quality_share"]:
                out.append(
                    (
                        "hs_code_quality",
                        f"HS {cert['hs_code']} (gem) but {industrial:.0%} of the graded "
                        f"stones are industrial (tolerance {tol['quality_share']:.0%})",
                    )
                )
            if kind == "industrial" and 1 - industrial > tol["quality_share"]:
                out.append(
                    (
                        "hs_code_quality",
                        f"HS {cert['hs_code']} (industrial) but {1 - industrial:.0%} of "
                        f"the graded stones are gem or near-gem (tolerance "
                        f"{tol['quality_share']:.0%})",
                    )
                )
    if place.status != COMPLIANT:
        where = (
            f"{place.subprefecture} ({place.zone})" if place.subprefecture else "not on the compliance list"
        )
        word = "not compliant" if place.status == "not_compliant" else "unknown place"
        out.append(
            (
                "origin_not_compliant",
                f"declared origin {cert['declared_origin']}: {where}, {word} on "
                f"{cert['issued_on']}" + (f" [{place.decision_ref}]" if place.decision_ref else ""),
            )
        )
    return out
