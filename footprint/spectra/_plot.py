"""A figure of one FTIR fit: spectrum, fitted components and residual (matplotlib, Agg)."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from .._io import atomic_write_bytes

__all__ = ["plot_fit"]

_COLOURS = {"C": "tab:orange", "A": "tab:blue", "X": "tab:purple", "B": "tab:green", "D": "tab:brown"}


def plot_fit(details: dict[str, Any], out: str | Path, *, title: str = "") -> Path:
    """Write a PNG of one spectrum's fit.

    Parameters
    ----------
    details : dict
        As returned by :func:`footprint.spectra.fit_details`.
    out : path-like
        PNG file to write.
    title : str, optional
        Figure title (the sample or file name).

    Returns
    -------
    Path
        The file written.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    x = details["x"]
    row = details["features"].iloc[0]
    fig, axes = plt.subplots(3, 1, figsize=(9, 10), gridspec_kw={"height_ratios": [2, 3, 1.2]})
    top, mid, bottom = axes
    top.plot(x, details["absorption"], color="black", lw=0.8, label="corrected spectrum")
    top.plot(x, details["intrinsic"], color="grey", lw=0.8, ls="--", label="type IIa intrinsic (scaled)")
    top.set_ylabel("absorption coefficient (cm$^{-1}$)")
    top.set_xlim(x[-1], x[0])
    top.legend(fontsize=8)
    window = (x >= 1000) & (x <= 1420)
    xw = x[window]
    mid.plot(xw, details["nitrogen_absorption"][window], color="black", lw=1.0, label="spectrum - intrinsic")
    for name, curve in details["components"].items():
        if np.any(curve[window] != 0):
            mid.plot(xw, curve[window], color=_COLOURS[name], lw=0.9, label=f"{name} component")
    if np.any(details["platelet"] != 0):
        mid.plot(xw, details["platelet"][window], color="tab:red", lw=0.9, label="platelet (B') peak")
    mid.plot(xw, details["fit"][window], color="tab:cyan", lw=1.2, ls="--", label="fit")
    mid.set_xlim(1420, 1000)
    mid.set_ylabel("absorption coefficient (cm$^{-1}$)")
    mid.legend(fontsize=8, ncol=2)
    summary = (f"N total {row['n_total_ppm']:.0f} ppm (A {row['n_a_ppm']:.0f}, B {row['n_b_ppm']:.0f}, "
               f"C {row['n_c_ppm']:.0f}); %B {row['n_b_percent']:.1f}; type {row['diamond_type']}")
    if row["flags"]:
        summary += f"; flags: {row['flags']}"
    mid.set_title(summary, fontsize=9)
    bottom.plot(xw, details["residual"][window], color="black", lw=0.8)
    bottom.axhline(0.0, color="grey", lw=0.6)
    bottom.set_xlim(1420, 1000)
    bottom.set_xlabel("wavenumber (cm$^{-1}$)")
    bottom.set_ylabel("residual (cm$^{-1}$)")
    fig.suptitle(title or "FTIR fit")
    fig.tight_layout()
    path = Path(out)
    buffer = io.BytesIO()
    fig.savefig(buffer, dpi=110, format="png")
    atomic_write_bytes(path, buffer.getvalue())
    plt.close(fig)
    return path
