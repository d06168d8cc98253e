"""Vector files people already have: GeoJSON, Google My Maps KML/KMZ, uMap exports.

Each becomes a table of properties plus geometry and then goes through the
same column detection as CSVs (:func:`civicmap.sources.opendata.finish_frame`),
so GSI shelter GeoJSON gets ``serves_*`` flags just like a 自治体標準 CSV, and
the ``layout``, ``columns``, ``category``, ``join`` and ``filter`` options work
as they do for CSVs (``encoding`` and ``geocode`` do not apply and are reported).

- KML: folders become categories, ``ExtendedData`` becomes columns, and HTML
  descriptions become plain text (tags dropped, ``<br>`` as newlines), which
  renderers then escape: nothing from the file is ever emitted as markup.
- .umap: the current layout (datalayers with ``_umap_options``, a UUID id,
  ``rank`` and ``fields``; per-feature ``_umap_options`` styles) and the legacy
  one (numeric ids, relative ``iconUrl``; pre-1.0 files use ``_storage``). Each
  datalayer's name becomes the category.
"""

from __future__ import annotations

import json
import logging
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import geopandas as gpd
import pyogrio

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import RowProblem, SourceResult
from civicmap.sources import _crs
from civicmap.sources._csvtext import Table
from civicmap.sources._features import _feature_rows, _features_of, _load_json
from civicmap.sources._table import records_result, table_result

log = logging.getLogger(__name__)


