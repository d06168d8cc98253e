"""uMap backups (``.umap``): datalayers → categories of the common schema.

Two layouts are in use: layer options under ``_umap_options`` (uMap before
2.x, and pre-1.0 files under ``_storage``) or in each layer's
``properties`` (current uMap). Each datalayer's name becomes the category;
features of child layers are read too; a remote-data layer (``remoteData.url``)
holds nothing to read and is reported with its URL.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.sources._features import _feature_rows, _load_json
from civicmap.sources._table import records_result

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
        remote = _remote_url(opts)
        feats = dl.get("features")
        feats = list(feats) if isinstance(feats, list) else []
        if remote:
            state["remote"].append({"layer": lname, "url": remote})
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
