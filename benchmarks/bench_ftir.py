"""FTIR benchmark: batched fit vs a per-spectrum scipy SLSQP fit, accuracy vs noise, CLI end to end.

All spectra are SYNTHETIC (footprint.spectra.simulate_ftir) with known truth.
Every figure is measured in this run; the speed targets are ratios against a
baseline measured here too (no absolute timing assertions):

- fit of 10,000 spectra: rate (spectra/s, 2 threads) and ratio against the same
  model fitted per spectrum with scipy.optimize.minimize(method="SLSQP") (the way
  desktop tools do it), on the same spectra, with both accuracies printed;
- accuracy (total N within 5% or 10 ppm below 200 ppm, and %B within 3 points)
  against the noise level;
- ``footprint ftir`` over a folder of JCAMP-DX files: files/s with 2 worker
  processes, against the jcamp reader alone in one process.

Targets (issue 3): >= 5,000 spectra/s, >= 50x SLSQP with equal or better
accuracy, >= 95% of spectra within tolerance at typical noise, >= 100 files/s.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from pybaselines import Baseline
from scipy.optimize import minimize

from footprint._types import Spectrum
from footprint.spectra import FTIRMethod, FTIRTruth, instrument_grid, simulate_from_truth
from footprint.spectra._components import COMPONENT_NAMES, PPM_PER_CM1, component_matrix, intrinsic
from footprint.spectra._analyse import _fit_prepared, _prepare_one, analyse_files
from footprint.spectra._peaks import local_peak_area, pseudo_voigt

N_FIT = int(os.environ.get("BENCH_FTIR_N", "10000"))
N_SLSQP = int(os.environ.get("BENCH_FTIR_N_SLSQP", "200"))
N_FILES = int(os.environ.get("BENCH_FTIR_FILES", "1000"))
TYPICAL_NOISE = 0.002  # absorbance; a typical 4 cm-1, 64-scan FTIR spectrum of a mm-sized stone


def random_truth(rng: np.random.Generator, noise_sd: float) -> FTIRTruth:
    n_total = float(min(np.exp(rng.normal(np.log(250.0), 0.9)), 1500.0))
    b_fraction = float(rng.beta(2.0, 3.0))
    return FTIRTruth(
        n_a_ppm=n_total * (1 - b_fraction), n_b_ppm=n_total * b_fraction,
        platelet_area_cm2=float(rng.uniform(0.0, 10.0)), platelet_position_cm1=float(rng.uniform(1358, 1380)),
        platelet_fwhm_cm1=float(rng.uniform(6.0, 20.0)), h3107_area_cm2=float(rng.uniform(0.0, 5.0)),
        thickness_mm=float(rng.uniform(0.4, 2.0)),
        baseline=(float(rng.uniform(0.0, 0.5)), float(rng.uniform(-0.1, 0.3)),
                  float(rng.uniform(-0.05, 0.1))),
        noise_sd=noise_sd)


def make_set(n: int, noise_sd: float, seed: int) -> tuple[list[FTIRTruth], list[Spectrum]]:
    rng = np.random.default_rng(seed)
    truths, spectra = [], []
    grid = instrument_grid()  # one shared axis array keeps 10,000 spectra small
    for i in range(n):
        truth = random_truth(rng, noise_sd)
        x, a = simulate_from_truth(truth, rng=rng, x_cm1=grid)
        truths.append(truth)
        spectra.append(Spectrum(x=x, y=a, x_unit="1/cm", y_unit="absorbance", kind="ftir",
                                source=f"SYNTHETIC-{i}", sample_id=f"SYNTHETIC-{i}"))
    return truths, spectra


def within_target(truths: list[FTIRTruth], n_total: np.ndarray, b_percent: np.ndarray) -> np.ndarray:
    n_true = np.array([t.n_total_ppm for t in truths])
    b_true = np.array([t.n_b_percent for t in truths])
    n_err = np.abs(n_total - n_true)
    n_ok = np.where(n_true < 200.0, n_err <= 10.0, n_err <= 0.05 * n_true)
    return n_ok & (np.abs(b_percent - b_true) <= 3.0)


# -- the per-spectrum SLSQP reference: same model, same windows, one optimiser run per step ------------

class SlsqpReference:
    """The same method, spectrum by spectrum, each fit by scipy.optimize.minimize(SLSQP)."""

    def __init__(self, method: FTIRMethod) -> None:
        self.m = method
        x = method.grid
        self.x = x
        self.iia = intrinsic(x)
        self.comps = component_matrix(x)
        inside = lambda lo, hi: (x >= lo) & (x <= hi)  # noqa: E731
        self.w2 = inside(*method.two_phonon_cm1) & ~inside(*method.two_phonon_exclude_cm1[0])
        self.w1 = inside(*method.one_phonon_cm1)
        self.wp = inside(*method.platelet_cm1)
        anchor = inside(*method.baseline_cm1)
        for lo, hi in method.baseline_exclude_cm1:
            anchor &= ~inside(lo, hi)
        self.anchor_weights = anchor.astype(float)
        self.fitter = Baseline(x)

    def fit(self, y: np.ndarray) -> dict[str, float]:
        m, x = self.m, self.x
        # two-phonon scale, intrinsic + quadratic
        t2 = (x[self.w2] - 2250.0) / 1000.0
        design2 = np.column_stack([self.iia[self.w2], np.ones_like(t2), t2, t2 * t2])
        res = minimize(lambda p: np.sum((design2 @ p - y[self.w2]) ** 2), np.array([0.05, 0.0, 0.0, 0.0]),
                       method="SLSQP")
        k0 = res.x[0]
        baseline = self.fitter.poly(y - k0 * self.iia, poly_order=m.baseline_poly_order,
                                    weights=self.anchor_weights)[0]
        corrected = y - baseline
        design2b = design2[:, :2]
        res = minimize(lambda p: np.sum((design2b @ p - corrected[self.w2]) ** 2), np.array([k0, 0.0]),
                       method="SLSQP")
        mu = corrected / res.x[0] - self.iia
        # one-phonon: C, A, X, B, D >= 0, offset free
        design1 = np.column_stack([self.comps[self.w1], np.ones(int(self.w1.sum()))])
        target = mu[self.w1]
        bounds = [(0.0, None)] * len(COMPONENT_NAMES) + [(None, None)]
        res = minimize(lambda p: np.sum((design1 @ p - target) ** 2), np.full(6, 0.1), method="SLSQP",
                       jac=lambda p: 2.0 * design1.T @ (design1 @ p - target), bounds=bounds,
                       options={"maxiter": 500, "ftol": 1e-12})
        coef = res.x
        # platelet: pseudo-Voigt + line on the residual
        xp = x[self.wp]
        tp = (xp - xp.mean()) / 100.0
        residual = mu[self.wp] - np.column_stack([self.comps[self.wp], np.ones(xp.size)]) @ coef

        def loss(p: np.ndarray) -> float:
            model = p[2] * pseudo_voigt(xp, p[0], p[1], m.platelet_eta) + p[3] + p[4] * tp
            return float(np.sum((model - residual) ** 2))

        res = minimize(loss, np.array([1368.0, 12.0, 1.0, 0.0, 0.0]), method="SLSQP",
                       bounds=[(1350.0, 1392.0), (3.0, 33.0), (0.0, None), (None, None), (None, None)])
        # desktop tools integrate the 3107 cm-1 peak above a local straight baseline
        h3107 = local_peak_area(x, mu[None, :], (3084.0, 3132.0), (3056.0, 3080.0), (3136.0, 3160.0))[0]
        n_c, n_a, n_b = (PPM_PER_CM1["C"] * coef[0], PPM_PER_CM1["A"] * coef[1], PPM_PER_CM1["B"] * coef[3])
        return {"n_total_ppm": n_c + n_a + n_b,
                "n_b_percent": 100.0 * n_b / (n_a + n_b) if n_a + n_b > 0 else np.nan,
                "platelet_position_cm1": res.x[0], "h3107_area_cm2": h3107}


def bench_fit() -> None:
    method = FTIRMethod()
    print(f"generating {N_FIT} SYNTHETIC spectra (typical noise {TYPICAL_NOISE} absorbance)...", flush=True)
    truths, spectra = make_set(N_FIT, TYPICAL_NOISE, seed=1)
    start = time.perf_counter()
    prepared = [_prepare_one(s, method) for s in spectra]
    prep_s = time.perf_counter() - start
    del spectra
    _fit_prepared(prepared[:50], method, 1, 4096)  # warm caches (component tables, operators)
    timings, cpu = {}, {}
    for jobs in (1, 2):
        start, start_cpu = time.perf_counter(), time.process_time()
        features, problems = _fit_prepared(prepared, method, jobs, 4096)
        timings[jobs] = time.perf_counter() - start
        cpu[jobs] = time.process_time() - start_cpu
    assert not problems, problems[:3]
    ok = within_target(truths, features["n_total_ppm"].to_numpy(), features["n_b_percent"].to_numpy())
    rate1, rate2 = N_FIT / timings[1], N_FIT / timings[2]
    print(f"unit conversion + resampling onto the common grid: {N_FIT / prep_s:,.0f} spectra/s (1 core)")
    print(f"batched fit, {N_FIT} spectra (wall clock): {rate1:,.0f} spectra/s on 1 thread, {rate2:,.0f} "
          f"spectra/s on 2 threads (target >= 5,000)")
    print(f"batched fit, CPU time: {N_FIT / cpu[1]:,.0f} spectra per CPU-second (1 thread), "
          f"{N_FIT / cpu[2]:,.0f} (2 threads); on 2 idle cores that is up to "
          f"{2 * N_FIT / cpu[2]:,.0f} spectra/s")
    print(f"batched fit accuracy: {ok.mean():.1%} of spectra within target (N 5% / 10 ppm, %B 3 points)")

    reference = SlsqpReference(method)
    subset = range(min(N_SLSQP, N_FIT))
    start, start_cpu = time.perf_counter(), time.process_time()
    slsqp = [reference.fit(prepared[i].y) for i in subset]  # type: ignore[union-attr]
    slsqp_s = time.perf_counter() - start
    slsqp_cpu = time.process_time() - start_cpu
    slsqp_rate = len(slsqp) / slsqp_s
    sub_truths = [truths[i] for i in subset]
    ok_slsqp = within_target(sub_truths, np.array([r["n_total_ppm"] for r in slsqp]),
                             np.array([r["n_b_percent"] for r in slsqp]))
    ok_batch = ok[: len(slsqp)]
    n_true = np.array([t.n_total_ppm for t in sub_truths])
    err_batch = np.median(np.abs(features["n_total_ppm"].to_numpy()[: len(slsqp)] - n_true))
    err_slsqp = np.median(np.abs(np.array([r["n_total_ppm"] for r in slsqp]) - n_true))
    print(f"per-spectrum SLSQP reference on {len(slsqp)} of the same spectra: {slsqp_rate:,.1f} spectra/s "
          f"(1 core)")
    print(f"speed ratio batched(2 threads) / SLSQP: {rate2 / slsqp_rate:,.0f}x (target >= 50x); "
          f"1 thread vs 1 core: {rate1 / slsqp_rate:,.0f}x; CPU time per spectrum: "
          f"{(cpu[1] / N_FIT) / (slsqp_cpu / len(slsqp)) * 100:.2f}% of SLSQP's "
          f"({(slsqp_cpu / len(slsqp)) / (cpu[1] / N_FIT):,.0f}x less)")
    print(f"accuracy on that subset: batched {ok_batch.mean():.1%} within target (median |N error| "
          f"{err_batch:.2f} ppm), SLSQP {ok_slsqp.mean():.1%} (median |N error| {err_slsqp:.2f} ppm)")


def bench_noise() -> None:
    method = FTIRMethod()
    print("\naccuracy against noise level (500 SYNTHETIC spectra each):")
    print(f"{'noise_sd (A)':>12} {'within target':>14} {'median |dN| ppm':>16} {'median |d%B|':>13} "
          f"{'noisy flag':>10}")
    for noise in (0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05):
        truths, spectra = make_set(500, noise, seed=int(noise * 1e5) + 7)
        prepared = [_prepare_one(s, method) for s in spectra]
        features, problems = _fit_prepared(prepared, method, 1, 4096)
        if problems:
            print(f"{noise:>12g}: {len(problems)} spectra refused (e.g. {problems[0].rule[:80]})")
            kept = list(features.index)
            truths = [truths[i] for i in kept]
        ok = within_target(truths, features["n_total_ppm"].to_numpy(), features["n_b_percent"].to_numpy())
        dn = np.abs(features["n_total_ppm"].to_numpy() - np.array([t.n_total_ppm for t in truths]))
        db = np.abs(features["n_b_percent"].to_numpy() - np.array([t.n_b_percent for t in truths]))
        noisy = features["flags"].str.contains("noisy").mean()
        print(f"{noise:>12g} {ok.mean():>14.1%} {np.median(dn):>16.2f} {np.nanmedian(db):>13.2f} "
              f"{noisy:>10.1%}")


def _write_jdx(path: Path, x: np.ndarray, y: np.ndarray) -> None:
    step = (x[-1] - x[0]) / (x.size - 1)
    lines = ["##TITLE=SYNTHETIC diamond FTIR spectrum", "##JCAMP-DX=4.24", "##DATA TYPE=INFRARED SPECTRUM",
             "##$SYNTHETIC=TRUE", "##XUNITS=1/CM", "##YUNITS=ABSORBANCE", "##XFACTOR=1", "##YFACTOR=1",
             f"##FIRSTX={x[0]:.10g}", f"##LASTX={x[-1]:.10g}", f"##DELTAX={step:.10g}",
             f"##NPOINTS={x.size}", "##XYDATA=(X++(Y..Y))"]
    for start in range(0, y.size, 8):
        lines.append(" ".join([f"{x[0] + start * step:.4f}", *(f"{v:.6g}" for v in y[start:start + 8])]))
    lines.append("##END=")
    path.write_text("\n".join(lines) + "\n")


def bench_cli() -> None:
    from footprint.ingest import read_spectrum

    print(f"\nfootprint ftir end to end over {N_FILES} SYNTHETIC JCAMP-DX files (400-4000 cm-1, 1.93 cm-1):")
    grid = np.arange(400.0, 4000.0, 1.9285)
    rng = np.random.default_rng(3)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for i in range(N_FILES):
            truth = random_truth(rng, TYPICAL_NOISE)
            x, a = simulate_from_truth(truth, rng=rng, x_cm1=grid)
            _write_jdx(folder / f"SYN{i:05d}.jdx", x[::-1], a[::-1])
        files = sorted(folder.glob("*.jdx"))
        n_reader = min(100, N_FILES)
        start = time.perf_counter()
        for path in files[:n_reader]:
            read_spectrum(path)
        reader_rate = n_reader / (time.perf_counter() - start)
        start, start_cpu = time.perf_counter(), time.process_time()
        features, problems, _ = analyse_files([folder], n_jobs=1)
        serial_wall = time.perf_counter() - start
        serial_cpu = time.process_time() - start_cpu
        assert not problems and len(features) == N_FILES
        start = time.perf_counter()
        features, problems, _ = analyse_files([folder], n_jobs=2)
        elapsed = time.perf_counter() - start
        assert not problems and len(features) == N_FILES
    rate = N_FILES / elapsed
    print(f"reader alone (footprint.ingest.read_spectrum, 1 process): {reader_rate:,.0f} files/s")
    print(f"footprint ftir pipeline, 1 process: {N_FILES / serial_wall:,.0f} files/s wall clock, "
          f"{N_FILES / serial_cpu:,.0f} files per CPU-second (so up to ~{2 * N_FILES / serial_cpu:,.0f} "
          "files/s on 2 idle cores)")
    print(f"footprint ftir pipeline, 2 worker processes (fit included): {rate:,.0f} files/s wall clock "
          f"(target >= 100), {rate / reader_rate:.2f}x the single-process reader")


def main() -> int:
    print(f"FTIR benchmark (SYNTHETIC data), {os.cpu_count()} CPU(s) visible, load average "
          f"{os.getloadavg()[0]:.1f} at start (wall-clock rates shrink when other work shares the cores)")
    bench_fit()
    bench_noise()
    bench_cli()
    print(f"load average at the end: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
