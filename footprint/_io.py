"""Writing outputs safely: never onto an input, atomically, and spreadsheet-safe.

Every command that writes goes through this one module (the lowest layer, so
every layer may use it):

* :func:`guard_outputs` refuses, before any work is done, an output that is
  one of the run's inputs (the same file by :func:`os.path.samefile` or by
  resolved path, a file inside an input folder such as a model directory, or
  the input folder itself), two outputs that are the same file, an output
  whose folder does not exist, an output that is a folder, and an existing
  output when the command asks for ``force`` and was not given it.
* :class:`OutputTransaction` writes every output of a run to a temporary file
  (or folder) beside its final path and moves them all into place only when
  the whole run succeeded (:meth:`OutputTransaction.publish`), so a failed run
  leaves neither partial nor orphaned outputs (no results file without its
  audit record). Temporary names start with ``.`` and end in ``.partial``.
* :func:`neutralise_cell` / :func:`neutralise_frame` and the writers
  :func:`write_csv` and :func:`write_xlsx` make text cells that a spreadsheet
  would execute (starting with ``=``, ``+``, ``-``, ``@``, tab or carriage
  return, the OWASP "CSV injection" list) inert by prefixing a single quote.
  Only text is touched: numbers, including negative ones, stay numbers.

Examples
--------
>>> with OutputTransaction() as tx:                        # doctest: +SKIP
...     write_csv(frame, tx.path("results.csv"))
...     tx.path("results.csv.audit.json").write_text("{}")
...     tx.publish()
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import IO, Any

from .exceptions import OutputError

__all__ = [
    "FORMULA_PREFIXES",
    "OutputTransaction",
    "atomic_write_bytes",
    "guard_outputs",
    "needs_neutralising",
    "neutralise_cell",
    "neutralise_frame",
    "same_path",
    "write_csv",
    "write_xlsx",
]

#: First characters that make a spreadsheet treat a cell as a formula (OWASP).
FORMULA_PREFIXES: tuple[str, ...] = ("=", "+", "-", "@", "\t", "\r")

PathLike = str | os.PathLike[str]


# -- spreadsheet-safe cells -------------------------------------------------------


def neutralise_cell(value: Any) -> Any:
    """Return ``value`` made inert for a spreadsheet when it is dangerous text.

    Parameters
    ----------
    value : Any
        A cell. Only ``str`` values are changed.

    Returns
    -------
    Any
        ``"'" + value`` when ``value`` is text starting with one of
        :data:`FORMULA_PREFIXES`, else ``value`` unchanged (numbers, ``None``
        and NaN included).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def needs_neutralising(cells: Iterable[Any]) -> bool:
    """Whether any text cell of ``cells`` starts with a formula character."""
    return any(isinstance(c, str) and c.startswith(FORMULA_PREFIXES) for c in cells)


def neutralise_frame(frame: Any) -> Any:
    """Return a copy of a DataFrame whose text cells are spreadsheet-safe.

    Parameters
    ----------
    frame : DataFrame
        Any table. Columns of object or string dtype are checked cell by cell
        (once per distinct value); numeric, boolean and date columns are left
        as they are, so ``-1.5`` stays the number -1.5. Column names are
        neutralised too.

    Returns
    -------
    DataFrame
        The same frame when nothing needed changing, else a changed copy.
    """
    import pandas as pd

    changed: dict[Any, Any] = {}
    for name in frame.columns:
        col = frame[name]
        if not (col.dtype == object or isinstance(col.dtype, pd.StringDtype)):
            continue
        uniques = pd.unique(col.to_numpy(dtype=object))
        if needs_neutralising(uniques):
            changed[name] = col.map(neutralise_cell, na_action="ignore")
    renamed = {c: neutralise_cell(c) for c in frame.columns if isinstance(c, str)
               and c.startswith(FORMULA_PREFIXES)}
    if not changed and not renamed:
        return frame
    out = frame.copy()
    for name, col in changed.items():
        out[name] = col
    return out.rename(columns=renamed) if renamed else out


def write_csv(frame: Any, dest: PathLike | IO[str], *, comment: str | None = None, **to_csv: Any) -> None:
    """Write a DataFrame as CSV with every text cell spreadsheet-safe.

    Parameters
    ----------
    frame : DataFrame
        The table; ``index=False`` is the default.
    dest : path or text file object
        A path is written atomically (temporary file + rename, see
        :func:`atomic_write_bytes`); an open text stream (``sys.stdout``, or
        an :meth:`OutputTransaction.path` opened by the caller) is written
        directly.
    comment : str, optional
        A first line ``# <comment>`` (e.g. ``SYNTHETIC data: not real stones``).
    **to_csv
        Passed to :meth:`pandas.DataFrame.to_csv` (``float_format``,
        ``lineterminator``...).
    """
    import io

    to_csv.setdefault("index", False)
    safe = neutralise_frame(frame)
    if isinstance(dest, (str, os.PathLike)):
        buffer = io.StringIO()
        if comment is not None:
            buffer.write(f"# {comment}\n")
        safe.to_csv(buffer, **to_csv)
        atomic_write_bytes(dest, buffer.getvalue().encode("utf-8"))
        return
    if comment is not None:
        dest.write(f"# {comment}\n")
    safe.to_csv(dest, **to_csv)


