"""Expert decisions: the rules (two different experts approve; hold and refer need a reason), appended."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..exceptions import DecisionError, InputError, Problem
from . import _tables as T
from ._connection import RegisterBase, _now, _tool_version

#: Decisions an expert can record.
DECISIONS = ("approve", "hold", "refer")


#: Parcel statuses (``pending``: no decision yet, or approved by one expert only).
STATUSES = ("pending", "approved", "held", "referred")


def decision_status(decisions: Sequence[dict[str, Any]]) -> tuple[str, list[str]]:
    """Return a parcel's status from its decisions (oldest first) and the current approvers.

    Approval needs two different experts: approvals accumulate until a hold
    or a refer starts over; ``approved`` once two different names approved.
    """
    approvers: list[str] = []
    status = "pending"
    for d in decisions:
        if d["decision"] == "approve":
            if d["decided_by"] not in approvers:
                approvers.append(d["decided_by"])
            status = "approved" if len(approvers) >= 2 else "pending"
        else:
            approvers = []
            status = "held" if d["decision"] == "hold" else "referred"
    return status, approvers


class Deciding(RegisterBase):
    """The decision part of :class:`~footprint.review.Register`."""

    def decide(self, parcel_id: str, decision: str, *, by: str, reason: str | None = None) -> dict[str, Any]:
        """Record an expert's decision on a parcel (appended; supersedes the parcel's previous decision).

        Rules: ``hold`` and ``refer`` need a reason; approving a parcel with
        flags needs a reason; approval needs two different experts (the same
        expert approving twice in a row is refused). Concurrent decisions
        are serialised on the parcel: none is lost, and each names the one
        it supersedes.

        Returns
        -------
        dict
            The decision row plus the parcel's ``status`` after it.

        Raises
        ------
        DecisionError
            A rule above is broken.
        InputError
            No such parcel.
        """
        from sqlalchemy import insert, select

        decision = (decision or "").strip().lower()
        who = (by or "").strip()
        why = (reason or "").strip() or None
        if decision not in DECISIONS:
            raise DecisionError(
                f"decision must be one of {', '.join(DECISIONS)}",
                [Problem(None, None, "decision", decision, "unknown decision")],
            )
        if not who:
            raise DecisionError(
                "a decision needs the expert's name",
                [Problem(None, None, "by", None, "must name the expert")],
            )
        if decision in ("hold", "refer") and not why:
            raise DecisionError(
                f"a {decision} needs a reason",
                [Problem(None, None, "reason", None, f"required for {decision}")],
            )
        with self._tx() as conn:
            query = select(T.parcels).where(T.parcels.c.parcel_id == parcel_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()
            parcel = conn.execute(query).mappings().first()
            if parcel is None:
                raise InputError(
                    f"no parcel {parcel_id!r} in the register",
                    [Problem(None, None, "parcel_id", parcel_id, "not in the register")],
                )
            previous = [
                dict(r)
                for r in conn.execute(
                    select(T.decisions)
                    .where(T.decisions.c.parcel_pk == parcel["id"])
                    .order_by(T.decisions.c.id)
                ).mappings()
            ]
            status, approvers = decision_status(previous)
            if decision == "approve":
                if status == "approved":
                    raise DecisionError(
                        f"parcel {parcel_id} is already approved by {' and '.join(approvers)}",
                        [Problem(None, None, "decision", decision, "already approved")],
                    )
                if who in approvers:
                    raise DecisionError(
                        f"approval needs two different experts: {who} already approved {parcel_id}",
                        [Problem(None, None, "by", who, "same expert cannot give the second approval")],
                    )
                n_flags = conn.execute(
                    select(T.flags.c.id).where(T.flags.c.parcel_pk == parcel["id"])
                ).first()
                if n_flags is not None and not why:
                    raise DecisionError(
                        f"parcel {parcel_id} has flags: approving it needs a reason",
                        [Problem(None, None, "reason", None, "required to approve a flagged parcel")],
                    )
            row = {
                "parcel_pk": parcel["id"],
                "parcel_id": parcel_id,
                "decision": decision,
                "reason": why,
                "decided_by": who,
                "decided_at": _now(),
                "supersedes": previous[-1]["id"] if previous else None,
                "model_fingerprint": parcel["model_fingerprint"],
                "store_hash": parcel["store_hash"],
                "thresholds_version": parcel["thresholds_version"],
                "tool_version": _tool_version(),
            }
            row["id"] = int(conn.execute(insert(T.decisions).values(**row)).inserted_primary_key[0])
        after, _ = decision_status([*previous, row])
        return {**row, "status": after}
