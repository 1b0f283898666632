"""Reference-store benchmark: adding stones and FTIR spectra, reading stones back.

Every figure is a ratio against a plain baseline measured in the same run, on
the same generated (SYNTHETIC) files:

* stones: ``footprint db add --stones`` (ingest validation of every cell,
  versioning, atomic commit) against ``pandas.read_csv`` + one h5py write of
  the same columns; target within 3x.
* spectra: ``footprint db add --spectra`` (parallel JCAMP-DX parsing, raw bytes
  kept, resampling to the common grid, FTIR feature derivation, atomic commit)
  against reading the same files with the ``jcamp`` package in one process +
  one h5py write of the parsed arrays; target no slower (ratio <= 1).
* read-back: ``ReferenceStore.stones()`` (typed DataFrame of the current
  records) against one raw h5py read of the baseline's columns; target within
  1.5x.

Sizes: 100,000 stones and 10,000 spectra of 1,801 points; override with the
environment variables FOOTPRINT_BENCH_STONES and FOOTPRINT_BENCH_SPECTRA.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

N_STONES = int(os.environ.get("FOOTPRINT_BENCH_STONES", 100_000))
N_SPECTRA = int(os.environ.get("FOOTPRINT_BENCH_SPECTRA", 10_000))
GRID = np.arange(400.0, 4000.0 + 1e-9, 2.0)  # 1,801 points, as the FTIR instruments of the labs give


def make_stones(path: Path, n: int, rng: np.random.Generator) -> None:
    """Write a SYNTHETIC stone table with the schema's columns and realistic gaps."""
    sites = np.array(["Berberati", "Carnot", "Nola", "Bria", "Sam-Ouandja", "Ouadda"])
    site = sites[rng.integers(0, sites.size, n)]
    zone = np.where(np.isin(site, ["Bria", "Sam-Ouandja", "Ouadda"]), "CAR-East", "CAR-West")

    def maybe(values: np.ndarray, missing: float) -> np.ndarray:
        out = values.astype(object)
        out[rng.random(n) < missing] = ""
        return out

    mass = np.round(rng.lognormal(-1.5, 0.8, n), 4)
    n_total = np.round(rng.lognormal(5.5, 0.8, n), 1)
    frame = pd.DataFrame({
        "sample_id": [f"B{i:07d}" for i in range(n)],
        "zone": zone, "site": site, "country": "CAF",
        "lot_id": [f"{s[:3].upper()}-{k:03d}" for s, k in zip(site, rng.integers(0, 200, n), strict=True)],
        "collected_on": "2023-05-17",
        "lab": "Mintek",
        "cleaning_state": rng.choice(["unwashed", "acid_rinsed", "acid_boiled"], n),
        "mass_ct": mass,
        "sieve_class": maybe(np.array([f"+{k}" for k in rng.integers(1, 20, n)]), 0.3),
        "colour": maybe(rng.choice(["colourless", "light_yellow", "yellow", "brown", "grey"], n), 0.1),
        "morphology": maybe(rng.choice(["octahedron", "dodecahedron", "macle", "irregular"], n), 0.1),
        "quality": maybe(rng.choice(["gem", "near_gem", "industrial"], n), 0.1),
        "resorption": maybe(rng.integers(0, 4, n), 0.2),
        "abrasion": maybe(rng.integers(0, 4, n), 0.2),
        "radiation_spots": maybe(rng.choice(["none", "green", "brown"], n), 0.3),
        "coating": maybe(rng.choice(["true", "false"], n), 0.5),
        "fluorescence": maybe(rng.choice(["none", "blue", "yellow"], n), 0.5),
        "n_total_ppm": maybe(n_total, 0.7),
        "n_b_percent": maybe(np.round(rng.uniform(0, 100, n), 1), 0.7),
        "d13c_permil": maybe(np.round(rng.normal(-5, 2, n), 2), 0.9),
        "notes": "SYNTHETIC",
    })
    with path.open("w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC benchmark data\n")
        frame.to_csv(fh, index=False)


def write_jcamp(path: Path, sample_id: str, y: np.ndarray) -> None:
    """A plain AFFN JCAMP-DX 4.24 absorbance file on GRID, X descending as instruments write."""
    x, yd = GRID[::-1], y[::-1]
    head = (f"##TITLE={sample_id}\n##JCAMP-DX=4.24\n##DATA TYPE=INFRARED SPECTRUM\n"
            "##ORIGIN=footprint benchmark SYNTHETIC\n##OWNER=public domain\n##$SYNTHETIC=TRUE\n"
            "##XUNITS=1/CM\n##YUNITS=ABSORBANCE\n##XFACTOR=1.0\n##YFACTOR=1.0\n"
            f"##FIRSTX={x[0]:.1f}\n##LASTX={x[-1]:.1f}\n##DELTAX=-2.0\n##NPOINTS={x.size}\n"
            f"##FIRSTY={yd[0]:.6f}\n##XYDATA=(X++(Y..Y))\n")
    text = "\n".join(f"{x[i]:.1f} " + " ".join(f"{v:.6f}" for v in yd[i:i + 8]) for i in range(0, x.size, 8))
    path.write_text(head + text + "\n##END=\n", encoding="ascii")


def make_spectra(folder: Path, ids: list[str], rng: np.random.Generator) -> None:
    """SYNTHETIC FTIR spectra from the forward model (a pool of shapes, each file with its own noise)."""
    from footprint.spectra import simulate_ftir

    folder.mkdir()
    pool = [np.asarray(simulate_ftir(rng.uniform(20, 800), rng.uniform(0, 600), rng=k, x_cm1=GRID)[1])
            for k in range(100)]
    for k, sid in enumerate(ids):
        y = pool[k % len(pool)] * rng.uniform(0.8, 1.2) + rng.normal(0, 0.002, GRID.size)
        write_jcamp(folder / f"{sid}.jdx", sid, y)