def write_xlsx(frame: Any, dest: PathLike, *, sheet: str = "data", comment: str | None = None) -> None:
    """Write a DataFrame as an XLSX workbook, text cells spreadsheet-safe and typed as text.

    Parameters
    ----------
    frame : DataFrame
        The table.
    dest : path
        Written atomically.
    sheet : str
        Sheet name.
    comment : str, optional
        Written in the first row (e.g. ``SYNTHETIC data: not real stones``),
        above the header.
    """
    import io

    from openpyxl import Workbook

    safe = neutralise_frame(frame)
    book = Workbook(write_only=False)
    ws = book.active
    ws.title = sheet
    if comment is not None:
        ws.append([f"# {comment}"])
    ws.append([str(c) for c in safe.columns])
    for row in safe.astype(object).itertuples(index=False, name=None):
        ws.append([_xlsx_value(v) for v in row])
    # openpyxl reads a str starting with '=' as a formula; neutralised text never does,
    # and every str cell is forced to the string type for good measure.
    for cells in ws.iter_rows():
        for cell in cells:
            if isinstance(cell.value, str):
                cell.data_type = "s"
    buffer = io.BytesIO()
    book.save(buffer)
    atomic_write_bytes(dest, buffer.getvalue())


def _xlsx_value(value: Any) -> Any:
    import pandas as pd

    if value is None or (not isinstance(value, str) and bool(pd.isna(value))):
        return None
    return value.item() if hasattr(value, "item") else value


# -- never onto an input ----------------------------------------------------------


def same_path(a: PathLike, b: PathLike) -> bool:
    """Whether two paths name the same file or folder (samefile when both exist, else resolved)."""
    pa, pb = Path(a), Path(b)
    try:
        if pa.exists() and pb.exists():
            return os.path.samefile(pa, pb)
    except OSError:
        pass
    return pa.resolve() == pb.resolve()


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


def _flatten(named: Mapping[str, Any]) -> Iterator[tuple[str, Path]]:
    for role, value in named.items():
        if value is None:
            continue
        if isinstance(value, (str, os.PathLike)):
            yield role, Path(value)
        else:
            for item in value:
                if item is not None:
                    yield role, Path(item)


