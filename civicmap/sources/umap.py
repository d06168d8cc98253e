"""uMap backups (``.umap``): datalayers → layers (or categories) of the common schema.

Two layouts are in use: layer options under ``_umap_options`` (uMap before
2.x, and pre-1.0 files under ``_storage``) or in each layer's
``properties`` (current uMap). Each datalayer (child layers too) is described
as a :class:`~civicmap.spec.layers.SourceLayer` (name, colours, line width and
dash, popup, Categorized and rule colours, options inherited from the parent
layer and the map as uMap does) and its features carry ``source_layer`` (its
index), ``category`` (the layer name, the Categorized value or the rule that
colours it), ``drawn_as`` (``line``/``area``) and their own style
(``style_color``, ``style_fill``, ``style_weight``, ``style_dash``); the pipeline
makes each datalayer a map layer (:mod:`civicmap.sources.layered`). What we
cannot draw as uMap does (heat maps, picture icons) is a warning. A remote-data
layer (``remoteData.url``, GeoJSON, CSV or KML) is fetched like any remote source when a build
reads the file (:mod:`civicmap.sources.remote`: through ``_http``, cached, refreshed after the
layer's ``ttl``, stored by ``civicmap fetch``, read from the pack); read on its own (``read_umap``
without the build's switches) it is reported with its URL.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from civicmap import settings
from civicmap._fields import TemplateError, template_fields
from civicmap._transport import redact
from civicmap.errors import CivicMapError, SourceError
from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.sources import kml, opendata, remote
from civicmap.sources._colours import brewer, css_hex
from civicmap.sources._features import _feature_rows, _load_json
from civicmap.sources._table import records_result
from civicmap.spec.layers import (
    DEFAULT_REFRESH_SECONDS,
    SYMBOLS,
    RemoteSpec,
    SourceLayer,
    SourceSpec,
    dash_pattern,
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

    # every datalayer, child layers too, in the file's order (a stack, not recursion)
    top = data.get("layers") if isinstance(data, Mapping) else None
    stack: list[Any] = list(reversed(top)) if isinstance(top, list) else []
    while stack:
        dl = stack.pop()
        if not isinstance(dl, Mapping):
            continue
        spec = remote_spec(layer_options(dl)[0])
        if spec is not None and spec not in out:
            out.append(spec)
        children = dl.get("layers")
        if isinstance(children, list):
            stack.extend(reversed(children))
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


#: Options a datalayer passes down to its child layers and a map to its layers
#: (uMap's ``DataLayer.getProperty`` asks the parent, then the map).
_INHERITED = (
    "color", "fillColor", "fillOpacity", "weight", "dashArray", "iconClass", "iconUrl",
    "labelKey", "popupTemplate", "popupShape", "popupContentTemplate", "rules",
)  # fmt: skip
#: uMap's marker shapes (``iconClass``) as the nearest of our symbols, so a layer keeps its
#: look on the web map and on paper: Circle, LargeCircle (dots) and Ball (a pin's round head)
#: a circle, Drop (a teardrop, point down) a downward triangle, Default (uMap's square pin) a
#: square. A layer that names no shape (nor inherits one), or uMap's Raw (no shape), gets our
#: palette's next symbol, which keeps the layers of a file apart in black and white.
_SYMBOLS = {
    "Circle": "circle",
    "LargeCircle": "circle",
    "Ball": "circle",
    "Drop": "triangle_down",
    "Default": "square",
}
#: Layer types drawn as plain layers: uMap's default and its clustering.
_PLAIN_TYPES = ("", "Default", "Cluster", "Categorized")
_VAR = re.compile(r"\{([^{}|]+)(?:\|[^{}]*)?\}")


def _geometry_kind(feat: Any) -> str:
    """``line`` or ``area`` for a LineString/Polygon feature, ``""`` for points."""
    geom = feat.get("geometry") if isinstance(feat, Mapping) else None
    kind = str(geom.get("type", "")) if isinstance(geom, Mapping) else ""
    if kind in ("LineString", "MultiLineString"):
        return "line"
    if kind in ("Polygon", "MultiPolygon"):
        return "area"
    return ""


def _colour(value: Any, props: Mapping[str, Any] | None = None) -> str:
    """``#rrggbb`` of a uMap colour option; ``{property}`` templates filled from ``props``."""
    if isinstance(value, str) and "{" in value:
        if props is None:
            return ""
        value = _VAR.sub(lambda m: str(props.get(m.group(1).strip(), "") or ""), value)
    return css_hex(value)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def popup_template(text: str) -> str | None:
    """uMap's popup content template as a civicmap ``{column}`` template, None if unusable.

    uMap's templates use the same ``{property}`` fields inside a little Markdown:
    ``# heading`` and ``**bold**`` marks are dropped, ``[[url|text]]`` links keep their
    text, ``{{image}}`` pictures are left out, ``{key|fallback}`` keeps its key.
    """
    out = []
    for line in str(text).splitlines():
        line = re.sub(r"^\s*#+\s*", "", line)
        line = re.sub(r"\{\{[^{}]*\}\}", "", line)
        line = re.sub(r"\[\[[^\]|]*\|([^\]]*)\]\]", r"\1", line)
        line = re.sub(r"\[\[([^\]]*)\]\]", r"\1", line)
        line = re.sub(r"\*\*?([^*]+)\*\*?", r"\1", line)
        line = re.sub(r"\{([^{}|]+)\|[^{}]*\}", r"{\1}", line)
        out.append(line.strip())
    result = "\n".join(line for line in out if line).strip()
    try:
        template_fields(result)
    except TemplateError:
        return None
    return result or None


