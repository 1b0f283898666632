"""The CLI's shared plumbing: logs follow the current stderr, errors map to exit codes."""

from __future__ import annotations

import io
import logging
import sys

import pytest
import typer

from footprint.cli._common import guarded, setup_logging
from footprint.exceptions import SchemaError, StoreLockedError


def test_logs_go_to_the_stderr_of_each_run(monkeypatch: pytest.MonkeyPatch) -> None:
    setup_logging()
    logger = logging.getLogger("footprint.test")
    for text in ("first run", "second run"):
        captured = io.StringIO()
        monkeypatch.setattr(sys, "stderr", captured)
        logger.info(text)
        assert captured.getvalue() == f"INFO: {text}\n"
    setup_logging()
    handlers = logging.getLogger("footprint").handlers
    assert len(handlers) == 1


@pytest.mark.parametrize(("error", "code"), [(SchemaError("bad colour"), 3), (StoreLockedError("held"), 4)])
def test_guarded_maps_footprint_errors_to_documented_exit_codes(error, code, capsys) -> None:
    @guarded
    def command() -> None:
        raise error

    with pytest.raises(typer.Exit) as exit_info:
        command()
    assert exit_info.value.exit_code == code
    assert f"error: {error}" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "code", "text"),
    [
        (PermissionError(13, "Permission denied", "/x/in.csv"), 3, "error: /x/in.csv: Permission denied"),
        (ZeroDivisionError("division by zero"), 1, "internal error (ZeroDivisionError: division by zero)"),
        (KeyboardInterrupt(), 130, "error: interrupted"),
    ],
)
def test_guarded_never_lets_a_traceback_out(error, code, text, capsys, monkeypatch) -> None:
    monkeypatch.delenv("FOOTPRINT_DEBUG", raising=False)

    @guarded
    def command() -> None:
        raise error

    with pytest.raises(typer.Exit) as exit_info:
        command()
    assert exit_info.value.exit_code == code
    err = capsys.readouterr().err
    assert text in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_guarded_debug_shows_the_bug(monkeypatch) -> None:
    monkeypatch.setenv("FOOTPRINT_DEBUG", "1")

    @guarded
    def command() -> None:
        raise ZeroDivisionError("x")

    with pytest.raises(ZeroDivisionError):
        command()


def test_guarded_passes_usage_errors_through() -> None:
    @guarded
    def command() -> None:
        raise typer.BadParameter("bad")

    with pytest.raises(typer.BadParameter):
        command()


def test_guarded_turns_python_warnings_into_log_lines(capsys, monkeypatch) -> None:
    import warnings

    import numpy as np

    @guarded
    def command() -> None:
        with np.errstate(divide="warn"):
            np.log(np.zeros(1))  # numpy's RuntimeWarning: divide by zero
        warnings.warn("the spectra folder holds a README", UserWarning, stacklevel=1)

    with warnings.catch_warnings():
        warnings.simplefilter("default")
        command()
    err = capsys.readouterr().err
    assert "WARNING: the spectra folder holds a README" in err
    assert "RuntimeWarning" not in err and "divide by zero" not in err and "np.log" not in err
