"""Stone photographs: a folder of PNG/JPEG files named ``<sample_id>[_<view>].<ext>``.

Every file is fully decoded with Pillow (``verify`` then ``load``), so a
truncated or corrupt file is refused with its name instead of landing in the
store; the encoded bytes are kept verbatim.
"""

from __future__ import annotations

import io
import os
import re
import warnings
from collections.abc import Collection
from pathlib import Path

from .._types import ImageRecord
from ..exceptions import InputError, Problem

__all__ = ["IMAGE_SUFFIXES", "MAX_IMAGE_BYTES", "MAX_IMAGE_PIXELS", "read_images", "split_name"]

IMAGE_SUFFIXES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg"}
#: Larger files are refused: a 24-megapixel JPEG is ~10 MB.
MAX_IMAGE_BYTES = 25 * 1024 * 1024
#: Larger images are refused (decompression-bomb guard; 50 MP is beyond any stone photo).
MAX_IMAGE_PIXELS = 50_000_000
#: Smaller images are refused: a stone is not recognisable below this.
MIN_IMAGE_SIDE = 16

_FORMAT_MIME = {"PNG": "image/png", "JPEG": "image/jpeg", "MPO": "image/jpeg"}


def split_name(stem: str, known: Collection[str] = (), separators: str = "_") -> tuple[str, str]:
    """Split a file stem into (sample_id, view).

    ``known`` sample ids win (so an id containing ``_`` still maps): the
    longest known id equal to the stem, or followed by one of ``separators``
    and the rest. Otherwise the stem splits at its first ``_``; no ``_`` means
    view ``"default"``.
    """
    if stem in known:
        return stem, "default"
    best = ""
    for sid in known:
        if len(sid) > len(best) and stem.startswith(sid) and stem[len(sid):len(sid) + 1] in separators \
                and len(stem) > len(sid):
            best = sid
    if best:
        return best, stem[len(best) + 1:] or "default"
    sid, _, view = stem.partition("_")
    return sid, view or "default"


_OBJECT_REPR = re.compile(r"\s*<[\w.]+ object at 0x[0-9a-fA-F]+>")


def _reason(exc: BaseException) -> str:
    """Pillow's message without the in-memory buffer's repr (``<_io.BytesIO object at 0x...>``)."""
    text = _OBJECT_REPR.sub("", str(exc)).strip()
    return text or type(exc).__name__


def _decode(data: bytes) -> tuple[str, int, int]:
    """Return (Pillow format, width, height); raise ValueError if it does not decode."""
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as im:
                im.verify()  # structure and checksums (PNG CRCs)
            with Image.open(io.BytesIO(data)) as im:
                fmt = im.format or ""
                width, height = im.size
                if width * height > MAX_IMAGE_PIXELS:
                    raise ValueError(f"{width}x{height} pixels is over the {MAX_IMAGE_PIXELS:,} pixel limit")
                im.load()  # full decode: catches truncated data that verify() lets through
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValueError(f"not a decodable PNG/JPEG image ({_reason(exc)})") from None
    except (OSError, SyntaxError, EOFError, ValueError) as exc:
        raise ValueError(f"image is truncated or corrupt ({_reason(exc)})") from None
    return fmt, width, height


def read_image_file(path: Path, file: str, known: Collection[str],
                    problems: list[Problem]) -> ImageRecord | None:
    """Read and validate one image file; problems are appended, None returned on failure."""
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        problems.append(Problem(file, None, None, size, f"image is {size / 2**20:.1f} MB; files over "
                                f"{MAX_IMAGE_BYTES // 2**20} MB are refused"))
        return None
    data = path.read_bytes()
    try:
        fmt, width, height = _decode(data)
    except ValueError as exc:
        problems.append(Problem(file, None, None, None, str(exc)))
        return None
    mime = _FORMAT_MIME.get(fmt)
    if mime is None:
        problems.append(Problem(file, None, None, fmt, "only PNG and JPEG images are accepted"))
        return None
    if min(width, height) < MIN_IMAGE_SIDE:
        problems.append(Problem(file, None, None, f"{width}x{height}",
                                f"image smaller than {MIN_IMAGE_SIDE} pixels on a side"))
        return None
    sample_id, view = split_name(path.stem, known)
    return ImageRecord(sample_id=sample_id, view=view, mime_type=mime, data=data, source=file,
                       width=width, height=height)


def collect_images(folder: str | os.PathLike[str], *, known: Collection[str] = (),
                   problems: list[Problem]) -> list[ImageRecord]:
    """Read every PNG/JPEG in ``folder`` (sorted by name); problems are appended."""
    root = Path(folder)
    where = os.fspath(folder)
    if not root.is_dir():
        problems.append(Problem(where, None, None, None, "images must be a folder of PNG/JPEG files"))
        return []
    out: list[ImageRecord] = []
    seen: dict[tuple[str, str], str] = {}
    for path in sorted(root.iterdir()):
        if path.name.startswith(".") or not path.is_file():
            continue
        if path.suffix.lower() not in IMAGE_SUFFIXES:
            continue  # README.txt and the like sit beside photos; not an error
        file = os.fspath(path)
        record = read_image_file(path, file, known, problems)
        if record is None:
            continue
        key = (record.sample_id, record.view)
        if key in seen:
            problems.append(Problem(file, None, "view", record.view,
                                    f"a second image for sample '{record.sample_id}' view '{record.view}' "
                                    f"(first: {seen[key]}); name views <sample_id>_<view>.png"))
            continue
        seen[key] = file
        out.append(record)
    return out


def read_images(folder: str | os.PathLike[str], *,
                known_sample_ids: Collection[str] = ()) -> list[ImageRecord]:
    """Read a folder of stone photographs.

    Parameters
    ----------
    folder : path-like
        Folder of ``<sample_id>[_<view>].png|.jpg|.jpeg`` files; other files
        are ignored.
    known_sample_ids : collection of str, optional
        Sample ids to prefer when splitting names (ids that contain ``_``).

    Returns
    -------
    list of ImageRecord
        Sorted by file name; each decoded, with its pixel size.

    Raises
    ------
    InputError
        Listing every file that is corrupt, truncated, too large, not PNG/JPEG,
        or a second image for the same sample and view.
    """
    problems: list[Problem] = []
    out = collect_images(folder, known=known_sample_ids, problems=problems)
    if problems:
        raise InputError(f"{os.fspath(folder)}: images refused", problems)
    return out