def read_geojson(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a GeoJSON file; name, address and disaster flags are detected as in CSVs."""
    options = dict(options or {})
    path = Path(path)
    data = _load_json(path)
    if isinstance(data, list) and data and all(isinstance(r, Mapping) for r in data):
        return _records_table(data, path=path, layer=layer, options=options)
    features = _features_of(data, name=str(path))
    declared = _crs.geojson_crs(data, name=str(path))
    rejected: list[RowProblem] = []
    records, geoms, refs = _feature_rows(features, name=path.name, start=1, rejected=rejected)
    return records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info={},
        rows=len(features),
        crs=declared,
    )


def _records_table(
    data: list[Mapping[str, Any]], *, path: Path, layer: str, options: dict
) -> SourceResult:
    """A JSON array of records (``[{"名称": …, "緯度": …, "経度": …}, …]``) read as a table.

    Some portals save such a list as ``.json`` or even ``.geojson``; it has no
    geometry, but its keys are the columns of a CSV, so the CSV reader's steps
    (coordinate columns, names, flags) apply unchanged.
    """
    headers: list[str] = []
    for rec in data:
        for key in rec:
            if str(key) not in headers:
                headers.append(str(key))

    def cell(value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, Mapping | list):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    rows = [[cell(rec.get(h)) for h in headers] for rec in data]
    table = Table(headers=headers, rows=rows, header_row=1)
    info: dict[str, Any] = {"encoding": "utf-8", "json_records": True}
    return table_result(table, path=path, layer=layer, options=options, info=info)


def _without_shx(path: Path) -> bool:
    return not any(path.with_suffix(s).exists() for s in (".shx", ".SHX"))


def _read_restoring_shx(path: Path, *, encoding: str | None) -> gpd.GeoDataFrame:
    """Read a shapefile whose ``.shx`` is missing: GDAL rebuilds it (``SHAPE_RESTORE_SHX``).

    GDAL writes the rebuilt index beside the ``.shp``; the parts are copied to a
    temporary folder first so the user's folder is never written to.
    """
    with tempfile.TemporaryDirectory(prefix="civicmap-shp-") as tmp:
        for part in path.parent.iterdir():
            if part.stem == path.stem and part.is_file():
                shutil.copyfile(part, Path(tmp) / part.name)
        copy = Path(tmp) / path.name
        pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": "YES"})
        try:
            frame = gpd.read_file(copy, encoding=encoding) if encoding else gpd.read_file(copy)
        finally:
            pyogrio.set_gdal_config_options({"SHAPE_RESTORE_SHX": None})
    return frame


#: What ``.cpg`` files say, as Python codec names.
_CPG_NAMES = {
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "shift_jis": "cp932", "sjis": "cp932", "shift-jis": "cp932", "cp932": "cp932", "932": "cp932",
    "ms932": "cp932", "windows-31j": "cp932",
}  # fmt: skip


def _dbf_text(path: Path) -> bytes:
    """The records of a ``.dbf`` (its header holds only ASCII field names)."""
    data = path.read_bytes()[:2_000_000]
    start = int.from_bytes(data[8:10], "little") if len(data) >= 10 else 0
    return data[start:]


def _check_cpg(path: Path) -> tuple[str | None, str | None]:
    """The encoding to read the attributes with, and a warning when the ``.cpg`` is wrong.

    A ``.cpg`` saying UTF-8 beside Shift_JIS text (or the other way round)
    gives silent mojibake in every name. The bytes decide: Japanese text that
    is valid UTF-8 is UTF-8, text that is not but decodes as cp932 is cp932.
    Returns ``(None, None)`` to let the ``.cpg`` (or GDAL) decide.
    """
    cpg = path.with_suffix(".cpg")
    dbf = path.with_suffix(".dbf")
    if not cpg.exists() or not dbf.exists():
        return None, None
    said_text = cpg.read_bytes()[:40].decode("ascii", "replace").strip()
    said = _CPG_NAMES.get(said_text.lower())
    body = _dbf_text(dbf)
    if said is None or body.isascii():
        return None, None
    try:
        body.decode("utf-8")
        actual = "utf-8"
    except UnicodeDecodeError:
        try:
            body.decode("cp932")
            actual = "cp932"
        except UnicodeDecodeError:
            return None, None
    if actual == said:
        return None, None
    return actual, _(
        "%(cpg)s says %(said)s, but the attribute text is %(actual)s; read as %(actual)s "
        "(otherwise every name would be garbled). Fix or delete the .cpg, or give encoding:"
    ) % {"cpg": cpg.name, "said": said_text, "actual": actual}


def open_shapefile(
    path: Path, *, encoding: str | None = None
) -> tuple[gpd.GeoDataFrame, str | None, str | None, bool]:
    """Open a shapefile the way every reader of ours does: ``(frame, encoding, cpg_warning, restored)``.

    The attribute encoding: ``encoding`` when given; else the ``.cpg`` beside it, checked
    against the bytes (:func:`_check_cpg`: a lying ``.cpg`` is overruled, with the warning
    returned); without one, UTF-8 when the bytes are, else Shift_JIS (cp932), which Japanese
    shapefiles nearly always are. A missing ``.shx`` (国土数値情報 publishes some files so) is
    rebuilt on a temporary copy (``restored``).
    """
    if encoding is None and not path.with_suffix(".cpg").exists():
        dbf = path.with_suffix(".dbf")
        try:
            dbf.read_bytes()[:200000].decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp932"
        except OSError:
            encoding = None
    cpg_warning = None
    if encoding is None:
        encoding, cpg_warning = _check_cpg(path)
    restored = _without_shx(path)
    try:
        if restored:
            frame = _read_restoring_shx(path, encoding=encoding)
        else:
            frame = gpd.read_file(path, encoding=encoding) if encoding else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises its own types for damaged files
        raise SourceError(
            _(
                "%(path)s: cannot read the shapefile (%(kind)s: %(exc)s); a shapefile needs "
                "its .shp, .shx and .dbf side by side"
            )
            % {"path": path, "kind": type(exc).__name__, "exc": exc}
        ) from None
    return frame, encoding, cpg_warning, restored


def read_shapefile(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read an ESRI shapefile; its CRS comes from the ``.prj`` beside it (or ``crs:``).

    The attribute table's encoding comes from the ``.cpg`` beside it; without
    one, Japanese shapefiles are nearly always Shift_JIS (cp932), which is
    tried when the bytes are not UTF-8. ``encoding:`` in the layer overrides.
    """
    options = dict(options or {})
    path = Path(path)
    frame, encoding, cpg_warning, restored = open_shapefile(
        path, encoding=options.pop("encoding", None)
    )
    declared = frame.crs
    info: dict[str, Any] = {"encoding": encoding or "from .cpg"}
    if cpg_warning:
        info.setdefault("warnings", []).append(
            {"row": "", "column": "", "value": path.with_suffix(".cpg").name, "reason": cpg_warning}
        )
    if restored:
        info.setdefault("warnings", []).extend(
            [
                {
                    "row": "",
                    "column": "",
                    "value": path.with_suffix(".shx").name,
                    "reason": _(
                        "%(name)s has no .shx index beside it (国土数値情報 publishes some files so); "
                        "it was rebuilt from the .shp while reading, the file itself is unchanged"
                    )
                    % {"name": path.name},
                }
            ]
        )
    if declared is None and options.get("crs") is None:
        info.setdefault("warnings", [])
    rejected: list[RowProblem] = []
    records, geoms, refs = [], [], []
    props = frame.drop(columns=frame.geometry.name)
    for i, (geom, rec) in enumerate(
        zip(frame.geometry, props.to_dict("records"), strict=True), start=1
    ):
        if geom is None or geom.is_empty:
            rejected.append(
                RowProblem(path.name, i, _("record has no geometry"), code="no_geometry")
            )
            continue
        records.append({str(k): ("" if v is None else v) for k, v in rec.items()})
        geoms.append(geom)
        refs.append(i)
    return records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info=info,
        rows=len(frame),
        crs=declared,
    )


# KML and uMap moved to their own modules; kept importable from here.
from civicmap.sources.kml import KML_NS, html_to_text, read_kml  # noqa: E402
from civicmap.sources.umap import read_umap  # noqa: E402

__all__ = ["KML_NS", "html_to_text", "read_geojson", "read_kml", "read_shapefile", "read_umap"]
