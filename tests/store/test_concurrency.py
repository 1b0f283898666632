"""Atomic commits under SIGKILL, two writers, and readers during commits.

Writers run in forked children (fast to start: the parent has already imported
everything) that report on a pipe: ``begin I`` before a commit and ``done I``
after it returned, so the parent knows exactly which batches committed.
"""

from __future__ import annotations

import os
import random
import signal
import time

import numpy as np
import pandas as pd
import pytest

import footprint.store._store as store_module
import footprint.spectra  # noqa: F401  (imported before forking, as the writer needs it)
from footprint._batch import Batch, SourceFile
from footprint.store import ReferenceStore
from footprint._types import Spectrum
from footprint.exceptions import StoreLockedError


def make_batch(prefix: str, i: int, n: int) -> Batch:
    ids = [f"{prefix}-{i}-{k}" for k in range(n)]
    stones = pd.DataFrame({"sample_id": ids, "zone": ["CAR-West"] * n,
                           "mass_ct": np.linspace(0.1, 2.0, n), "notes": [f"batch {i}"] * n})
    x = np.arange(4000.0, 399.0, -2.0)
    spectra = [Spectrum(x=x, y=np.full(x.size, 0.01 * k), x_unit="1/cm", y_unit="absorbance",
                        kind="ftir", source=f"{sid}.jdx", raw=f"raw {sid}".encode(), sample_id=sid)
               for k, sid in enumerate(ids[:3])]
    return Batch(stones=stones, spectra=spectra, by="crash-test",
                 sources=[SourceFile(f"{prefix}-{i}.csv", "0" * 64, "stones", n)])


def batch_ids(prefix: str, i: int, n: int) -> set[str]:
    return {f"{prefix}-{i}-{k}" for k in range(n)}


class Writer:
    """A forked writer: commits ``n_batches`` batches, optionally holding the lock first."""

    def __init__(self, path, prefix, n_batches, per_batch, hold=0.0):
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # child: never return into pytest
            code = 1
            try:
                os.close(read_fd)
                out = os.fdopen(write_fd, "w", buffering=1)
                with ReferenceStore.open(path, "a", lock_timeout=30) as store:
                    out.write("locked\n")
                    time.sleep(hold)
                    for i in range(n_batches):
                        out.write(f"begin {i}\n")
                        store.commit(make_batch(prefix, i, per_batch))
                        out.write(f"done {i}\n")
                code = 0
            finally:
                os._exit(code)
        os.close(write_fd)
        self.pid = pid
        self.pipe = os.fdopen(read_fd, "r")
        self.lines: list[str] = []

    def wait_for(self, word):
        for line in self.pipe:
            self.lines.append(line.strip())
            if line.strip() == word:
                return
        raise AssertionError(f"writer ended before '{word}'")

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)
        return self.join()

    def join(self):
        _, status = os.waitpid(self.pid, 0)
        self.lines += [line.strip() for line in self.pipe]
        self.pipe.close()
        return status

    def numbers(self, word):
        return {int(line.split()[1]) for line in self.lines if line.startswith(word + " ")}


@pytest.mark.slow
def test_sigkill_at_random_moments_never_loses_or_half_writes_a_batch(store_path):
    rng = random.Random(20240611)
    per_batch = 60
    expected: set[str] = set()
    kills_mid_commit = 0
    rounds = 25
    for round_no in range(rounds):
        prefix = f"K{round_no}"
        writer = Writer(store_path, prefix, 10_000, per_batch)
        writer.wait_for("locked")
        time.sleep(rng.uniform(0.02, 0.6))
        writer.kill()
        done, begun = writer.numbers("done"), writer.numbers("begin")
        in_flight = begun - done
        kills_mid_commit += bool(in_flight)
        with ReferenceStore.open(store_path) as store:
            store.verify()  # the file opens and verifies after every kill
            ids = set(store.stones()["sample_id"])
        for i in done:
            expected |= batch_ids(prefix, i, per_batch)
        extra = ids - expected
        # The only thing allowed beyond the reported commits is the whole in-flight batch,
        # when the kill came after the rename but before the child could say "done".
        if extra:
            assert len(in_flight) == 1
            assert extra == batch_ids(prefix, next(iter(in_flight)), per_batch)
            expected |= extra
        assert ids == expected, "a committed batch was lost"
    # the writer loops forever, so nearly every kill lands inside a commit (the instants between
    # "done" and the next "begin" are the only exceptions)
    assert kills_mid_commit >= rounds - 3
    assert len(expected) > 5 * per_batch  # and many batches did commit
    with ReferenceStore.open(store_path, "a") as store:  # the next writer cleans up after the dead
        store.verify()
    assert not list(store_path.parent.glob(f".{store_path.name}.tmp-*"))


