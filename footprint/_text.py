"""Small text helpers shared by every reader: header squashing and delimiter sniffing."""

from __future__ import annotations

import re

__all__ = ["sniff_delimiter", "squash"]


def squash(text: str) -> str:
    """Return ``text`` lower-cased, with runs of spaces, ``_``, ``-`` and ``.`` as one space.

    Parameters
    ----------
    text : str
        A column header or vocabulary word.

    Returns
    -------
    str
        The comparable form (``"Parcel_ID "`` -> ``"parcel id"``).
    """
    return re.sub(r"[\s_\-\.]+", " ", text.strip().lower()).strip()


def sniff_delimiter(header_line: str) -> str:
    r"""Return the delimiter of a CSV header line: the most frequent of ``,``, ``;`` and tab.

    Labs with a decimal comma write ``;`` (the spreadsheet default in most of
    Europe and Africa); tabs come from copy-paste. Counting outside quotes is
    enough for a header line.

    Parameters
    ----------
    header_line : str
        The file's first line.

    Returns
    -------
    str
        ``","``, ``";"`` or ``"\t"`` (``","`` when none occurs).
    """
    counts = {d: header_line.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","
