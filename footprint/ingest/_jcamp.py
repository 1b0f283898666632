r"""Read one JCAMP-DX file into :class:`~footprint._types.Spectrum` objects.

Decoding is done by the ``jcamp`` package (``jcamp.read``); this module only
prepares the text it is given, checks what comes back, normalises units and
kinds, and refuses what an optical-spectrum ingest must not guess at (NMR,
mass spectra, FIDs, peak tables, NTUPLES, link blocks without XY data). For
speed, one plain AFFN ``(X++(Y..Y))`` table (the commonest instrument export)
has its numbers split in C (:mod:`._affn`; ``jcamp``'s per-character parser
costs ~2 ms a file) with the same result as ``jcamp`` (tested on the JCAMP-DX
suite); compressed forms, ``?`` and multi-block files go to ``jcamp`` whole.

Text pre-processing (why, and what it does)
--------------------------------------------
``jcamp`` 1.3.2 mis-reads some valid JCAMP-DX files. Each case below was
found on the IUPAC/Lancashire test files and is worked around by rewriting
the *text* before ``jcamp.read`` sees it, never by decoding numbers here:

* **DUP after an SQZ value, and DUP counts of two or more digits.**
  ``jcamp.parse`` expands a DUP character by walking back to the last DIF
  character (the fix of nzhagen/jcamp PR #36), so a DUP that repeats an SQZ
  value (``B1399T`` = B1399 twice, in ``sqzdupd1.jdx``) walks past it, off the
  start of the line (``IndexError``) or onto the wrong token, and a count such
  as ``T5`` (25 repeats) is read as ``T`` followed by a stray ``5``.
  ``dupinc2.jdx``, ``SPECFILE.DX`` and ``BRUKER2.JCM`` then lose points or
  fail jcamp's own X/Y checks. We expand every DUP token into the repeated
  value tokens (SQZ, DIF or plain numbers) so ``jcamp`` sees DUP-free lines.
* **Inline ``$$`` comments.** ``jcamp`` skips lines that *start* with ``$$``
  but keeps a trailing comment in a header value (``##YFACTOR= 2.38e-09 $$
  ...`` becomes a string, then ``y *= 'text'`` fails, ``jtpolys.jdx``) and
  chokes on one in a data line (``BRUKDIF.DX``). Comments are removed.
* **Indented labels.** Some writers indent every ``##LABEL=`` line
  (``TESTSPEC.DX``); ``jcamp`` only recognises labels at column 0. Leading
  blanks before ``##`` are removed.
* **Ctrl-Z end-of-file marker.** DOS-era files end with ``\x1a``
  (``fixinc2.jdx``, ``xyinc1.jdx``), which ``jcamp`` reports as an unknown
  character. Text from the first ``\x1a`` on is dropped.

Every rewrite applied to a file is listed in ``meta["preprocessing"]`` and the
original bytes are kept verbatim in ``Spectrum.raw``. After decoding, the
number of points must equal ``##NPOINTS`` and jcamp's Y-check must pass
(its messages are captured, not printed), otherwise the file is refused.
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import re
from pathlib import Path
from typing import Any

import numpy as np

from .._json import json_default
from .._types import Spectrum
from ..exceptions import Problem, SpectrumError
from ._affn import affn_table, decode_affn, label_of

__all__ = [
    "KINDS",
    "MAX_SPECTRUM_BYTES",
    "detect_kind",
    "normalise_x_unit",
    "normalise_y_unit",
    "read_jcamp",
    "read_jcamp_blocks",
]

logger = logging.getLogger(__name__)

#: Spectrum files larger than this are refused before reading (a 4 cm-1 FTIR
#: file is ~30 kB; 50 MB is far beyond any optical spectrum).
MAX_SPECTRUM_BYTES = 50 * 1024 * 1024

#: Spectrum kinds and the axis units each accepts.
KINDS: dict[str, tuple[str, ...]] = {
    "ftir": ("1/cm", "um"),
    "uvvis": ("nm", "um", "1/cm"),
    "raman": ("1/cm",),
    "pl": ("nm", "1/cm", "ev"),
}

_SQZ = "@ABCDEFGHIabcdefghi"
_DIF = "%JKLMNOPQRjklmnopqr"
_DUP = {c: str(i) for i, c in enumerate("STUVWXYZs", start=1)}
_TOKEN = re.compile(
    r"[@A-Ia-i%J-Rj-rS-Zs]\d*\.?\d*"       # SQZ / DIF / DUP character + digits
    r"|[+\-]?\d+\.?\d*(?:[Ee][+\-]?\d+)?"  # plain or PAC number (maybe exponent)
    r"|[+\-]?\.\d+"
    r"|[\s,;]+"                            # separators
)
_HAS_DUP = re.compile(r"[S-Zs]")

#: Data types refused outright, whatever kind the user asks for.
_REFUSED = (
    ("FID", "an NMR free-induction decay (FID), not an optical spectrum"),
    ("NMR", "an NMR spectrum, not an optical (IR/UV-Vis/Raman/PL) spectrum"),
    ("MASS", "a mass spectrum, not an optical spectrum"),
    ("CHROMATOGRA", "a chromatogram, not an optical spectrum"),
    ("EPR", "an EPR spectrum, not an optical spectrum"),
    ("ESR", "an ESR spectrum, not an optical spectrum"),
    ("ION MOBILITY", "an ion-mobility spectrum, not an optical spectrum"),
    ("TITRATION", "a titration curve, not a spectrum"),
    ("ASSIGNMENT", "a table of peak assignments, not a spectrum"),
)


# -- text pre-processing -----------------------------------------------------------

def _expand_dup(line: str) -> str | None:
    """Return ``line`` with DUP tokens replaced by repeated values, or None if unchanged."""
    tokens = _TOKEN.findall(line)
    if "".join(tokens) != line:
        return None  # not a tokenisable ASDF line: leave it to jcamp (and its checks)
    out: list[str] = []
    last_value: str | None = None
    changed = False
    for tok in tokens:
        head = tok[0]
        if head in _DUP:
            count = int(_DUP[head] + tok[1:])
            if last_value is None:
                return None
            # Plain unsigned numbers need a blank between copies; SQZ/DIF/PAC carry their own.
            sep = " " if last_value[0].isdigit() or last_value[0] == "." else ""
            out.append((sep + last_value) * (count - 1))
            changed = True
        elif tok.strip(" \t,;"):
            out.append(tok)
            last_value = tok
        else:
            out.append(tok)
    return "".join(out) if changed else None


def _strip_comment(line: str) -> str:
    pos = line.find("$$")
    return line if pos < 0 else line[:pos].rstrip()


def preprocess(raw: bytes) -> tuple[list[str], list[str]]:
    """Prepare a JCAMP-DX file's text for ``jcamp.read`` (see the module docstring).

    Parameters
    ----------
    raw : bytes
        The file's bytes.

    Returns
    -------
    lines : list of str
        Lines to hand to ``jcamp.read``.
    fixes : list of str
        The rewrites applied, for ``meta["preprocessing"]``.
    """
    fixes: set[str] = set()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # header text only; data are ASCII by the standard
        fixes.add("decoded as latin-1")
    if "\x1a" in text:
        text = text[: text.index("\x1a")]
        fixes.add("dropped Ctrl-Z end-of-file marker")
    lines: list[str] = []
    in_xydata = False
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("$$"):
            continue
        if stripped.startswith("##"):
            if line[0] != "#":
                fixes.add("removed blanks before ##labels")
            if "$$" in stripped:
                stripped = _strip_comment(stripped)
                fixes.add("removed inline $$ comments")
            label = label_of(stripped)
            in_xydata = label in ("XYDATA", "DATATABLE") and "++" in stripped
            lines.append(stripped + "\n")
            continue
        if "$$" in stripped:
            stripped = _strip_comment(stripped)
            fixes.add("removed inline $$ comments")
            if not stripped:
                continue
        if in_xydata and _HAS_DUP.search(stripped):
            expanded = _expand_dup(stripped)
            if expanded is not None:
                stripped = expanded
                fixes.add("expanded DUP counts")
        lines.append(stripped + "\n")
    return lines, sorted(fixes)


# -- units and kinds ---------------------------------------------------------------

def normalise_x_unit(word: Any) -> str:
    """Normalise an XUNITS word: ``1/cm``, ``um``, ``nm``, ``ev`` or the word lower-cased."""
    text = str(word or "").strip().lower()
    squashed = re.sub(r"[\s_]+", "", text)
    if squashed in ("1/cm", "cm-1", "cm^-1", "cm**-1", "wavenumbers", "wavenumber", "wavenumber(cm-1)",
                    "wavenumbers(cm-1)", "ramanshift(cm-1)", "cm-1(ramanshift)"):
        return "1/cm"
    if squashed in ("micrometers", "micrometres", "micrometer", "microns", "micron", "um", "µm", "μm"):
        return "um"
    if squashed in ("nanometers", "nanometres", "nanometer", "nm", "wavelength(nm)"):
        return "nm"
    if squashed in ("ev", "electronvolts", "electronvolt"):
        return "ev"
    return text


def normalise_y_unit(word: Any, y: np.ndarray) -> tuple[str, str | None]:
    """Normalise a YUNITS word; return (unit, note about any inference made).

    ``TRANSMITTANCE`` is a fraction by the standard, but many writers store
    percent under that word; values above 1.5 are taken as percent (noted).
    """
    text = str(word or "").strip().lower()
    squashed = re.sub(r"[\s_.]+", "", text)
    if squashed in ("absorbance", "a", "abs", "au", "absorbance(au)", "absorbanceunits"):
        return "absorbance", None
    if squashed in ("%t", "%transmittance", "percenttransmittance", "transmittance(%)", "transmission(%)",
                    "%transmission"):
        return "percent_transmittance", None
    if squashed in ("transmittance", "t", "transmission"):
        finite = y[np.isfinite(y)]
        if finite.size and float(np.max(finite)) > 1.5:
            return "percent_transmittance", (
                f"YUNITS '{word}' with values up to {float(np.max(finite)):.4g}: read as percent")
        return "transmittance", None
    if squashed in ("reflectance", "r"):
        return "reflectance", None
    if squashed in ("kubelka-munk", "kubelkamunk"):
        return "kubelka_munk", None
    if squashed in ("absorptioncoefficient", "1/cm", "cm-1"):
        return "absorption_coefficient", None
    if squashed in ("counts", "cts", "counts/s"):
        return "counts", None
    if squashed in ("arbitraryunits", "arbitrary", "arbunits", "arb", "", "relativeintensity"):
        return "arbitrary", None
    return text, None


def detect_kind(data_type: Any) -> str | None:
    """Return the kind named by a ``##DATA TYPE`` value, or None when it names none.

    Raises
    ------
    ValueError
        With the reason, for data types that are never optical spectra.
    """
    text = str(data_type or "").upper()
    for word, reason in _REFUSED:
        if word in text:
            raise ValueError(f"DATA TYPE '{data_type}' is {reason}")
    if "RAMAN" in text:
        return "raman"
    if "INFRARED" in text or re.search(r"\b(FT-?)?IR\b", text):
        return "ftir"
    if re.search(r"\bUV\b|UV[/\- ]?VIS|ULTRAVIOLET|\bVIS(IBLE)?\b", text):
        return "uvvis"
    if "PHOTOLUMINESCENCE" in text or "FLUORESCENCE" in text or re.search(r"\bPL\b", text):
        return "pl"
    return None


# -- decoding ----------------------------------------------------------------------

_DATA_LABELS = {"x", "y", "children", "xydata", "xypoints", "peak table", "end", "filename",
                "datatable", "data table"}


def _labels(block: dict[str, Any]) -> dict[str, Any]:
    return {k: v if v is None or isinstance(v, (str, int, float, bool)) else json_default(v)
            for k, v in block.items() if k not in _DATA_LABELS}


def _first(labels: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if labels.get(k) not in (None, ""):
            return labels[k]
    return None


def _standard_meta(labels: dict[str, Any]) -> dict[str, Any]:
    date = _first(labels, "longdate", "date")
    if date is not None and labels.get("time") and "longdate" not in labels:
        date = f"{date} {labels['time']}"
    return {
        "format": "JCAMP-DX",
        "jcamp_version": _first(labels, "jcamp-dx", "jcamp_dx"),
        "title": _first(labels, "title"),
        "data_type": _first(labels, "data type", "datatype"),
        "instrument": _first(labels, "spectrometer/data system", "instrument", ".instrument",
                             "spectrometer"),
        "instrument_parameters": _first(labels, "instrument parameters", ".instrument parameters"),
        "resolution": _first(labels, "resolution"),
        "date": date,
        "owner": _first(labels, "owner"),
        "origin": _first(labels, "origin"),
        "sampling_procedure": _first(labels, "sampling procedure"),
        "sample_id_in_file": _first(labels, "$sample id", "$sampleid", "$sample_id", "sample id"),
        "x_unit_raw": _first(labels, "xunits"),
        "y_unit_raw": _first(labels, "yunits"),
    }


def _jcamp_read(lines: list[str]) -> tuple[dict[str, Any], str]:
    import jcamp

    messages = io.StringIO()
    # jcamp prints its X/Y-check findings; capture them (they decide refusal below)
    # instead of letting a library write to the CLI's stdout.
    with contextlib.redirect_stdout(messages):
        data = jcamp.read(lines)
    return data, messages.getvalue()


def _decode(lines: list[str]) -> tuple[dict[str, Any], str]:
    """Decode a file's lines with ``jcamp``; plain AFFN tables skip its slow number parser.

    ``jcamp.parse`` walks every character in Python (about 2 ms for a 1,801-point
    FTIR file); a plain AFFN table, the commonest instrument export, is a list of
    decimal numbers that one regular expression splits. ``jcamp`` still reads the
    header (and every other form); the two give the same values, checked on the
    JCAMP-DX test files.
    """
    split = affn_table(lines)
    if split is not None:
        header, _ = _jcamp_read(split[0])
        decoded = decode_affn(header, split[1])
        if decoded is not None and "children" not in header:
            header["y"], messages = decoded
            return header, messages
    return _jcamp_read(lines)


def _is_truthy(value: Any) -> bool:
    return str(value).strip().upper() in ("TRUE", "YES", "1", "Y")


def _block_spectrum(block: dict[str, Any], *, file: str, raw: bytes, kind: str | None,
                    index: int | None, fixes: list[str], messages: str,
                    lines: list[str] | None = None) -> Spectrum:
    """Check one decoded block and build its Spectrum, or raise ValueError with the reason."""
    labels = _labels(block)
    data_type = _first(labels, "data type", "datatype")
    data_class = str(_first(labels, "data class") or "").upper()
    try:
        detected = detect_kind(data_type)
    except ValueError as exc:
        raise ValueError(str(exc)) from None
    if "ntuples" in block or "NTUPLES" in data_class:
        raise ValueError("NTUPLES form (multi-page data) is not read; export a plain XYDATA spectrum")
    if "peak table" in block or "PEAK" in data_class:
        raise ValueError("a peak table (stick list), not a continuous spectrum")
    has_xy = "xydata" in block or "xypoints" in block
    x = np.asarray(block.get("x", []), dtype=float)
    y = np.asarray(block.get("y", []), dtype=float)
    if not has_xy or x.size == 0:
        raise ValueError("no XY data in this block (##XYDATA or ##XYPOINTS)")
    if kind is not None and detected is not None and kind != detected:
        raise ValueError(f"asked for kind '{kind}' but DATA TYPE '{data_type}' is a {detected} spectrum")
    use_kind = kind or detected
    if use_kind is None:
        raise ValueError(f"DATA TYPE '{data_type}' names no spectrum kind footprint reads "
                         f"({', '.join(KINDS)}); pass kind= if you know it")
    npoints = block.get("npoints")
    if isinstance(npoints, (int, float)) and int(npoints) != y.size:
        raise ValueError(f"decoded {y.size} points but ##NPOINTS={int(npoints)}")
    if x.size != y.size:
        raise ValueError(f"decoded {y.size} Y values for {x.size} X values: the data lines are damaged")
    ycheck_note = _ycheck(messages, lines, npoints, y.size)
    x, y, dropped = _drop_repeated_points(x, y)
    if y.size < 2:
        raise ValueError("fewer than 2 points")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("non-finite X or Y values")
    steps = np.diff(x)
    if not (np.all(steps > 0) or np.all(steps < 0)):
        raise ValueError("X values are not strictly increasing or decreasing")
    x_unit = normalise_x_unit(labels.get("xunits"))
    if x_unit not in KINDS[use_kind]:
        raise ValueError(f"XUNITS '{labels.get('xunits')}' is not an axis unit for {use_kind} "
                         f"spectra (expected one of: {', '.join(KINDS[use_kind])})")
    y_unit, note = normalise_y_unit(labels.get("yunits"), y)
    meta = _standard_meta(labels)
    meta.update(labels=labels, block=index, detected_kind=detected, preprocessing=list(fixes))
    if note:
        meta["y_unit_note"] = note
    if ycheck_note:
        meta["y_check_note"] = ycheck_note
    if dropped:
        meta["repeated_points_dropped"] = dropped
    if "X-Check failed" in messages:
        meta["x_check_messages"] = [m for m in messages.splitlines() if "X-Check" in m][:5]
    if _is_truthy(labels.get("$synthetic", "")):
        meta["synthetic"] = True
    return Spectrum(x=x, y=y, x_unit=x_unit, y_unit=y_unit, kind=use_kind, source=file, raw=raw, meta=meta)


def _data_lines(lines: list[str]) -> list[str]:
    """Return the data lines of the (single) ``(X++(Y..Y))`` table in ``lines``."""
    out: list[str] = []
    inside = False
    for line in lines:
        if line.startswith("##"):
            if inside:
                break
            inside = line[2:].split("=", 1)[0].strip().upper() == "XYDATA" and "++" in line
            continue
        if inside:
            out.append(line)
    return out


def _ycheck(messages: str, lines: list[str] | None, npoints: Any, n_decoded: int) -> str | None:
    """Decide what a Y-check failure reported by jcamp means; raise ValueError if fatal.

    A DIF line's first ordinate repeats the previous line's last one. A
    mismatch inside the table means the data do not decode consistently
    (refused). Some writers (Spectrafile-IR, ``SPECFILE.DX``) end the table
    with a line holding only an X and a value that is no check at all: when
    that last line is the only mismatch and the point count equals
    ``##NPOINTS``, it is ignored and noted.
    """
    if "Y-Check failed" not in messages:
        return None
    import jcamp

    failures = []
    data = _data_lines(lines or [])
    previous: list[float] | None = None
    for i, line in enumerate(data):
        values = jcamp.parse(line)
        if previous is not None and len(values) > 1 and values[1] != previous[-1]:
            failures.append((i, len(values)))
        previous = values
    last_only = (len(failures) == 1 and failures[0][0] == len(data) - 1 and failures[0][1] == 2
                 and isinstance(npoints, (int, float)) and int(npoints) == n_decoded)
    if last_only:
        return "the final data line carries a Y value that is not a valid DIF Y-check; ignored"
    first = next(m for m in messages.splitlines() if "Y-Check failed" in m)
    raise ValueError(f"DIF Y-check failed, the compressed data do not decode consistently ({first})")


def _drop_repeated_points(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """Drop exact repeats of the previous (x, y) pair (seen in NIST UV-Vis XYPOINTS tables)."""
    if x.size < 2:
        return x, y, 0
    keep = np.r_[True, (np.diff(x) != 0) | (np.diff(y) != 0)]
    dropped = int(x.size - keep.sum())
    return (x[keep], y[keep], dropped) if dropped else (x, y, 0)


def _prescan_refusal(lines: list[str]) -> str | None:
    """Return why the first ##DATA TYPE is refused (NMR, MS, FID...), or None.

    Checked before decoding: cheaper, and some of those files crash the decoder.
    """
    for line in lines:
        if not line.startswith("##"):
            continue
        label, _, value = line[2:].partition("=")
        if label.strip().upper().replace(" ", "") == "DATATYPE":
            if value.strip().upper() == "LINK":
                return None
            try:
                detect_kind(value.strip())
            except ValueError as exc:
                return str(exc)
            return None
    return None


def _load(path: str | os.PathLike[str]) -> tuple[str, bytes]:
    file = os.fspath(path)
    p = Path(path)
    try:
        size = p.stat().st_size
    except OSError as exc:
        raise SpectrumError(f"{file}: cannot read spectrum file",
                            [Problem(file, None, None, None, f"cannot open: {exc.strerror}")]) from None
    if size > MAX_SPECTRUM_BYTES:
        raise SpectrumError(f"{file}: spectrum file too large", [Problem(
            file, None, None, size, f"file is {size / 2**20:.1f} MB; spectrum files over "
            f"{MAX_SPECTRUM_BYTES // 2**20} MB are refused")])
    if size == 0:
        raise SpectrumError(f"{file}: empty spectrum file",
                            [Problem(file, None, None, None, "file is empty")])
    return file, p.read_bytes()


def _refuse(file: str, reason: str, block: int | None = None) -> SpectrumError:
    where = f" (block {block})" if block is not None else ""
    return SpectrumError(f"{file}: not a usable spectrum{where}",
                         [Problem(file, None, None, None, f"refused{where}: {reason}")])


def read_jcamp_blocks(path: str | os.PathLike[str], *, kind: str | None = None) -> list[Spectrum]:
    """Read every spectrum block of a JCAMP-DX file (one, or several in a LINK file).

    Parameters
    ----------
    path : path-like
        The ``.jdx`` / ``.dx`` / ``.jcamp`` file.
    kind : {"ftir", "uvvis", "raman", "pl"}, optional
        Expected kind; default the one ``##DATA TYPE`` names. A kind that
        contradicts ``##DATA TYPE`` is an error.

    Returns
    -------
    list of Spectrum
        In file order, each with ``meta["block"]`` (None for a plain file,
        the 0-based block index in a LINK file).

    Raises
    ------
    SpectrumError
        If the file is unreadable, too large, or holds NMR / mass / FID data,
        peak tables, NTUPLES, or no XY data at all; the message names the file
        and the reason.
    """
    if kind is not None and kind not in KINDS:
        raise SpectrumError(f"unknown spectrum kind '{kind}'",
                            [Problem(None, None, "kind", kind, f"must be one of: {', '.join(KINDS)}")])
    file, raw = _load(path)
    lines, fixes = preprocess(raw)
    if not any(line.startswith("##") for line in lines):
        raise _refuse(file, "no JCAMP-DX ##LABEL= lines: not a JCAMP-DX file")
    refusal = _prescan_refusal(lines)
    if refusal is not None:
        raise _refuse(file, refusal)
    try:
        data, messages = _decode(lines)
    except Exception as exc:  # jcamp raises bare Exception/IndexError/KeyError on bad data
        if "Unknown character (?)" in str(exc):
            raise _refuse(file, "the data contain '?' (not measured) ordinates; every point of a "
                          "spectrum must be measured") from None
        raise _refuse(file, f"JCAMP-DX data could not be decoded ({type(exc).__name__}: {exc})") from None
    children = data.get("children")
    if str(data.get("data type", data.get("datatype", ""))).strip().upper() == "LINK" or children:
        if not children:
            raise _refuse(file, "LINK file without data blocks")
        out, reasons = [], []
        for i, child in enumerate(children):
            try:
                # jcamp's check messages cannot be told apart by block: any Y-check
                # failure in a LINK file refuses every block (see _ycheck).
                out.append(_block_spectrum(child, file=file, raw=raw, kind=kind, index=i,
                                           fixes=fixes, messages=messages))
            except ValueError as exc:
                reasons.append(f"block {i}: {exc}")
        if not out:
            raise _refuse(file, "LINK file with no usable spectrum block: " + "; ".join(reasons))
        for s in out:
            s.meta["blocks_skipped"] = reasons
        return out
    try:
        return [_block_spectrum(data, file=file, raw=raw, kind=kind, index=None, fixes=fixes,
                                messages=messages, lines=lines)]
    except ValueError as exc:
        raise _refuse(file, str(exc)) from None


def read_jcamp(path: str | os.PathLike[str], *, kind: str | None = None,
               block: int | None = None) -> Spectrum:
    """Read one spectrum from a JCAMP-DX file.

    Parameters
    ----------
    path : path-like
        The JCAMP-DX file.
    kind : str, optional
        Expected kind (see :func:`read_jcamp_blocks`).
    block : int, optional
        0-based block of a LINK (compound) file holding several spectra;
        required when there is more than one.

    Raises
    ------
    SpectrumError
        As :func:`read_jcamp_blocks`, or when a LINK file holds several
        spectra and ``block`` is not given.
    """
    spectra = read_jcamp_blocks(path, kind=kind)
    if block is None:
        if len(spectra) > 1:
            raise _refuse(os.fspath(path), f"LINK file holds {len(spectra)} spectra; choose one with "
                          "block=N (a 'block' column in the manifest)")
        return spectra[0]
    for s in spectra:
        if s.meta.get("block") == block:
            return s
    raise _refuse(os.fspath(path), f"no usable spectrum block {block} "
                  f"(usable: {[s.meta.get('block') for s in spectra]})")
