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


# -- the newer readers: assortments, KP statistics, certificates, price books ---------------------------
# Fewer examples each (they read whole tables); the same rule: a result or a FootprintError.

FUZZ_SMALL = settings(FUZZ, max_examples=30)

ASSORTMENT = (b"# SYNTHETIC\nparcel_id,size_class,quality,colour,n_stones,carats\n"
              b"A,dtc:+11,gem,colourless,100,18\nB,gr:4,gem,colourless,10,10\n"
              b"B,mm:2.50,near_gem,brown,40,3.5\n")
TRADE = (b"participant,period,flow,partner,carats,value_usd,certificates\n"
         b"CAF,2020-Q1,export,ARE,100,20000,2\nARE,2020-Q1,import,CAF,100,20000,2\n"
         b"BEL;2020-Q2;import;CAF;5;6;1\n")
PRODUCTION = (b"participant,period,carats,value_usd\nCAF,2020-H1,100,20000\nCAF,2020-H2,120,21000\n"
              b"BWA,2020,5,6\n")
CERTIFICATES = ("kp_certificate,issued_on,expires_on,exporter,importer_country,hs_code,carats,n_stones,"
                "value_usd,declared_origin,parcel_id\n"
                "CF-1,2024-01-10,2024-03-10,Comptoir Bérbérati,BE,7102.10,10.5,20,2000,Berberati,P1\n"
                "CF-2,2024-01-12,2024-03-12,Comptoir B,AE,7102.21,3,9,600,Nola,P2\n").encode()
PRICE_BOOK = (b"# SYNTHETIC\nsize_class,quality,colour,usd_per_ct,low,high,effective_from\n"
              b"dtc:+11,gem,colourless,300,250,350,2024-01-01\ngr:4,near_gem,*,120,,,\n")


def _read_file(reader, data: bytes, name: str, **kwargs) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        _survives(reader, path, **kwargs)


@FUZZ_SMALL
@given(data=_damaged(ASSORTMENT))
def test_assortment_files(data: bytes) -> None:
    from footprint.ingest import read_assortment

    _read_file(read_assortment, data, "assortment.csv")


@FUZZ_SMALL
@given(trade=_damaged(TRADE), production=_damaged(PRODUCTION))
def test_kp_statistics_files(trade: bytes, production: bytes) -> None:
    from footprint.stats import read_production, read_trade

    _read_file(read_trade, trade, "TRADE.csv")
    _read_file(read_production, production, "PROD.csv")


@FUZZ_SMALL
@given(data=_damaged(CERTIFICATES))
def test_certificate_files(data: bytes) -> None:
    from footprint.review import read_certificates

    _read_file(read_certificates, data, "certificates.csv")


@FUZZ_SMALL
@given(data=_damaged(PRICE_BOOK))
def test_price_books(data: bytes) -> None:
    from footprint.valuation import read_price_book

    _read_file(read_price_book, data, "book.csv")


def _frames_equal(a, b) -> bool:
    import pandas as pd

    if isinstance(a, pd.DataFrame):
        return a.equals(b)
    if hasattr(a, "records"):  # review certificates: checked records (the file's hash differs, of course)
        return bool(a.records == b.records and a.synthetic == b.synthetic)
    return bool(a.rows.equals(b.rows) and a.synthetic == b.synthetic)  # a price book


@pytest.mark.parametrize(("reader", "data", "valid"), [
    ("footprint.ingest:read_assortment", ASSORTMENT, ASSORTMENT),
    ("footprint.stats:read_trade", TRADE, TRADE.replace(b"BEL;2020-Q2;import;CAF;5;6;1\n", b"")),
    ("footprint.stats:read_production", PRODUCTION, PRODUCTION),
    ("footprint.review:read_certificates", CERTIFICATES, CERTIFICATES),
    ("footprint.valuation:read_price_book", PRICE_BOOK, PRICE_BOOK),
], ids=["assortment", "trade", "production", "certificates", "price-book"])
@pytest.mark.parametrize("encoding", ["utf-16", "utf-8-sig", "cp1252"])
def test_newer_readers_read_excel_encodings_like_utf8(reader: str, data: bytes, valid: bytes, encoding: str,
                                                      tmp_path: Path) -> None:
    """UTF-16 (Excel's "Unicode text"), a BOM, or Windows-1252 read exactly as the UTF-8 file."""
    import importlib

    module, name = reader.split(":")
    read = getattr(importlib.import_module(module), name)
    (tmp_path / "a.csv").write_bytes(valid)
    (tmp_path / "b.csv").write_bytes(valid.decode("utf-8").encode(encoding))
    assert _frames_equal(read(tmp_path / "a.csv"), read(tmp_path / "b.csv"))
