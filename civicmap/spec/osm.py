"""What a map file's ``osm:`` says: where the OpenStreetMap data comes from.

One answer, given once at load (:func:`parse_osm`), instead of each reader
looking keys up again: a local extract (``osm.file``, or the extract an
``area: {osm_file: ...}`` names), Overpass (with an optional offline pack that
answers first), or nothing (``osm: false``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from civicmap._validate import Checker, path_exists, shorten
from civicmap._yaml import Short
from civicmap.i18n import _
from civicmap.spec.area import AreaSpec

#: The index ``civicmap split`` writes into its folder: a folder holding it is a split.
SPLIT_INDEX = "split.json"

#: The keys ``osm:`` accepts.
OSM_KEYS = {
    "file": "a local .osm/.osm.bz2/.osm.pbf extract, or a folder civicmap split wrote",
    "overpass": "true: ask the Overpass API",
    "overpass_url": "the Overpass endpoint (http(s) URL)",
    "pack": "the offline pack folder (civicmap fetch)",
}


@dataclass(frozen=True)
class OsmSource:
    """A validated ``osm:``.

    Attributes
    ----------
    file
        ``osm.file`` as written (relative to the map file).
    extract
        The local extract the map reads: ``osm.file``, else the area's
        ``osm_file`` unless ``overpass: true``; None when OSM comes from Overpass.
    overpass, overpass_url
        ``osm.overpass`` and its endpoint (None: ``settings.overpass_url``).
    pack
        ``osm.pack``: the offline pack folder as written, or None.
    disabled
        ``osm: false``: no OSM data at all (nor the drawn basemap).
    split
        ``extract`` is a folder ``civicmap split`` wrote: a map (or a batch area) reads only
        the parts its area needs.
    """

    file: str | None = None
    extract: str | None = None
    overpass: bool = False
    overpass_url: str | None = None
    pack: str | None = None
    disabled: bool = False
    split: bool = False

    @property
    def kind(self) -> str | None:
        """``extract``, ``pack``, ``overpass``, ``disabled``, or None when the map does not say.

        A map that does not say reads the default pack when there is one, else
        asks Overpass (decided at run time by the settings, not here).
        """
        if self.disabled:
            return "disabled"
        if self.extract:
            return "extract"
        if self.pack:
            return "pack"
        return "overpass" if self.overpass else None


def parse_osm(ck: Checker, raw: Any, *, area: AreaSpec | None, base_dir: Path) -> OsmSource:
    """Check ``osm:`` (a mapping or ``false``); every problem goes to ``ck``."""
    if raw is False:
        return OsmSource(disabled=True)
    osm = raw or {}
    if not isinstance(osm, Mapping):
        ck.add(
            "osm",
            _("got %(osm)r, expected {file: extract}, {overpass: true} or false")
            % {"osm": Short(osm)},
        )
        osm = {}
    ck.unknown_keys("osm", osm, OSM_KEYS)
    if "file" in osm and not path_exists(base_dir / str(osm["file"])):
        ck.add(
            "osm.file",
            _("file not found: %(value)s") % {"value": shorten(base_dir / str(osm["file"]), 200)},
        )
    split = False
    if (
        "file" in osm
        and path_exists(base_dir / str(osm["file"]))
        and (base_dir / str(osm["file"])).is_dir()
    ):
        split = (base_dir / str(osm["file"]) / SPLIT_INDEX).is_file()
        if not split:
            ck.add(
                "osm.file",
                _(
                    "%(value)s is a folder but not one civicmap split wrote (no %(index)s); "
                    "give an extract file (.osm.pbf), or the folder of civicmap split"
                )
                % {"value": shorten(base_dir / str(osm["file"]), 200), "index": SPLIT_INDEX},
            )
    if "file" in osm and (osm.get("overpass") or osm.get("pack")):
        ck.add("osm", _("give either file: (a local extract) or overpass: true / pack:, not both"))
    if "overpass" in osm and not isinstance(osm["overpass"], bool):
        ck.add(
            "osm.overpass",
            _("got %(overpass)r, expected true or false") % {"overpass": Short(osm["overpass"])},
        )
    url = osm.get("overpass_url")
    if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
        ck.add(
            "osm.overpass_url",
            _(
                "got %(url)r, expected an http(s) URL such as https://overpass-api.de/api/interpreter"
            )
            % {"url": Short(url)},
        )
        url = None
    pack = osm.get("pack")
    if pack is not None and not isinstance(pack, str):
        ck.add(
            "osm.pack",
            _("got %(pack)r, expected a folder path for the offline pack (civicmap fetch)")
            % {"pack": Short(pack)},
        )
        pack = None
    file = str(osm["file"]) if osm.get("file") else None
    overpass = osm.get("overpass") is True
    extract = file
    if extract is None and area is not None and area.kind == "osm_file" and not overpass:
        extract = str(area.value)
    return OsmSource(
        file=file,
        extract=extract,
        overpass=overpass,
        overpass_url=url or None,
        pack=pack or None,
        split=split and extract == file,
    )
