"""Small SYNTHETIC stone photographs drawn from morphology and colour.

Each picture is a ~96 px PNG on a dark background (as rough is photographed
on black velvet), with an outline for the stone's primary form, a fill for
its body colour, a few facet lines, and a visible red "SYNTHETIC" band; the
PNG also carries a ``Comment`` text chunk saying SYNTHETIC. Drawing depends
only on its inputs and the seed, so the bytes are reproducible.
"""

from __future__ import annotations

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from PIL.PngImagePlugin import PngInfo

__all__ = ["SIZE_PX", "draw_stone_png"]

#: Width and height of every picture, pixels.
SIZE_PX = 96

_COLOURS = {
    "colourless": (232, 234, 238), "light_yellow": (242, 236, 180), "yellow": (236, 212, 90),
    "light_brown": (204, 172, 128), "brown": (140, 98, 58), "grey": (150, 150, 154),
    "green": (160, 204, 160), "other": (204, 150, 204), None: (200, 200, 205),
}
_CARBONADO = (55, 55, 58)


def _regular(n: int, radius: float, rng: np.random.Generator, jitter: float, phase: float = 0.0
             ) -> list[tuple[float, float]]:
    c = SIZE_PX / 2 - 6
    pts = []
    for k in range(n):
        angle = phase + 2 * math.pi * k / n
        r = radius * (1 + jitter * rng.uniform(-1, 1))
        pts.append((SIZE_PX / 2 + r * math.cos(angle), c + r * math.sin(angle)))
    return pts


def _outline(morphology: str | None, rng: np.random.Generator) -> list[list[tuple[float, float]]]:
    """Return the polygons to draw for a primary form (one or several for aggregates)."""
    size = 30.0
    if morphology == "octahedron":
        return [_regular(4, size, rng, 0.05)]  # a rhomb: the octahedron seen along an axis
    if morphology == "cube":
        return [_regular(4, size * 0.9, rng, 0.04, phase=math.pi / 4)]  # an upright square
    if morphology == "macle":
        return [_regular(3, size, rng, 0.06, phase=-math.pi / 2)]
    if morphology == "irregular":
        return [_regular(7, size * 0.9, rng, 0.3)]
    if morphology == "aggregate":
        return [_regular(9, size * 0.45, rng, 0.1) for _ in range(3)]
    if morphology == "carbonado":
        return [_regular(11, size * 0.8, rng, 0.25)]
    return [_regular(12, size * 0.9, rng, 0.06)]  # dodecahedron (and unknown form)


def draw_stone_png(morphology: str | None, colour: str | None, *, seed: int, label: str = "") -> bytes:
    """Return the PNG bytes of one SYNTHETIC stone picture.

    Parameters
    ----------
    morphology : str or None
        Primary form (schema vocabulary); ``None`` draws a dodecahedroid.
    colour : str or None
        Body colour class (schema vocabulary).
    seed : int
        Seed of the small random irregularities of the outline.
    label : str, optional
        Text (the sample id) written in the PNG's metadata.

    Returns
    -------
    bytes
        A ``SIZE_PX`` x ``SIZE_PX`` RGB PNG.
    """
    rng = np.random.default_rng(seed)
    image = Image.new("RGB", (SIZE_PX, SIZE_PX), (18, 18, 22))
    draw = ImageDraw.Draw(image)
    fill = _CARBONADO if morphology == "carbonado" else _COLOURS.get(colour, _COLOURS[None])
    edge = tuple(int(v * 0.6) for v in fill)
    polygons = _outline(morphology, rng)
    if morphology == "aggregate":
        polygons = [[(x + dx, y + dy) for x, y in poly]
                    for poly, (dx, dy) in zip(polygons, ((-12, -6), (12, -6), (0, 10)), strict=True)]
    for poly in polygons:
        draw.polygon(poly, fill=fill, outline=edge)
        cx = sum(p[0] for p in poly) / len(poly)
        cy = sum(p[1] for p in poly) / len(poly)
        for x, y in poly[:: max(1, len(poly) // 4)]:  # a few facet lines towards the centre
            draw.line([(x, y), (cx, cy)], fill=edge, width=1)
    draw.rectangle([0, SIZE_PX - 15, SIZE_PX, SIZE_PX], fill=(190, 20, 20))
    font = ImageFont.load_default(size=11)
    draw.text((SIZE_PX / 2, SIZE_PX - 8), "SYNTHETIC", fill=(255, 255, 255), font=font, anchor="mm")
    info = PngInfo()
    info.add_text("Comment", "SYNTHETIC stone picture drawn by footprint synth; not a photograph")
    if label:
        info.add_text("Title", f"SYNTHETIC {label}")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", pnginfo=info)
    return buffer.getvalue()
