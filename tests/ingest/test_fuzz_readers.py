"""Fuzzing the readers (issue 11): random bytes, truncations and mutations of real files.

Every reader must either return a result or raise one of footprint's own
errors (:class:`~footprint.exceptions.FootprintError`); anything else (a
``csv.Error``, ``UnicodeDecodeError``, ``IndexError``...) would reach the
user as a traceback, and fails the test. Examples are bounded so the file
runs in seconds.
"""

from __future__ import annotations

import io
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from footprint.exceptions import FootprintError
from footprint.ingest import read_images, read_spectra, read_spectrum, read_stones_bytes, read_stones_table

sys.path.insert(0, str(Path(__file__).parent))
from conftest import jcamp_text, test_ordinates  # noqa: E402

FUZZ = settings(max_examples=60, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

STONES = (
    "# SYNTHETIC\n"
    "sample_id,zone,site,lot_id,mass_ct,colour,morphology,n_total_ppm,n_b_percent,notes\n"
    "S1,CAR-West,Berbérati,L1,0.52,colourless,octahedron,120.5,30,first stone\n"
    "S2,CAR-East,Ndélé,L2,1.10,brown,dodecahedron,,,\"comma, in notes\"\n"
    "S3,CAR-West,Nola,L3,0.25,yellow,macle,800,55,\n"
).encode()
PARCEL_STONES = (b"sample_id,parcel_id,mass_ct,colour\nS1,P1,0.5,brown\nS2,P1,0.7,yellow\n"
                 b"S3,P2,0.2,colourless\n")
CSV_SPECTRUM = ("wavenumber (cm-1),absorbance\n" + "".join(
    f"{4000 - 2 * k},{0.1 + 0.001 * k:.4f}\n" for k in range(60))).encode("utf-8")
WIDE_SPECTRA = ("sample_id," + ",".join(str(4000 - 10 * k) for k in range(30)) + "\n"
                + "".join(f"A{i}," + ",".join(f"{0.1 * i + 0.01 * k:.3f}" for k in range(30)) + "\n"
                          for i in range(1, 4))).encode("utf-8")
JCAMP = jcamp_text(test_ordinates()[:80], form="difdup").encode("ascii")


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (200, 180, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (32, 24), (20, 180, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def _xlsx() -> bytes:
    import pandas as pd

    buffer = io.BytesIO()
    pd.read_csv(io.BytesIO(STONES), comment="#").to_excel(buffer, index=False)
    return buffer.getvalue()


def _damaged(seed: bytes) -> st.SearchStrategy[bytes]:
    """Random bytes, truncations of ``seed``, and ``seed`` with a few bytes changed or inserted."""
    truncation = st.integers(0, len(seed)).map(lambda n: seed[:n])
    mutation = st.lists(st.tuples(st.integers(0, len(seed) - 1), st.binary(min_size=1, max_size=3)),
                        min_size=1, max_size=6).map(lambda edits: _apply(seed, edits))
    return st.one_of(st.binary(max_size=400), truncation, mutation)


def _apply(seed: bytes, edits: list[tuple[int, bytes]]) -> bytes:
    data = bytearray(seed)
    for pos, new in edits:
        data[pos:pos + (len(new) % 2)] = new  # replace one byte or insert, alternately
    return bytes(data)


def _survives(call, *args, **kwargs) -> None:
    try:
        call(*args, **kwargs)
    except FootprintError:
        pass


@FUZZ
@given(data=_damaged(STONES))
def test_stone_tables(data: bytes) -> None:
    _survives(read_stones_bytes, data, name="stones.csv")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stones.csv"
        path.write_bytes(data)
        _survives(read_stones_table, path)


@FUZZ
@given(data=_damaged(PARCEL_STONES))
def test_parcel_stone_tables(data: bytes) -> None:
    _survives(read_stones_bytes, data, name="parcel_stones.csv", reference=False, keep_columns=("parcel_id",))


@FUZZ
@given(data=_damaged(_xlsx()))
def test_xlsx_workbooks(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "stones.xlsx"
        path.write_bytes(data)
        _survives(read_stones_table, path)


@FUZZ
@given(data=_damaged(JCAMP))
def test_jcamp_spectra(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "S1_top.jdx"
        path.write_bytes(data)
        _survives(read_spectrum, path, kind="ftir")


@FUZZ
@given(data=_damaged(CSV_SPECTRUM), wide=_damaged(WIDE_SPECTRA))
def test_csv_spectra(data: bytes, wide: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "S1_top.csv"
        path.write_bytes(data)
        _survives(read_spectrum, path, kind="ftir")
        path.write_bytes(wide)
        _survives(read_spectra, path, kind="ftir", n_jobs=1)


@FUZZ
@given(data=st.one_of(st.binary(max_size=300), _damaged(b"sample_id,file\nS1,S1_top.jdx\nS2,missing.jdx\n")))
def test_spectra_manifests(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "S1_top.jdx").write_bytes(JCAMP)
        manifest = Path(tmp) / "manifest.csv"
        manifest.write_bytes(data)
        _survives(read_spectra, Path(tmp), kind="ftir", manifest=manifest, n_jobs=1)


@FUZZ
@given(png=_damaged(_png()), jpeg=_damaged(_jpeg()))
def test_images(png: bytes, jpeg: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "S1_top.png").write_bytes(png)
        (Path(tmp) / "S2_top.jpg").write_bytes(jpeg)
        try:
            read_images(tmp)
        except FootprintError as exc:
            assert "object at 0x" not in str(exc)  # issue 11 case 10: no BytesIO repr in messages


def test_image_error_names_no_buffer(tmp_path) -> None:
    (tmp_path / "S1_top.png").write_bytes(b"definitely not an image")
    with pytest.raises(FootprintError) as info:
        read_images(tmp_path)
    assert "S1_top.png" in str(info.value) and "object at 0x" not in str(info.value)


def test_random_binary_stones_never_raise_csv_error() -> None:
    """Issue 11 case 5: random binary files as --stones gave `_csv.Error` about one time in three."""
    import random

    rng = random.Random(11)
    for _ in range(200):
        data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 300)))
        _survives(read_stones_bytes, data, name="junk.csv")


PARCELS = (b"parcel_id,declared_zone,kp_certificate,exporter,declared_value_usd,cleaning_state\n"
           b"P1,CAR-West,CF-2024-00001,Comptoir A,12000,acid_rinsed\nP2,CAR-East,,,,unwashed\n")


@FUZZ
@given(data=_damaged(PARCELS))
def test_parcels_files(data: bytes) -> None:
    from footprint.ingest import read_parcels

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "parcels.csv"
        path.write_bytes(data)
        _survives(read_parcels, path, ["CAR-East", "CAR-West"])


def test_utf16_parcels_file_reads_like_utf8(tmp_path) -> None:
    from footprint.ingest import read_parcels

    (tmp_path / "a.csv").write_bytes(PARCELS)
    (tmp_path / "b.csv").write_bytes(PARCELS.decode().encode("utf-16"))
    a = read_parcels(tmp_path / "a.csv", ["CAR-East", "CAR-West"])
    b = read_parcels(tmp_path / "b.csv", ["CAR-East", "CAR-West"])
    assert a.equals(b)
