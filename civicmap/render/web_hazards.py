"""Hazard zones on the web map: one toggled overlay per hazard layer, its legend, popup lines.

The zones go into the page's payload as GeoJSON with a class number per
feature; ``civicmap.js`` draws each hazard as its own overlay (in the layer
control, on at load), under the markers, and lists its classes in the legend
with the two honest sentences. Every text is ours (class labels, titles) or
passes through ``textContent`` in the page; colours come from the code lists
in :mod:`civicmap.hazards`, never from a file.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable, Iterator, Mapping
from functools import partial
from typing import Any
from urllib.parse import quote

import shapely

from civicmap import wording
from civicmap.hazards import DISASTER_NAMES, designated, honest_notes, texts
from civicmap.mapdata import MapData
from civicmap.render import tiles as _tiles
from civicmap.render.background import _pack_tile_bytes, folder_tiles
from civicmap.schema import CRS, DISASTER_TYPES

log = logging.getLogger(__name__)

#: Decimal places kept for zone coordinates (about 1 m), as for the layers' shapes.
_DIGITS = 5


#: What the legend says under a portal tile layer the page loads online (never a URL).
NETWORK_NOTE = wording.Names("web.network_note")


def hazards_payload(data: MapData) -> dict[str, Any] | None:
    """``{"layers": [{id, title, classes, zones}], "notes": [...]}``, or None without hazards.

    The portal's tile sets load online; see :func:`hazards_payload_with_tiles` for a
    page that carries them from the pack.
    """
    return hazards_payload_with_tiles(data)[0]


def hazards_payload_with_tiles(
    data: MapData, *, use_pack: bool = False, folder: str | None = None
) -> tuple[dict[str, Any] | None, dict[str, Callable[[], bytes]]]:
    """The hazards payload, and the pack's portal tiles to write in the tile folder.

    Parameters
    ----------
    use_pack : bool
        A self-contained (or offline) page: each portal tile set the map's pack
        holds goes with the page (as the background tiles do, see
        :func:`civicmap.render.background.web_background`) — the portal's terms
        allow copying them (:data:`civicmap.hazard_tiles.TERMS`, ``store``).
    folder : str, optional
        The tile folder beside the page (the site's ``tiles``, ``offline_tiles:
        folder``): the tiles go there, ``<folder>/<tile set>/{z}/{x}/{y}.png``;
        without it they are inlined as data URIs.

    Returns
    -------
    tuple
        The payload (or None) and ``{"<tile set>/z/x/y": reader}`` for the folder.
    """
    hz = data.hazards
    if hz is None or not hz.layers:
        return None, {}
    lang = data.language
    shown = hz.shown()
    layers = []
    files: dict[str, Callable[[], bytes]] = {}
    bounds = tuple(data.area.geometry.bounds)
    for i, layer in enumerate(hz.layers):
        tile_sets = [
            _tile_set(f, use_pack=use_pack, folder=folder, bounds=bounds, files=files)
            for f in getattr(layer, "fetchers", ())
        ]
        zones = layer.zones.to_crs(CRS)
        geoms = shapely.set_precision(zones.geometry.to_numpy(), 10**-_DIGITS)
        features = [
            {"type": "Feature", "properties": {"c": int(c)}, "geometry": g.__geo_interface__}
            for c, g in zip(zones["cls"], geoms, strict=True)
            if g is not None and not g.is_empty
        ]
        layers.append(
            {
                "id": f"hazard{i + 1}",
                "title": layer.title(lang),
                "classes": [{"label": c.label(lang), "color": c.color} for c in layer.classes],
                "zones": {"type": "FeatureCollection", "features": features},
                # portal tile sets: from the pack, or online from our registry (never a file's)
                "tiles": tile_sets,
                "network": NETWORK_NOTE.get(lang, NETWORK_NOTE["ja"])
                if any(t["url"] and not t.get("local") for t in tile_sets)
                else "",
                # disaster: 洪水 — only that disaster's hazards are on at load
                "on": any(layer is s for s in shown),
                "disaster": layer.spec.disaster,
            }
        )
    return {"layers": layers, "notes": honest_notes(lang)}, files


def _tile_set(
    fetcher: Any,
    *,
    use_pack: bool,
    folder: str | None,
    bounds: tuple[float, float, float, float],
    files: dict[str, Callable[[], bytes]],
) -> dict[str, Any]:
    """One portal tile set for the page: online, inlined from the pack, or in the tile folder.

    From the pack: its zooms from the coarsest up to the first gap, the tiles
    touching the map's area (:func:`~civicmap.render.background.folder_tiles`);
    inlined whole zooms while they fit :data:`~civicmap.render.tiles.WEB_INLINE_LIMIT`.
    A tile the portal answered 404 for ("no zone") is not in the pack: the page
    shows nothing there and never asks for it (``have`` lists the folder's tiles).
    """
    source = fetcher.source
    entry: dict[str, Any] = {"url": source.url, "minNativeZoom": source.min_zoom,
                             "maxNativeZoom": source.max_zoom}  # fmt: skip
    manifest = getattr(fetcher, "manifest", None)
    if not use_pack or manifest is None or fetcher.pack is None or not source.storable:
        return entry
    pack = fetcher.pack
    by_zoom: dict[int, list[tuple[int, int, int]]] = {}
    sizes: dict[int, int] = {}
    for key, size in _tiles.list_pack_tiles(pack, source).items():
        by_zoom.setdefault(key[0], []).append(key)
        sizes[key[0]] = sizes.get(key[0], 0) + size
    keys = folder_tiles(by_zoom, bounds)
    if not folder:  # inlined: whole zooms, coarsest first, while they fit
        kept, total = set(), 0
        for z in sorted({k[0] for k in keys}):
            if total + sizes[z] > _tiles.WEB_INLINE_LIMIT:
                break
            kept.add(z)
            total += sizes[z]
        keys = [k for k in keys if k[0] in kept]
    if not keys:
        return entry
    zooms = sorted({k[0] for k in keys})
    entry.update(minNativeZoom=zooms[0], maxNativeZoom=zooms[-1])
    if folder:
        entry.update(
            url=f"{quote(folder)}/{quote(source.cache_id)}/{{z}}/{{x}}/{{y}}.png",
            local=True,
            have=["/".join(map(str, k)) for k in keys],
        )
        for k in keys:
            files[f"{source.cache_id}/" + "/".join(map(str, k))] = partial(
                _pack_tile_bytes, pack, source, manifest, k
            )
    else:
        entry.update(url="", inline={
            "/".join(map(str, k)): "data:image/png;base64,"
            + base64.b64encode(_pack_tile_bytes(pack, source, manifest, k)).decode("ascii")
            for k in keys
        })  # fmt: skip
    return entry


def add_popup_lines(data: MapData, layer_payloads: list[dict[str, Any]]) -> None:
    """Append what each hazard says at a shelter site to its popup rows (in place)."""
    hz = data.hazards
    if hz is None:
        return
    label = texts(data.language)["hazard"]
    for payload in layer_payloads:
        layer = data.layer(payload["id"])
        index = layer.features.index
        for item in payload["features"]:
            if not isinstance(item.get("p"), list):
                continue  # a popup template: the layer file decides what it shows
            for line in hz.lines_for(layer.id, index[item["i"]]):
                item["p"].append([label, line])


class _ViewTexts(Mapping[str, dict[str, str]]):
    """``VIEW_TEXTS[language]``: the disaster view's words, read on first use.

    Not a dict made at import: that read every language's glossary, which every
    ``civicmap`` command (and each batch worker) paid for at start.
    """

    def __getitem__(self, language: str) -> dict[str, str]:
        if language not in wording.LANGUAGES:
            raise KeyError(language)
        return {
            "label": wording.text(language, "web.view_label"),
            "all": wording.text(language, "web.view_all"),
        }

    def __iter__(self) -> Iterator[str]:
        return iter(wording.LANGUAGES)

    def __len__(self) -> int:
        return len(wording.LANGUAGES)


#: The disaster view's words on the web map, per map language (never the console's).
VIEW_TEXTS = _ViewTexts()


def suited(data: MapData, layer: Any, label: Any) -> list[str] | None:
    """The disasters a shelter site suits (designated, not ruled out by its hazard); None: not a shelter.

    What the web map's disaster choice filters on: the same rule as the map
    file's ``disaster:`` (:func:`civicmap.pipeline.disaster_view`).
    """
    if getattr(layer.spec, "role", None) != "shelter":
        return None
    row = layer.features.loc[label]
    return _suited_keys(data, layer.id, label, {k: row.get(f"serves_{k}") for k in DISASTER_TYPES})


def _suited_keys(data: MapData, layer_id: str, label: Any, serves: Mapping[str, Any]) -> list[str]:
    """:func:`suited` for one site of a shelter layer, its ``serves_<disaster>`` values given."""
    site = data.hazards.sites.get((layer_id, label)) if data.hazards is not None else None
    ruled_out = site.unusable if site is not None else []
    return [key for key in DISASTER_TYPES if designated(serves[key]) and key not in ruled_out]


def mark_suited(data: MapData, layer: Any, label: Any, item: dict[str, Any]) -> None:
    """Put the disasters a shelter site suits into its web payload item (``d``), in place."""
    keys = suited(data, layer, label)
    if keys is not None:
        item["d"] = keys


def add_suited(data: MapData, layer_payloads: list[dict[str, Any]]) -> None:
    """:func:`mark_suited` for every shelter site drawn as its own marker (in place).

    The ``serves_<disaster>`` columns are read once a layer, not a row at a time
    (a prefecture's 1,500 sites took about a second row by row).
    """
    for payload in layer_payloads:
        layer = data.layer(payload["id"])
        if getattr(layer.spec, "role", None) != "shelter":
            continue
        f = layer.features
        index = f.index
        # by position, as a row (Series) of the frame gives them (object values kept)
        columns = {
            key: f[f"serves_{key}"].astype(object).tolist()
            if f"serves_{key}" in f.columns
            else [None] * len(f)
            for key in DISASTER_TYPES
        }
        for item in payload["features"]:
            i = item["i"]
            serves = {key: values[i] for key, values in columns.items()}
            item["d"] = _suited_keys(data, layer.id, index[i], serves)


def disaster_view_payload(data: MapData, layer_payloads: list[dict[str, Any]]) -> dict | None:
    """The web map's disaster choice: ``{label, all, choices: [{key, label}], selected}``, or None.

    Offered when the map has shelter sites designated for some disaster. Choosing
    one shows only the sites suited to it and turns on that disaster's hazard
    layers (the others off); 「すべての避難先」 shows every site again. A map with
    ``disaster:`` opens with it chosen: the page keeps every site (see
    :attr:`civicmap.mapdata.MapData.every_site`) and hides the unsuited ones at load.
    """
    found: set[str] = set()
    for payload in layer_payloads:
        for item in payload["features"]:
            found.update(item.get("d") or [])
            for other in item.get("m") or []:
                found.update(other.get("d") or [])
    if not found:
        return None
    lang = data.language if data.language in VIEW_TEXTS else "ja"
    names = DISASTER_NAMES[lang]
    return {
        **VIEW_TEXTS[lang],
        "choices": [{"key": k, "label": names[k]} for k in DISASTER_TYPES if k in found],
        "selected": data.spec.disaster or "",
    }


__all__ = [
    "add_popup_lines",
    "add_suited",
    "disaster_view_payload",
    "hazards_payload",
    "hazards_payload_with_tiles",
    "mark_suited",
    "suited",
]
