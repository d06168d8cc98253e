"""The panel blocks beside the map: scale bar, legend, walking routes, notes, QR code, credits.

Each block is (height, draw) so the single page and the atlas overview can
stack them in whatever space they have.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from reportlab.lib import colors

from civicmap import settings, wording
from civicmap.mapdata import LayerData
from civicmap.render import basemap as bm
from civicmap.render._fonts import draw_text, text_width
from civicmap.render._routes import draw_paper_route
from civicmap.render.background import credit_lines
from civicmap.render.paper.geometry import MM, Rect, ScaleBar, scale_bar
from civicmap.render.paper.hazards import hazard_blocks
from civicmap.render.paper.left_off import left_off, left_off_blocks
from civicmap.render.paper.marks import draw_marker, number_box
from civicmap.render.paper.placement import NumberLabel
from civicmap.render.paper.plan import RouteLeg
from civicmap.render.paper.shapes import ShapeLook, draw_swatch, shape_legend
from civicmap.render.paper.texts import STRIP, TEXT, other_title, wrap
from civicmap.render.routes_table import route_notes, route_sections
from civicmap.render.symbols import OtherStyle
from civicmap.spec.layers import CategoryStyle

log = logging.getLogger(__name__)

#: The date line: the newest date of the data drawn (see civicmap.mapdata.data_time).
DATA_AS_OF = wording.Names("paper.data_as_of")


def draw_scale_bar(c, x: float, y: float, bar: ScaleBar, scale: int, fs: float, lang: str) -> Rect:
    """Scale bar with its ratio; tick numbers centred on their ticks (tests measure them)."""
    t = TEXT[lang]
    draw_text(c, x, y + fs * 2.6, f"{t['scale']} 1:{scale:,}", fs * 1.1, bold=True)
    h = 3.2
    by = y + fs * 1.3
    segs = 4
    for i in range(segs):
        c.setFillColor(colors.black if i % 2 == 0 else colors.white)
        c.setStrokeColor(colors.black)
        c.setLineWidth(0.5)
        c.rect(x + bar.length * i / segs, by, bar.length / segs, h, stroke=1, fill=1)
    for m in bar.ticks:
        tx = x + bar.length * m / bar.metres
        draw_text(c, tx, y, bar.tick_label(m), fs, anchor="middle")
    # The unit follows the last number (centred on the bar's end), never on top of it.
    last = text_width(bar.tick_label(bar.ticks[-1]), fs)
    draw_text(c, x + bar.length + last / 2 + fs * 0.3, y, bar.unit, fs)
    return Rect(x, by, bar.length, h)


def scale_bar_width(bar: ScaleBar, fs: float) -> float:
    """Width of :func:`draw_scale_bar`'s drawing from its x: bar, last number, unit."""
    last = text_width(bar.tick_label(bar.ticks[-1]), fs)
    bar_w = bar.length + last / 2 + fs * 0.3 + text_width(bar.unit, fs)
    return max(bar_w, text_width("1:200,000", fs * 1.1) + fs * 4)


@dataclass(frozen=True)
class _CategoryRow(CategoryStyle):
    """A category's legend line under its layer's heading (these pair up two to a row)."""


