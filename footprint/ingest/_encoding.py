"""Text encodings of lab files: one detector for every CSV a user gives.

Order of the checks (:func:`detect_encoding`):

1. a byte-order mark: UTF-8, UTF-16 LE/BE (what Excel's "Unicode text" and
   many instrument exports write), UTF-32 LE/BE;
2. BOM-less UTF-16, recognised by the zero byte of every other byte in ASCII text;
3. strict UTF-8 (plain ASCII included);
4. otherwise charset-normalizer's best guess among the legacy encodings labs
   use, falling back to Windows-1252 (cp1252): both are named in a warning,
   so the user can check accented names.

The encoding actually used is always returned, so messages can name it.
"""

from __future__ import annotations

import codecs
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["Decoded", "decode_text", "detect_encoding", "encoding_label", "utf8_file"]

#: Bytes sampled to detect the encoding of a file streamed from disk.
SAMPLE_BYTES = 1 << 20

_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

#: Encodings charset-normalizer may pick; anything else is read as cp1252.
_LEGACY = ("cp1252", "latin_1", "iso8859_15", "cp850", "mac_roman", "cp1250", "iso8859_2")

#: Legacy encodings that agree with cp1252 on the accented letters of French names.
_WESTERN = frozenset({"cp1252", "latin_1", "iso8859_15", "cp1250", "iso8859_2"})

_LABELS = {
    "utf-8": "UTF-8", "utf-8-sig": "UTF-8 (with BOM)", "utf-16-le": "UTF-16 LE", "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE", "utf-32-be": "UTF-32 BE", "cp1252": "Windows-1252 (cp1252)",
    "latin_1": "ISO-8859-1 (Latin-1)", "iso8859_15": "ISO-8859-15", "cp850": "DOS Latin-1 (cp850)",
    "mac_roman": "Mac Roman", "cp1250": "Windows-1250", "iso8859_2": "ISO-8859-2",
}


def encoding_label(encoding: str) -> str:
    """Return a name of ``encoding`` a user recognises (``"UTF-16 LE"``)."""
    return _LABELS.get(encoding, encoding)


def _bom(data: bytes) -> tuple[str, int] | None:
    for mark, name in _BOMS:
        if data.startswith(mark):
            return name, len(mark)
    return None


def _bomless_utf16(sample: bytes) -> str | None:
    """Recognise UTF-16 without a BOM: mostly-ASCII text has a zero in every other byte."""
    if len(sample) < 8:
        return None
    even, odd = sample[0::2], sample[1::2]
    n = min(len(even), len(odd))
    zero_even = even[:n].count(0) / n
    zero_odd = odd[:n].count(0) / n
    if zero_odd > 0.6 and zero_even < 0.05:
        return "utf-16-le"
    if zero_even > 0.6 and zero_odd < 0.05:
        return "utf-16-be"
    return None


def detect_encoding(data: bytes) -> tuple[str, bool]:
    """Return ``(encoding, certain)`` for the bytes of a text file.

    ``certain`` is False for a guess among legacy 8-bit encodings (the
    caller should warn). ``encoding`` is a Python codec name; for a UTF-8 BOM
    it is ``"utf-8-sig"``, which drops the mark on decoding.
    """
    found = _bom(data)
    if found is not None:
        return found[0], True
    sample = data[: 1 << 16]
    guess = _bomless_utf16(sample)
    if guess is not None:
        return guess, True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the end of a sample is still UTF-8.
        if exc.start < len(data) - 4:
            return _legacy_guess(sample), False
    return "utf-8", True


def _legacy_guess(sample: bytes) -> str:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # optional: cp1252 is what spreadsheets on Windows write
        return "cp1252"
    try:
        best = from_bytes(sample, cp_isolation=list(_LEGACY)).best()
    except Exception:  # noqa: BLE001 - a detector failure must not stop reading; cp1252 follows
        best = None
    if best is None or best.encoding not in _LEGACY:
        return "cp1252"
    if best.encoding in _WESTERN:
        # On short samples the detector cannot tell these apart; cp1252 is what a
        # French-language Windows spreadsheet writes, so it wins whenever it decodes.
        try:
            sample.decode("cp1252")
        except UnicodeDecodeError:
            return str(best.encoding)
        return "cp1252"
    return str(best.encoding)


class Decoded(str):
    """Decoded text that remembers its encoding (``.encoding``) and whether it was a guess (``.certain``)."""

    encoding: str
    certain: bool

    def __new__(cls, text: str, encoding: str, certain: bool) -> Decoded:
        obj = super().__new__(cls, text)
        obj.encoding = encoding
        obj.certain = certain
        return obj


def decode_text(data: bytes) -> Decoded:
    """Decode the bytes of a lab's text file with :func:`detect_encoding`.

    Undecodable bytes of a guessed legacy encoding become U+FFFD (the
    validation then names the cell); a file claiming UTF-16/32 by its BOM
    that does not decode is read with replacements too.

    Returns
    -------
    Decoded
        The text (a ``str``) with ``encoding`` and ``certain`` attributes.
    """
    encoding, certain = detect_encoding(data)
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        certain = False
    if text.startswith("\ufeff"):  # UTF-16/32 decoders with explicit byte order keep the mark
        text = text[1:]
    return Decoded(text, encoding, certain)


@contextlib.contextmanager
def utf8_file(path: str | os.PathLike[str]) -> Iterator[tuple[Path, str]]:
    """Yield ``(a UTF-8 version of the file, the encoding it was read as)``.

    A file that is UTF-8 already (by its first :data:`SAMPLE_BYTES`) is
    yielded as it is; any other (UTF-16 from Excel's "Unicode text", a BOM-less
    UTF-16, a legacy 8-bit encoding) is transcoded, streaming, to a temporary
    file removed on exit. Readers that work on bytes (``footprint classify``
    streams a stones file in chunks) then see UTF-8 whatever the user saved.
    """
    path = Path(path)
    with open(path, "rb") as fh:
        sample = fh.read(SAMPLE_BYTES)
    encoding, _ = detect_encoding(sample)
    if encoding in ("utf-8", "utf-8-sig"):
        yield path, encoding
        return
    with tempfile.TemporaryDirectory(prefix="footprint-utf8-") as tmp:
        target = Path(tmp) / (path.stem + ".utf8" + path.suffix)
        with open(path, encoding=encoding, errors="replace", newline="") as src, \
                open(target, "w", encoding="utf-8", newline="") as dst:
            first = src.read(1)
            dst.write(first.lstrip("\ufeff"))
            shutil.copyfileobj(src, dst, 1 << 20)
        yield target, encoding
