"""Fixtures and small writers for the ingest tests.

The JCAMP-DX *encoder* here exists only to build test files in every
compression form from known integers (the ground truth the decoder must give
back); the package itself never encodes or decodes JCAMP-DX numbers.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

HERE = Path(__file__).parent
BAD = HERE / "data" / "bad"

_SQZ_POS = "@ABCDEFGHI"
_SQZ_NEG = "@abcdefghi"
_DIF_POS = "%JKLMNOPQR"
_DIF_NEG = "%jklmnopqr"
_DUP = "STUVWXYZs"


def _sqz(v: int) -> str:
    s = str(abs(v))
    return (_SQZ_NEG if v < 0 else _SQZ_POS)[int(s[0])] + s[1:]


def _dif(d: int) -> str:
    s = str(abs(d))
    return (_DIF_NEG if d < 0 else _DIF_POS)[int(s[0])] + s[1:]


def _dup(n: int) -> str:
    s = str(n)
    return _DUP[int(s[0]) - 1] + s[1:]


def _with_dup(tokens: list[str]) -> str:
    out, i = [], 0
    while i < len(tokens):
        j = i
        while j + 1 < len(tokens) and tokens[j + 1] == tokens[i]:
            j += 1
        run = j - i + 1
        out.append(tokens[i] + (_dup(run) if run > 1 else ""))
        i = j + 1
    return "".join(out)


def encode_xydata(y: list[int], x: list[int], form: str, per_line: int = 10) -> list[str]:
    """Encode integer ordinates as (X++(Y..Y)) lines in one JCAMP-DX form.

    form: affn | pac | sqz | dif | difdup | sqzdup.
    """
    lines = []
    if form in ("dif", "difdup"):
        # DIF lines: first value SQZ, then differences; the next line starts by
        # repeating the previous line's last value (the Y-check).
        start = 0
        while start < len(y) - 1:
            stop = min(start + per_line, len(y) - 1)
            tokens = [_dif(y[k] - y[k - 1]) for k in range(start + 1, stop + 1)]
            body = _with_dup(tokens) if form == "difdup" else "".join(tokens)
            lines.append(f"{x[start]}{_sqz(y[start])}{body}")
            start = stop
        return lines
    for start in range(0, len(y), per_line):
        chunk = y[start:start + per_line]
        if form == "affn":
            body = " " + " ".join(str(v) for v in chunk)
        elif form == "pac":
            body = "".join(f"{v:+d}" for v in chunk)
        elif form == "sqz":
            body = "".join(_sqz(v) for v in chunk)
        elif form == "sqzdup":
            body = _with_dup([_sqz(v) for v in chunk])
        else:
            raise ValueError(form)
        lines.append(f"{x[start]}{body}")
    return lines


def jcamp_text(y: list[int], *, form: str = "affn", first_x: int = 400, step: int = 2,
               yfactor: float = 0.001, data_type: str = "INFRARED SPECTRUM", xunits: str = "1/CM",
               yunits: str = "ABSORBANCE", title: str = "test", extra: str = "", per_line: int = 10) -> str:
    """A complete single-block JCAMP-DX file (X in integer axis units, XFACTOR 1)."""
    x = [first_x + step * k for k in range(len(y))]
    head = [f"##TITLE={title}", "##JCAMP-DX=4.24", f"##DATA TYPE={data_type}", f"##XUNITS={xunits}",
            f"##YUNITS={yunits}", "##XFACTOR=1", f"##YFACTOR={yfactor}", f"##FIRSTX={x[0]}",
            f"##LASTX={x[-1]}", f"##NPOINTS={len(y)}", f"##FIRSTY={y[0] * yfactor}"]
    if extra:
        head.append(extra.rstrip("\n"))
    head.append("##XYDATA=(X++(Y..Y))")
    return "\n".join(head + encode_xydata(y, x, form, per_line) + ["##END="]) + "\n"


def test_ordinates() -> list[int]:
    """Integers exercising every encoding path: signs, zero, long plateaus and ramps."""
    rng = np.random.default_rng(7)
    base = (np.sin(np.linspace(0, 9, 120)) * 4000).astype(int).tolist()
    plateau = [1234] * 25           # DUP count of two digits after an SQZ value
    ramp = list(range(-50, 100, 7))  # constant difference: DIF DUP runs
    zeros = [0] * 12
    noisy = rng.integers(-99999, 99999, 40).tolist()
    return base + plateau + ramp + zeros + noisy + [5, 5, -5, -5]


# keep pytest from collecting the helper above as a test
test_ordinates.__test__ = False  # type: ignore[attr-defined]


def sha256_tree(root: Path) -> dict[str, str]:
    """sha256 of every file under root, by relative path."""
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def jcamp_dir(shared_dir: Path) -> Path:
    d = shared_dir / "jcamp-dx"
    if not d.is_dir():
        pytest.skip("../shared/jcamp-dx is missing")
    return d


@pytest.fixture()
def write_png():
    """Write a small valid PNG (or JPEG by suffix) and return its path."""
    from PIL import Image

    def _write(path: Path, size: tuple[int, int] = (32, 24), colour: tuple[int, int, int] = (200, 180, 40)):
        Image.new("RGB", size, colour).save(path)
        return path

    return _write
