"""The index of places: items measured for a column width, flowed into columns and pages."""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Callable, Iterator

from reportlab.lib import colors

from civicmap import wording
from civicmap.mapdata import LayerData
from civicmap.render._fonts import draw_text, text_width
from civicmap.render.paper.geometry import MM, Rect
from civicmap.render.paper.hazards import is_warning
from civicmap.render.paper.index_keys import LATIN, OTHER, heading
from civicmap.render.paper.marks import draw_marker
from civicmap.render.paper.plan import Entry
from civicmap.render.paper.texts import is_strip, other_title, strip_lines, wrap, wrapped
from civicmap.render.symbols import OtherStyle

log = logging.getLogger(__name__)

#: The index group of the categories past the paper budget (a control character: never a
#: category read from a file, whose control characters are removed).
OTHER_GROUP = "\x00other"


def index_group(e: Entry) -> str:
    """The heading an entry is listed under: its category, or :data:`OTHER_GROUP` for a
    category past the budget (:class:`~civicmap.render.symbols.OtherStyle`), so 2,000
    categories print the budget's headings plus one, as the legend's rows."""
    return OTHER_GROUP if isinstance(e.look, OtherStyle) else e.category


class IndexFlow:
    """Mixin of the renderer: the index (五十音 within layer and category) and its pages."""

    # ---- index
    def index_items(
        self, width: float, *, atlas: bool, compact: bool = False
    ) -> list[tuple[float, Callable, tuple[str, str]]]:
        """The index as blocks (height, draw, (layer, category)) flowed into columns.

        ``compact``: number, name and cell on one line (a shelter keeps its ○/× strip
        and the layers drawn in its marker), the 五十音 tab beside the first name of
        its row instead of a line of its own: a few dozen places fit under the map.
        """
        fs = self.index_fs
        ds = self.detail_fs
        widest = str(max((e.number for e in self.entries), default=0))
        nw = text_width(max("000", widest, key=len), fs) + 4
        refs = ["p00 M00" if atlas else "M00", *(e.ref for e in self.entries)]  # 拡大A b2 too
        refw = max(text_width(ref, fs) for ref in refs) + 3
        # compact: a gutter for the one-kana tabs (あ か さ …) left of the numbers
        tab = self._kana_tab_width(fs) + 2 if compact else 0.0
        items = self.reading_note_items(width) + self.unplaced_items(width, atlas=atlas)
        # An area atlas names each entry's area unless its address already does.
        areas = self.plan.atlas_areas if atlas else {}

        def folded(e: Entry) -> list[str]:
            return [unicodedata.normalize("NFKC", d) for d in e.details]

        cur_layer = None
        cur_cat = None
        cur_kana = None
        # compact: one line an entry, set a little closer
        lead, dlead = (1.15, 1.15) if compact else (1.22, 1.2)
        for e in self.entries:
            if e.layer is not cur_layer:
                cur_layer, cur_cat = e.layer, None
                items.append(self._layer_heading(e.layer, width, fs, cont=False, tight=compact))
            if index_group(e) != cur_cat:
                cur_cat, cur_kana = index_group(e), None
                if cur_cat == OTHER_GROUP or e.layer.spec.category_title(e.category, self.lang):
                    items.append(self._cat_heading(e, width, fs, cont=False, tight=compact))
            tab_label = ""
            if heading(e.sort_key) != cur_kana:
                cur_kana = heading(e.sort_key)
                label = self._kana_label(cur_kana)
                if compact and len(label) == 1:
                    tab_label = label  # drawn beside this entry's number
                else:
                    items.append(self._kana_heading(cur_kana, width, fs))
            name = e.name + (wording.paren(self.lang, self.t["approx_short"]) if e.approximate
                             else "")  # fmt: skip
            nl = wrapped(name, width - tab - nw - refw, fs)
            lines = list(e.details)
            if compact:  # the strip, the layers in this marker and a ruled-out warning
                lines = [d for d in lines
                         if is_strip(d) or d[:1] in "＋+" or is_warning(d, self.data.language)]  # fmt: skip
            if index_group(e) == OTHER_GROUP:  # under "Other": the place still says its kind
                lines.insert(0, e.layer.spec.category_title(e.category, self.lang))
            area = areas.get(e.page) if e.page is not None else None
            if area and not any(unicodedata.normalize("NFKC", area) in d for d in folded(e)):
                lines.insert(0, f"{self.t['area']} {area}")  # which area's page, by name
            dw = width - tab - nw
            dl = [
                s
                for d in lines
                for s in (strip_lines(d, dw, lambda s: text_width(s, ds)) or wrapped(d, dw, ds))
            ]
            h = len(nl) * fs * lead + len(dl) * ds * dlead + (0.6 if compact else 1.8)

            def draw(c, x, y_top, e=e, nl=nl, dl=dl, tab_label=tab_label):
                y = y_top - fs
                if tab_label:
                    self._kana_tab(c, x, y, tab_label, fs)
                x += tab
                draw_text(c, x + nw - 3, y, str(e.number), fs, anchor="end", bold=True)
                ref = e.ref or self.t["off_map"]
                draw_text(c, x + width - tab, y, ref, fs * (1 if e.ref else 0.8), anchor="end")
                for i, line in enumerate(nl):
                    draw_text(c, x + nw, y - i * fs * lead, line, fs)
                y -= (len(nl) - 1) * fs * lead
                for i, line in enumerate(dl):
                    draw_text(
                        c,
                        x + nw,
                        y - ds * dlead * (i + 1),
                        line,
                        ds,
                        color=colors.Color(0.2, 0.2, 0.2),
                    )

            items.append((h, draw, (e.layer.id, e.category)))
        return items

    def reading_note_items(self, width: float) -> list[tuple[float, Callable, tuple[str, str]]]:
        """Once, at the head of the index: how it is ordered, when some readings are derived."""
        if not any(e.reading_derived for e in self.entries):
            return []
        ds = self.detail_fs
        lines = wrap(self.t["reading_note"], width, lambda s: text_width(s, ds))

        def draw(c, x, y_top, lines=lines):
            for i, line in enumerate(lines):
                draw_text(c, x, y_top - ds - i * ds * 1.2, line, ds,
                          color=colors.Color(0.2, 0.2, 0.2))  # fmt: skip

        return [(len(lines) * ds * 1.2 + ds * 0.8, draw, ("#note", ""))]

    def _kana_label(self, row: str) -> str:
        return {LATIN: self.t["latin"], OTHER: self.t["other"]}.get(row) or wording.words(
            self.lang
        ).get(f"index_row.{row}", row)

    def _kana_tab_width(self, fs: float) -> float:
        hs = fs * 0.95
        return text_width("あ", hs) + hs * 0.9

    def _kana_tab(self, c, x: float, baseline: float, label: str, fs: float) -> None:
        """The compact index's 五十音 tab: white on black, on the baseline of its first entry."""
        hs = fs * 0.95
        c.saveState()
        c.setFillColor(colors.black)
        c.roundRect(x, baseline - hs * 0.3, self._kana_tab_width(fs), hs * 1.3, 1.2, stroke=0,
                    fill=1)  # fmt: skip
        c.restoreState()
        draw_text(c, x + hs * 0.45, baseline, label, hs, bold=True, color=colors.white)

    def _kana_heading(self, row: str, width: float, fs: float):
        """A 五十音 heading (あ か さ …) in a black tab, so a reader can run down to 森本 under ま."""
        label = self._kana_label(row)
        hs = fs * 0.95
        h = hs * 1.75

        def draw(c, x, y_top):
            w = text_width(label, hs) + hs * 0.9
            c.saveState()
            c.setFillColor(colors.black)
            c.roundRect(x, y_top - h + hs * 0.2, w, h - hs * 0.35, 1.2, stroke=0, fill=1)
            c.setStrokeColor(colors.Color(0.4, 0.4, 0.4))
            c.setLineWidth(0.4)
            c.line(x + w, y_top - h + hs * 0.2, x + width, y_top - h + hs * 0.2)
            c.restoreState()
            draw_text(c, x + hs * 0.45, y_top - h + hs * 0.55, label, hs, bold=True,
                      color=colors.white)  # fmt: skip

        return (h + 1, draw, ("#kana", row))

    def unplaced_items(
        self, width: float, *, atlas: bool
    ) -> list[tuple[float, Callable, tuple[str, str]]]:
        """The numbers no map frame had room for, each with its grid cell, ahead of the index.

        Their symbols are on the map but a number far from its marker (or on top
        of another) would point at the wrong place: saying so is the honest way.
        """
        fs = self.index_fs
        refs = [
            f"{n}({'p' + str(fp.pdf_page) + ' ' if atlas else ''}{cell})"
            for fp in self.plan.frames
            for n, cell, _ in fp.unplaced
        ]
        if not refs:
            return []
        sep = wording.words(self.lang)["punct.enum"]
        lines = wrap(self.t["unplaced_note"], width, lambda s: text_width(s, fs * 0.9))
        body = [""]
        for i, ref in enumerate(refs):  # whole "12(B2)" items per line, never split
            piece = ref + (sep if i < len(refs) - 1 else "")
            if body[-1] and text_width(body[-1] + piece, fs) > width:
                body.append("")
            body[-1] += piece
        title = self.t["unplaced"]
        head_h = fs * 1.9 + len(lines) * fs * 1.1

        def heading(c, x, y_top, lines=lines):
            draw_text(c, x + 2, y_top - fs * 1.2, f"■ {title}", fs * 0.95, bold=True)
            for i, line in enumerate(lines):
                draw_text(c, x + 2, y_top - fs * 2.5 - i * fs * 1.1, line, fs * 0.9)

        items: list[tuple[float, Callable, tuple[str, str]]] = [
            (head_h, heading, ("#cat", "#unplaced"))
        ]
        for k, line in enumerate(body):

            def draw(c, x, y_top, line=line):
                draw_text(c, x + 2, y_top - fs, line, fs)

            items.append((fs * 1.3 + (fs * 0.8 if k == len(body) - 1 else 0), draw, ("#note", "")))
        return items

    def _layer_heading(
        self, layer: LayerData, width: float, fs: float, *, cont: bool, tight: bool = False
    ):
        title = layer.spec.title_in(self.lang) + (self.t["cont"] if cont else "")
        hs = fs * 1.15
        # A long title ("…（続き）") wraps inside its column instead of running into the next.
        lines = wrap(title, width - self.marker - 4, lambda s: text_width(s, hs) * 1.04)
        lead = 1.45 if tight else 1.6  # tight: the compact index
        h = max(hs * lead + (len(lines) - 1) * hs * 1.25, self.marker + 3)

        def draw(c, x, y_top):
            looks = {
                (e.look.symbol, e.look.color) for e in self.entries if e.layer is layer and e.look
            }
            st = layer.spec.style
            if len(looks) <= 1:  # several category symbols: the legend shows them, not one here
                sym, col = next(iter(looks), (st.symbol, st.color))
                draw_marker(c, sym, x + self.marker / 2, y_top - h / 2, self.marker, col)
            top = y_top - h / 2 - hs * 0.35 + (len(lines) - 1) * hs * 1.25 / 2
            for i, line in enumerate(lines):
                draw_text(c, x + self.marker + 4, top - i * hs * 1.25, line, hs, bold=True)
            c.saveState()
            c.setLineWidth(0.6)
            c.line(x, y_top - h, x + width, y_top - h)
            c.restoreState()

        return (h + 2, draw, ("#layer", layer.id))

    def _other_title(self, layer: LayerData) -> str:
        """The heading of a layer's categories past the budget, worded as the legend's row."""
        rest = [e for e in self.entries if e.layer is layer and index_group(e) == OTHER_GROUP]
        return other_title(self.lang, kinds=len({e.category for e in rest}), places=len(rest))

    def _cat_heading(self, e: Entry, width: float, fs: float, *, cont: bool, tight: bool = False):
        if index_group(e) == OTHER_GROUP:
            title = self._other_title(e.layer)
        else:
            title = e.layer.spec.category_title(e.category, self.lang) or "—"
        title += self.t["cont"] if cont else ""
        hs = fs * 0.95
        # A long name (a bilingual sheet's 「認証保育所 / Nhà trẻ được chứng nhận (Tokyo)」)
        # wraps inside its column, its next lines under the name, not the ■.
        indent = text_width("■ ", hs)
        lines = wrap(title, width - 4 - indent, lambda s: text_width(s, hs) * 1.04)
        h = fs * (1.45 if tight else 1.6) + (len(lines) - 1) * hs * 1.2

        def draw(c, x, y_top):
            for i, line in enumerate(lines):
                draw_text(
                    c,
                    x + 2 + (indent if i else 0),
                    y_top - fs * 1.2 - i * hs * 1.2,
                    f"■ {line}" if i == 0 else line,
                    hs,
                    bold=True,
                    color=colors.Color(0.15, 0.15, 0.15),
                )

        return (h, draw, ("#cat", index_group(e)))

    def flow_index(
        self, c, items, first_boxes: list[Rect], width_for_new: Callable[[], list[Rect]]
    ) -> None:
        """Flow index items into column boxes, adding pages as needed; nothing is cut off.

        A column never starts with a lone heading: headings move with the first
        entry under them, and a group broken across columns repeats its
        headings marked "continued". ``c`` None: only measure (a layout trying
        column heights); ``width_for_new`` then says what happens past the boxes.
        """
        boxes: Iterator[Rect] = iter(first_boxes)
        box = next(boxes, None)
        y = box.y1 if box else 0
        cur_layer_item = None
        cur_cat_entry: Entry | None = None
        fs = self.index_fs
        i = 0
        first_in_box = True
        while i < len(items):
            group = [items[i]]
            # Keep headings with the following entry.
            j = i
            while group[-1][2][0] in ("#layer", "#cat", "#kana") and j + 1 < len(items):
                j += 1
                group.append(items[j])
            gh = sum(g[0] for g in group)
            if box is None or (y - gh < box.y and not first_in_box):
                box = next(boxes, None)
                if box is None:
                    boxes = iter(width_for_new())
                    box = next(boxes)
                y = box.y1
                first_in_box = True
                if group[0][2][0] not in ("#layer",) and cur_layer_item is not None:
                    # Repeat headings for a group continued in a new column.
                    lh = self._layer_heading(cur_layer_item, box.w, fs, cont=True)
                    if c is not None:
                        lh[1](c, box.x, y)
                    y -= lh[0]
                    if group[0][2][0] != "#cat" and cur_cat_entry is not None:
                        ch = self._cat_heading(cur_cat_entry, box.w, fs, cont=True)
                        if c is not None:
                            ch[1](c, box.x, y)
                        y -= ch[0]
            for gh_i, gfn, gkey in group:
                if c is not None:
                    gfn(c, box.x, y)
                y -= gh_i
                if gkey[0] == "#layer":
                    cur_layer_item = self.data.layer(gkey[1])
                elif gkey[0] == "#cat":
                    cur_cat_entry = next(
                        (
                            e
                            for e in self.entries
                            if e.layer is cur_layer_item and index_group(e) == gkey[1]
                        ),
                        None,
                    )
            first_in_box = False
            i = j + 1

    def continuation_page(self, c, *, first: bool = False) -> list[Rect]:
        """Start an index page; return its column boxes."""
        c.showPage()
        c.setPageSize((self.pw, self.ph))
        self.page_no += 1
        self.plan.index_pages.append(self.page_no)
        right = self.t["index"] if first else self.t["index_cont"]
        h = self.header(c, title=self.data.spec.title, subtitle="", right=right)
        m = 10 * MM
        ncol, w = self.index_columns()
        gap = 5 * MM
        return [Rect(m + i * (w + gap), m, w, self.ph - 2 * m - h) for i in range(ncol)]

    def index_columns(self) -> tuple[int, float]:
        """Columns on an index page and their width (the flow measures items for it)."""
        ncol = 3 if self.pw < self.ph else 4
        if self.f > 1:
            ncol -= 1
        w = (self.pw - 2 * 10 * MM - 5 * MM * (ncol - 1)) / ncol
        return ncol, w
