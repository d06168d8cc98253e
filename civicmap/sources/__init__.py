"""Sources: one module per kind of input, each returning the common schema.

- :mod:`civicmap.sources.opendata` — Japanese open-data CSV
- :mod:`civicmap.sources.excel` — .xlsx / .xls / .ods spreadsheets
- :mod:`civicmap.sources.vector` — GeoJSON (:mod:`~civicmap.sources.kml` KML, :mod:`~civicmap.sources.umap` .umap)
- :mod:`civicmap.sources.osmfile` — local OSM extracts
- :mod:`civicmap.sources.overpass` — live Overpass

:func:`read_file_source` dispatches a layer's file source to the right reader.
OSM sources are read for all layers at once by the pipeline (one pass over an
extract, or one Overpass query for every layer and the basemap), see :mod:`civicmap.pipeline`.
"""

from __future__ import annotations

from pathlib import Path

from civicmap.errors import CivicMapError, SourceError
from civicmap.i18n import _
from civicmap.schema import SourceResult
from civicmap.sources import excel, kml, opendata, remote, umap, vector
from civicmap.sources._guard import check_input_file
from civicmap.spec.layers import SourceSpec

#: File suffix → source kind, for ``file:`` sources and ``civicmap check``.
SUFFIX_KINDS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "csv",
    ".geojson": "geojson",
    ".json": "geojson",
    ".kml": "kml",
    ".kmz": "kml",
    ".umap": "umap",
    ".xlsx": "excel",
    ".xlsm": "excel",
    ".xls": "excel",
    ".ods": "excel",
    ".shp": "shapefile",
}


def kind_for_path(path: Path) -> str:
    """The source kind for a file, from its suffix."""
    kind = SUFFIX_KINDS.get(path.suffix.lower())
    if kind is None:
        raise SourceError(
            _("%(path)s: got a %(value)s file, expected one of %(items)s")
            % {
                "path": path,
                "value": path.suffix or "file without suffix",
                "items": ", ".join(sorted(SUFFIX_KINDS)),
            }
        )
    return kind


def read_path(
    path: Path, *, layer: str, options: dict | None = None, offline: bool | None = None
) -> SourceResult:
    """Read any supported file into the common schema (kind from the suffix).

    ``offline``: the run's choice, for a CSV's ``geocode: true`` (see :func:`read_file_source`).
    """
    options = dict(options or {})
    options.setdefault("path", str(path))
    options.setdefault("_fetch_remote", False)  # a file looked at alone: no server is asked
    spec = SourceSpec(kind=kind_for_path(path), options=options, base_dir=Path("."))
    return read_file_source(spec, layer=layer, path=path, offline=offline)


def read_file_source(
    spec: SourceSpec,
    *,
    layer: str,
    path: Path | None = None,
    offline: bool | None = None,
    pack: Path | None = None,
) -> SourceResult:
    """Read a layer's file source (csv, geojson, kml, umap, file), local or remote (``url:``).

    ``offline`` is the run's choice for the readers that may use the network (a CSV's
    ``geocode: true``, a remote source); ``None`` takes ``settings.offline``. ``pack`` is
    the offline pack the map names: a remote source is then read from it, never fetched
    (see :mod:`civicmap.sources.remote`).
    """
    if spec.remote is not None and path is None:
        local = SourceSpec(kind=spec.remote.kind, options=spec.options, base_dir=spec.base_dir)
        return remote.read_remote(
            spec,
            layer=layer,
            reader=lambda p: read_file_source(local, layer=layer, path=p, offline=offline),
            offline=offline,
            pack=pack,
        )
    path = path or spec.path
    if path is None:
        raise SourceError(
            _("layer %(layer)s: a %(kind)s source needs path:")
            % {"layer": layer, "kind": spec.kind}
        )
    if not path.exists():
        raise SourceError(
            _("%(path)s: file not found (layer %(layer)s)") % {"path": path, "layer": layer}
        )

    check_input_file(
        path, what=_("%(kind)s source of layer %(layer)s") % {"kind": spec.kind, "layer": layer}
    )
    kind = spec.kind if spec.kind != "file" else kind_for_path(path)
    try:
        return _read(spec, kind=kind, layer=layer, path=path, offline=offline, pack=pack)
    except CivicMapError:
        raise
    except Exception as exc:  # a reader bug or a library's error on an odd file
        raise SourceError(
            _(
                "%(path)s: could not read this %(kind)s file (%(kind2)s: %(exc)s); check that "
                "it is a valid file of that kind, and report the problem with the file"
            )
            % {"path": path, "kind": kind, "kind2": type(exc).__name__, "exc": exc}
        ) from exc


def _read(
    spec: SourceSpec,
    *,
    kind: str,
    layer: str,
    path: Path,
    offline: bool | None = None,
    pack: Path | None = None,
) -> SourceResult:
    options = dict(spec.options)
    options["_offline"] = offline  # private, like _require_coordinates: never from a file
    join = options.get("join")
    if isinstance(join, dict) and join.get("path") and not Path(str(join["path"])).is_absolute():
        # join paths are relative to the layer or map file, like path:
        options["join"] = {**join, "path": str(spec.base_dir / str(join["path"]))}
    if kind == "csv":
        return opendata.read_csv(path, layer=layer, options=options)
    if kind == "excel":
        return excel.read_excel(path, layer=layer, options=options)

    if kind == "geojson":
        return vector.read_geojson(path, layer=layer, options=options)
    if kind == "kml":
        return kml.read_kml(path, layer=layer, options=options)
    if kind == "umap":  # its remote-data layers are fetched like remote sources
        options.setdefault("_fetch_remote", True)
        options["_pack"] = pack
        return umap.read_umap(path, layer=layer, options=options)
    if kind == "shapefile":
        return vector.read_shapefile(path, layer=layer, options=options)
    raise SourceError(_("%(path)s: unknown source kind %(kind)r") % {"path": path, "kind": kind})
