"""What a map file's ``basemap:`` says: the drawn OSM frame, the tile source, the 承認番号.

:data:`REGISTRY` is the one table of tile sources a map file may name in
``basemap.tiles``, with URL template, zoom range, the credit their terms ask
for, and whether the terms allow storing them for offline use (OSM's tile
policy does not: ``osm`` is web-only, online, and never prefetched).
:func:`parse_basemap` turns the map file's value into a frozen :class:`Basemap`
once, at load; the renderers read ``spec.basemap.source`` and
``spec.basemap.credits()`` instead of re-deriving them. Fetching and drawing the
tiles stay in :mod:`civicmap.render.tiles`.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from civicmap import wording
from civicmap._validate import Checker
from civicmap.i18n import _
from civicmap.schema import Credit


@dataclass(frozen=True)
class TileSource:
    """One XYZ tile source of :data:`REGISTRY` (or a custom URL from the map file).

    Attributes
    ----------
    id : str
        Registry key (``gsi-pale``), or ``custom``.
    url : str
        XYZ template with ``{z}``, ``{x}``, ``{y}``.
    min_zoom, max_zoom : int
        Zooms the server has; above ``max_zoom`` the paper raster resamples.
    name : dict
        Display name by language.
    credit : str
        The credit line printed on every map that shows the tiles (出典).
    processed : str
        The extra line the terms ask for when we draw on or process the tiles.
    url_terms : str
        Where the terms are.
    storable : bool
        Whether the terms allow storing tiles (disk cache, offline pack, paper).
        False for OSM's standard tiles: web map only, online only.
    lighten : float
        Contrast kept on paper (1 = as served; lower = paler under our symbols).
    attribution_html : str
        The web map's attribution (fixed text from this table, never from data); empty:
        the credit line, linked to ``url_terms`` (:meth:`attribution_in`).
    """

    id: str
    url: str
    min_zoom: int
    max_zoom: int
    name: dict[str, str]
    #: The credit line: fixed text, or per map language (GSI's, from the glossaries).
    credit: str | Mapping[str, str]
    processed: str | Mapping[str, str] = ""
    url_terms: str = ""
    storable: bool = True
    lighten: float = 0.7
    attribution_html: str = ""
    survey_act: bool = False

    def tile_url(self, z: int, x: int, y: int) -> str:
        # plain replace, never str.format: a custom URL is user text
        return self.url.replace("{z}", str(z)).replace("{x}", str(x)).replace("{y}", str(y))

    @property
    def cache_id(self) -> str:
        """Folder name for this source's tiles (a custom URL gets a hash of its template)."""
        if self.id != "custom":
            return self.id
        return "custom-" + hashlib.sha256(self.url.encode("utf-8")).hexdigest()[:12]

    def credit_in(self, language: str) -> str:
        """The credit line in the map's ``language`` (both languages on a bilingual sheet),
        with the line the terms ask for when the tiles are processed."""
        credit, processed = _in(self.credit, language), _in(self.processed, language)
        if not processed:
            return credit
        return f"{credit}。{processed}" if language == "ja" else f"{credit}. {processed}"

    def attribution_in(self, language: str) -> str:
        """The web map's attribution (HTML made of this table's fixed texts only)."""
        if self.attribution_html:
            return self.attribution_html
        text = html.escape(_in(self.credit, language))
        if not self.url_terms:
            return text
        return f'<a href="{html.escape(self.url_terms)}" target="_blank" rel="noopener">{text}</a>'

    def credits(self, *, date: str = "", language: str = "ja") -> list[Credit]:
        """The credit lines for this source (with the pack's fetch date when known)."""
        text = self.credit_in(language)
        return [Credit(source=self.id, credit=text, date=date, url=self.url_terms)]


def _in(text: str | Mapping[str, str], language: str) -> str:
    """``text`` when fixed, else its words in ``language`` (a pair: both, as the sheet)."""
    if isinstance(text, str):
        return text
    return wording.both(language, lambda one: text[one])


