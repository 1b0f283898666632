"""The run audit: one JSON record beside the outputs of every classify run.

The record says what went in (file hashes), which model and reference store
judged it (hashes from the model manifest), under which thresholds, who ran
it, when, with which code, and what came out (output file hashes). The
outputs themselves carry no time stamp, so re-running on the same inputs
reproduces them byte for byte; the time lives only here.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import hashlib
import json
import os
import platform
import sys
import threading
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = [
    "AUDIT_VERSION", "audit_path", "file_sha256", "hash_in_background", "hash_inputs", "hash_tree",
    "write_audit",
]

#: Version of the audit record layout.
AUDIT_VERSION = 1

_BLOCK = 1 << 20


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Return the hex SHA-256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(_BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def hash_in_background(path: str | os.PathLike[str]) -> Callable[[], str]:
    """Start hashing a file in a thread; return a function that waits for the hex SHA-256.

    :mod:`hashlib` and file reads release the GIL, so the hash of a large
    input is computed on an otherwise idle core while the caller does other
    work (``classify`` loads its model meanwhile), instead of in a second
    pass over the file at the end of the run. An error reading the file is
    raised by the returned function.
    """
    result: dict[str, Any] = {}

    def work() -> None:
        try:
            result["sha256"] = file_sha256(path)
        except BaseException as exc:  # handed to whoever asks for the digest
            result["error"] = exc

    thread = threading.Thread(target=work, name="footprint-hash", daemon=True)
    thread.start()

    def digest() -> str:
        thread.join()
        if "error" in result:
            raise result["error"]
        return str(result["sha256"])

    return digest


def hash_inputs(
    paths: Mapping[str, str | os.PathLike[str] | None],
    digests: Mapping[str, Callable[[], str]] | None = None,
) -> dict[str, Any]:
    """Hash named input files or folders.

    Parameters
    ----------
    paths : mapping of str to path or None
        Role (``"stones"``, ``"parcels"``, ``"spectra"``...) to a file or a
        folder; ``None`` entries are skipped.
    digests : mapping of str to callable, optional
        Role to a function returning the file's SHA-256, already under way
        (:func:`hash_in_background`); used instead of hashing that file again.

    Returns
    -------
    dict
        Role to ``{"path", "sha256", "size_bytes"}``; a folder gives one
        entry per file (sorted by relative path) under ``"files"``.
    """
    out: dict[str, Any] = {}
    for role, raw in paths.items():
        if raw is None:
            continue
        path = Path(raw)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.is_file())
            out[role] = {
                "path": str(raw),
                "files": [
                    {
                        "path": str(p.relative_to(path)),
                        "sha256": file_sha256(p),
                        "size_bytes": p.stat().st_size,
                    }
                    for p in files
                ],
            }
        else:
            known = (digests or {}).get(role)
            digest = known() if known is not None else file_sha256(path)
            out[role] = {"path": str(raw), "sha256": digest, "size_bytes": path.stat().st_size}
    return out


def hash_tree(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Hash a file (``{"path", "sha256", "size_bytes"}``) or each file of a folder (``{"path", "files"}``)."""
    return hash_inputs({"x": path})["x"]


def audit_path(out: str | os.PathLike[str]) -> Path:
    """Return where the audit record of a run writing ``out`` goes: ``<out>.audit.json``."""
    out = Path(out)
    return out.with_name(out.name + ".audit.json")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # getpass raises OSError/KeyError when no user name is known (containers)
        return "unknown"


def write_audit(
    out: str | os.PathLike[str],
    *,
    command: str,
    inputs: Mapping[str, Any],
    outputs: Iterable[str | os.PathLike[str]],
    model: Mapping[str, Any] | None = None,
    thresholds: Mapping[str, Any] | None = None,
    options: Mapping[str, Any] | None = None,
    summary: Mapping[str, Any] | None = None,
    warnings: Iterable[str] = (),
    started: _dt.datetime | None = None,
    path: str | os.PathLike[str] | None = None,
    written: Mapping[str, str | os.PathLike[str]] | None = None,
) -> Path:
    """Write the audit record of one run beside its main output.

    Parameters
    ----------
    out : path
        The run's main output; the record goes to ``<out>.audit.json``.
    command : str
        The command as run (``"footprint classify ..."``).
    inputs : mapping
        Input file hashes, from :func:`hash_inputs`.
    outputs : iterable of path
        Output files written by the run; each is hashed now.
    model : mapping, optional
        Model identity: directory, manifest hashes (model file, store
        content hash, schema version), synthetic flag.
    thresholds : mapping, optional
        The verdict thresholds used (versioned dict from the model).
    options : mapping, optional
        Run options (jobs, scheduler, chunk size, language).
    summary : mapping, optional
        Counts of parcels per verdict, stones read.
    warnings : iterable of str
        Warnings raised during the run.
    started : datetime, optional
        When the run started (UTC); default now.
    path : path, optional
        Where to write the record (a temporary file of an
        :class:`~footprint._io.OutputTransaction`); default ``<out>.audit.json``.
    written : mapping of str to path, optional
        For outputs not yet at their final path: final path to the file that
        holds their bytes now (the transaction's temporary), hashed in their
        stead; the record names the final paths.

    Returns
    -------
    Path
        The path of the record written.
    """
    from ._version import __version__

    now = _dt.datetime.now(_dt.UTC)
    record = {
        "audit_version": AUDIT_VERSION,
        "command": command,
        "user": _user(),
        "host": platform.node(),
        "started_utc": (started or now).isoformat(timespec="seconds"),
        "finished_utc": now.isoformat(timespec="seconds"),
        "tool": {"name": "footprint", "version": __version__, "python": sys.version.split()[0]},
        "inputs": dict(inputs),
        "model": dict(model or {}),
        "thresholds": dict(thresholds or {}),
        "options": dict(options or {}),
        "summary": dict(summary or {}),
        "warnings": list(warnings),
        "outputs": _hash_outputs(outputs, written or {}),
    }
    text = json.dumps(record, indent=2, ensure_ascii=False, default=str) + "\n"
    if path is not None:
        Path(path).write_text(text, encoding="utf-8")
        return Path(path)
    from ._io import atomic_write_bytes

    return atomic_write_bytes(audit_path(out), text.encode("utf-8"))


def _hash_outputs(outputs: Iterable[str | os.PathLike[str]],
                  written: Mapping[str, str | os.PathLike[str]]) -> dict[str, Any]:
    actual = {str(k): v for k, v in written.items()}
    out: dict[str, Any] = {}
    for final in outputs:
        source = Path(actual.get(str(final), final))
        out[str(final)] = {"path": str(final), "sha256": file_sha256(source),
                           "size_bytes": source.stat().st_size}
    return out
