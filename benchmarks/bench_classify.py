"""Benchmark ``footprint classify`` at scale (``make bench``).

Figures printed (never asserted):

- stones/s of ``footprint classify`` on 1,000,000 stones in 40,000 parcels,
  with ``--jobs 1`` and ``--jobs 2``;
- the ratio against a baseline measured in the same run on the same rows:
  ``pandas.read_csv`` plus the model's raw ``predict_proba`` (feature
  transform + stone classifier, chunked so the baseline does not swap);
  target: classify within 2x of the baseline time;
- peak resident memory (the whole process tree, sampled every 50 ms) of
  classify on 1,000,000 and on 5,000,000 stones; target: the 5M peak within
  20 % of the 1M peak (memory must not grow with the file);
- CPU seconds (user + system, the whole process tree) of each classify run,
  against the baseline's own CPU seconds, and the 1-minute load average
  before and after it: the benchmark machine is often shared, and CPU
  seconds show the work done whatever else ran (the target is on wall time).

Targets (for reference): >= 50,000 stones/s on 2 cores.

The stones are SYNTHETIC: a pool of parcels from ``footprint.synth`` tiled
with fresh parcel and sample ids (25 stones per parcel). ``--quick`` runs
at a tenth of the sizes, for a smoke check; ``--throughput-only`` skips the 5M memory run.
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

FP = [str(Path(sys.executable).with_name("footprint"))]
LIGHT_CONFIG = {"max_iter": 60, "cv": 2, "novelty_n_null": 500, "tempering_parcels_per_lot": 1}


def build_model(work: Path) -> Path:
    from footprint import db
    from footprint.model import train
    from footprint.synth import generate_reference, load_params

    ref = generate_reference(load_params(), seed=1)
    csv = work / "reference.csv"
    with open(csv, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n")
        ref.to_csv(fh, index=False, lineterminator="\n")
    store = work / "reference.h5"
    db.init(store, by="bench")
    db.add(store, stones=csv, by="bench", n_jobs=1)
    train(store, out_dir=work / "model", config=LIGHT_CONFIG, seed=0)
    return work / "model"


def write_stones(path: Path, n_stones: int, per_parcel: int = 25) -> None:
    """Tile a pool of synthetic parcel stones into ``n_stones`` rows with fresh ids."""
    from footprint.synth import generate_parcels, load_params

    pool, _ = generate_parcels(load_params(), seed=7, n_parcels=300, size_range=(10, 60))
    body = pool.drop(columns=["parcel_id", "sample_id"])
    lines = body.to_csv(index=False, header=False, lineterminator="\n").splitlines()
    header = "parcel_id,sample_id," + ",".join(body.columns)
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n" + header + "\n")
        block = []
        for i in range(n_stones):
            block.append(f"P{i // per_parcel:08d},S{i:09d},{lines[i % len(lines)]}\n")
            if len(block) == 100_000:
                fh.write("".join(block))
                block = []
        fh.write("".join(block))


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_measured(cmd: list[str]) -> tuple[float, float, int, float]:
    """Run ``cmd``; return wall seconds, peak RSS of the process tree (MiB), exit code, CPU seconds.

    CPU seconds count the command and every worker it waited for (user + system).
    """
    cpu0 = _children_cpu()
    start = time.perf_counter()
    proc = psutil.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak = 0
    while proc.poll() is None:
        try:
            procs = [proc, *proc.children(recursive=True)]
            rss = 0
            for p in procs:
                try:
                    rss += p.memory_info().rss
                except psutil.Error:
                    pass
            peak = max(peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.05)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode() if proc.stderr else ""
    if proc.returncode not in (0, 6):
        print(err, file=sys.stderr)
    return elapsed, peak / 2**20, proc.returncode, _children_cpu() - cpu0


def load() -> str:
    """The 1-minute load average (how busy the machine was)."""
    return f"{os.getloadavg()[0]:.2f}"


def baseline(model_dir: Path, stones: Path) -> tuple[float, float]:
    """Wall and CPU seconds of pandas.read_csv plus the model's raw predict_proba on the rows (chunked)."""
    import pandas as pd

    from footprint.model import FootprintModel

    model = FootprintModel.load(model_dir)
    start, cpu = time.perf_counter(), time.process_time()
    for frame in pd.read_csv(stones, skiprows=1, chunksize=100_000):
        X = model.features.transform(frame)
        model.classifier.predict_proba(X)
    return time.perf_counter() - start, time.process_time() - cpu


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tenth of the sizes")
    parser.add_argument("--throughput-only", action="store_true",
                        help="only the 1,000,000-stone runs (no 5,000,000-stone memory run)")
    args = parser.parse_args()
    scale = 10 if args.quick else 1
    n1, n5 = 1_000_000 // scale, 5_000_000 // scale
    with tempfile.TemporaryDirectory(prefix="bench-classify-") as tmp:
        work = Path(tmp)
        t = time.perf_counter()
        model = build_model(work)
        print(f"setup: synthetic store + model in {time.perf_counter() - t:.1f} s", flush=True)
        small, large = work / "stones_1.csv", work / "stones_5.csv"
        t = time.perf_counter()
        write_stones(small, n1)
        print(
            f"setup: {n1:,} stones ({small.stat().st_size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - t:.1f} s",
            flush=True,
        )

        before = load()
        base, base_cpu = baseline(model, small)
        print(
            f"baseline  read_csv + predict_proba: {base:7.1f} s  {n1 / base:10,.0f} stones/s  "
            f"CPU {base_cpu:5.1f} s  (load average {before} -> {load()})",
            flush=True,
        )
        results = {}
        for jobs in (1, 2):
            out = work / f"out_{jobs}.csv"
            before = load()
            elapsed, peak, code, cpu = run_measured(
                [*FP, "classify", str(model), str(small), "--out", str(out), "--jobs", str(jobs), "--quiet"]
            )
            results[jobs] = (elapsed, peak)
            print(
                f"classify --jobs {jobs}: {elapsed:7.1f} s  {n1 / elapsed:10,.0f} stones/s  "
                f"ratio to baseline {elapsed / base:4.2f}x  peak RSS {peak:6.0f} MiB  "
                f"CPU {cpu:5.1f} s ({cpu / base_cpu:4.2f}x the baseline's)  "
                f"(exit {code}; load average {before} -> {load()})",
                flush=True,
            )
        same = (work / "out_1.csv").read_bytes() == (work / "out_2.csv").read_bytes()
        print(f"--jobs 1 and --jobs 2 outputs identical: {same}")
        if args.throughput_only:
            print(f"summary: stones/s jobs2={n1 / results[2][0]:,.0f} (target >= 50,000); ratio to baseline "
                  f"jobs1={results[1][0] / base:.2f}x jobs2={results[2][0] / base:.2f}x (target <= 2); "
                  f"cores={os.cpu_count()}")
            return 0

        t = time.perf_counter()
        write_stones(large, n5)
        print(
            f"setup: {n5:,} stones ({large.stat().st_size / 2**20:.0f} MiB) in "
            f"{time.perf_counter() - t:.1f} s",
            flush=True,
        )
        small.unlink()
        before = load()
        elapsed, peak5, code, cpu = run_measured(
            [
                *FP,
                "classify",
                str(model),
                str(large),
                "--out",
                str(work / "out_5.csv"),
                "--jobs",
                "2",
                "--quiet",
            ]
        )
        peak1 = results[2][1]
        print(
            f"classify --jobs 2 on {n5:,}: {elapsed:7.1f} s  {n5 / elapsed:10,.0f} stones/s  "
            f"peak RSS {peak5:6.0f} MiB  CPU {cpu:5.1f} s  (exit {code}; load average {before} -> {load()})"
        )
        print(f"peak memory {n5:,} / {n1:,} stones: {peak5 / peak1:4.2f} (target <= 1.20)")
        print(
            f"summary: stones/s jobs2={n1 / results[2][0]:,.0f} (target >= 50,000); "
            f"ratio to baseline jobs1={results[1][0] / base:.2f}x jobs2={results[2][0] / base:.2f}x "
            f"(target <= 2); memory ratio={peak5 / peak1:.2f} (target <= 1.20); cores={os.cpu_count()}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
