"""Site shares of every parcel: accelerated EM to convergence, all parcels at once.

The parcel layer (:mod:`._parcel`) fits, per parcel, the shares of a zone's
sites (and, for the mixed test, of every reference site) that best explain
its stones. This module is that fit: SQUAREM-accelerated EM with Newton steps
near the maximum for big parcels, run to a tolerance so that the same stones
give the same shares whatever their order, their batch or their weights.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

logger = logging.getLogger(__name__)

__all__ = ["MixtureFit", "fit_shares"]


@dataclass
class MixtureFit:
    """EM fit of site shares per parcel.

    Attributes
    ----------
    loglik : ndarray of shape (n_parcels,)
        ``sum_i w_i log sum_s pi_s p(x_i | s)`` at the fitted shares (the
        per-stone row maxima included).
    shares : ndarray of shape (n_parcels, n_sites)
        Fitted shares (0 for sites outside the allowed set).
    stone_density : ndarray of shape (n_stones,)
        ``sum_s pi_s exp(l_is - m_i)`` per stone (``m_i`` its row maximum).
    counts : ndarray of shape (n_parcels, n_sites)
        Expected stones per site at the fit (summed weighted responsibilities).
    """

    loglik: np.ndarray
    shares: np.ndarray
    stone_density: np.ndarray
    counts: np.ndarray


def _prepare(site_ll: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    top = site_ll.max(axis=1)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.exp(site_ll - top[:, None]), top


def _segments(starts: np.ndarray, sizes: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Rows of the parcels ``idx`` (stones sorted by parcel) and their starts in that selection."""
    sz = sizes[idx]
    new_starts = np.concatenate([[0], np.cumsum(sz)[:-1]]).astype(np.intp)
    rows = np.repeat(starts[idx] - new_starts, sz) + np.arange(int(sz.sum()))
    return rows, new_starts


#: Parcels of at least this many rows are summed on their own (matrix-vector products, no gathered copy).
_BIG = 2048


#: Parcels of at least this many rows switch from SQUAREM to Newton steps near their maximum.
_NEWTON_ROWS = 256

#: Parcels below this many rows are stacked by size bin (:data:`_BINS`) for their sums.
_STACK_ROWS = 256

#: Row counts small parcels are padded to (by their own size only), to be summed as stacked matrices.
_BINS = np.array([8, 12, 16, 24, 32, 48, 64, 96, 128, 192, 256])


