"""Fixtures for the report tests: headless Chromium and a small synthetic store with photographs."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> str:
    """Path of Debian's chromium; skipped outside CI when absent, a failure in CI."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("chromium is required in CI for the report screenshot tests (make test installs it)")
        pytest.skip("chromium not installed (Debian package 'chromium'; make test installs it)")
    return path


@pytest.fixture(scope="session")
def render_in_chromium(chromium: str):
    """A function rendering an HTML file: returns (screenshot path, DOM as Chromium built it)."""
    return lambda html, tmp: _run_chromium(chromium, html, tmp)


def _run_chromium(chromium: str, html: Path, tmp: Path) -> tuple[Path, str]:
    url = html.resolve().as_uri()
    profile = tmp / "chromium-profile"
    png = tmp / (html.stem + ".png")
    common = [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}"]
    subprocess.run(
        [*common, f"--screenshot={png}", "--window-size=1200,3000", url],
        check=True,
        capture_output=True,
        timeout=120,
    )
    dom = subprocess.run([*common, "--dump-dom", url], check=True, capture_output=True, timeout=120)
    return png, dom.stdout.decode("utf-8")


def write_stones(frame: pd.DataFrame, path: Path) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n")
        frame.to_csv(fh, index=False, lineterminator="\n")
    return path


@pytest.fixture(scope="session")
def reference_frame() -> pd.DataFrame:
    from footprint.synth import generate_reference, load_params

    return generate_reference(load_params(), seed=21, lots_per_site=3, stones_per_lot=20)


@pytest.fixture(scope="session")
def photo_store(tmp_path_factory: pytest.TempPathFactory, reference_frame: pd.DataFrame) -> Path:
    """A synthetic store whose first 4 stones of every lot have a photograph (a coloured square)."""
    from PIL import Image

    from footprint import db

    tmp = tmp_path_factory.mktemp("report-store")
    csv = write_stones(reference_frame, tmp / "reference.csv")
    images = tmp / "images"
    images.mkdir()
    palette = {"CAR-West": (40, 90, 170), "CAR-East": (210, 130, 40)}
    from PIL import ImageDraw

    k = 0
    for _, group in reference_frame.groupby("lot_id"):
        for _, row in group.head(4).iterrows():
            image = Image.new("RGB", (48, 48), (245, 245, 245))
            draw = ImageDraw.Draw(image)
            draw.ellipse((6, 6, 42, 42), fill=palette.get(row["zone"], (90, 90, 90)))
            image.putpixel((k % 48, k // 48), (0, 0, 0))  # every photograph differs
            image.save(images / f"{row['sample_id']}.png")
            k += 1
    store = tmp / "reference.h5"
    db.init(store, by="test")
    db.add(store, stones=csv, images=images, by="test", n_jobs=1)
    return store