def test_second_writer_waits_then_succeeds_or_times_out(store_path, mk):
    holder = Writer(store_path, "H", 1, 5, hold=1.5)
    holder.wait_for("locked")
    start = time.monotonic()
    with pytest.raises(StoreLockedError) as err:
        ReferenceStore.open(store_path, "a", lock_timeout=0.2)
    assert time.monotonic() - start < 1.4
    assert f"pid {holder.pid}" in str(err.value)  # names the holder
    with ReferenceStore.open(store_path, "a", lock_timeout=30) as store:  # waits for the holder
        waited = time.monotonic() - start
        store.commit(mk.batch(mk.stones(["SECOND"])))
        ids = set(store.stones()["sample_id"])
    assert holder.join() == 0
    assert waited > 1.0
    assert ids == batch_ids("H", 0, 5) | {"SECOND"}


def test_reader_during_a_commit_sees_the_state_before(store_path, mk, monkeypatch):
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A", "B"])))
    seen = {}
    real_write = store_module._write_plan

    def write_then_peek(fh, *args, **kwargs):
        real_write(fh, *args, **kwargs)  # the batch is fully written into the private copy...
        with ReferenceStore.open(store_path) as reader:  # ...and a reader opens the live file
            seen["ids"] = set(reader.stones()["sample_id"])
            seen["audit"] = len(reader.audit_log())

    monkeypatch.setattr(store_module, "_write_plan", write_then_peek)
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["C", "D", "E"])))
    assert seen == {"ids": {"A", "B"}, "audit": 2}
    with ReferenceStore.open(store_path) as reader:
        assert set(reader.stones()["sample_id"]) == {"A", "B", "C", "D", "E"}


def test_readers_polling_a_busy_writer_see_only_whole_batches(store_path):
    per_batch = 40
    writer = Writer(store_path, "R", 8, per_batch)
    observed = []
    try:
        while True:
            pid, status = os.waitpid(writer.pid, os.WNOHANG)
            with ReferenceStore.open(store_path) as reader:
                stones = reader.stones()
                audit = reader.audit_log()
            observed.append(len(stones))
            batches = {sid.rsplit("-", 1)[0] for sid in stones["sample_id"]}
            assert len(stones) == per_batch * len(batches)  # never part of a batch
            assert len(audit) == 1 + len(batches)
            if pid:
                assert status == 0, "the writer failed"
                break
    finally:
        writer.pipe.close()
    assert observed[-1] == 8 * per_batch
    assert len(set(observed)) >= 3  # the readers really ran while batches landed


def test_interrupted_commit_leaves_the_store_and_no_temp_file(store_path, mk, monkeypatch):
    with ReferenceStore.open(store_path, "a") as store:
        store.commit(mk.batch(mk.stones(["A"])))
    before = store_path.read_bytes()

    def crash(*args):
        raise KeyboardInterrupt  # stands for anything that stops the writer before the rename

    monkeypatch.setattr(store_module.os, "replace", crash)
    with ReferenceStore.open(store_path, "a") as store, pytest.raises(KeyboardInterrupt):
        store.commit(mk.batch(mk.stones(["B"])))
    assert store_path.read_bytes() == before
    assert not list(store_path.parent.glob(f".{store_path.name}.tmp-*"))
