"""The classify report shows a parcel's photos beside the reference photos of its nearest lots."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]


def test_parcel_photos_beside_reference_photos(photo_store: Path, tmp_path: Path) -> None:
    import footprint
    from footprint.classify import parcel_photos
    from footprint.report import render_classify_report
    from footprint.exceptions import InputError
    from footprint.synth import generate_parcels, load_params

    stones, parcels = generate_parcels(load_params(), seed=4, n_parcels=2, size_range=(30, 30))
    stones_csv = tmp_path / "stones.csv"
    with open(stones_csv, "w", encoding="utf-8", newline="") as fh:
        fh.write("# SYNTHETIC\n")
        stones.to_csv(fh, index=False, lineterminator="\n")
    parcels_csv = tmp_path / "parcels.csv"
    parcels[["parcel_id", "declared_zone", "kp_certificate", "exporter"]].to_csv(parcels_csv, index=False)
    photos = tmp_path / "photos"
    photos.mkdir()
    first = str(parcels["parcel_id"].iloc[0])
    for k in range(8):  # eight photos of the first parcel, none of the second; one broken file
        Image.new("RGB", (300, 200), (20 * k, 120, 200)).save(photos / f"{first}-{k:03d}.png")
    (photos / f"{first}-broken.png").write_bytes(b"not a png")
    found = parcel_photos(photos, parcels["parcel_id"].tolist())
    assert list(found) == [first] and len(found[first]) == 6
    assert all(src.startswith("data:image/png;base64,") for src in found[first])
    with pytest.raises(InputError):
        parcel_photos(tmp_path / "missing", [first])

    report = tmp_path / "report.html"
    footprint.classify(REPO / "models" / "demo-synthetic", stones_csv, tmp_path / "results.csv",
                       parcels=parcels_csv, report=report, db=photo_store, images=photos,
                       render_report=render_classify_report)
    html = report.read_text(encoding="utf-8")
    block = html[html.index(f'id="photos-{first}"'):]
    block = block[: block.index("</div>\n</div>") + 12]
    assert block.count(f'alt="{first}"') == 6  # the parcel's photos ...
    assert block.count('title="') >= 3  # ... beside reference stones of the nearest lots (from the store)
    assert "Photos: the parcel beside the reference" in html
    second = str(parcels["parcel_id"].iloc[1])
    assert f'id="photos-{second}"' not in html  # no photos, no block