def _popup(opts: Mapping[str, Any], feats: list, lname: str, warn) -> tuple[str, ...] | str:
    """The layer's popup as civicmap writes one: a template, a list of columns, or ``()``."""
    shape = str(opts.get("popupShape") or opts.get("popupTemplate") or "Default")
    if shape == "Table":
        keys: list[str] = ["name"]
        for feat in feats:
            props = feat.get("properties") if isinstance(feat, Mapping) else None
            for k in props or {}:
                if not str(k).startswith("_") and k not in keys:
                    keys.append(str(k))
        return tuple(keys)
    if shape not in ("Default", "Large", "Panel"):
        warn(
            "popupTemplate",
            shape,
            _("layer %(layer)r: uMap's %(shape)s popup is shown as name and description")
            % {"layer": lname, "shape": shape},
        )
    content = opts.get("popupContentTemplate")
    if isinstance(content, str) and content.strip():
        template = popup_template(content)
        if template is None:
            warn(
                "popupContentTemplate",
                content,
                _("layer %(layer)r: its popup template cannot be read; popups show name and "
                  "description") % {"layer": lname},
            )  # fmt: skip
            return ("name", "description")
        return template
    return ()


def _match(condition: str, props: Mapping[str, Any]) -> bool:
    """uMap's ``Rule.match`` for one feature: ``key=value``, ``key!=value``, ``key>n``, ``key<n``."""
    for sign, op in ((">", "gt"), ("<", "lt"), ("&lt;", "lt"), ("!=", "ne"), ("=", "eq")):
        if sign in condition:
            parts = condition.split(sign)
            if len(parts) != 2:
                return False
            key, expected = parts
            value = props.get(key)
            if expected == "":
                empty = value in ("", None)
                return empty if op == "eq" else (not empty if op == "ne" else False)
            text = "" if value is None else str(value)
            if op == "eq":
                return text == expected
            if op == "ne":
                return text != expected
            a, b = _number(value), _number(expected)
            if a is None or b is None:
                return False
            return a > b if op == "gt" else a < b
    return False


def _rules(opts: Mapping[str, Any], lname: str, warn) -> list[tuple[str, str, str]]:
    """A layer's rules that colour features: ``(condition, legend label, colour)``."""
    out = []
    for rule in opts.get("rules") or []:
        if not isinstance(rule, Mapping) or not rule.get("condition"):
            continue
        props = rule.get("properties") or rule.get("options") or {}
        raw = props.get("color") or props.get("fillColor") if isinstance(props, Mapping) else None
        colour = _colour(raw)
        cond = str(rule["condition"])
        if raw and not colour:
            warn("rules", cond, _("layer %(layer)r: rule %(rule)r has a colour we cannot read "
                                  "(%(value)r); not applied") % {
                "layer": lname, "rule": cond, "value": raw})  # fmt: skip
        if colour:
            out.append((cond, str(rule.get("name") or cond), colour))
    return out