class PanelBlocks:
    """Mixin of the renderer: builds the panel's blocks for a width and a scale."""

    def _legend_item(
        self, c, x: float, y: float, wl: list[str], what: Any, fs: float, lh: float
    ) -> None:
        """One legend line at (x, y top): its symbol (or number box) and its text."""
        t = self.t
        cy = y - lh / 2
        bold = False
        if isinstance(what, CategoryStyle):
            draw_marker(c, what.symbol, x + self.marker / 2, cy, self.marker, what.color)
        elif isinstance(what, ShapeLook):
            draw_swatch(c, what, x, cy, self.marker)
        elif isinstance(what, LayerData):
            bold = True  # a layer heading above its categories' symbols
        elif what == "approx":
            draw_marker(c, "circle", x + self.marker / 2, cy, self.marker * 0.8, "#ffffff",
                        approximate=True)  # fmt: skip
        elif what == "number":
            box = Rect(x, cy - self.num_fs * 0.65, text_width("12", self.num_fs) + 2.6,
                       self.num_fs * 1.3)  # fmt: skip
            number_box(c, NumberLabel(12, (x, cy), box, False), self.num_fs)
            wl = [f"{t['number']} → {t['index']}"]
        for i, line in enumerate(wl):
            lx = x if bold else x + self.marker + 5
            draw_text(c, lx, cy - fs * 0.35 - i * fs * 1.25, line, fs, bold=bold)

    def _legend_layer_lines(self, layer: LayerData) -> list[tuple[str, Any]]:
        """A layer's legend lines: one with its symbol, or its title over one line per
        category symbol the map draws (the same style table as the web map's legend)."""
        shown = len(layer.features) - sum(left_off(layer).values())  # print_if: left off
        bare = layer.spec.title_in(self.lang)
        title = bare + f" ({shown})"
        # one row per look drawn; the categories it stands for (a file may draw two alike)
        looks: dict[tuple[str, str, bool], tuple[CategoryStyle, int, list[str]]] = {}
        other_kinds: set[str] = set()  # past the category budget: one row for them all
        for e in self.entries:
            if e.layer is layer and e.look is not None:
                rest = isinstance(e.look, OtherStyle)
                if rest:
                    other_kinds.add(e.category)
                key = (e.look.symbol, e.look.color, rest)
                look, n, names = looks.get(key, (e.look, 0, []))
                if e.category not in names:
                    names.append(e.category)
                looks[key] = (look, n + 1, names)
        shapes = shape_legend(layer, self)
        if shapes and not looks:  # a layer of lines or areas: their swatches, no marker
            if len(shapes) == 1:
                return [(title, shapes[0][1])]
            return [(title, layer), *((f"{t} ({n})", look) for t, look, n in shapes)]
        if shapes:  # places and shapes: the shapes' rows after the places'
            extra = [(f"{t or bare} ({n})", look) for t, look, n in shapes]
        else:
            extra = []
        if not looks and layer.features.empty:  # a symbol for nothing would send readers looking
            says = wording.both(  # each language's words with the layer's title in it
                self.lang,
                lambda lang: TEXT[lang]["none_here"].format(layer=layer.spec.title_in(lang)),
            )
            return [(says, "text")]
        if not looks:
            st = layer.spec.style
            return [(title, CategoryStyle("", st.color, st.symbol))]
        if len(looks) == 1 and not extra:
            return [(title, next(iter(looks.values()))[0]), *self._strip_legend(layer)]
        out: list[tuple[str, Any]] = [(title, layer)]
        for look, n, names in looks.values():
            if isinstance(look, OtherStyle):
                name = other_title(self.lang, kinds=len(other_kinds), places=n)
                out.append((name, _CategoryRow(look.name, look.color, look.symbol)))
                continue
            if look.symbol == "shelter_both":
                name = self.t["shelter_both"]
            else:  # places without a category are the layer's own: its title, once
                shown_names = list(
                    dict.fromkeys(
                        layer.spec.category_title(nm, self.lang) or bare
                        for nm in sorted(names, key=lambda nm: nm == "")  # named ones first
                    )
                )
                name = wording.list_sep(self.lang).join(shown_names[:3])
                if len(shown_names) > 3:
                    name += "…"
            out.append((f"{name} ({n})", _CategoryRow(look.name, look.color, look.symbol)))
        return out + extra + self._strip_legend(layer)

    def _strip_legend(self, layer: LayerData) -> list[tuple[str, Any]]:
        """What the index's ○/× strip means, under a shelter layer that prints one."""
        first = STRIP[self.lang][0]
        if any(e.layer is layer and any(d.startswith(first) for d in e.details)
               for e in self.entries):  # fmt: skip
            return [(self.t["strip_legend"], "text")]
        return []

    # ---- side panel: scale, legend, notes, QR, credits
    def panel_blocks(
        self, width: float, scale: int, *, with_scale: bool = True
    ) -> list[tuple[float, Callable]]:
        t = self.t
        blocks: list[tuple[float, Callable]] = []
        fs = self.fs(7)
        small = self.fs(7)
        if with_scale:
            bar = scale_bar(scale, target_mm=min(40.0, width / MM * 0.6))
            self.plan.scale_bar = bar

            def draw_scale(c, x, y_top, bar=bar):
                rect = draw_scale_bar(c, x, y_top - fs * 3.7, bar, scale, fs, self.lang)
                if self.plan.scale_bar_rect is None:
                    self.plan.scale_bar_rect = rect

            blocks.append((fs * 4.4, draw_scale))
        # Legend: one line per layer (with its symbol), then the basemap kinds present.
        lines: list[tuple[str, Any]] = []
        for layer in self.data.layers:
            lines.extend(self._legend_layer_lines(layer))
        if any(e.approximate for e in self.entries):
            lines.append((t["approx"], "approx"))
        if self.entries:  # no numbered place: no key sending readers to an empty index
            lines.append(("", "number"))
        kinds = []
        if self.basemap is not None:
            present = set(self.basemap["kind"])
            kinds = [k for k in ("road_major", "road_minor", "path", "railway", "station", "building",
                                 "park", "school", "water") if k in present]  # fmt: skip
        if self.edge is not None:
            kinds.append("data_edge")
        lh = max(fs * 1.5, self.marker + 2)
        text_w = width - self.marker - 6
        wrapped = [
            (wrap(txt, text_w, lambda s: text_width(s, fs)) if txt else [""], what)
            for txt, what in lines
        ]
        # A layer's category symbols go two to a row when their names fit half the width,
        # so per-category symbols do not push the map to a smaller scale.
        half_w = width / 2 - self.marker - 8
        rows: list[list[tuple[list[str], Any]]] = []
        for wl, what in wrapped:
            prev = rows[-1] if rows else None
            if (
                isinstance(what, _CategoryRow)
                and prev is not None
                and len(prev) == 1
                and isinstance(prev[0][1], _CategoryRow)
                and all(len(w) == 1 and text_width(w[0], fs) <= half_w for w in (prev[0][0], wl))
            ):
                prev.append((wl, what))
            else:
                rows.append([(wl, what)])
        legend_h = fs * 1.8 + sum(max(lh, *(len(w) * fs * 1.25 for w, _ in row)) for row in rows)
        # the basemap's swatches two to a row when their names fit half the width (a
        # bilingual sheet's 「公園・緑地 / Công viên, cây xanh」 does not: one to a row)
        kind_labels = [t["edge_legend"] if k == "data_edge" else t[k] for k in kinds]
        per_row = 2 if all(text_width(s, fs) <= width / 2 - 22 for s in kind_labels) else 1
        legend_h += math.ceil(len(kinds) / per_row) * fs * 1.5 + 2

        def draw_legend(c, x0, y_top):
            draw_text(c, x0, y_top - fs, t["legend"], fs * 1.1, bold=True)
            y = y_top - fs * 1.8
            for row in rows:
                hh = max(lh, *(len(w) * fs * 1.25 for w, _ in row))
                for k, (wl, what) in enumerate(row):
                    self._legend_item(c, x0 + k * width / 2, y, wl, what, fs, lh)
                y -= hh
            x = x0
            col_w = width / 2
            for i, (k, label) in enumerate(zip(kinds, kind_labels, strict=True)):
                kx = x + (i % per_row) * col_w
                ky = y - (i // per_row) * fs * 1.5 - fs * 1.2
                bm.draw_swatch(c, k, Rect(kx, ky, 16, fs))
                draw_text(c, kx + 20, ky + fs * 0.15, label, fs)

        blocks.append((legend_h, draw_legend))
        blocks.extend(hazard_blocks(self, width))  # hazard classes and the two honest notes
        blocks.extend(left_off_blocks(self, width))  # print_if: what was left off, and why
        if self.routes:
            blocks.append(self._routes_block(width))
        notes = self.data.spec.notes.strip()
        if notes:
            nl = wrap(notes, width - 8, lambda s: text_width(s, fs))
            nh = fs * 1.6 + len(nl) * fs * 1.3 + 6

            def draw_notes(c, x, y_top, nl=nl, nh=nh):
                c.saveState()
                c.setLineWidth(0.8)
                c.rect(x, y_top - nh, width, nh, stroke=1, fill=0)
                c.restoreState()
                draw_text(c, x + 4, y_top - fs * 1.3, t["notes"], fs, bold=True)
                for i, line in enumerate(nl):
                    draw_text(c, x + 4, y_top - fs * 2.9 - i * fs * 1.3, line, fs)

            blocks.append((nh + 3, draw_notes))
        qr = self.opts.qr
        if qr:
            qs = 22 * MM * (1.2 if self.f > 1 else 1.0)
            ql = wrap(qr, width - qs - 6, lambda s: text_width(s, small))

            def draw_qr(c, x, y_top, qs=qs, ql=ql):
                from reportlab.graphics import renderPDF
                from reportlab.graphics.barcode.qr import QrCodeWidget
                from reportlab.graphics.shapes import Drawing

                w = QrCodeWidget(qr, barLevel="M")
                bx0, by0, bx1, by1 = w.getBounds()
                d = Drawing(qs, qs, transform=[qs / (bx1 - bx0), 0, 0, qs / (by1 - by0), 0, 0])
                d.add(w)
                renderPDF.draw(d, c, x, y_top - qs)
                draw_text(c, x + qs + 4, y_top - fs * 1.2, t["qr"], fs, bold=True)
                for i, line in enumerate(ql):
                    draw_text(c, x + qs + 4, y_top - fs * 2.6 - i * small * 1.25, line, small)

            blocks.append((qs + 3, draw_qr))
        # Dates and credits: every source, with its data date (or "date unknown").
        # the data's own date (mapdata.data_time), not the day it was printed
        # (left out when no date of the data is known: never the clock or a file's mtime)
        as_of = DATA_AS_OF.get(self.lang, DATA_AS_OF["en"])
        cl = [f"{as_of}: {self.data.built}"] if self.data.built else []
        cl.append(t["sources"] + ":")
        for line in credit_lines(self.data):
            cl.extend("・" + s if i == 0 else "  " + s for i, s in
                      enumerate(wrap(line, width - 8, lambda s: text_width(s, small))))  # fmt: skip
        ch = len(cl) * small * 1.3 + 2

        def draw_credits(c, x, y_top, cl=cl):
            for i, line in enumerate(cl):
                draw_text(c, x, y_top - small - i * small * 1.3, line, small)

        blocks.append((ch, draw_credits))
        return blocks

    def _routes_block(self, width: float) -> tuple[float, Callable]:
        """The "walking to shelters" box: one line per route, nearest on foot first."""
        t = self.t
        # Route lines and their notes at 8 pt at least: a reader follows them on foot.
        fs = self.fs(8)
        small = self.fs(8)
        sep = "／" if wording.base(self.lang) in wording.JAPANESE else " / "
        rows: list[tuple[RouteLeg, list[str]]] = []
        text_w = width - 8 - 18
        firsts = {id(sec.legs[0]): sec.home for sec in route_sections(self.routes) if sec.home}
        for leg in self.routes:
            head = f"{leg.rank}. {leg.name}" + (f" [{leg.number}]" if leg.number else "")
            if leg.note:
                head += wording.paren(self.lang, leg.note)
            if id(leg) in firsts:  # several homes: a heading per home
                head = f"【{firsts[id(leg)]}】\n{head}"
            parts = []
            if leg.walk and leg.walk_m is not None and leg.walk_min is not None:
                parts.append(t["route_walk"].format(m=f"{round(leg.walk_m):,}",
                                                    min=math.ceil(leg.walk_min)))  # fmt: skip
            else:
                parts.append(t["route_no_walk"])
            parts.append(t["route_straight"].format(m=f"{round(leg.straight_m):,}"))
            lines = [
                w for h in head.split("\n") for w in wrap(h, text_w, lambda s: text_width(s, fs))
            ]
            lines += wrap(sep.join(parts), text_w, lambda s: text_width(s, fs))
            if leg.hazard:  # what the hazards say at that shelter (「洪水：想定区域外」)
                lines += wrap(leg.hazard, text_w, lambda s: text_width(s, fs))
            rows.append((leg, lines))
        notes = [t["route_speed"].format(speed=settings.walking_speed_m_per_min)]
        if any(not leg.walk for leg in self.routes):
            notes.append(t["route_speed_straight"])
        notes.extend(route_notes(self.data, self.lang))
        nl = [s for n in notes for s in wrap(n, width - 8, lambda s: text_width(s, small))]
        lh = fs * 1.25
        # the box's heading wraps inside it (a bilingual sheet's is two languages long)
        hs = fs * 1.05
        heads = wrap(t["routes"], width - 8, lambda s: text_width(s, hs) * 1.04)
        top = (len(heads) - 1) * hs * 1.25  # the heading's lines after its first
        h = fs * 1.9 + top + sum(len(ls) * lh + 1.5 for _, ls in rows) + len(nl) * small * 1.25 + 4

        def draw(c, x, y_top, rows=rows, nl=nl, h=h):
            c.saveState()
            c.setLineWidth(0.8)
            c.rect(x, y_top - h, width, h, stroke=1, fill=0)
            c.restoreState()
            for i, line in enumerate(heads):
                draw_text(c, x + 4, y_top - fs * 1.3 - i * hs * 1.25, line, hs, bold=True)
            y = y_top - fs * 1.9 - top
            for leg, lines in rows:
                if id(leg) in firsts:  # the home's heading line comes first: its name, bold
                    draw_text(c, x + 4, y - fs, lines[0], fs, bold=True)
                    lines = lines[1:]
                    y -= lh
                draw_paper_route(c, [(x + 4, y - fs * 0.55), (x + 18, y - fs * 0.55)],
                             nearest=leg.nearest, walk=leg.walk, arrow=False)  # fmt: skip
                for i, line in enumerate(lines):
                    draw_text(c, x + 22, y - fs - i * lh, line, fs, bold=(i == 0 and leg.nearest))
                y -= len(lines) * lh + 1.5
            for i, line in enumerate(nl):
                draw_text(c, x + 4, y - small - i * small * 1.25, line, small)

        return (h + 3, draw)

    @staticmethod
    def blocks_height(blocks) -> float:
        return sum(h for h, _ in blocks) + 4 * len(blocks)

    @staticmethod
    def draw_blocks(c, blocks, x: float, y_top: float) -> None:
        for h, fn in blocks:
            fn(c, x, y_top)
            y_top -= h + 4