def guard_outputs(
    outputs: Mapping[str, PathLike | None],
    inputs: Mapping[str, PathLike | Iterable[PathLike] | None],
    *,
    force: bool = True,
    force_option: str = "--force",
    directories: Iterable[str] = (),
) -> None:
    """Refuse outputs that would destroy an input or cannot be written; call before any work.

    Parameters
    ----------
    outputs : mapping of str to path or None
        Argument name (as the user typed it: ``"--out"``, ``"OUT"``) to the
        output path; ``None`` entries are skipped.
    inputs : mapping of str to path, paths or None
        Argument name to every input file or folder of the run (stones,
        parcels, spectra folder, model directory, store...).
    force : bool
        Whether existing outputs may be replaced. Commands that replace
        outputs by default (results files) pass ``True``; commands whose
        outputs are precious (a model directory, an export) pass the value of
        their ``--force`` option.
    force_option : str
        The option that allows overwriting, for the message.
    directories : iterable of str
        The output names that are folders (a model directory) rather than files.

    Raises
    ------
    OutputError
        Naming the argument and the path: the output is an input (or inside
        an input folder, or contains one), two outputs are the same, its
        folder does not exist, it is a folder where a file is expected (or a
        file where a folder is), or it exists and ``force`` is false.
    """
    folders = set(directories)
    ins = list(_flatten(inputs))
    seen: list[tuple[str, Path]] = []
    for role, raw in outputs.items():
        if raw is None:
            continue
        path = Path(raw)
        if str(raw).strip() == "":
            raise OutputError(f"{role}: empty path")
        for in_role, src in ins:
            if same_path(path, src):
                raise OutputError(f"{role} {path} is the same file as the input {in_role} {src}: refusing "
                                  "to overwrite an input; choose another output path")
            if src.is_dir() and _inside(path, src):
                raise OutputError(f"{role} {path} is inside the input folder {in_role} {src}: refusing to "
                                  "write into an input; choose another output path")
            if role in folders and _inside(src, path):
                raise OutputError(f"{role} {path} contains the input {in_role} {src}: refusing to "
                                  "replace it; choose another output folder")
        for other_role, other in seen:
            if same_path(path, other):
                raise OutputError(f"{other_role} and {role} are the same file ({path}); give each output "
                                  "its own path")
        seen.append((role, path))
        parent = path.parent
        if not parent.is_dir():
            raise OutputError(f"{role} {path}: the folder {parent} does not exist (create it first)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise OutputError(f"{role} {path}: the folder {parent} is not writable")
        if role in folders:
            if path.exists() and not path.is_dir():
                raise OutputError(f"{role} {path} exists and is not a folder")
            if path.is_dir() and any(path.iterdir()) and not force:
                raise OutputError(f"{role} {path} already exists; pass {force_option} to replace it")
        else:
            if path.is_dir():
                raise OutputError(f"{role} {path} is a folder; give a file name")
            if path.exists() and not force:
                raise OutputError(f"{role} {path} already exists; pass {force_option} to replace it")


# -- atomic writes ------------------------------------------------------------------


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: PathLike, data: bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` through a temporary file in the same folder and a rename.

    A reader sees the old file or the new one, never a half-written one; a
    failure leaves the old file (if any) and no temporary file.

    Raises
    ------
    OutputError
        If the folder does not exist or the file cannot be written (the
        message names the path and the system's reason).
    """
    path = Path(path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException as exc:
        if os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(exc, OSError) and not isinstance(exc, OutputError):
            raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
        raise
    _fsync_dir(path.parent)
    return path


class OutputTransaction:
    """All outputs of one run, written to temporaries and published together.

    Use it as a context manager: :meth:`path` (or :meth:`directory`) gives
    the temporary to write each output to; :meth:`publish` moves them all to
    their final paths, in the order they were asked for (so put the audit
    record last); leaving the block without publishing (an exception) removes
    every temporary and leaves any previous outputs as they were.

    Parameters
    ----------
    mode : int
        Permission bits of the published files.
    """

    def __init__(self, *, mode: int = 0o644) -> None:
        self._mode = mode
        self._items: list[tuple[Path, Path, bool]] = []  # (final, temporary, is a folder)
        self.published: list[Path] = []

    def __enter__(self) -> OutputTransaction:
        return self

    def __exit__(self, *exc: object) -> None:
        self.discard()

    def path(self, final: PathLike) -> Path:
        """Return the temporary file to write ``final`` to (created empty, in the same folder)."""
        final = Path(final)
        try:
            fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
        except OSError as exc:
            raise OutputError(f"{final}: cannot write ({exc.strerror or exc})") from None
        os.close(fd)
        self._items.append((final, Path(tmp), False))
        return Path(tmp)

    def directory(self, final: PathLike) -> Path:
        """Return the temporary folder to build the folder ``final`` in."""
        final = Path(final)
        try:
            tmp = tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent)
        except OSError as exc:
            raise OutputError(f"{final}: cannot write ({exc.strerror or exc})") from None
        self._items.append((final, Path(tmp), True))
        return Path(tmp)

    def temporary(self, final: PathLike) -> Path | None:
        """Return the temporary already handed out for ``final``, if any."""
        final = Path(final)
        for f, tmp, _ in self._items:
            if f == final:
                return tmp
        return None

    def publish(self) -> list[Path]:
        """Move every temporary to its final path; return the final paths in order."""
        try:
            for final, tmp, folder in self._items:
                if folder:
                    self._publish_dir(final, tmp)
                else:
                    with open(tmp, "rb+") as fh:
                        os.fsync(fh.fileno())
                    os.chmod(tmp, self._mode)
                    os.replace(tmp, final)
                self.published.append(final)
        except OSError as exc:
            raise OutputError(f"cannot publish outputs ({exc}); published so far: "
                              f"{', '.join(map(str, self.published)) or 'none'}") from None
        for parent in {final.parent for final, _, _ in self._items}:
            _fsync_dir(parent)
        self._items = [item for item in self._items if item[0] not in self.published]
        return list(self.published)

    @staticmethod
    def _publish_dir(final: Path, tmp: Path) -> None:
        os.chmod(tmp, 0o755)
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".old", dir=final.parent))
            os.rmdir(old)
            os.replace(final, old)
            try:
                os.replace(tmp, final)
            except BaseException:
                os.replace(old, final)
                raise
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, final)

    def discard(self) -> None:
        """Remove every temporary not yet published (the finals are left untouched)."""
        for _final, tmp, folder in self._items:
            if folder:
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                try:
                    tmp.unlink()
                except FileNotFoundError:
                    pass
        self._items = []