def _categorized(opts: Mapping[str, Any], feats: list) -> tuple[str, list[tuple[str, str]]] | None:
    """A Categorized layer's property and ``(value, colour)`` pairs as uMap computes them.

    uMap's ``Categorized.compute``: the values in ``categorized.categories`` (manual mode)
    or every distinct value in natural order, coloured by the ColorBrewer scheme of that
    many classes (:func:`civicmap.sources._colours.brewer`).
    """
    if str(opts.get("type") or "") != "Categorized":
        return None
    conf = opts.get("categorized") if isinstance(opts.get("categorized"), Mapping) else {}
    prop = str(conf.get("property") or "")
    values: list[str] = []
    for feat in feats:
        props = feat.get("properties") if isinstance(feat, Mapping) else None
        if not prop and isinstance(props, Mapping):
            prop = next((str(k) for k in props if not str(k).startswith("_")), "")
        v = (props or {}).get(prop) if prop else None
        if v is not None and str(v) not in values:
            values.append(str(v))
    saved = conf.get("categories")
    if conf.get("mode") == "manual" and isinstance(saved, str) and saved:
        values = saved.split(",")
    else:
        values.sort(key=_natural)
    colours = brewer(conf.get("brewer"), len(values))
    return prop, [(v, css_hex(colours[i % len(colours)])) for i, v in enumerate(values)]


def _natural(text: str) -> list:
    """A key like uMap's ``naturalSort`` (case-insensitive, numbers by value)."""
    return [(0, int(p), "") if p.isdigit() else (1, 0, p) for p in re.split(r"(\d+)", text.lower())]


def _source_layer(
    opts: Mapping[str, Any], feats: list, lname: str, warn
) -> tuple[SourceLayer, tuple | None, list]:
    """What a datalayer says about its looks, its Categorized table and its colouring rules."""
    kind = str(opts.get("type") or "")
    if kind not in _PLAIN_TYPES:
        warn("type", kind, _("layer %(layer)r: uMap's %(kind)s layer is drawn as plain markers "
                             "in the layer's colour") % {"layer": lname, "kind": kind})  # fmt: skip
    raw_colour = opts.get("color")
    colour = _colour(raw_colour)
    if raw_colour and not colour and "{" not in str(raw_colour):
        warn("color", raw_colour, _("layer %(layer)r: colour %(value)r cannot be read; our "
                                    "palette is used") % {"layer": lname, "value": raw_colour})  # fmt: skip
    ours = str(opts.get("civicmap_symbol") or "")  # a layer civicmap exported: our symbol
    ours = ours if ours in SYMBOLS else ""
    if opts.get("iconUrl") and not ours:
        warn("iconUrl", opts["iconUrl"], _("layer %(layer)r: its picture icon is drawn as our "
                                           "symbol in the layer's colour") % {"layer": lname})  # fmt: skip
    cat = _categorized(opts, feats)
    rules = _rules(opts, lname, warn)
    categories: list[tuple[str, str]] = list(cat[1]) if cat else []
    for _cond, label, c in rules:
        if label not in [n for n, _c in categories]:
            categories.append((label, c))
    dash = str(opts.get("dashArray") or "")
    src = SourceLayer(
        name=lname,
        color=colour,
        fill=_colour(opts.get("fillColor")),
        fill_opacity=_number(opts.get("fillOpacity")),
        weight=_number(opts.get("weight")) or 0.0,
        dash=dash if dash_pattern(dash) else "",
        symbol=ours or _SYMBOLS.get(str(opts.get("iconClass") or ""), ""),
        popup=_popup(opts, feats, lname, warn),
        categories=tuple(categories),
    )
    return src, cat, rules


