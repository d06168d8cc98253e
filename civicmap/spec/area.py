"""What a map file's ``area:`` says: one kind of place (bbox, point, boundary ...) and its options.

Only what the file says, checked once at load; turning it into a polygon (reading
a boundary file, N03, a place search) is :func:`civicmap.area.resolve_area`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicmap._validate import Checker, path_exists, shorten
from civicmap._yaml import Short
from civicmap.i18n import _

AREA_KINDS = {
    "bbox": "[west, south, east, north] in degrees",
    "point": "[lat, lon], with radius: metres",
    "boundary": "path to a GeoJSON/GeoPackage/Shapefile polygon file",
    "municipality": '全国地方公共団体コード, 5 or 6 digits (e.g. "13104")',
    "osm_file": "path to an .osm/.osm.bz2/.osm.pbf extract: its bounds",
    "place": "a place name, resolved online (Nominatim)",
}
#: The options every kind may carry.
AREA_OPTIONS = {
    "radius": "metres around a point",
    "buffer": "metres added around the area",
    "name": "the area's name on the map",
}


@dataclass(frozen=True)
class AreaSpec:
    """A validated ``area:``.

    Attributes
    ----------
    kind
        One of :data:`AREA_KINDS`.
    value
        The kind's value as written (a municipality code as text).
    radius
        Metres around a ``point`` (required there, ignored elsewhere).
    buffer
        Metres added around the area (0: none).
    name
        The name the map shows, or None for the kind's own.
    """

    kind: str
    value: Any
    radius: float | None = None
    buffer: float = 0
    name: str | None = None

    @property
    def path(self) -> str | None:
        """The file an area of kind ``boundary`` or ``osm_file`` reads, else None."""
        return str(self.value) if self.kind in ("boundary", "osm_file") else None


def parse_area(raw: Any, *, base_dir: Path, file: str = "<area>") -> AreaSpec:
    """Check one ``area:`` mapping alone (for Python callers); raise ConfigError listing every problem."""
    ck = Checker(file)
    spec = check_area(ck, raw, base_dir)
    ck.raise_if_any()
    assert spec is not None
    return spec


def check_area(ck: Checker, area: Any, base_dir: Path) -> AreaSpec | None:
    """Check ``area:``; every problem goes to ``ck``; None when it names no single kind."""
    if not isinstance(area, Mapping):
        ck.add(
            "area",
            _("got %(area)r, expected a mapping with one of: %(items)s")
            % {"area": Short(area), "items": ", ".join(AREA_KINDS)},
        )
        return None
    kinds = [k for k in area if k in AREA_KINDS]
    ck.unknown_keys("area", area, {**AREA_KINDS, **dict.fromkeys(AREA_OPTIONS)})
    if len(kinds) != 1:
        ck.add(
            "area",
            _("got %(value)s; give exactly one of: ") % {"value": ", ".join(kinds) or "none"}
            + "; ".join(f"{k} ({v})" for k, v in AREA_KINDS.items()),
        )
        return None
    kind = kinds[0]
    v = area[kind]
    if kind == "bbox":
        if not (
            isinstance(v, list)
            and len(v) == 4
            and all(isinstance(x, int | float) and not isinstance(x, bool) for x in v)
        ):
            ck.add(
                "area.bbox",
                _("got %(v)r, expected [west, south, east, north] in degrees") % {"v": Short(v)},
            )
        elif not (v[0] < v[2] and v[1] < v[3]):
            ck.add(
                "area.bbox", _("got %(v)r: west must be < east and south < north") % {"v": Short(v)}
            )
        elif not (
            -180 <= v[0] <= 180 and -90 <= v[1] <= 90 and -180 <= v[2] <= 180 and -90 <= v[3] <= 90
        ):
            ck.add(
                "area.bbox",
                _("got %(v)r: longitudes must be in -180..180, latitudes in -90..90")
                % {"v": Short(v)},
            )
    elif kind == "point":
        if not (isinstance(v, list) and len(v) == 2 and all(isinstance(x, int | float) for x in v)):
            ck.add("area.point", _("got %(v)r, expected [lat, lon]") % {"v": Short(v)})
        elif not (-90 <= v[0] <= 90 and -180 <= v[1] <= 180):
            ck.add(
                "area.point",
                _("got %(v)r: expected [lat, lon] with lat in -90..90") % {"v": Short(v)},
            )
        if "radius" not in area:
            ck.add("area.radius", _("missing; a point area needs radius: metres (e.g. 800)"))
    elif kind in ("boundary", "osm_file"):
        if not isinstance(v, str):
            ck.add(f"area.{kind}", _("got %(v)r, expected a file path") % {"v": Short(v)})
        elif not path_exists(base_dir / v):
            ck.add(
                f"area.{kind}",
                _("file not found: %(value)s") % {"value": shorten(base_dir / v, 200)},
            )
    elif kind == "municipality":
        code = str(v)
        if not (code.isdigit() and len(code) in (5, 6)):
            ck.add(
                "area.municipality",
                _(
                    'got %(v)r, expected a 5- or 6-digit 全国地方公共団体コード as a string, e.g. "13104"'
                )
                % {"v": Short(v)},
            )
    elif kind == "place" and not isinstance(v, str):
        ck.add("area.place", _("got %(v)r, expected a place name") % {"v": Short(v)})
    if "radius" in area:
        ck.number("area.radius", area["radius"], minimum=1, maximum=100_000)
    if "buffer" in area:
        ck.number("area.buffer", area["buffer"], minimum=0, maximum=100_000)
    return AreaSpec(
        kind=kind,
        value=str(v) if kind == "municipality" else v,
        radius=area.get("radius"),
        buffer=area.get("buffer") or 0,
        name=area.get("name"),
    )
