"""uMap backups (``.umap``): datalayers → categories of the common schema.

Two layouts are in use: layer options under ``_umap_options`` (uMap before
2.x, and pre-1.0 files under ``_storage``) or in each layer's
``properties`` (current uMap). Each datalayer's name becomes the category;
features of child layers are read too. A remote-data layer (``remoteData.url``,
GeoJSON, CSV or KML) is fetched like any remote source when a build reads the
file (:mod:`civicmap.sources.remote`: through ``_http``, cached, refreshed after
the layer's ``ttl``, stored by ``civicmap fetch``, read from the pack); read on
its own (``read_umap`` without the build's switches) it is reported with its URL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from civicmap._transport import redact
from civicmap.errors import CivicMapError, SourceError
from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.sources import kml, opendata, remote
from civicmap.sources._features import _feature_rows, _load_json
from civicmap.sources._table import records_result
from civicmap.spec.layers import (
    DEFAULT_REFRESH_SECONDS,
    RemoteSpec,
    SourceSpec,
    parse_duration,
    remote_file_name,
)

#: uMap ``remoteData.format`` civicmap reads (gpx, georss, osm are reported, not read).
REMOTE_FORMATS = ("geojson", "csv", "kml")


def _read_geojson(path: Path, *, layer: str, options: dict) -> SourceResult:
    from civicmap.sources import vector  # why: vector re-exports read_umap (import cycle)

    return vector.read_geojson(path, layer=layer, options=options)


_READERS = {"geojson": _read_geojson, "csv": opendata.read_csv, "kml": kml.read_kml}

log = logging.getLogger(__name__)


def layer_options(dl: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """A datalayer's options and the layout they were found in.

    uMap has kept them in three places over the years: ``_umap_options``,
    ``_storage`` (before 1.0) and the layer's own ``properties`` (current
    uMap). Where several are present, the later layouts' keys win.
    """
    found: dict[str, Any] = {}
    layouts: list[str] = []
    for key, label in (
        ("_storage", "pre-1.0 (_storage)"),
        ("_umap_options", "_umap_options"),
        ("properties", "properties"),
    ):
        opts = dl.get(key)
        if isinstance(opts, Mapping) and opts:
            found.update(opts)
            layouts.append(label)
    return found, " + ".join(layouts) or "no layer options"


def _remote_url(opts: Mapping[str, Any]) -> str | None:
    remote = opts.get("remoteData")
    if isinstance(remote, Mapping) and remote.get("url"):
        return str(remote["url"])
    return None


def remote_spec(opts: Mapping[str, Any]) -> RemoteSpec | None:
    """A datalayer's ``remoteData`` as a remote source: its URL, format and ``ttl`` (seconds).

    None when the layer has no remote data, the URL is not http(s), or the format is
    one civicmap does not read (gpx, georss, osm).
    """
    url = _remote_url(opts)
    data = opts.get("remoteData")
    fmt = str(data.get("format") or "geojson").lower() if isinstance(data, Mapping) else ""
    if (
        url is None
        or fmt not in REMOTE_FORMATS
        or not url.lower().startswith(("http://", "https://"))
    ):
        return None
    ttl = parse_duration(data.get("ttl")) if data.get("ttl") not in (None, "") else None
    if ttl is None and isinstance(data.get("ttl"), str) and data["ttl"].strip().isdigit():
        ttl = float(data["ttl"])
    refresh = DEFAULT_REFRESH_SECONDS if ttl is None else ttl
    return RemoteSpec(url=url, refresh=refresh, kind=fmt, name=remote_file_name(url, fmt))


def remote_specs(path: Path) -> list[RemoteSpec]:
    """Every remote-data layer of a ``.umap`` file that a build fetches (for ``civicmap fetch``)."""
    data = _load_json(Path(path))
    out: list[RemoteSpec] = []

    def walk(layers: Any) -> None:
        for dl in layers if isinstance(layers, list) else []:
            if isinstance(dl, Mapping):
                spec = remote_spec(layer_options(dl)[0])
                if spec is not None and spec not in out:
                    out.append(spec)
                walk(dl.get("layers"))

    if isinstance(data, Mapping):
        walk(data.get("layers"))
    return out


def _remote_features(
    spec: RemoteSpec, *, lname: str, path: Path, state: dict[str, Any]
) -> list | None:
    """The features of a remote-data layer, fetched as a remote source; None when not read.

    A failure with no copy kept is a warning (the layer is left out, as uMap shows
    an empty layer); a failed refresh with a copy uses the copy (warned by
    :func:`civicmap.sources.remote.local_copy`).
    """
    reader_of = _READERS[spec.kind]

    def reader(p: Path) -> SourceResult:
        return reader_of(p, layer=lname, options={"_require_coordinates": False})

    src = SourceSpec(kind=spec.kind, options={}, base_dir=path.parent, remote=spec)
    try:
        copy, result = remote.local_copy(
            src, layer=lname, reader=reader, offline=state["offline"], pack=state["pack"]
        )
    except CivicMapError as exc:
        state["warnings"].append(
            {
                "row": f"layer {lname}",
                "column": "remoteData",
                "value": redact(spec.url),
                "reason": _(
                    "datalayer %(lname)r loads remote data from %(remote)s, which could not be "
                    "fetched (%(error)s); the layer is left out. Build once with the network "
                    "(or run civicmap fetch MAP.yaml)"
                )
                % {"lname": lname, "remote": redact(spec.url), "error": str(exc)},
            }
        )
        return None
    state["fetched"].append(copy.fetched)
    frame = result.features.drop(
        columns=[
            c for c in ("layer", "category", "source", "source_ref") if c in result.features.columns
        ]
    )
    return list(frame.__geo_interface__["features"])


def _style(opts: Mapping[str, Any]) -> dict[str, str]:
    return {
        f"umap_{k}": str(opts[k])
        for k in ("color", "iconClass", "iconUrl", "fillColor")
        if isinstance(opts.get(k), str | int | float) and str(opts.get(k))
    }


def _walk_layers(
    layers: list,
    *,
    path: Path,
    parent: str,
    state: dict[str, Any],
) -> None:
    """Read datalayers and their child layers into ``state`` (records, geometries, reports)."""
    for k, dl in enumerate(layers, start=1):
        if not isinstance(dl, Mapping):
            state["warnings"].append(
                {
                    "row": f"layer {k}",
                    "column": "layers",
                    "value": type(dl).__name__,
                    "reason": _("layer %(k)s is a JSON %(kind)s, not a datalayer; skipped")
                    % {"k": k, "kind": type(dl).__name__},
                }
            )
            continue
        opts, layout = layer_options(dl)
        state["layouts"].add(layout)
        lname = str(opts.get("name") or (f"{parent} {k}" if parent else f"layer {k}"))
        state["names"].append(lname)
        remote_url = _remote_url(opts)
        feats = dl.get("features")
        feats = list(feats) if isinstance(feats, list) else []
        spec = remote_spec(opts) if remote_url and state["fetch"] else None
        if remote_url:
            state["remote"].append({"layer": lname, "url": redact(remote_url)})
        if spec is not None:
            got = _remote_features(spec, lname=lname, path=path, state=state)
            feats = got if got is not None else feats
        elif remote_url:
            remote = redact(remote_url)
            if not feats:
                state["warnings"].append(
                    {
                        "row": f"layer {lname}",
                        "column": "remoteData",
                        "value": remote,
                        "reason": _(
                            "datalayer %(lname)r loads remote data from %(remote)s; not read (download "
                            "that data and add it as its own source)"
                        )
                        % {"lname": lname, "remote": remote},
                    }
                )
        label_key = opts.get("labelKey")
        layer_style = _style(opts)
        named = []
        for feat in feats:
            # labelKey names the property uMap shows as the label: the feature's
            # name when it has no ``name`` property of its own
            props = feat.get("properties") if isinstance(feat, Mapping) else None
            if isinstance(props, Mapping):
                props = dict(props)
                if label_key and not props.get("name") and props.get(label_key):
                    props["name"] = props[label_key]
                own = props.get("_umap_options")
                style = {**layer_style, **(_style(own) if isinstance(own, Mapping) else {})}
                for key, value in style.items():
                    props.setdefault(key, value)
                feat = {**feat, "properties": props}
            named.append(feat)
        r, g, f = _feature_rows(
            named,
            name=path.name,
            start=state["start"],
            rejected=state["rejected"],
            extra={"category": lname},
        )
        state["records"] += r
        state["geoms"] += g
        state["refs"] += f
        state["start"] += len(feats)
        children = dl.get("layers")
        if isinstance(children, list) and children:
            _walk_layers(children, path=path, parent=lname, state=state)


def read_umap(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a uMap backup (``.umap``): each datalayer's name becomes the category.

    Both layouts are read (see :func:`layer_options`), child layers too;
    remote-data layers are reported with their URL (``info["umap_remote"]``);
    layer and feature styles (color, iconClass) become ``umap_*`` columns.
    """
    options = dict(options or {})
    path = Path(path)
    data = _load_json(path)
    if (
        not isinstance(data, Mapping)
        or data.get("type") != "umap"
        or not isinstance(data.get("layers"), list)
    ):
        raise SourceError(
            _(
                "%(path)s: not a uMap backup; expected JSON with type 'umap' and a layers list "
                "(export it from uMap: Share → Download → full map backup)"
            )
            % {"path": path}
        )
    state: dict[str, Any] = {
        # a build fetches remote-data layers (sources._read passes its switches)
        "fetch": bool(options.get("_fetch_remote")),
        "offline": options.get("_offline"),
        "pack": options.get("_pack"),
        "fetched": [],
        "records": [],
        "geoms": [],
        "refs": [],
        "rejected": [],
        "warnings": [],
        "names": [],
        "remote": [],
        "layouts": set(),
        "start": 1,
    }
    _walk_layers(data["layers"], path=path, parent="", state=state)
    if any(rec.get("name") for rec in state["records"]) and not (
        isinstance(options.get("columns"), Mapping) and options["columns"].get("name")
    ):
        # ``name`` already holds each feature's name (or its layer's labelKey);
        # guessing another column (a 施設名 of one layer) would blank the others
        options["columns"] = {**(options.get("columns") or {}), "name": "name"}
        options["_name_reason"] = _(
            "the feature's name (or its layer's label field), as uMap shows it"
        )
    info = {
        "umap_layers": state["names"],
        "umap_layout": ", ".join(sorted(state["layouts"])),
        "umap_remote": state["remote"],
        "map_name": str((data.get("properties") or {}).get("name", "")),
        "warnings": state["warnings"],
        "fetched": state["fetched"],  # when each remote-data layer's copy was fetched
    }
    return records_result(
        state["records"],
        state["geoms"],
        state["refs"],
        path=path,
        layer=layer,
        options=options,
        rejected=state["rejected"],
        info=info,
        rows=state["start"] - 1,
        category_from_container=True,
    )
