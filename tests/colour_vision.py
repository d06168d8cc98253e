"""Colour-vision simulation and colour difference for the colour tests (palette and printed page).

Simulation: Machado, Oliveira & Fernandes (2009), severity 1.0 matrices, applied
to linear sRGB. Colour difference: CIE76 ΔE*ab in CIELAB (D65). Greyscale: the
CIE L* of a colour (what a greyscale print or photocopy keeps).
"""

from __future__ import annotations

import numpy as np

VISIONS = ("normal", "deuteranopia", "protanopia")

MACHADO = {
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
}  # fmt: skip


def rgb_of(hex_colour: str) -> np.ndarray:
    """sRGB 0–1 of ``#rrggbb``."""
    h = hex_colour.lstrip("#")
    return np.array([int(h[i : i + 2], 16) for i in (0, 2, 4)], dtype=float) / 255


def linear(rgb: np.ndarray) -> np.ndarray:
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def lab_of_rgb(rgb: np.ndarray, vision: str = "normal") -> np.ndarray:
    """CIELAB (D65) of an sRGB colour (0–1) as seen with ``vision``."""
    lin = linear(np.asarray(rgb, dtype=float))
    if vision != "normal":
        lin = np.clip(MACHADO[vision] @ lin, 0, 1)
    m = np.array([[0.4124564, 0.3575761, 0.1804375],
                  [0.2126729, 0.7151522, 0.0721750],
                  [0.0193339, 0.1191920, 0.9503041]])  # fmt: skip
    xyz = m @ lin / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e76(a: np.ndarray, b: np.ndarray, vision: str = "normal") -> float:
    """CIE76 ΔE*ab between two sRGB colours (0–1) as seen with ``vision``."""
    return float(np.linalg.norm(lab_of_rgb(a, vision) - lab_of_rgb(b, vision)))