def _feature_props(
    feat: Mapping[str, Any],
    *,
    index: int,
    label_key: Any,
    layer_style: Mapping[str, str],
    cat: tuple | None,
    rules: list,
    raw_colour: Any,
) -> dict[str, Any]:
    """One feature's properties with its layer, category and own style as columns."""
    props = dict(feat.get("properties") or {})
    if label_key and not props.get("name") and props.get(label_key):
        props["name"] = props[label_key]  # labelKey names the feature uMap's way
    own = props.get("_umap_options")
    own = own if isinstance(own, Mapping) else {}
    style = {**layer_style, **_style(own)}
    for key, value in style.items():
        props.setdefault(key, value)
    props["source_layer"] = index
    kind = _geometry_kind(feat)
    if kind:
        props["drawn_as"] = kind
    category = ""
    if cat is not None:
        value = props.get(cat[0])
        if value is not None and str(value) in [v for v, _c in cat[1]]:
            category = str(value)
    if not category:
        category = next((label for cond, label, _c in rules if _match(cond, props)), "")
    if category:
        props.setdefault("category", category)
    main = own.get("fillColor") if kind == "area" and own.get("fillColor") else own.get("color")
    colour = _colour(main, props) if main else ""
    if not colour and isinstance(raw_colour, str) and "{" in raw_colour:
        colour = _colour(raw_colour, props)  # a layer colour taken from each feature
    if colour:
        props["style_color"] = colour
    if own.get("fillColor") and _colour(own["fillColor"], props):
        props["style_fill"] = _colour(own["fillColor"], props)
    if _number(own.get("weight")):
        props["style_weight"] = _number(own.get("weight"))
    if own.get("dashArray") and dash_pattern(str(own["dashArray"])):
        props["style_dash"] = str(own["dashArray"])
    return props


def _own_shapes(feats: list, symbol: str) -> dict[str, int]:
    """Marker shapes features set for themselves that differ from their layer's ``symbol``.

    Our symbols are per layer (and category): a feature's own ``iconClass`` cannot be drawn,
    so it is counted for a warning rather than dropped silently. Per shape, how many places.
    """
    out: dict[str, int] = {}
    for feat in feats:
        props = feat.get("properties") if isinstance(feat, Mapping) else None
        own = props.get("_umap_options") if isinstance(props, Mapping) else None
        shape = str(own.get("iconClass") or "") if isinstance(own, Mapping) else ""
        if shape and _SYMBOLS.get(shape) != symbol:
            out[shape] = out.get(shape, 0) + 1
    return out


