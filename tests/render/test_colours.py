"""Layer colours: from the CUD recommended set, told apart with colour-vision deficiency and in grey.

Simulation: Machado, Oliveira & Fernandes (2009), severity 1.0 matrices, applied
to linear sRGB. Colour difference: CIE76 ΔE*ab in CIELAB (D65). Greyscale:
the CIE L* of each colour (what a greyscale print or photocopy keeps).
"""

from __future__ import annotations

import itertools
import re
from pathlib import Path

import numpy as np
import yaml
from colour_vision import lab_of_rgb, rgb_of

import civicmap
from civicmap.render._routes import ROUTE_COLOUR
from civicmap.spec.layers import derived_colour

ROOT = Path(civicmap.__file__).parent.parent
LAYERS = sorted((ROOT / "layers").glob("*.yaml"))

#: カラーユニバーサルデザイン推奨配色セット ver.4 (accent, base and achromatic colours), RGB.
CUD_V4 = {
    "赤": (255, 75, 0), "黄色": (255, 241, 0), "緑": (3, 175, 122), "青": (0, 90, 255),
    "空色": (77, 196, 255), "ピンク": (255, 128, 130), "オレンジ": (246, 170, 0),
    "紫": (153, 0, 153), "茶": (128, 64, 0),
    "明るいピンク": (255, 202, 191), "クリーム": (255, 255, 128), "明るい黄緑": (216, 242, 85),
    "明るい空色": (191, 228, 255), "ベージュ": (255, 202, 128), "明るい緑": (119, 217, 168),
    "明るい紫": (201, 172, 230),
    "白": (255, 255, 255), "明るいグレー": (200, 200, 203), "灰色": (132, 145, 158),
    "黒": (0, 0, 0),
}  # fmt: skip

MIN_DELTA_E = 20.0  # CIE76, for every vision (normal, deuteranopia, protanopia)
MIN_GREY_DL = 10.0  # L* difference


def lab(hex_colour: str, vision: str = "normal") -> np.ndarray:
    """CIELAB (D65) of a colour as seen with ``vision`` (Machado 2009 on linear sRGB)."""
    return lab_of_rgb(rgb_of(hex_colour), vision)


def delta_e(a: str, b: str, vision: str = "normal") -> float:
    """CIE76 ΔE*ab between two colours as seen with ``vision``."""
    return float(np.linalg.norm(lab(a, vision) - lab(b, vision)))


def _layer_colour(path: Path) -> str:
    return yaml.safe_load(path.read_text(encoding="utf-8"))["style"]["color"].lower()


def test_simulation_matches_published_values():
    # Machado's deuteranopia turns pure red into a dark olive and leaves grey alone.
    assert delta_e("#808080", "#808080", "deuteranopia") == 0
    r = lab("#ff0000", "deuteranopia")
    assert 40 < r[0] < 60 and abs(r[1]) < 15 and r[2] > 40
    # the pair: the old AED and playground colours were 2.9 apart under deuteranopia
    assert delta_e("#e03131", "#5c940d", "deuteranopia") < 5


def test_built_in_palette_is_the_cud_set():
    cud = {"#{:02x}{:02x}{:02x}".format(*v) for v in CUD_V4.values()}
    colours = {p.stem: _layer_colour(p) for p in LAYERS}
    assert len(colours) >= 9
    assert set(colours.values()) <= cud, colours
    assert len(set(colours.values())) == len(colours), colours  # one colour per layer
    for base in colours.values():
        for i in range(1, 6):  # derived category colours too
            assert derived_colour(base, i).lower() in cud, (base, i)


def test_demo_colours_differ_for_every_vision_and_in_grey():
    demo = yaml.safe_load(civicmap.demo_map_path().read_text(encoding="utf-8"))
    used = [_layer_colour(ROOT / "layers" / f"{layer['use']}.yaml") for layer in demo["layers"]]
    used.append(ROUTE_COLOUR.lower())
    assert len(used) >= 3
    for a, b in itertools.combinations(used, 2):
        for vision in ("normal", "deuteranopia", "protanopia"):
            assert delta_e(a, b, vision) >= MIN_DELTA_E, (a, b, vision, delta_e(a, b, vision))
        grey = abs(lab(a)[0] - lab(b)[0])
        assert grey >= MIN_GREY_DL, (a, b, grey)


def test_testers_pairs_are_apart():
    colours = {p.stem: _layer_colour(p) for p in LAYERS}
    for a, b in (("aed", "playgrounds"), ("childcare", "shelters"), ("aed", "fire_stations"),
                 ("police", "water"), ("hospitals", "aed")):  # fmt: skip
        for vision in ("normal", "deuteranopia", "protanopia"):
            assert delta_e(colours[a], colours[b], vision) >= MIN_DELTA_E, (a, b, vision)


def test_route_colour_is_reserved_on_paper_and_web():
    colours = {p.stem: _layer_colour(p) for p in LAYERS}
    for name, colour in colours.items():
        assert colour != ROUTE_COLOUR.lower(), name
        assert all(derived_colour(colour, i).lower() != ROUTE_COLOUR.lower() for i in range(8))
        for vision in ("normal", "deuteranopia", "protanopia"):
            assert delta_e(colour, ROUTE_COLOUR, vision) >= MIN_DELTA_E, (name, vision)
    js = (ROOT / "civicmap" / "render" / "assets" / "civicmap.js").read_text(encoding="utf-8")
    assert re.search(r'var ROUTE_COLOR = "(#[0-9a-f]{6})"', js).group(1) == ROUTE_COLOUR.lower()
