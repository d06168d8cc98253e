"""The paper map's options: one frozen, validated dataclass built once from ``outputs.paper``.

Every part of the renderer reads :class:`PaperOptions` attributes instead of
looking keys up in a dict, so a typo is an AttributeError in our code, not a
silently ignored option in a user's map file, and every value was checked
(with a message naming the key and the fix) before anything is drawn.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicmap._yaml import Short
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: Paper sizes the renderer knows (JIS B for B4/B5).
SIZES = ("A4", "A3", "B4", "B5")

#: Default upper bound on the pages an atlas may write without ``max_pages``.
MAX_PAGES = 100


#: Longest ``qr:`` URL (UTF-8 bytes). QR version 40 holds 2,331 bytes at level M, but
#: at the 2-3 cm a paper map prints it, codes past about 400 bytes no longer scan.
QR_MAX_BYTES = 400

#: What ``unreadable:`` may say: how a layout that fails the readability check is handled.
UNREADABLE = ("inset", "atlas", "stop", "print")
#: ``index:`` values: how much each index entry says (see :attr:`PaperOptions.index`).
INDEX_MODES = ("auto", "compact", "full")

#: ``languages:``: how a map in several languages prints (see :attr:`PaperOptions.languages`).
LANGUAGE_MODES = ("separate", "bilingual", "sections")

#: The keys of ``atlas:`` as a mapping (an area atlas).
ATLAS_KEYS = ("areas", "name", "skip_empty")


@dataclass(frozen=True)
class AtlasOptions:
    """How an atlas splits the map into pages.

    ``areas`` is None for a grid atlas (sheets of equal size); otherwise it is
    a polygon file (or ``municipalities:<prefecture code>``) with one page per
    polygon, named by the ``name`` field.
    """

    areas: str | None = None
    name: str | None = None
    #: None: the layout's default (a grid atlas leaves empty sheets out, an
    #: area atlas keeps every area, since an empty 町丁目 page is still news).
    skip_empty: bool | None = None


@dataclass(frozen=True)
class PaperOptions:
    """Validated paper options with their defaults.

    Attributes
    ----------
    scale
        ``"fit"`` or the scale number N of 1:N. An atlas without a scale uses
        1:5,000 for a grid, and a per-page fitted scale for areas.
    atlas
        None for a single sheet, else the :class:`AtlasOptions`.
    max_pages
        An atlas stops with a clear message before writing more pages than this.
    fit
        ``"area"`` (the map's area) or ``"data"`` (where the places are).
    index_ignore
        Words left out of the index's sort key on top of the built-in ones
        (municipality names, 市立/県立/私立…, 【…】, 社会福祉法人…), so a place is
        filed under its own name; from ``index_ignore: [word, ...]``.
    index_prefixes
        False (``index_ignore: false``): sort by the full name as published.
    unreadable
        What a layout that fails the readability check becomes: ``inset`` (a
        拡大図 of the densest part, else refused), ``atlas`` (an inset, else a
        grid atlas, else refused), ``stop`` (refused), ``print`` (printed as it
        is, with a warning). None: the command's default (``build``: inset,
        ``batch``: atlas); see :attr:`on_unreadable`.
    index
        ``"full"``: every entry with its details (address, phone ...); ``"compact"``:
        number, name and grid cell (a shelter keeps its ○/× strip), several columns
        beside the map, so a few dozen places fit on one sheet as on a municipal
        紙マップ; ``"auto"``: a single portrait sheet prints the full index when it
        fits at the same map scale, else the compact one; an index on index pages
        (large print, a long index) is the full one unless the compact one takes
        fewer pages; atlases print the full index.
    languages
        How a map with ``language: [ja, vi]`` prints: ``"separate"``, a whole paper map
        per language (``map.pdf``, ``map.vi.pdf``); ``"bilingual"``, one paper map whose
        legend, headings and notes carry Japanese and the second language together
        (ja + one only: checked with ``language:`` in :func:`civicmap.spec.mapfile.parse_map`);
        ``"sections"``, one PDF holding each language's sheet in turn (single sheets only).
    """

    size: str = "A4"
    orientation: str = "portrait"
    scale: int | str = "fit"
    overlap: float = 0.08
    qr: str | None = None
    png: bool = False
    large_print: bool = False
    atlas: AtlasOptions | None = None
    max_pages: int = MAX_PAGES
    fit: str = "area"
    index_ignore: tuple[str, ...] = ()
    index_prefixes: bool = True
    unreadable: str | None = None

    @property
    def on_unreadable(self) -> str:
        """``unreadable`` with the default of a single build filled in (``inset``)."""
        return self.unreadable or "inset"

    index: str = "auto"
    #: The last print: its offline pack folder or its GeoJSON export (relative to the map
    #: file): the sheet carries what changed since (「前回（7/12 20:00）から：開設 3、閉鎖 2」);
    #: None: no such line.
    changes_since: str | None = None
    languages: str = "separate"

    @classmethod
    def from_dict(cls, options: dict[str, Any] | PaperOptions, *, file: Path | str) -> PaperOptions:
        """Check ``outputs.paper`` of the map ``file``; raise one ConfigError listing every problem."""
        if isinstance(options, PaperOptions):
            return options
        problems: list[Problem] = []

        def bad(key: str, msg: str) -> None:
            problems.append(Problem(file, f"outputs.paper.{key}", msg))

        size = str(options.get("size", "A4")).upper()
        if size not in SIZES:
            bad("size", _("got %(value)r, expected A4, A3, B4 or B5") % {"value": Short(size)})
        orientation = str(options.get("orientation", "portrait"))
        if orientation not in ("portrait", "landscape"):
            bad(
                "orientation",
                _("got %(value)r, expected portrait or landscape") % {"value": Short(orientation)},
            )
        scale = options.get("scale", "fit")
        if scale != "fit" and (not _number(scale) or not 500 <= scale <= 200_000):
            bad(
                "scale",
                _("got %(value)r, expected fit or a number N (1:N) from 500 to 200000")
                % {"value": Short(scale)},
            )
        overlap = options.get("overlap", 0.08)
        if not _number(overlap) or not 0 <= overlap <= 0.5:
            bad(
                "overlap",
                _("got %(value)r, expected a fraction of a page from 0 to 0.5 (e.g. 0.08)")
                % {"value": Short(overlap)},
            )
        qr = options.get("qr")
        if qr is not None and not (isinstance(qr, str) and qr.strip()):
            bad("qr", _("got %(value)r, expected the web map's URL") % {"value": Short(qr)})
        elif qr is not None and len(qr.strip().encode("utf-8")) > QR_MAX_BYTES:
            # a longer code needs more modules than a phone can read at the printed size
            size = len(qr.strip().encode("utf-8"))
            bad(
                "qr",
                _(
                    "the URL is %(size)s bytes (%(start)r...); a printed QR code stays "
                    "readable up to %(max)s bytes: use a shorter URL"
                )
                % {"size": f"{size:,}", "start": qr.strip()[:40], "max": QR_MAX_BYTES},
            )
        for key in ("png", "large_print"):
            if key in options and not isinstance(options[key], bool):
                bad(
                    key, _("got %(value)r, expected true or false") % {"value": Short(options[key])}
                )
        max_pages = options.get("max_pages", MAX_PAGES)
        if not _number(max_pages) or int(max_pages) != max_pages or max_pages < 1:
            bad(
                "max_pages",
                _("got %(value)r, expected a whole number of pages (e.g. 200)")
                % {"value": Short(max_pages)},
            )
        fit = options.get("fit", "area")
        if fit not in ("area", "data"):
            bad(
                "fit",
                _("got %(value)r, expected area (the map's area) or data (where the places are)")
                % {"value": Short(fit)},
            )
        unreadable = options.get("unreadable")
        if unreadable is not None and unreadable not in UNREADABLE:
            bad(
                "unreadable",
                _(
                    "got %(value)r, expected inset (a 拡大図 of the crowded part), atlas (an "
                    "inset, else a grid atlas), stop (no PDF) or print (print it anyway)"
                )
                % {"value": Short(unreadable)},
            )
        index = options.get("index", "auto")
        if index not in INDEX_MODES:
            bad(
                "index",
                _(
                    "got %(value)r, expected auto, compact (number, name and grid cell) or full "
                    "(with addresses and details)"
                )
                % {"value": Short(index)},
            )
        atlas = _atlas(options.get("atlas", False), bad)
        ignore = options.get("index_ignore", True)
        if not (
            isinstance(ignore, bool)
            or (isinstance(ignore, list) and all(isinstance(w, str) and w.strip() for w in ignore))
        ):
            bad(
                "index_ignore",
                _(
                    "got %(value)r, expected a list of words to leave out of the index order "
                    "(e.g. [社会福祉法人富山愛育会]) or false"
                )
                % {"value": Short(ignore)},
            )
            ignore = True
        since = options.get("changes_since")
        if since is not None and not (isinstance(since, str) and since.strip()):
            bad(
                "changes_since",
                _(
                    "got %(value)r, expected the path of the last print's offline pack or "
                    "GeoJSON export"
                )
                % {"value": Short(since)},
            )
            since = None
        languages = options.get("languages", "separate")
        if languages not in LANGUAGE_MODES:
            bad(
                "languages",
                _(
                    "got %(value)r, expected separate (a paper map per language), bilingual "
                    "(one paper map in Japanese and one more language) or sections (one PDF "
                    "with each language's sheet in turn)"
                )
                % {"value": Short(languages)},
            )
        if problems:
            raise ConfigError(problems)
        if atlas is not None and atlas.areas is None and scale == "fit":
            log.info(
                _(
                    "atlas without a fixed scale: using 1:5000 (set outputs.paper.scale to change "
                    "it)"
                )
            )
            scale = 5000
        return cls(
            size=size,
            orientation=orientation,
            scale=scale if scale == "fit" else int(scale),
            overlap=float(overlap),
            qr=qr.strip() if qr else None,
            png=bool(options.get("png", False)),
            large_print=bool(options.get("large_print", False)),
            atlas=atlas,
            max_pages=int(max_pages),
            fit=fit,
            index_ignore=tuple(w.strip() for w in ignore) if isinstance(ignore, list) else (),
            index_prefixes=ignore is not False,
            unreadable=unreadable if unreadable in UNREADABLE else None,
            index=index,
            changes_since=since.strip() if since else None,
            languages=languages,
        )


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _atlas(value: Any, bad) -> AtlasOptions | None:
    """``atlas: true`` (grid), ``false``, or ``{areas: FILE, name: FIELD, skip_empty: bool}``."""
    if value is False or value is None:
        return None
    if value is True:
        return AtlasOptions()
    if not isinstance(value, dict):
        bad(
            "atlas",
            _("got %(value)r, expected true (grid sheets) or {areas: FILE, name: FIELD}")
            % {"value": Short(value)},
        )
        return None
    for key in value:
        if key not in ATLAS_KEYS:
            bad(f"atlas.{key}", _("unknown key; expected areas, name or skip_empty"))
    areas = value.get("areas")
    if areas is not None and not (isinstance(areas, str) and areas.strip()):
        bad(
            "atlas.areas",
            _(
                "got %(value)r, expected a polygon file (GeoJSON, shapefile) or "
                "municipalities:<code>"
            )
            % {"value": Short(areas)},
        )
    name = value.get("name")
    if name is not None and not (isinstance(name, str) and name.strip()):
        bad(
            "atlas.name",
            _("got %(value)r, expected the field that names each area") % {"value": Short(name)},
        )
    skip = value.get("skip_empty")
    if skip is not None and not isinstance(skip, bool):
        bad("atlas.skip_empty", _("got %(value)r, expected true or false") % {"value": Short(skip)})
    return AtlasOptions(
        areas=areas.strip() if isinstance(areas, str) and areas.strip() else None,
        name=name.strip() if isinstance(name, str) and name.strip() else None,
        skip_empty=skip if isinstance(skip, bool) else None,
    )
