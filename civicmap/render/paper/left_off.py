"""What the paper map leaves off (a layer's ``print_if:``), and the sheet's note saying so.

The places are marked by :mod:`civicmap.status` (``print_off``: 閉鎖, 不明, stale,
no_time); the index and the markers skip them (:func:`is_left_off`), and the sheet says
what it prints and how many it left off, and why, in the map's language:
「開設で24時間以内に確認された場所だけを載せています。載せなかった場所：閉鎖 2、不明 1」.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any

from civicmap import wording
from civicmap.mapdata import LayerData
from civicmap.render._fonts import draw_text, text_width
from civicmap.render.paper.texts import wrap
from civicmap.status import LEFT_OFF_REASONS

#: The column :mod:`civicmap.status` fills with the reason a place is not printed.
PRINT_OFF = "print_off"
#: The glossary key of each reason :mod:`civicmap.status` writes in :data:`PRINT_OFF`.
_REASON_KEYS = dict(
    zip(
        LEFT_OFF_REASONS, ("left.closed", "left.unknown", "left.stale", "left.no_time"), strict=True
    )
)


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


def _age(hours: float, w: Mapping[str, str]) -> str:
    if hours >= 48 and hours % 24 == 0:
        return w["left.days"].format(n=f"{hours / 24:g}")
    if hours >= 1:
        return w["left.hours"].format(n=f"{hours:g}")
    return w["left.minutes"].format(n=f"{hours * 60:g}")


def note_lines(layers: list[LayerData], language: str) -> list[str]:
    """The sheet's sentences: what each rule prints, then what was left off and why."""
    w = wording.words(language)
    rules: dict[str, Counter] = {}
    for layer in layers:
        rule = layer.spec.print_if
        if rule is None:
            continue
        status = w["left.or"].join(wording.translate(language, "status", s) for s in rule.status)
        age = _age(rule.max_age_hours, w) if rule.max_age_hours is not None else ""
        if status and age:
            what = w["left.only_both"].format(status=status, age=age)
        elif age:
            what = w["left.only_checked"].format(age=age)
        else:
            what = w["left.only_status"].format(status=status)
        rules.setdefault(what, Counter()).update(left_off(layer))
    out = []
    for what, counts in rules.items():
        line = what
        if counts:
            parts = [f"{w[_REASON_KEYS[r]]} {counts[r]}" for r in LEFT_OFF_REASONS if counts.get(r)]
            line += w["left.left"].format(counts=w["left.sep"].join(parts))
        out.append(line)
    return out


def left_off_blocks(renderer: Any, width: float) -> list[tuple[float, Callable]]:
    """The panel block with :func:`note_lines` and the change list since the last print
    (``outputs.paper.changes_since``); none when there is neither."""
    lang = renderer.lang
    # a bilingual sheet (ja+vi): each sentence in Japanese, then in the second language
    said = {one: note_lines(renderer.data.layers, one) for one in wording.parts(lang)}
    lines = [
        wording.both(lang, lambda one, i=i: said[one][i])
        for i in range(len(said[wording.base(lang)]))
    ]
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
