"""The ``hazards:`` key of a map file, validated once into frozen dataclasses.

A map lists the hazard layers it overlays (洪水浸水想定区域, 土砂災害警戒区域,
津波浸水想定 …) as 国土数値情報 files::

    hazards:
      - {file: data/A31a-23_17_20.geojson, kind: flood, year: 2023}
      - {file: data/A33-23_17.shp, kind: landslide}

Every renderer and the shelter check read :class:`HazardSpec` attributes, never
the raw dict, so a typo in a key is reported at load time (naming the key and
the fix) instead of being ignored. Kept in its own small module, free of the
map-file parser, so it can move beside the other option classes.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicmap._validate import path_exists, shorten
from civicmap._yaml import Short
from civicmap.errors import ConfigError, Problem
from civicmap.i18n import _
from civicmap.schema import DISASTER_TYPES

log = logging.getLogger(__name__)

#: Hazard kinds a file may hold, with the disaster (``serves_<key>``) each one speaks of.
HAZARD_KINDS: dict[str, str] = {
    "flood": "flood",
    "landslide": "landslide",
    "tsunami": "tsunami",
    "storm_surge": "storm_surge",
    "inland_flood": "inland_flood",
}

#: Keys one ``hazards:`` entry may have.
HAZARD_KEYS = ("file", "tiles", "kind", "year", "title", "field", "credit", "licence")

#: ハザードマップポータルサイト tile sets by name, with their kind (registry:
#: :data:`civicmap.hazard_tiles.TILE_HAZARDS`).
TILE_KINDS: dict[str, str] = {
    "flood-max": "flood",
    "flood-planned": "flood",
    "tsunami": "tsunami",
    "storm-surge": "storm_surge",
    "landslide": "landslide",
}


@dataclass(frozen=True)
class HazardSpec:
    """One hazard layer of a map, as the map file gives it.

    Attributes
    ----------
    file
        The 国土数値情報 file (GeoJSON or shapefile), absolute.
    kind
        One of :data:`HAZARD_KINDS`: which disaster the zones speak of.
    year
        The data's year as printed in the credit (``"2023"``); ``""`` when unknown.
    title
        The layer's name on the legend; ``""`` for the kind's own name.
    field
        The attribute holding the depth rank or zone class; ``""`` finds the
        official one (``A31a_205``, ``A33_002``, ``A40_003`` …).
    credit, licence
        Override the 国土数値情報 credit and CC BY 4.0 when the file is another's.
    """

    file: Path | None
    kind: str
    year: str = ""
    #: A ハザードマップポータルサイト tile set (``flood-max`` …) instead of a file.
    tiles: str = ""
    title: str = ""
    field: str = ""
    credit: str = ""
    licence: str = ""

    @property
    def disaster(self) -> str:
        """The ``DISASTER_TYPES`` key these zones speak of (``serves_<disaster>``)."""
        return HAZARD_KINDS[self.kind]


def parse_hazards(raw: Any, *, file: str, base_dir: Path) -> tuple[HazardSpec, ...]:
    """Check ``hazards:``; raise one :class:`ConfigError` listing every problem.

    Parameters
    ----------
    raw
        The key's value from the YAML (None when absent).
    file
        The map file's name, for the messages.
    base_dir
        The map file's folder: relative paths are relative to it.
    """
    if raw is None:
        return ()
    problems: list[Problem] = []

    def bad(key: str, msg: str) -> None:
        problems.append(Problem(file, key, msg))

    if not isinstance(raw, list):
        bad(
            "hazards",
            _("got %(value)r, expected a list such as [{file: A31a-23_17_20.geojson, kind: flood}]")
            % {"value": Short(raw)},
        )
        raise ConfigError(problems)
    out: list[HazardSpec] = []
    for i, entry in enumerate(raw):
        key = f"hazards[{i}]"
        if isinstance(entry, str) and entry in TILE_KINDS:
            entry = {"tiles": entry}
        if isinstance(entry, Mapping) and "tiles" in entry:
            name = entry.get("tiles")
            if name not in TILE_KINDS:
                bad(
                    f"{key}.tiles",
                    _("got %(value)r, expected one of: %(allowed)s")
                    % {"value": Short(name), "allowed": ", ".join(TILE_KINDS)},
                )
                continue
            for k in entry:
                if k not in ("tiles", "year", "title"):
                    bad(
                        f"{key}.{shorten(str(k), 60)}",
                        _("unknown key; allowed here: %(allowed)s")
                        % {"allowed": "tiles, year, title"},
                    )
            out.append(
                HazardSpec(
                    file=None,
                    kind=TILE_KINDS[name],
                    tiles=name,
                    year=str(entry.get("year", "")).strip(),
                    title=str(entry.get("title", "")).strip(),
                )
            )
            continue
        if not isinstance(entry, Mapping):
            bad(
                key,
                _(
                    "got %(value)r, expected {file: a 国土数値情報 file, kind: flood} or a tile "
                    "set name (%(names)s)"
                )
                % {"value": Short(entry), "names": ", ".join(TILE_KINDS)},
            )
            continue
        for k in entry:
            if k not in HAZARD_KEYS:
                bad(
                    f"{key}.{shorten(str(k), 60)}",
                    _("unknown key; allowed here: %(allowed)s")
                    % {"allowed": ", ".join(HAZARD_KEYS)},
                )
        name = entry.get("file")
        path: Path | None = None
        if not isinstance(name, str) or not name.strip():
            bad(
                f"{key}.file",
                _("missing; give the 国土数値情報 hazard file (GeoJSON or shapefile)"),
            )
        else:
            path = Path(name)
            path = path if path.is_absolute() else base_dir / path
            if not path_exists(path):
                bad(
                    f"{key}.file",
                    _("file not found: %(value)s") % {"value": shorten(path, 200)},
                )
        kind = entry.get("kind")
        if kind not in HAZARD_KINDS:
            bad(
                f"{key}.kind",
                _("got %(value)r, expected one of: %(allowed)s")
                % {"value": Short(kind), "allowed": ", ".join(HAZARD_KINDS)},
            )
        year = entry.get("year", "")
        if isinstance(year, bool) or not isinstance(year, int | str):
            bad(
                f"{key}.year",
                _("got %(value)r, expected a year such as 2023") % {"value": Short(year)},
            )
            year = ""
        texts: dict[str, str] = {}
        for k in ("title", "field", "credit", "licence"):
            v = entry.get(k, "")
            if not isinstance(v, str):
                bad(f"{key}.{k}", _("got %(value)r, expected text") % {"value": Short(v)})
                v = ""
            texts[k] = v.strip()
        if path is not None and kind in HAZARD_KINDS:
            out.append(HazardSpec(file=path, kind=str(kind), year=str(year).strip(), **texts))
    if problems:
        raise ConfigError(problems)
    return tuple(out)


def parse_disaster(raw: Any, *, file: str) -> str | None:
    """Check ``disaster:`` (the per-disaster view); return its ``serves_<key>`` key, or None.

    ``disaster: 洪水`` (or ``flood``) makes both maps show only the shelter sites
    suited to that disaster — designated for it and not ruled out by its hazard —
    with that disaster's hazard layers drawn and the others left off.

    Raises
    ------
    ConfigError
        The value is not one of :data:`civicmap.schema.DISASTER_TYPES` (key or name).
    """
    if raw is None:
        return None
    for key, name in DISASTER_TYPES.items():
        if raw in (key, name):
            return key
    allowed = ", ".join(f"{name} ({key})" for key, name in DISASTER_TYPES.items())
    raise ConfigError(
        [
            Problem(
                file,
                "disaster",
                _("got %(value)r, expected one of: %(allowed)s")
                % {"value": Short(raw), "allowed": allowed},
            )
        ]
    )


__all__ = [
    "HAZARD_KEYS",
    "HAZARD_KINDS",
    "TILE_KINDS",
    "HazardSpec",
    "parse_disaster",
    "parse_hazards",
]