_GSI_TERMS = "https://maps.gsi.go.jp/development/ichiran.html"
#: The basemap registry: every tile source a map file may name in ``basemap.tiles``.
#: GSI asks for the source (出典：国土地理院) and, when the tiles are processed
#: or drawn on, a separate line saying so (地理院タイルを加工して作成); a map
#: handed out on paper may need 測量法 approval (``basemap.approval``).
#: OSM's tile policy forbids bulk download and offline use: ``storable=False``.
REGISTRY: dict[str, TileSource] = {
    "gsi-pale": TileSource(
        id="gsi-pale",
        url="https://cyberjapandata.gsi.go.jp/xyz/pale/{z}/{x}/{y}.png",
        min_zoom=5,
        max_zoom=18,
        name=wording.Names("tiles.gsi-pale"),
        credit=wording.Names("tiles_credit.gsi-pale"),
        processed=wording.Names("tiles_credit.processed"),
        url_terms=_GSI_TERMS,
        lighten=0.85,
        survey_act=True,
    ),
    "gsi-std": TileSource(
        id="gsi-std",
        url="https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png",
        min_zoom=5,
        max_zoom=18,
        name=wording.Names("tiles.gsi-std"),
        credit=wording.Names("tiles_credit.gsi-std"),
        processed=wording.Names("tiles_credit.processed"),
        url_terms=_GSI_TERMS,
        lighten=0.6,
        survey_act=True,
    ),
    "osm": TileSource(
        id="osm",
        url="https://tile.openstreetmap.org/{z}/{x}/{y}.png",
        min_zoom=0,
        max_zoom=19,
        name=wording.Names("tiles.osm"),
        credit="© OpenStreetMap contributors",
        url_terms="https://operations.osmfoundation.org/policies/tiles/",
        storable=False,
        attribution_html='&copy; <a href="https://www.openstreetmap.org/copyright" '
        'target="_blank" rel="noopener">OpenStreetMap</a> contributors',
    ),
}
#: The keys ``basemap:`` accepts.
BASEMAP_KEYS = {
    "tiles": "gsi-pale | gsi-std | osm | none | an XYZ URL",
    "attribution": "credit line for a custom tile URL",
    "draw": "osm (true) or false: draw roads, buildings, water from OSM data",
    "approval": "測量法 承認番号 of the map, printed in the credits",
    "承認番号": "the same as approval",
}
#: What ``basemap.tiles`` accepts besides a URL.
TILE_CHOICES = (*REGISTRY, "none")


@dataclass(frozen=True)
class Basemap:
    """A validated ``basemap:``.

    Attributes
    ----------
    draw
        Draw roads, buildings and water from the OSM data (``draw: osm``).
    tiles
        A :data:`REGISTRY` key, ``none``, or a custom XYZ URL.
    attribution
        The credit line of a custom tile URL.
    approval
        The map's 測量法 承認番号, printed in the credits.
    """

    draw: bool = True
    tiles: str = "none"
    attribution: str | None = None
    approval: str | None = None

    @property
    def source(self) -> TileSource | None:
        """The :class:`TileSource` ``tiles`` names, or None for ``none``.

        Looked up in :data:`REGISTRY` when asked (not stored), so the one table
        stays the only place a source's URL and terms are read from.
        """
        return _source(self.tiles, self.attribution)

    def credits(self, *, date: str = "", language: str = "ja") -> list[Credit]:
        """The tiles' credit lines (dated ``date`` when known) and the 承認番号 line (the
        sentence GSI's approval asks for, in Japanese on every map)."""
        out = self.source.credits(date=date, language=language) if self.source is not None else []
        if self.approval:
            out.append(Credit(source="approval", credit=approval_sentence(self.approval)))
        return out

    def survey_act_reminder(self, *, language: str = "ja") -> str:
        """The 測量法 reminder for a GSI-based paper map ("" when it does not apply)."""
        src = self.source
        if src is None or not src.survey_act or self.approval:
            return ""
        if language == "en":
            return (
                "paper map on GSI tiles: a map handed out to the public may need approval under "
                "the Survey Act (測量法); put the approval number in basemap.approval"
            )
        return (
            "地理院タイルを使った紙地図です。配布する地図は測量法に基づく承認が必要な場合があります"
            "（国土地理院の利用手続を確認し、承認番号は basemap.approval に書いてください）"
        )