class _Batch:
    """The stones of some parcels (all, or those still iterating), for EM steps.

    Parcels below :data:`_STACK_ROWS` rows are stacked by size bin
    (:data:`_BINS`, zero-padded rows) and summed with batched matrix
    products; those up to :data:`_BIG` rows are summed together (one gather and
    ``np.add.reduceat`` over all of them); bigger ones one by one, their
    evidence held site by site, with elementwise sums and ``np.einsum``
    along its rows (single-threaded and in a fixed order, so a parcel's sums
    depend on its own rows only, whatever else is in the batch or how many
    threads run).
    """

    def __init__(self, evidence: np.ndarray, weights: np.ndarray, starts: np.ndarray, sizes: np.ndarray,
                 idx: np.ndarray | None) -> None:
        ids = np.arange(len(starts)) if idx is None else idx
        sz = sizes[ids]
        self.n, self.rows = len(ids), int(sz.sum())
        big = sz >= _BIG
        self.big = np.flatnonzero(big)
        # Big parcels' evidence site by site (one contiguous row per site): the sums below run along rows.
        self.segments = [(np.ascontiguousarray(evidence[starts[i]:starts[i] + sizes[i]].T),
                          weights[starts[i]:starts[i] + sizes[i]]) for i in ids[big].tolist()]
        # Parcels below _STACK_ROWS rows (most of them): stacked by size bin, zero-padded, and summed
        # with batched matrix products (a third of the time of a gather plus np.add.reduceat).
        binned = ~big & (sz < _STACK_ROWS)
        width = _BINS[np.minimum(np.searchsorted(_BINS, sz), len(_BINS) - 1)]
        self.stacks = []
        k = evidence.shape[1]
        for length in np.unique(width[binned]).tolist():
            members = np.flatnonzero(binned & (width == length))
            ev3 = np.zeros((len(members), length, k))
            w2 = np.zeros((len(members), length))
            n_of = sz[members]
            slot = np.arange(length)[None, :] < n_of[:, None]  # real rows (the rest is padding)
            rows = (starts[ids[members]][:, None] + np.arange(length)[None, :])[slot]
            ev3[slot], w2[slot] = evidence[rows], weights[rows]
            self.stacks.append((members, ev3, w2))
        self.small = np.flatnonzero(~big & ~binned)
        if idx is None and not big.any() and not binned.any():
            self.evidence, self.weights, self.starts = evidence, weights, starts
        else:
            rows, self.starts = _segments(starts, sizes, ids[self.small])
            self.evidence, self.weights = evidence[rows], weights[rows]
        self.parcel = np.repeat(np.arange(len(self.small)), sz[self.small])
        self.work = np.empty_like(self.evidence)

    def step(self, theta: np.ndarray, allowed: np.ndarray, extra: np.ndarray, uniform: np.ndarray,
             hessian: list[np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """One EM step from ``theta``; the objective at ``theta``; ``sum_i w_i e_is / p(x_i)`` per site.

        With ``hessian`` (a list), also appends ``sum_i w_i e_is e_it / p(x_i)^2`` per parcel, shape
        (n_parcels, n_sites, n_sites).
        """
        objective = np.empty(self.n)
        pull = np.empty(theta.shape)
        k = theta.shape[1]
        hess = np.empty((self.n, k, k)) if hessian is not None else None
        for members, ev3, w2 in self.stacks:
            # Each parcel's sums run over its own (padded) rows: the padding's zero weight and
            # evidence add exact zeros, and the bin depends on the parcel's size only.
            density = np.matmul(ev3, theta[members][:, :, None])[:, :, 0]
            np.maximum(density, 1e-300, out=density)
            objective[members] = (w2 * np.log(density)).sum(axis=1)
            q = w2 / density
            pull[members] = np.matmul(q[:, None, :], ev3)[:, 0, :]
            if hess is not None:
                r = ev3 * (np.sqrt(w2) / density)[:, :, None]
                hess[members] = np.matmul(r.transpose(0, 2, 1), r)
        if len(self.small):
            every = not len(self.big) and not self.stacks  # no gather or scatter of parcel rows
            work = self.work
            np.take(theta if every else theta[self.small], self.parcel, axis=0, out=work)
            density = np.maximum(np.einsum("ij,ij->i", work, self.evidence), 1e-300)
            obj = np.add.reduceat(self.weights * np.log(density), self.starts)
            np.multiply(self.evidence, (self.weights / density)[:, None], out=work)
            pl = np.add.reduceat(work, self.starts, axis=0)
            if every:
                objective, pull = obj, pl
            else:
                objective[self.small], pull[self.small] = obj, pl
            if hess is not None:
                r = self.evidence * (np.sqrt(self.weights) / density)[:, None]
                outer = (r[:, :, None] * r[:, None, :]).reshape(len(r), k * k)
                hess[self.small] = np.add.reduceat(outer, self.starts, axis=0).reshape(-1, k, k)
        for j, (ev_t, w) in zip(self.big.tolist(), self.segments, strict=True):
            # Site by site over contiguous rows (a tenth of the time of einsum over the (stones, sites)
            # layout for a zone's few sites); still single-threaded and in a fixed order.
            th = theta[j]
            density = ev_t[0] * th[0]
            for s in range(1, k):
                density += ev_t[s] * th[s]
            np.maximum(density, 1e-300, out=density)
            objective[j] = np.einsum("i,i->", w, np.log(density))
            pull[j] = np.einsum("ji,i->j", ev_t, w / density)
            if hess is not None:
                r_t = ev_t * (np.sqrt(w) / density)[None, :]
                hess[j] = np.einsum("ji,ki->jk", r_t, r_t)
        if hessian is not None and hess is not None:
            hessian.append(hess)
        with np.errstate(divide="ignore"):
            objective += np.where(extra > 0, extra * np.log(np.maximum(theta, 1e-300)), 0.0).sum(axis=1)
        numer = np.where(allowed, theta * pull + extra, 0.0)
        total = numer.sum(axis=1, keepdims=True)
        return np.where(total > 0, numer / np.where(total > 0, total, 1.0), uniform), objective, pull


def _newton_shares(theta: np.ndarray, pull: np.ndarray, hess: np.ndarray, allowed: np.ndarray,
                   extra: np.ndarray) -> np.ndarray:
    """Newton direction of ``sum_i w_i log p(x_i) + sum_s extra_s log theta_s`` on the simplex.

    ``A = sum_i w_i e_i e_i' / p_i^2 + diag(extra / theta^2)`` is minus the
    Hessian, ``g = pull + extra / theta`` the gradient; the step ``A^-1 (g -
    lambda 1)`` keeps the shares summing to 1 (sites not allowed stay 0).
    """
    k = theta.shape[1]
    safe = np.where(allowed, np.maximum(theta, 1e-300), 1.0)
    a = np.where(allowed[:, :, None] & allowed[:, None, :], hess, 0.0)
    a += np.eye(k)[None] * np.where(allowed, extra / (safe * safe), 1.0)[:, :, None]
    g = np.where(allowed, pull + extra / safe, 0.0)
    u = allowed.astype(float)
    try:
        y = np.linalg.solve(a, np.stack([g, u], axis=2))
    except np.linalg.LinAlgError:
        return np.zeros_like(theta)
    lam = (u * y[:, :, 0]).sum(axis=1) / np.maximum((u * y[:, :, 1]).sum(axis=1), 1e-300)
    return np.where(allowed, y[:, :, 0] - lam[:, None] * y[:, :, 1], 0.0)


def fit_shares(evidence: np.ndarray, top: np.ndarray, starts: np.ndarray, weights: np.ndarray,
               allowed: np.ndarray, prior: np.ndarray, *, tol: float = 1e-12, max_cycles: int = 300,
               init: np.ndarray | None = None) -> MixtureFit:
    """MAP site shares of every parcel by accelerated EM run to convergence, sites restricted per parcel.

    EM for mixture shares is slow when the sites overlap (as sites of one
    zone do): each cycle here is one SQUAREM step (Varadhan & Roland 2008,
    scheme S3: two EM steps, an extrapolation along their path, one
    stabilising EM step), kept only where it does not lower the objective.
    A parcel iterates until its shares are within ``tol`` of the maximum
    (estimated from two successive EM steps), then leaves the batch (the batch is compacted as parcels
    leave, so the cost follows the slow parcels). A parcel's fit depends on
    its own stones only, never on the other parcels of the batch, and,
    being converged, not on rounding: a row of weight ``w`` and ``w``
    repeated rows reach the same maximum.

    Shares with a flat prior (``a_s = 1``) may belong on the boundary, which
    EM only approaches geometrically: a share below ``1e-9`` that EM keeps
    shrinking is set to exactly 0, and put back (once) if the likelihood's
    slope at 0 points inside (the Kuhn-Tucker condition).

    Parameters
    ----------
    evidence : ndarray of shape (n_stones, n_sites)
        ``exp(l_is - m_i)``, stones sorted by parcel (see :func:`_prepare`).
    top : ndarray of shape (n_stones,)
        ``m_i``, the row maxima taken out of ``evidence``.
    starts : ndarray of shape (n_parcels,)
        First stone of each parcel.
    weights : ndarray of shape (n_stones,)
        Stones each row stands for.
    allowed : ndarray of bool, shape (n_parcels, n_sites)
        Sites each parcel's mixture may use.
    prior : ndarray of shape (n_parcels, n_sites)
        Dirichlet parameters ``a_s >= 1`` (1 = flat: maximum likelihood).
    tol : float
        Convergence: the distance left to the maximum (the largest change of
        a share in one EM step over one minus the rate of convergence).
    max_cycles : int
        SQUAREM cycles (three EM steps each) at most; a parcel still moving
        then keeps its last shares (logged at DEBUG level).
    init : ndarray of shape (n_parcels, n_sites), optional
        Starting shares (default: the prior's mode, or uniform when flat).
    """
    n_parcels, (n_stones, n_sites) = len(starts), evidence.shape
    starts = np.asarray(starts, dtype=np.intp)
    sizes = np.diff(np.append(starts, n_stones))
    allowed = np.broadcast_to(np.asarray(allowed, dtype=bool), (n_parcels, n_sites))
    prior = np.broadcast_to(np.asarray(prior, dtype=float), (n_parcels, n_sites))
    # Only the sites some parcel may use enter the sums (a zone's fit reads its own sites only).
    cols = np.flatnonzero(allowed.any(axis=0))
    narrow = len(cols) < n_sites
    ev = np.ascontiguousarray(evidence[:, cols]) if narrow else evidence
    allowed_c = allowed[:, cols]
    extra = np.where(allowed_c, prior[:, cols] - 1.0, 0.0)
    flat = allowed_c & (extra <= 0)
    uniform = allowed_c / np.maximum(allowed_c.sum(axis=1, keepdims=True), 1)
    start = np.maximum(prior[:, cols], 1e-3) if init is None else np.maximum(np.asarray(init)[:, cols], 1e-6)
    shares = np.where(allowed_c, start, 0.0)
    shares /= shares.sum(axis=1, keepdims=True)
    revived = np.zeros(shares.shape, dtype=bool)
    # Where every share has a prior above flat, the maximum is inside the simplex and the objective
    # strictly concave: near it, Newton steps (quadratic convergence) replace SQUAREM's slow tail.
    # (Parcels of a few hundred stones and more: below, SQUAREM settles in a few cycles anyway.)
    interior = ((extra > 0) | ~allowed_c).all(axis=1) & (sizes >= _NEWTON_ROWS)
    near = np.zeros(n_parcels, dtype=bool)

    ids = np.arange(n_parcels)  # parcels in the batch (converged ones stay until it is compacted)
    live = np.ones(n_parcels, dtype=bool)  # which of them still iterate
    batch = _Batch(ev, weights, starts, sizes, None)
    for cycle in range(max_cycles):
        x = shares[ids]
        al, ex, un, fl, rv = allowed_c[ids], extra[ids], uniform[ids], flat[ids], revived[ids]
        nr = near[ids] & live
        hess: list[np.ndarray] | None = [] if nr.any() else None
        one, obj_x, pull = batch.step(x, al, ex, un, hess)
        if hess is not None and nr[live].all():
            # Every parcel still iterating takes a Newton step: the second EM step would go unused.
            two, obj_one = one, obj_x
        else:
            two, obj_one, _ = batch.step(one, al, ex, un)
        # Flat-prior shares heading for 0 go there; a zero share the slope at 0 wants back returns (once).
        vanish = fl & ~rv & (two > 0) & (two < 1e-9) & (two <= one) & (one <= x)
        slope_cut = ((x * pull).sum(axis=1) + ex.sum(axis=1))[:, None] * (1.0 + 1e-9)
        wrong = fl & ~rv & (x == 0) & (pull > slope_cut)
        r = one - x
        v = two - one - r
        rn, vn = np.sqrt((r * r).sum(axis=1)), np.sqrt((v * v).sum(axis=1))
        # EM converges linearly: the distance left is about the step / (1 - rate), the rate
        # measured by two successive steps (near 1 where the sites are hard to tell apart).
        rate = np.sqrt(((two - one) ** 2).sum(axis=1)) / np.maximum(rn, 1e-300)
        step = np.abs(r).max(axis=1)
        left = step / np.maximum(1.0 - rate, 1e-6)
        # Steps of 1e-14 and below are rounding: nothing left to gain (and their "rate" is noise).
        done = live & ((left <= tol) | (step <= 1e-14)) & ~wrong.any(axis=1)
        alpha = np.where(vn > 1e-14, -rn / np.maximum(vn, 1e-300), -1.0)
        alpha = np.minimum(alpha, -1.0)[:, None]
        jump = np.where(al, np.maximum(x - 2 * alpha * r + alpha * alpha * v, 0.0), 0.0)
        total = jump.sum(axis=1, keepdims=True)
        jump = np.where(total > 0, jump / np.where(total > 0, total, 1.0), two)
        newton_step = np.zeros(len(x))
        if hess is not None:
            move = _newton_shares(x, pull, hess[0], al, ex)
            room = np.where(move < 0, x / np.where(move < 0, -move, 1.0), np.inf).min(axis=1)
            t = np.minimum(1.0, 0.9 * room)
            candidate = np.where(al, np.maximum(x + t[:, None] * move, 0.0), 0.0)
            candidate /= candidate.sum(axis=1, keepdims=True)
            newton_step = np.where(t == 1.0, np.abs(move).max(axis=1), np.inf)
            jump = np.where(nr[:, None], candidate, jump)
        landed, obj_jump, _ = batch.step(jump, al, ex, un)
        # Keep the extrapolation unless it lowers the objective by more than rounding could.
        slack = 1e-9 * (1.0 + np.abs(obj_one))
        ok = np.isfinite(obj_jump) & (obj_jump >= np.where(nr, obj_x, obj_one) - slack)
        new = np.where(ok[:, None], np.where(nr[:, None], jump, landed), two)
        done |= live & nr & ok & (newton_step <= tol)
        upd_done = np.where((nr & ok)[:, None], jump, two)
        fix = (vanish | wrong).any(axis=1)
        fixed = np.where(vanish, 0.0, np.where(wrong, 1e-6, two))
        fixed /= fixed.sum(axis=1, keepdims=True)
        new = np.where(fix[:, None], fixed, new)
        upd = np.where(done[:, None], upd_done, new)
        shares[ids[live]] = upd[live]
        near[ids[live]] |= (interior[ids] & ((left <= 1e-2) | (cycle >= 2)))[live]
        revived[ids[live]] |= wrong[live]
        live &= ~done
        if not live.any():
            break
        if done.any() and sizes[ids[live]].sum() < 0.7 * batch.rows:
            ids = ids[live]
            live = np.ones(len(ids), dtype=bool)
            batch = _Batch(ev, weights, starts, sizes, ids)
    else:
        logger.debug("fit_shares: %d parcel(s) still moving after %d cycles", int(live.sum()), max_cycles)
    work = np.take(shares, np.repeat(np.arange(n_parcels), sizes), axis=0)
    density = np.einsum("ij,ij->i", work, ev)
    loglik = np.add.reduceat(weights * (np.log(np.maximum(density, 1e-300)) + top), starts)
    np.multiply(ev, (weights / np.maximum(density, 1e-300))[:, None], out=work)
    counts_c = shares * np.add.reduceat(work, starts, axis=0)
    full = np.zeros((n_parcels, n_sites))
    counts = np.zeros((n_parcels, n_sites))
    full[:, cols] = shares
    counts[:, cols] = counts_c
    return MixtureFit(loglik, full, density, counts)