def _walk_layers(
    layers: list,
    *,
    path: Path,
    inherited: Mapping[str, Any],
    state: dict[str, Any],
) -> None:
    """Read datalayers and their child layers into ``state`` (records, geometries, reports).

    In the file's order, each layer before its child layers, with a stack instead of
    recursion (a hostile file nests as deep as the JSON limit lets it). Child layers
    deeper than ``settings.max_child_layer_depth`` are read as part of their ancestor
    at that depth (their places kept, their names as categories) and counted in
    ``state["too_deep"]`` for one warning.
    """
    max_depth = max(1, int(settings.max_child_layer_depth))
    # (datalayer, its number among its siblings, parent's name, inherited options,
    #  depth (a top-level layer is 1), the source layer it is read into when too deep)
    stack: list[tuple[Any, int, str, Mapping[str, Any], int, int | None]] = [
        (dl, k, "", inherited, 1, None) for k, dl in reversed(list(enumerate(layers, start=1)))
    ]
    while stack:
        dl, k, parent, inherited, depth, into = stack.pop()
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
        own_opts, layout = layer_options(dl)
        opts = {**inherited, **own_opts}
        state["layouts"].add(layout)
        lname = str(own_opts.get("name") or (f"{parent} {k}" if parent else f"layer {k}"))
        state["names"].append(lname)
        remote_url = _remote_url(own_opts)
        feats = dl.get("features")
        feats = list(feats) if isinstance(feats, list) else []

        def warn(column: str, value: Any, reason: str, lname: str = lname) -> None:
            state["warnings"].append(
                {"row": f"layer {lname}", "column": column, "value": str(value), "reason": reason}
            )

        spec = remote_spec(own_opts) if remote_url and state["fetch"] else None
        if remote_url:
            state["remote"].append({"layer": lname, "url": redact(remote_url)})
        if spec is not None:
            got = _remote_features(spec, lname=lname, path=path, state=state)
            feats = got if got is not None else feats
        elif remote_url:
            shown = redact(remote_url)
            if not feats:
                warn(
                    "remoteData",
                    shown,
                    _(
                        "datalayer %(lname)r loads remote data from %(remote)s; not read (download "
                        "that data and add it as its own source)"
                    )
                    % {"lname": lname, "remote": shown},
                )
        src, cat, rules = _source_layer(opts, feats, lname, warn)
        if into is None:
            index = len(state["source_layers"])
            state["source_layers"].append(src)
        else:  # nested too deep: its places join its ancestor's layer, named by category
            index = into
            state["too_deep"].append((lname, depth))
        if not opts.get("civicmap_symbol") and any(  # civicmap's own icons are our symbols
            isinstance(f, Mapping)
            and isinstance((f.get("properties") or {}).get("_umap_options"), Mapping)
            and f["properties"]["_umap_options"].get("iconUrl")
            for f in feats
        ):
            warn("iconUrl", "", _("layer %(layer)r: picture icons of its features are drawn as "
                                  "our symbol") % {"layer": lname})  # fmt: skip
        # (civicmap's own export marks approximate places with a Ball: not a style to warn of)
        shapes = {} if opts.get("civicmap_symbol") else _own_shapes(feats, src.symbol)
        if shapes:
            warn("iconClass", ", ".join(sorted(shapes)), _(
                "layer %(layer)r: %(count)d place(s) with a marker shape of their own "
                "(%(shapes)s) are drawn with the layer's symbol"
            ) % {"layer": lname, "count": sum(shapes.values()), "shapes": ", ".join(sorted(shapes))})  # fmt: skip
        layer_style = _style(opts)
        named = []
        for feat in feats:
            if isinstance(feat, Mapping) and isinstance(feat.get("properties"), Mapping):
                props = _feature_props(
                    feat,
                    index=index,
                    label_key=opts.get("labelKey"),
                    layer_style=layer_style,
                    cat=cat,
                    rules=rules,
                    raw_colour=opts.get("color"),
                )
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
            passed = {key: opts[key] for key in _INHERITED if key in opts}
            below = into if into is not None else (index if depth >= max_depth else None)
            stack.extend(
                (child, j, lname, passed, depth + 1, below)
                for j, child in reversed(list(enumerate(children, start=1)))
            )


def _too_deep_warning(path: Path, too_deep: list[tuple[str, int]]) -> dict[str, str]:
    """One warning for every child layer read into an ancestor: the file, how many, the fix."""
    limit = max(1, int(settings.max_child_layer_depth))
    message = _(
        "%(file)s: %(count)d uMap child layers are nested more than %(limit)d levels deep "
        "(down to level %(depth)d, first %(first)r); each is read as part of its ancestor at "
        "level %(limit)d, with its name as a category. Flatten the layer groups in uMap, or "
        "raise settings.max_child_layer_depth"
    ) % {
        "file": path.name,
        "count": len(too_deep),
        "limit": limit,
        "depth": max(d for _n, d in too_deep),
        "first": too_deep[0][0],
    }
    log.warning(message)
    return {"row": too_deep[0][0], "column": "layers", "value": str(len(too_deep)),
            "reason": message}  # fmt: skip


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
        "source_layers": [],
        "too_deep": [],
        "start": 1,
    }
    map_opts = data.get("properties") if isinstance(data.get("properties"), Mapping) else {}
    map_opts = map_opts.get("_umap_options", map_opts) if isinstance(map_opts, Mapping) else {}
    inherited = {key: map_opts[key] for key in _INHERITED if key in map_opts}
    _walk_layers(data["layers"], path=path, inherited=inherited, state=state)
    if state["too_deep"]:
        state["warnings"].append(_too_deep_warning(path, state["too_deep"]))
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
        "source_layers": state["source_layers"],
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