def approval_sentence(number: str) -> str:
    """The 測量法 approval sentence a map printed from GSI tiles carries.

    The standard form of the sentence GSI asks for (承認番号 as the approval
    letter gives it, e.g. 「令6情複、第123号」); the number alone is not enough.
    """
    return (
        "この地図の作成に当たっては、国土地理院長の承認を得て、同院発行の電子地形図（タイル）を"
        f"複製した。（承認番号 {str(number).strip()}）"
    )


def _source(tiles: str, attribution: str | None) -> TileSource | None:
    """The tile source ``basemap.tiles`` names, or None for ``none``."""
    if tiles in (None, "none"):
        return None
    if tiles in REGISTRY:
        return REGISTRY[tiles]
    return TileSource(
        id="custom",
        url=tiles,
        min_zoom=0,
        max_zoom=18,
        name=wording.Names("tiles.custom"),
        credit=str(attribution or ""),
    )


def parse_basemap(raw: Any, *, file: str) -> Basemap:
    """Check a map file's ``basemap`` value; return the typed :class:`Basemap`.

    ``basemap: {tiles: gsi-pale | gsi-std | osm | none | URL, attribution: ...,
    draw: osm | true | false, approval: 承認番号}``. ``true``/``false`` alone
    mean ``{draw: ...}`` (the old form).

    Raises
    ------
    ConfigError
        Naming the file and key, with what is allowed.
    """
    ck = Checker(file)
    if raw is None:
        raw = {}
    if isinstance(raw, bool):
        raw = {"draw": raw}
    if not isinstance(raw, dict):
        ck.add("basemap", _("got %(raw)r, expected {tiles: gsi-pale, draw: osm}") % {"raw": raw})
        ck.raise_if_any()
    ck.unknown_keys("basemap", raw, BASEMAP_KEYS)
    out: dict[str, Any] = {}
    draw = raw.get("draw", True)
    if draw == "osm":
        draw = True
    if not isinstance(draw, bool):
        ck.add("basemap.draw", _("got %(draw)r, expected osm (or true) or false") % {"draw": draw})
        draw = True
    out["draw"] = draw
    tiles = raw.get("tiles", "none")
    if tiles is None or tiles is False:
        tiles = "none"
    if not isinstance(tiles, str):
        ck.add(
            "basemap.tiles",
            _("got %(tiles)r, expected one of %(value)s or a URL")
            % {"tiles": tiles, "value": ", ".join(TILE_CHOICES)},
        )
        tiles = "none"
    elif tiles.startswith(("http://", "https://")):
        extra = sorted(set(re.findall(r"\{[^}]*\}", tiles)) - {"{z}", "{x}", "{y}"})
        if extra:
            ck.add(
                "basemap.tiles",
                _("got %(tiles)r: only {z}, {x} and {y} may be in a tile URL, not %(items)s")
                % {"tiles": tiles, "items": ", ".join(extra)},
            )
        if not all(p in tiles for p in ("{z}", "{x}", "{y}")):
            ck.add(
                "basemap.tiles",
                _(
                    "got %(tiles)r: a tile URL needs {z}, {x} and {y}, e.g. "
                    "https://example.org/tiles/{z}/{x}/{y}.png"
                )
                % {"tiles": tiles},
            )
        if not str(raw.get("attribution") or "").strip():
            ck.add(
                "basemap.attribution",
                _("missing; a custom tile URL needs the credit line its provider asks for"),
            )
    elif tiles not in TILE_CHOICES:
        ck.add(
            "basemap.tiles",
            _("got %(tiles)r, expected one of %(value)s or a URL")
            % {"tiles": tiles, "value": ", ".join(TILE_CHOICES)},
        )
    out["tiles"] = tiles
    if "attribution" in raw:
        out["attribution"] = str(raw["attribution"])
    approval = raw.get("approval", raw.get("承認番号"))
    if approval is not None:
        if not isinstance(approval, str | int) or not str(approval).strip():
            ck.add(
                "basemap.approval",
                _("got %(approval)r, expected the 承認番号 as text") % {"approval": approval},
            )
        else:
            out["approval"] = str(approval).strip()
    ck.raise_if_any()
    return Basemap(
        draw=out["draw"],
        tiles=out["tiles"],
        attribution=out.get("attribution"),
        approval=out.get("approval"),
    )