def baseline_stones(csv: Path, out: Path) -> float:
    start = time.perf_counter()
    frame = pd.read_csv(csv, comment="#")
    with h5py.File(out, "w") as fh:
        for col in frame.columns:
            values = frame[col]
            if pd.api.types.is_numeric_dtype(values):
                fh.create_dataset(col, data=values.to_numpy(dtype=np.float64, na_value=np.nan))
            else:
                fh.create_dataset(col, data=values.fillna("").astype(str).to_numpy(dtype=object),
                                  dtype=h5py.string_dtype())
    return time.perf_counter() - start


def baseline_read(path: Path) -> float:
    start = time.perf_counter()
    with h5py.File(path, "r") as fh:
        columns = {name: fh[name][()] for name in fh}
    assert len(columns)
    return time.perf_counter() - start


def baseline_spectra(folder: Path, out: Path) -> float:
    import jcamp

    start = time.perf_counter()
    xs, ys = [], []
    for file in sorted(folder.iterdir()):
        data = jcamp.readfile(str(file))
        xs.append(np.asarray(data["x"], dtype=np.float64))
        ys.append(np.asarray(data["y"], dtype=np.float64))
    with h5py.File(out, "w") as fh:
        fh.create_dataset("x", data=np.stack(xs))
        fh.create_dataset("y", data=np.stack(ys))
    return time.perf_counter() - start


def instrument(timings: dict[str, float]) -> None:
    """Time the three stages db.add runs: ingest, FTIR derivation, commit."""
    import footprint.ingest as ingest
    import footprint.spectra as spectra
    from footprint.store import ReferenceStore

    def timed(owner, name, label):
        original = getattr(owner, name)

        def wrapper(*args, **kwargs):
            start = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                timings[label] += time.perf_counter() - start

        setattr(owner, name, wrapper)

    timed(ingest, "build_batch", "ingest (read + validate)")
    timed(spectra, "derive_ftir_features", "FTIR feature derivation")
    timed(ReferenceStore, "commit", "store commit")


def line(label: str, ours: float, base: float, target: float, note: str) -> str:
    ratio = ours / base
    verdict = "meets target" if ratio <= target else "MISSES target"
    return (f"{label:<26} footprint {ours:8.2f} s   baseline {base:8.2f} s   ratio {ratio:5.2f}x   "
            f"target <= {target:g}x ({verdict})  [{note}]")


def main() -> int:
    from footprint import db
    from footprint.store import ReferenceStore

    rng = np.random.default_rng(7)
    results = []
    with tempfile.TemporaryDirectory(prefix="bench_store_") as tmp:
        tmp_path = Path(tmp)
        csv = tmp_path / "stones.csv"
        print(f"generating {N_STONES} SYNTHETIC stones and {N_SPECTRA} SYNTHETIC JCAMP-DX spectra ...",
              file=sys.stderr, flush=True)
        make_stones(csv, N_STONES, rng)
        spectra_dir = tmp_path / "spectra"
        make_spectra(spectra_dir, [f"B{i:07d}" for i in range(min(N_SPECTRA, N_STONES))], rng)

        timings: dict[str, float] = defaultdict(float)
        instrument(timings)

        # stones ---------------------------------------------------------------
        base_h5 = tmp_path / "baseline_stones.h5"
        base_stones = baseline_stones(csv, base_h5)
        store = tmp_path / "ref.h5"
        db.init(store)
        start = time.perf_counter()
        report = db.add(store, stones=csv, by="benchmark")
        ours_stones = time.perf_counter() - start
        assert report.added == N_STONES, report.to_dict()
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
        results.append(line(f"add {N_STONES} stones", ours_stones, base_stones, 3.0, parts))
        timings.clear()

        # read-back ------------------------------------------------------------
        base_read = min(baseline_read(base_h5) for _ in range(3))
        ours_read = float("inf")
        for _ in range(3):
            start = time.perf_counter()
            with ReferenceStore.open(store) as st:
                frame = st.stones()
            ours_read = min(ours_read, time.perf_counter() - start)
        assert len(frame) == N_STONES
        results.append(line("read stones back", ours_read, base_read, 1.5,
                            "typed DataFrame of current records vs raw column arrays; best of 3"))

        # spectra --------------------------------------------------------------
        base_spec = baseline_spectra(spectra_dir, tmp_path / "baseline_spectra.h5")
        start = time.perf_counter()
        report = db.add(store, spectra=spectra_dir, kind="ftir", by="benchmark")
        ours_spec = time.perf_counter() - start
        assert report.spectra_read == min(N_SPECTRA, N_STONES), report.to_dict()
        parts = ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
        results.append(line(f"add {N_SPECTRA} FTIR spectra", ours_spec, base_spec, 1.0,
                            f"{os.cpu_count()} cores; {parts}"))
        with ReferenceStore.open(store) as st:
            st.verify()
        size_mb = store.stat().st_size / 1e6
    print("\n".join(results))
    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"machine: {os.cpu_count()} cores, load average (1, 5, 15 min) at the end: {load} "
          "(a shared machine slows the parallel parse most)")
    print(f"store file after both batches: {size_mb:.0f} MB (raw bytes, parsed and resampled spectra, "
          "derived features, gzip level 1)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
