"""Photographs: decoded with Pillow, corrupt and truncated files refused by name."""

from __future__ import annotations

import pytest

from footprint.exceptions import InputError
from footprint.ingest import _images, read_images


def test_good_images_and_views(tmp_path, write_png):
    write_png(tmp_path / "S1.png")
    write_png(tmp_path / "S1_side.jpg", size=(40, 30))
    write_png(tmp_path / "S2_top.jpeg")
    (tmp_path / "README.txt").write_text("photos of the March lot")
    images = read_images(tmp_path)
    got = [(im.sample_id, im.view, im.mime_type, im.width, im.height) for im in images]
    assert got == [("S1", "default", "image/png", 32, 24), ("S1", "side", "image/jpeg", 40, 30),
                   ("S2", "top", "image/jpeg", 32, 24)]
    assert images[0].data == (tmp_path / "S1.png").read_bytes()


def test_truncated_corrupt_and_foreign_files_are_refused(tmp_path, write_png):
    good = write_png(tmp_path / "ok.png", size=(64, 64))
    data = good.read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    write_png(tmp_path / "big.jpg", size=(256, 256))
    jpeg = (tmp_path / "big.jpg").read_bytes()
    (tmp_path / "cut2.jpg").write_bytes(jpeg[: len(jpeg) // 2])
    (tmp_path / "big.jpg").unlink()
    (tmp_path / "text.png").write_text("this is not a picture")
    from PIL import Image

    Image.new("RGB", (32, 32)).save(tmp_path / "anim.png", format="GIF")  # GIF named .png
    Image.new("RGB", (4, 4)).save(tmp_path / "tiny.png")
    with pytest.raises(InputError) as info:
        read_images(tmp_path)
    by_file = {p.file.rsplit("/", 1)[-1]: p.rule for p in info.value.problems}
    assert set(by_file) == {"cut.png", "cut2.jpg", "text.png", "anim.png", "tiny.png"}
    assert "truncated or corrupt" in by_file["cut.png"] or "decodable" in by_file["cut.png"]
    assert "truncated or corrupt" in by_file["cut2.jpg"]
    assert "not a decodable" in by_file["text.png"]
    assert "only PNG and JPEG" in by_file["anim.png"]
    assert "smaller than 16 pixels" in by_file["tiny.png"]


def test_size_limits_and_duplicate_views(tmp_path, write_png, monkeypatch):
    write_png(tmp_path / "S1.png", size=(200, 200), colour=(1, 2, 3))
    write_png(tmp_path / "S1.jpg")
    monkeypatch.setattr(_images, "MAX_IMAGE_BYTES", 200)
    with pytest.raises(InputError) as info:
        read_images(tmp_path)
    rules = " | ".join(str(p) for p in info.value.problems)
    assert "S1.png" in rules and "MB are refused" in rules
    monkeypatch.setattr(_images, "MAX_IMAGE_BYTES", 10**9)
    with pytest.raises(InputError, match="a second image for sample 'S1' view 'default'"):
        read_images(tmp_path)


def test_not_a_folder(tmp_path):
    with pytest.raises(InputError, match="must be a folder"):
        read_images(tmp_path / "nope")
