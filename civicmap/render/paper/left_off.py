"""What the paper map leaves off (a layer's ``print_if:``), and the sheet's note saying so.

The places are marked by :mod:`civicmap.status` (``print_off``: 閉鎖, 不明, stale,
no_time); the index and the markers skip them (:func:`is_left_off`), and the sheet says
what it prints and how many it left off, and why, in the map's language:
「開設で24時間以内に確認された場所だけを載せています。載せなかった場所：閉鎖 2、不明 1」.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable
from typing import Any

from civicmap.mapdata import LayerData
from civicmap.render._fonts import draw_text, text_width
from civicmap.render.paper.texts import wrap

#: The column :mod:`civicmap.status` fills with the reason a place is not printed.
PRINT_OFF = "print_off"
_ORDER = ("閉鎖", "不明", "stale", "no_time")
WORDS = {
    "ja": {
        "閉鎖": "閉鎖", "不明": "不明", "stale": "確認が古い", "no_time": "確認日時なし",
        "only": "{what}場所だけを載せています。", "left": "載せなかった場所：{counts}",
        "checked": "{age}以内に確認された", "sep": "、", "and": "で", "or": "・", "of": "の",
        "h": "{n}時間", "d": "{n}日", "m": "{n}分",
    },
    "en": {
        "閉鎖": "closed", "不明": "unknown", "stale": "not checked recently",
        "no_time": "no check time",
        "only": "Only places {what} are printed. ", "left": "Left off: {counts}",
        "checked": "checked within {age}", "sep": ", ", "and": " and ", "or": " or ", "of": "",
        "h": "{n} h", "d": "{n} days", "m": "{n} min",
    },
}  # fmt: skip
_STATUS_EN = {"開設": "open", "閉鎖": "closed", "不明": "of unknown status"}


def _text(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    return str(v).strip()


def is_left_off(row: Any) -> bool:
    """Whether the paper map leaves this place off (its layer's ``print_if:``)."""
    return _text(row.get(PRINT_OFF)) != ""


def left_off(layer: LayerData) -> Counter:
    """How many places of ``layer`` are left off, by reason."""
    f = layer.features
    if PRINT_OFF not in f.columns:
        return Counter()
    return Counter(r for r in (_text(v) for v in f[PRINT_OFF]) if r)


def _age(hours: float, w: dict[str, str]) -> str:
    if hours >= 48 and hours % 24 == 0:
        return w["d"].format(n=f"{hours / 24:g}")
    if hours >= 1:
        return w["h"].format(n=f"{hours:g}")
    return w["m"].format(n=f"{hours * 60:g}")


def note_lines(layers: list[LayerData], language: str) -> list[str]:
    """The sheet's sentences: what each rule prints, then what was left off and why."""
    w = WORDS["en" if language == "en" else "ja"]
    rules: dict[str, Counter] = {}
    for layer in layers:
        rule = layer.spec.print_if
        if rule is None:
            continue
        if language == "en":
            what = w["or"].join(_STATUS_EN.get(s, s) for s in rule.status)
        else:
            what = w["or"].join(rule.status)
        if rule.max_age_hours is not None:
            checked = w["checked"].format(age=_age(rule.max_age_hours, w))
            what = f"{what}{w['and']}{checked}" if what else checked
        else:
            what += w["of"]
        rules.setdefault(what, Counter()).update(left_off(layer))
    out = []
    for what, counts in rules.items():
        line = w["only"].format(what=what)
        if counts:
            parts = [f"{w[r]} {counts[r]}" for r in _ORDER if counts.get(r)]
            line += w["left"].format(counts=w["sep"].join(parts))
        out.append(line)
    return out


def left_off_blocks(renderer: Any, width: float) -> list[tuple[float, Callable]]:
    """The panel block with :func:`note_lines` and the change list since the last print
    (``outputs.paper.changes_since``); none when there is neither."""
    lines = note_lines(renderer.data.layers, renderer.lang)
    if renderer.data.change_note:  # what changed since the last print
        lines.append(renderer.data.change_note)
    if not lines:
        return []
    fs = renderer.fs(7)
    wrapped = [
        part for line in lines for part in wrap(line, width - 4, lambda s: text_width(s, fs))
    ]
    h = len(wrapped) * fs * 1.3 + fs * 0.8

    def draw(c, x: float, y_top: float) -> None:
        for i, line in enumerate(wrapped):
            draw_text(c, x, y_top - fs * (1.0 + 1.3 * i), line, fs, bold=i == 0)

    return [(h, draw)]
