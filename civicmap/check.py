"""``civicmap check`` / ``civicmap convert`` for data files: what a file holds and what was done to it.

The library returns data (a report dict, a written path); the CLI prints it.
A report says which encoding and layout were detected, which columns were
used, how many rows were read and mapped, which rows were repaired (and how)
and which were rejected (row number and reason), so a volunteer can fix the
source file instead of guessing why a place is missing from the map.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import logging
import math
from collections.abc import Iterator, Mapping
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import pandas as pd

from civicmap import _http, hazard_tiles, pipeline, settings, wording
from civicmap._fields import TemplateError, template_fields
from civicmap._files import check_writable, spreadsheet_cell, write_text_atomic
from civicmap._transport import redact
from civicmap._validate import COLUMN_HINT_CUTOFF, did_you_mean
from civicmap.area import map_area
from civicmap.errors import CivicMapError, ConfigError, OfflineError, Problem, SourceError
from civicmap.fields import ALIASES
from civicmap.hazards import hazard_summary
from civicmap.i18n import _, ngettext
from civicmap.render.paper.areas import load_areas
from civicmap.render.paper.readability import UnreadableSheetError
from civicmap.render.paper.render import render_paper
from civicmap.render.tiles import survey_act_notice
from civicmap.schema import COLUMNS, Credit, RowProblem, SourceResult
from civicmap.sources import kind_for_path, overpass, read_file_source, read_path, remote
from civicmap.sources._guess import place_counts
from civicmap.spec.layers import LayerSpec, SourceSpec
from civicmap.spec.mapfile import MapSpec, load_map

if TYPE_CHECKING:
    from civicmap.mapdata import MapData

log = logging.getLogger(__name__)


def _result(path: Path, options: dict | None) -> tuple[SourceResult, str]:
    kind = kind_for_path(path)
    opts = dict(options or {})
    if kind in ("csv", "excel"):
        opts.setdefault("_require_coordinates", False)
    return read_path(path, layer=path.stem, options=opts), kind


def report_of(path: Path, result: SourceResult, kind: str) -> dict[str, Any]:
    """The check report for an already-read source (see :func:`check_file`)."""
    info = dict(result.info)
    cols = info.get("columns") or {}
    notes = []
    if kind in ("csv", "excel") and not (cols.get("lat") and cols.get("lon")):
        notes.append(
            "no coordinate columns: rows are placed only by geocoding their address "
            "(geocode: true) or the table can be attached to a located one (join:)"
        )
    report: dict[str, Any] = {
        "file": str(path),
        "kind": kind,
        # the codec only: how a broken file was repaired is said in file_repairs, in the
        # run's language (the reader's label carries an English note)
        "encoding": str(info.get("encoding", "")).split(" (")[0],
        "file_repairs": info.get("file_repairs", []),
        "layout": info.get("layout", ""),
        "columns": cols,
        "rows": int(info.get("rows", len(result.features) + len(result.rejected))),
        "mapped": len(result.features),
        "repaired": [{"row": p.row, "how": p.reason} for p in result.repaired],
        "rejected": [
            {"row": p.row, "reason": p.reason, "source": p.source} for p in result.rejected
        ],
        "warnings": info.get("warnings", []),
        "notes": notes,
        "place_counts": place_counts(result.features),
    }
    for key in (
        "header_row",
        "preamble",
        "renamed_columns",
        "name_column_note",
        "column_reasons",
        "name_from_description",
        "header_annotations",
        "disaster_flags",
        "capacity_from",
        "category",
        "join",
        "folders",
        "umap_layers",
        "umap_layout",
        "filtered_out",
        "sheet",
        "sheet_chosen_because",
        "sheets",
        "skipped_blank",
        "blank_rows",
        "crs",
        "crs_axes",
        "dates_converted",
        "umap_remote",
    ):
        if info.get(key):
            report[key] = info[key]
    return report


def check_file(path: str | Path, *, options: dict | None = None) -> dict[str, Any]:
    """Read any supported data file and report on it.

    Returns
    -------
    dict
        ``encoding``, ``layout``, ``columns``, ``rows`` (data rows read),
        ``mapped`` (rows with a place), ``repaired`` (``row``, ``how``),
        ``rejected`` (``row``, ``reason``, ``source``: the file the row is in),
        ``warnings`` and more. Plain JSON types.
    """
    path = Path(path)
    result, kind = _result(path, options)
    return report_of(path, result, kind)


def write_rejected_csv(report: dict[str, Any], out: str | Path, *, overwrite: bool = False) -> Path:
    """Write the rejected rows (file, row, reason) as a UTF-8 CSV with BOM (opens in Excel)."""
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(["file", "row", "reason"])
    for r in report["rejected"]:
        row = [r.get("source", Path(report["file"]).name), r["row"], r["reason"]]
        w.writerow([spreadsheet_cell(c) for c in row])  # opened in Excel: no formulas
    return write_text_atomic(out, buf.getvalue(), overwrite=overwrite, encoding="utf-8-sig")


def _jsonable(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if hasattr(value, "item"):  # numpy scalars
        return value.item()
    return value


def to_geojson_text(frame: gpd.GeoDataFrame) -> str:
    """The frame as a GeoJSON FeatureCollection (UTF-8, Japanese kept readable)."""
    features = []
    props_cols = [c for c in frame.columns if c != frame.geometry.name]
    for row, geom in zip(
        frame[props_cols].itertuples(index=False, name=None), frame.geometry, strict=True
    ):
        features.append(
            {
                "type": "Feature",
                "properties": {c: _jsonable(v) for c, v in zip(props_cols, row, strict=True)},
                "geometry": None if geom is None else geom.__geo_interface__,
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": features}, ensure_ascii=False)


def convert_file(
    path: str | Path, out: str | Path, *, overwrite: bool = False, options: dict | None = None
) -> dict[str, Any]:
    """Read ``path`` and write its mapped rows in the common schema as GeoJSON.

    Refuses to replace ``out`` unless ``overwrite``; writes atomically.
    Returns the check report of the input.
    """
    path, out = Path(path), Path(out)
    if out.suffix.lower() not in (".geojson", ".json"):
        raise SourceError(
            _("%(out)s: got a %(value)s output, expected .geojson")
            % {"out": out, "value": out.suffix or _("file without suffix")}
        )
    check_writable(out, overwrite=overwrite)
    result, kind = _result(path, options)
    write_text_atomic(out, to_geojson_text(result.features), overwrite=overwrite)
    report = report_of(path, result, kind)
    report["written"] = str(out)
    return report


# --- map files: every validation a build would do, without building ----------------------


def _close_hint(name: str, columns: list[str]) -> str:
    """`` (did you mean '住所'?)`` when a column of the data is close to ``name``."""
    return did_you_mean(name, columns, cutoff=COLUMN_HINT_CUTOFF)


def _shown(columns: list[str], limit: int = 25) -> str:
    more = len(columns) - limit
    return ", ".join(columns[:limit]) + (f", … (+{more})" if more > 0 else "")


#: Columns the build adds for drawing (civicmap.clean.with_marker_points), not the data's.
_DRAWING_COLUMNS = frozenset({"geometry", "marker_lon", "marker_lat"})


def _field_present(name: str, available: set[str]) -> bool:
    """Whether the data can fill the popup/label/index field ``name``.

    A shortcut (``phone``, ``capacity`` …) is filled by any of its columns, and
    ``disasters`` by the ``serves_<type>`` flags: the renderers read them so
    (see :mod:`civicmap.fields`), so the check must too.
    """
    if name in available:
        return True
    if name in ALIASES:
        return any(c in available for c in ALIASES[name])
    if name == "disasters":
        return any(c.startswith("serves_") for c in available)
    return False


def column_problems(
    layer: LayerSpec, columns: list[str] | set[str], *, file: str, key: str
) -> list[Problem]:
    """A warning for each field ``label:``, ``popup:`` or ``index:`` names and the data lacks.

    The one rule ``check`` and ``build`` share (see :func:`layer_warnings`).
    ``columns`` is every column the layer's data has (the common schema plus
    the original columns of its files). Without it a misspelt name simply
    vanishes from every popup, label and index, and nobody notices. A
    built-in layer lists fields of many kinds of data (OSM tags, several
    municipal layouts): those a source lacks are simply not shown, and are
    not the user's mistake, so a built-in layer gets no warning here.
    """
    if layer.builtin:
        return []
    own = [c for c in columns if c not in COLUMNS and c not in _DRAWING_COLUMNS]
    available = [*own, *(c for c in COLUMNS if c != "geometry")]
    present = set(available)
    wanted: list[tuple[str, str]] = []
    if isinstance(layer.label, str) and layer.label:
        wanted.append(("label", layer.label))
    if isinstance(layer.popup, str):
        try:
            wanted += [("popup", n) for n in template_fields(layer.popup)]
        except TemplateError:
            pass  # a broken template is reported by the layer's own validation
    else:
        wanted += [(f"popup[{j}]", n) for j, n in enumerate(layer.popup)]
    wanted += [(f"index[{j}]", n) for j, n in enumerate(layer.index)]
    out = []
    for where, name in wanted:
        if not _field_present(name, present):
            out.append(
                Problem(
                    file,
                    f"{key}.{where}" if key else where,
                    _(
                        "column %(name)r is not in the data%(hint)s; the data's columns are: "
                        "%(columns)s"
                    )
                    % {
                        "name": name,
                        "hint": _close_hint(name, available),
                        "columns": _shown(available),
                    },
                )
            )
    return out


def layer_warnings(
    layer: LayerSpec,
    *,
    columns: list[str],
    read: int,
    shown: int,
    file: str,
    key: str,
    area_name: str,
    not_placed: int = 0,
    offline: bool = False,
    located: int | None = None,
) -> list[Problem]:
    """What a layer would lose without failing: the one validation of ``check`` and ``build``.

    Fields are judged on the places shown (a layer with none gets the one
    "none inside the area" warning instead).

    ``check`` calls it with the columns and counts of the layer's own files
    (before building), ``build`` with what the pipeline read and kept, so the
    two say the same things with the same severity (a warning: the map is
    still made). Fields are only checked for layers without OSM sources: OSM
    tags are known only once the data is read, and vary from place to place.

    Parameters
    ----------
    read, shown
        Places read from the layer's sources, and how many of them lie inside
        the map's area.
    not_placed
        Rows left off because the address search could not be reached
        (:func:`geocoder_down_rows`): an empty layer then says so, not that its
        places lie outside the area.
    offline
        The run is offline: the rows were not looked up because their addresses
        are not in the cache (the fix is a build with the network).
    located
        Rows that got a position at all (None: not known). None of them: the empty
        layer says its rows have no usable coordinates, not that they lie outside.
    """
    where = f"{key} ({layer.id})" if key else layer.id
    out: list[Problem] = []
    if shown and not any(s.kind == "osm" for s in layer.sources):
        out += column_problems(layer, columns, file=file, key=where if key else "")
    if read and not shown and not_placed and offline:
        out.append(
            Problem(
                file,
                where,
                ngettext(
                    "%(n)d row was not placed on the map: offline, its address could not be "
                    "looked up (it is not among the answers of the address search, %(service)s, "
                    "kept in the cache); the layer is empty. Build once with the network, or "
                    "give the rows coordinates",
                    "%(n)d rows were not placed on the map: offline, their addresses could not "
                    "be looked up (they are not among the answers of the address search, "
                    "%(service)s, kept in the cache); the layer is empty. Build once with the "
                    "network, or give the rows coordinates",
                    not_placed,
                )
                % {"n": not_placed, "service": _http.service("geocoder").label()},
            )
        )
    elif read and not shown and not_placed:
        out.append(
            Problem(
                file,
                where,
                ngettext(
                    "%(n)d row was not placed on the map: its address could not be looked up, "
                    "because the address search (%(service)s) could not be reached; the layer "
                    "is empty. Build with the network, or give the rows coordinates",
                    "%(n)d rows were not placed on the map: their addresses could not be looked "
                    "up, because the address search (%(service)s) could not be reached; the "
                    "layer is empty. Build with the network, or give the rows coordinates",
                    not_placed,
                )
                % {"n": not_placed, "service": _http.service("geocoder").label()},
            )
        )
    elif read and not shown and located == 0:
        out.append(
            Problem(
                file,
                where,
                ngettext(
                    "its %(n)d row has no coordinates civicmap can use, so the layer would be "
                    "empty (the reason per row: civicmap build --report FILE.csv); give the rows "
                    "coordinates, or addresses with geocode: true",
                    "none of its %(n)d rows has coordinates civicmap can use, so the layer "
                    "would be empty (the reason per row: civicmap build --report FILE.csv); "
                    "give the rows coordinates, or addresses with geocode: true",
                    read,
                )
                % {"n": read},
            )
        )
    elif read and not shown:
        out.append(
            Problem(
                file,
                where,
                ngettext(
                    "none of its %(n)d place lies inside the map's area (%(area)s): the "
                    "layer would be empty; check the area, or the file's coordinates",
                    "none of its %(n)d places lie inside the map's area (%(area)s): the "
                    "layer would be empty; check the area, or the file's coordinates",
                    read,
                )
                % {"n": read, "area": area_name},
            )
        )
    return out


def geocoder_down_rows(rejected: list[RowProblem], *, offline: bool = False) -> int:
    """How many of ``rejected`` were left off because the address search could not be asked.

    A row whose address found no match is the data's problem; a row never looked
    up because this run could not reach the geocoder (or is ``offline``) is the
    network's, and the map must say which.
    """
    if not offline and _http.known_unreachable(settings.geocoder_url) is None:
        return 0
    return sum(1 for r in rejected if r.code == "geocode_failed")


def credit_warnings(
    src: SourceSpec, credits: list[Credit], *, file: str, key: str
) -> list[Problem]:
    """A warning when the map file gives ``src`` no credit (its file's name stands in).

    Shared by ``check`` (the source's own credit) and ``build`` (its layer's
    credits): the maps then print 「出典の記載なし」 (never the builder's file name),
    which tells a reader nothing and may not be what the publisher's licence asks for.
    """
    if src.kind == "osm" or "credit" in src.options:
        return []
    if not any(c.credit == c.source == src.label for c in credits):
        return []
    return [
        Problem(
            file,
            key,
            _(
                "%(name)s gives no credit, so the maps say its source is not stated; "
                "add credit: {source: ..., licence: ..., date: ...} with what the "
                "publisher asks for"
            )
            % {"name": src.label},
        )
    ]


def build_warnings(data: MapData) -> list[Problem]:
    """The warnings of a finished build: those of ``check`` (:func:`osm_warnings`,
    :func:`layer_warnings`), on what the build read and kept."""
    file = str(data.spec.file)
    out: list[Problem] = osm_warnings(data.spec)
    offline = _http.is_offline(data.spec.offline)
    # a uMap/KML layer is one map-file entry giving several layers (ids <id>-1, <id>-2 …)
    entry = {sl.id: i for i, sl in enumerate(data.spec.layers)}
    for i, layer in enumerate(data.layers):
        j = entry.get(layer.id, entry.get(layer.id.rsplit("-", 1)[0], i))
        out += layer_warnings(
            layer.spec,
            columns=[str(c) for c in layer.features.columns],
            read=layer.report.read,
            shown=len(layer.features),
            file=file,
            key=f"layers[{j}]",
            area_name=data.area.name,
            not_placed=geocoder_down_rows(layer.report.rejected, offline=offline),
            offline=offline,
            located=layer.report.mapped,
        )
        for src in layer.spec.sources:
            key = f"layers[{j}].sources({src.label})"
            for w in credit_warnings(src, layer.credits, file=file, key=key):
                if w not in out:  # a uMap/KML entry gives several layers, one warning
                    out.append(w)
    return out


def _source_column_problems(
    src, *, layer: str, file: str, key: str, path: Path | None = None
) -> list[Problem]:
    """Names in a source's ``columns:``, ``category: {column:}`` and ``filter:`` missing from its file.

    Reads the file (``path``: a remote source's cached copy) once more without those
    options to learn its real header.
    """
    path = path or src.path
    opts = dict(src.options)
    named: list[tuple[str, str]] = []
    for k, v in (opts.pop("columns", None) or {}).items():
        for name in v if isinstance(v, list) else [v]:
            named.append((f"columns.{k}", str(name)))
    cat = opts.get("category")
    if isinstance(cat, Mapping) and cat.get("column"):
        named.append(("category.column", str(cat["column"])))
        opts.pop("category")
    for k in opts.pop("filter", None) or {}:
        named.append((f"filter.{k}", str(k)))
    if not named:
        return []
    opts["_require_coordinates"] = False
    try:
        result = read_path(path, layer=layer, options=opts)
    except CivicMapError:
        return []
    header = [str(c) for c in result.info.get("headers") or result.features.columns]
    header = [c for c in header if c != "geometry"]
    return [
        Problem(
            file,
            f"{key}.{where}",
            _("column %(name)r is not in %(data)s%(hint)s; its columns are: %(columns)s")
            % {
                "name": name,
                "data": path.name,
                "hint": _close_hint(name, header),
                "columns": _shown(header),
            },
        )
        for where, name in named
        if name not in header
    ]


def _is_excel(path: Path) -> bool:
    """An Excel workbook (.xlsx zip or old .xls OLE file), whatever its name says."""
    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except OSError:
        return False
    return head.startswith(b"PK\x03\x04") or head.startswith(b"\xd0\xcf\x11\xe0")


def osm_source(spec: MapSpec) -> str | None:
    """Where the map's OSM data comes from, or ``None`` when the map does not say."""
    kind = spec.osm.kind
    return {"disabled": "off", "extract": "file"}.get(kind, kind) if kind else None


def check_map(path: str | Path) -> dict[str, Any]:
    """Validate a map file as a build would, without building; report every problem.

    Beyond :func:`civicmap.spec.mapfile.load_map` (which raises
    :class:`~civicmap.errors.ConfigError` for the file's own keys), this reads
    every file source the layers name and checks what a build would only find
    out late or never: the columns named in ``columns:``, ``label:``,
    ``popup:`` and ``index:`` exist (with "did you mean"), the map has
    outputs, the paper and web options are valid, the area resolves and holds
    some of each layer's rows, and layers that need OpenStreetMap have a
    source for it (or the map says ``osm: false``). A paper output is laid out
    as the build lays it out (:func:`paper_layout`): a sheet the build would
    refuse as unreadable is a problem.

    Returns
    -------
    dict
        ``file``, ``kind`` (``"map"``), ``ok``, ``title``, ``layers``,
        ``outputs``, ``problems`` and ``warnings`` (each a list of
        ``{"file", "key", "message"}``), and ``paper`` (notes: the inset or
        atlas the build prints instead of the plain sheet) when there are any. ``ok`` is false when there are
        problems: a build would fail or silently lose something.

    Raises
    ------
    ConfigError
        When the file itself is invalid (as :func:`~civicmap.spec.mapfile.load_map`).
    """
    path = Path(path)
    spec = load_map(path)
    file = str(path)
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if not spec.outputs:
        problems.append(
            Problem(
                file,
                "outputs",
                _(  # the build's own words (civicmap.pipeline.build_with_data)
                    "no outputs to write; add outputs: {web: {file: out/map.html}, paper: {file: "
                    "out/map.pdf}}"
                ),
            )
        )
    area = None
    try:
        area = map_area(spec)  # as the build gets it: its failure stops the build too
    except CivicMapError as exc:
        problems.append(Problem(file, "area", str(exc)))
    problems += _atlas_area_problems(spec, area)
    osm_from = osm_source(spec)
    warnings += osm_warnings(spec)
    read: dict[tuple[str, int], SourceResult] = {}  # each file source read once
    pack = overpass.pack_folder(spec)
    for i, layer in enumerate(spec.layers):
        p, w = layer_problems(layer, file=file, key=f"layers[{i}]", area=area, keep=read,
                              pack=pack)  # fmt: skip
        problems += p
        warnings += w
    warnings += draft_warnings(spec)
    offline = _http.is_offline(spec.offline)  # then: does the pack hold the portal's tiles?
    hazards, hazard_problems = hazard_summary(  # each read through its code list
        spec.hazards,
        pack_holds=(lambda h: hazard_tiles.pack_holds(spec, h)) if offline else None,
        pack=str(spec.pack_dir()),
    )
    problems += [Problem(file, key, message) for key, message in hazard_problems]
    paper_notes: list[str] = []
    if "paper" in spec.outputs and area is not None and not problems:
        paper_problems, paper_notes, drawn = paper_layout(spec, area, files=read)
        problems += paper_problems
        warnings += drawn
    remotes = remote_states(spec)
    report: dict[str, Any] = {
        "file": file,
        "kind": "map",
        "ok": not problems,
        "title": spec.title,
        "layers": [layer.id for layer in spec.layers],
        "outputs": sorted(spec.outputs),
        "osm": {"off": "false", None: "overpass (default)"}.get(osm_from, osm_from),
        "hazards": hazards,
        **({"disaster": spec.disaster} if spec.disaster else {}),  # one disaster's view
        **({"remote": remotes} if remotes else {}),  # url: sources, no server asked
        **({"paper": paper_notes} if paper_notes else {}),  # an inset or atlas the build prints
        "problems": [p.__dict__ for p in problems],
        "warnings": [p.__dict__ for p in warnings],
        "drafts": {
            lang: [e.key for e in es] for lang, es in wording.drafts(spec.languages).items()
        },
    }
    notice = survey_act_notice(spec) if not problems else ""  # the 測量法 reminder, from this load
    if notice:
        report["notice"] = notice
    return report


def paper_layout(
    spec: MapSpec, area, *, files: dict[tuple[str, int], SourceResult] | None = None
) -> tuple[list[Problem], list[str], list[Problem]]:
    """(problems, notes, warnings) of the paper map: laid out and drawn in memory as the
    build does.

    ``files``: file sources check has read already (:func:`layer_problems`), keyed as
    :attr:`civicmap.pipeline.Inputs.files`; the collecting reads only the others (and
    cleans these in place).

    The build refuses a sheet that fails the readability check
    (``outputs.paper.unreadable``); ``check`` must refuse the same map, so it
    collects the data and draws the paper layout with the build's own code
    (:func:`~civicmap.render.paper.render.render_paper`), writing no file. It asks
    no server (with the network down, check neither waits nor hangs): the places,
    the street network and the map tiles come from local files, the offline pack
    and the cache. Tiles missing there are what an online build fetches, or, with
    the network down, replaces by its fallback background: the sheet is laid out
    on that background (the numbers and the index lie the same). In an offline
    run the build stops at what is missing, so check reports it as a problem.

    Returns
    -------
    tuple
        A refusal as a problem (key ``outputs.paper``, the build's own message),
        notes: the 拡大図 (inset) or grid atlas the build will print instead
        of the plain sheet, or why the layout could not be tried offline, and the
        warnings the drawing gives in a build (places outside a fixed-scale frame,
        an area cut off, index entries merged), in the build's words.
    """
    file = str(spec.file)
    with _quiet():  # the build says these; check reports only its verdict
        try:
            data = pipeline.collect(spec, area=area, files=files, offline=True)
        except CivicMapError as exc:  # e.g. OSM data not in the cache: the build would fetch it
            if _http.is_offline(spec.offline):  # this run is offline: the build stops so too
                return [Problem(file, "", str(exc))], [], []
            return (
                [],
                [
                    _(
                        "the paper layout was not tried (check uses no network, and the data is not "
                        "all at hand: %(error)s); build once with the network, then check again"
                    )
                    % {"error": exc}
                ],
                [],
            )
        notes: list[str] = []
        try:
            try:
                with _drawing_warnings(file) as drawn:
                    _pdf, plan = render_paper(data, options=spec.paper)
            except OfflineError:
                if _http.is_offline(spec.offline):  # this run is offline: the build stops so too
                    raise
                # a build with the network fetches the tiles; one without draws the fallback
                # background: the numbers and the index lie out the same on either
                with _drawing_warnings(file) as drawn:
                    _pdf, plan = render_paper(_without_tiles(data), options=spec.paper)
                notes.append(
                    _(
                        "the background tiles are not in the cache or the offline pack: the "
                        "sheet was laid out on the background a build without them draws"
                    )
                )
        except UnreadableSheetError as exc:
            # the key says where it is; the words are the build's
            message = str(exc).removeprefix(f"{file}: ")
            return [Problem(file, "outputs.paper", message)], [], []
        except ConfigError as exc:  # an atlas over max_pages, an area file: the build stops too
            return list(exc.problems), [], []
        except CivicMapError as exc:
            return [Problem(file, "outputs.paper", str(exc))], [], []
    return [], [*([plan.note] if plan.note else []), *notes], drawn


@contextlib.contextmanager
def _drawing_warnings(file: str) -> Iterator[list[Problem]]:
    """The paper renderer's warnings while check draws, as warnings of ``outputs.paper``.

    :func:`_quiet` keeps the collecting steps silent; what the drawing warns about
    (places outside a fixed-scale frame, an area cut off, index entries merged) is
    what the build prints for this sheet, so check reports it too, once each.
    """
    found: list[Problem] = []

    class _Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            message = record.getMessage().removeprefix(f"{file}: ")
            problem = Problem(file, "outputs.paper", message)
            if problem not in found:
                found.append(problem)

    drawing = logging.getLogger("civicmap.render.paper")
    handler = _Collect(logging.WARNING)
    level, propagate = drawing.level, drawing.propagate
    drawing.setLevel(logging.WARNING)
    drawing.propagate = False  # check prints its own report
    drawing.addHandler(handler)
    try:
        yield found
    finally:
        drawing.removeHandler(handler)
        drawing.setLevel(level)
        drawing.propagate = propagate


def _without_tiles(data: MapData) -> MapData:
    """``data`` whose map draws no background tiles (the fallback background instead)."""
    spec = data.spec
    return replace(data, spec=replace(spec, basemap=replace(spec.basemap, tiles="none")))


@contextlib.contextmanager
def _quiet() -> Iterator[None]:
    """Only errors from the package's loggers while check draws the paper map in memory.

    What collecting and drawing say (layers read, places off the frame) is the
    build's to print; check prints its own report.
    """
    root = logging.getLogger("civicmap")
    level = root.level
    root.setLevel(logging.ERROR)
    try:
        yield
    finally:
        root.setLevel(level)


#: How many draft keys a warning names before it only counts the rest.
DRAFTS_SHOWN = 12


def draft_warnings(spec: MapSpec) -> list[Problem]:
    """One warning per map language whose glossary still has drafts (no speaker reviewed them).

    The map's fixed texts in that language are machine-made or a non-speaker's until a
    speaker signs the entries (``reviewed_by``); whoever hands the map out should know.
    The report's ``drafts`` lists every key.
    """
    out = []
    for lang, entries in wording.drafts(spec.languages).items():
        keys = [e.key for e in entries]
        shown = ", ".join(keys[:DRAFTS_SHOWN]) + (" …" if len(keys) > DRAFTS_SHOWN else "")
        out.append(
            Problem(
                str(spec.file),
                "language",
                _(
                    "%(lang)s: %(n)d of the map's fixed texts are drafts no speaker has "
                    "reviewed (%(keys)s); have a speaker check them in %(file)s and fill "
                    "reviewed_by"
                )
                % {
                    "lang": lang,
                    "n": len(keys),
                    "keys": shown,
                    "file": wording.glossary(lang).file,
                },
            )
        )
    return out


def remote_states(spec: MapSpec) -> list[dict[str, Any]]:
    """Each remote source's state (``url:``), without asking its server.

    The layer, the address (credentials masked), its ``refresh``, the cached copy's
    fetch time and age (None: never fetched), whether that copy is within
    ``refresh``, and whether the map's offline pack holds a copy (None: no pack).
    """
    return [
        {"layer": layer.id, **remote.state(src.remote, pack=spec.pack_dir())}
        for layer in spec.layers
        for src in layer.sources
        if src.remote is not None
    ]


def osm_warnings(spec: MapSpec) -> list[Problem]:
    """The map's layers need OpenStreetMap and it names no OSM source (check and build say it).

    Legal (the public Overpass API is asked), but a volunteer who only wanted
    their own file on a map should learn it before the network fails them.
    """
    needs_osm = [layer.id for layer in spec.layers if any(s.kind == "osm" for s in layer.sources)]
    if not needs_osm or osm_source(spec) is not None:
        return []
    return [
        Problem(
            str(spec.file),
            "osm",
            _(
                "layers %(ids)s take their places from OpenStreetMap, and the map names no "
                "OSM source: the build will ask the public Overpass API, which needs the "
                "network. Say so with osm: {overpass: true}, give a local extract with "
                "osm: {file: area.osm.pbf}, or write osm: false to use only your own files "
                "(a built-in layer then uses only its extra_sources)"
            )
            % {"ids": ", ".join(needs_osm)},
        )
    ]


def layer_problems(
    layer: LayerSpec,
    *,
    file: str,
    key: str,
    area=None,
    keep: dict[tuple[str, int], SourceResult] | None = None,
    pack: Path | None = None,
) -> tuple[list[Problem], list[Problem]]:
    """(problems, warnings) of one layer's file sources, as a build would meet them.

    Reads every file source: names in ``columns:``/``category:``/``filter:``
    must be in the file, the file must read, and for a layer without OSM
    sources the ``label``/``popup``/``index`` columns must exist. With an
    ``area``, a layer whose rows all lie outside it gets a warning.

    ``keep``: each read that is the very read the paper layout's collecting would
    make (:func:`_read_as_collected`, with the map's offline ``pack``) is put there
    under (layer id, source index), so :func:`paper_layout` reads no file twice.
    """
    problems: list[Problem] = []
    warnings: list[Problem] = []
    columns: list[str] = []
    rows = inside = not_placed = located = 0
    failed = False
    for i, src in enumerate(layer.sources):
        if src.kind == "osm":
            continue
        skey = f"{key + '.' if key else ''}sources({src.label})"
        copy_path = None
        if src.remote is not None:  # check never asks a server: the cached copy, if any
            copy, _damaged = remote.cached_copy(src.remote)
            if copy is None:
                warnings.append(
                    Problem(
                        file,
                        skey,
                        _(
                            "%(url)s has not been fetched yet, so its columns are not checked; "
                            "build once with the network (or run civicmap fetch MAP.yaml)"
                        )
                        % {"url": redact(src.remote.url)},
                    )
                )
                failed = True
                continue
            copy_path = copy.path
        if src.kind in ("csv", "file") and src.path is not None and _is_excel(src.path):
            problems.append(
                Problem(
                    file,
                    skey,
                    _(
                        "%(name)s is an Excel workbook, not CSV text; in Excel choose "
                        "File > Save As > 'CSV UTF-8 (comma delimited)' and give the .csv in path:"
                    )
                    % {"name": src.path.name},
                )
            )
            failed = True
            continue
        named = _source_column_problems(src, layer=layer.id, file=file, key=skey, path=copy_path)
        if named:
            problems += named
            failed = True
            continue
        try:
            # check never asks a server: remote copies (and uMap remote layers) from the cache
            offline = True if copy_path is not None or src.kind == "umap" else None
            result = read_file_source(src, layer=layer.id, offline=offline)
        except CivicMapError as exc:
            problems.append(Problem(file, skey, str(exc)))
            failed = True
            continue
        if keep is not None and _read_as_collected(src, offline=offline, pack=pack):
            keep[(layer.id, i)] = result
        frame = result.features
        warnings += credit_warnings(
            src, [result.credit] if result.credit else [], file=file, key=skey
        )
        columns += [str(c) for c in frame.columns if str(c) not in columns]
        rows += len(frame) + len(result.rejected)  # as the build's quality report counts
        located += len(frame)
        not_placed += geocoder_down_rows(result.rejected, offline=_http.is_offline())
        if area is not None and len(frame):
            inside += int(frame.geometry.intersects(area.geometry).sum())
    has_osm = any(s.kind == "osm" for s in layer.sources)
    if not failed:
        warnings += layer_warnings(
            layer,
            columns=columns,
            read=rows,
            # OSM places are only known once fetched: the build judges those layers alone
            shown=inside if area is not None and not has_osm else rows,
            file=file,
            key=key,
            area_name=area.name if area is not None else "",
            not_placed=not_placed,
            offline=_http.is_offline(),
            located=None if has_osm else located,
        )
    return problems, warnings


def _read_as_collected(src: SourceSpec, *, offline: bool | None, pack: Path | None) -> bool:
    """Whether check's read of ``src`` (with ``offline``) gives what :func:`paper_layout`'s
    collecting reads (offline, from the map's ``pack``), so that one read serves both.

    Not so for addresses looked up with the network (the layout asks only the cache), nor
    for a remote source or a uMap file's remote layers when the map names a pack (the
    layout reads their copies from the pack, check from the cache).
    """
    if src.options.get("geocode") and not _http.is_offline(offline):
        return False
    if pack is None:
        return True
    if src.remote is not None:
        return False
    kind = kind_for_path(src.path) if src.kind == "file" and src.path is not None else src.kind
    return kind != "umap"


def _atlas_area_problems(spec: MapSpec, area) -> list[Problem]:
    """An area atlas's polygon file (``outputs.paper.atlas.areas``), read as the build reads it.

    The options themselves were checked when the map file loaded (``spec.paper``);
    this reads the file they name, so a missing file or name field shows here, not
    halfway through a build.
    """
    atlas = spec.paper.atlas if spec.paper is not None else None
    if area is None or atlas is None or atlas.areas is None:
        return []
    try:
        load_areas(atlas.areas, name=atlas.name, base_dir=spec.base_dir, map_file=spec.file,
                   crs=area.metric_crs())  # fmt: skip
    except ConfigError as exc:
        return list(exc.problems)
    return []
