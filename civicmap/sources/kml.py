"""KML and KMZ files (Google My Maps, Google Earth): placemarks → the common schema.

Folders become categories, ``ExtendedData`` becomes columns, and HTML
descriptions become plain text (tags dropped, ``<br>`` as newlines), which
renderers then escape: nothing from the file is ever emitted as markup. KML
is longitude/latitude in WGS84 by definition; points outside the extent are
rejected with the same reason as CSV rows (see :mod:`civicmap.sources._table`).
"""

from __future__ import annotations

import logging
import re
import zipfile
from collections import Counter
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, ClassVar
from xml.etree import ElementTree as ET

from shapely.geometry import (
    GeometryCollection,
    LinearRing,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)

from civicmap.errors import SourceError
from civicmap.i18n import _
from civicmap.schema import COLUMNS, RowProblem, SourceResult
from civicmap.sources import _guard
from civicmap.sources._colours import kml_alpha, kml_hex
from civicmap.sources._guess import name_header
from civicmap.sources._table import records_result
from civicmap.spec.layers import SourceLayer

log = logging.getLogger(__name__)

KML_NS = "{http://www.opengis.net/kml/2.2}"


class _TextOnly(HTMLParser):
    """Collect the text of an HTML fragment; block tags and <br> become newlines."""

    _BREAK: ClassVar[set[str]] = {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag in self._BREAK:
            self.parts.append("\n")
        elif tag in ("td", "th"):
            self.parts.append(" ")  # a table row reads "地先名 新宮市…", not "地先名新宮市…"

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag in ("p", "div", "li", "table"):
            # a table's rows are lines, not paragraphs: no blank line between them
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(fragment: str) -> str:
    """Plain text of an HTML description: tags dropped, entities decoded, ``<br>`` → newline.

    The result is text, not markup: renderers escape it, so a description
    holding ``<script>`` can never run in a web map.
    """
    if not fragment:
        return ""
    p = _TextOnly()
    p.feed(fragment)
    p.close()
    lines = [" ".join(line.split()) for line in "".join(p.parts).splitlines()]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip()


class _TableRows(HTMLParser):
    """The rows of the tables in an HTML fragment, each a list of cell texts."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[list[str]] = []
        self.outside: list[str] = []
        self._cell: list[str] | None = None
        self._depth = 0
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        elif tag == "table":
            self._depth += 1
        elif tag == "tr" and self._depth:
            self.rows.append([])
        elif tag in ("td", "th") and self.rows:
            self._cell = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        elif tag == "table" and self._depth:
            self._depth -= 1
        elif tag in ("td", "th") and self._cell is not None and self.rows:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None

    def handle_data(self, data: str) -> None:
        if self._skip:
            return
        if self._cell is not None:
            self._cell.append(data)
        elif not self._depth:
            self.outside.append(data)


#: A key cell longer than this is text, not the name of a field.
_KEY_MAX = 40


def description_table(fragment: str) -> dict[str, str] | None:
    """The fields of a description that is a key/value table, or None.

    地理院地図's 作図 tool, 電子国土 and the municipal web GIS built on it (和歌山県's
    わかやま地図) write a placemark's attributes as ``<table><tr><td>地先名</td>
    <td>…</td></tr>…</table>``, with ``<name>`` holding only an ID. Read as plain
    text the fields run together; read as a table they are columns like
    ``ExtendedData``, so the name, address and category are found by meaning.
    """
    if not fragment or "<t" not in fragment.lower():
        return None
    p = _TableRows()
    p.feed(fragment)
    p.close()
    rows = [r for r in p.rows if r]
    if not rows or "".join(p.outside).strip():
        return None
    if any(len(r) != 2 or not r[0] or len(r[0]) > _KEY_MAX for r in rows):
        return None
    return {k: v for k, v in rows}


def _kml_coords(text: str | None) -> list[tuple[float, float]]:
    pts = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) >= 2:
            pts.append((float(parts[0]), float(parts[1])))
    return pts


def _kml_geometry(el: ET.Element):
    tag = el.tag.removeprefix(KML_NS)
    if tag == "Point":
        pts = _kml_coords(el.findtext(f"{KML_NS}coordinates"))
        return Point(pts[0]) if pts else None
    if tag == "LineString":
        pts = _kml_coords(el.findtext(f"{KML_NS}coordinates"))
        return LineString(pts) if len(pts) >= 2 else None
    if tag == "LinearRing":
        pts = _kml_coords(el.findtext(f"{KML_NS}coordinates"))
        return LineString(LinearRing(pts).coords) if len(pts) >= 3 else None
    if tag == "Polygon":
        outer = el.find(f"{KML_NS}outerBoundaryIs/{KML_NS}LinearRing/{KML_NS}coordinates")
        if outer is None:
            return None
        holes = [
            _kml_coords(h.text)
            for h in el.findall(f"{KML_NS}innerBoundaryIs/{KML_NS}LinearRing/{KML_NS}coordinates")
        ]
        shell = _kml_coords(outer.text)
        return Polygon(shell, [h for h in holes if len(h) >= 3]) if len(shell) >= 3 else None
    if tag == "MultiGeometry":
        parts = [g for g in (_kml_geometry(c) for c in el) if g is not None and not g.is_empty]
        if not parts:
            return None
        kinds = {p.geom_type for p in parts}
        if kinds == {"Point"}:
            return MultiPoint(parts)
        if kinds == {"LineString"}:
            return MultiLineString(parts)
        if kinds == {"Polygon"}:
            return MultiPolygon(parts)
        return GeometryCollection(parts)
    return None


def _kmz_document(path: Path) -> bytes:
    """The KML document inside a KMZ (doc.kml, else the first .kml).

    Kept as one small function so size and zip-bomb guards have one place to go.
    """
    # size/ratio-capped unzip (zip bombs): see sources/_guard.py
    if not zipfile.is_zipfile(path):
        raise SourceError(_("%(path)s: a .kmz must be a zip file holding doc.kml") % {"path": path})
    return _guard.read_zip_member(path, suffix=".kml")


def _kml_root(path: Path) -> ET.Element:
    # bounded read, nesting limit, one-line errors: see sources/_guard.py
    raw = _kmz_document(path) if path.suffix.lower() == ".kmz" else _guard.read_input_bytes(path)
    _guard.check_not_binary(raw, name=str(path))
    return _guard.parse_xml(raw, name=str(path))


def read_kml(path: Path, *, layer: str, options: dict | None = None) -> SourceResult:
    """Read a KML/KMZ (e.g. a Google My Maps export): folders → categories."""
    options = dict(options or {})
    path = Path(path)
    root = _kml_root(path)
    if not root.tag.startswith(KML_NS):
        raise SourceError(
            _("%(path)s: root element is %(tag)r, expected a KML 2.2 <kml> document")
            % {"path": path, "tag": root.tag}
        )
    records, geoms, refs = [], [], []
    rejected: list[RowProblem] = []
    counter = 0
    folders_seen: list[str] = []
    styles = _styles(root)
    doc_name = (root.findtext(f"{KML_NS}Document/{KML_NS}name") or "").strip() or path.stem
    layer_index: dict[str, int] = {}

    def walk(el: ET.Element, folder: str) -> None:
        nonlocal counter
        for child in el:
            tag = child.tag.removeprefix(KML_NS)
            if tag in ("Folder", "Document"):
                fname = (child.findtext(f"{KML_NS}name") or "").strip()
                if tag == "Folder" and fname:
                    folders_seen.append(fname)
                walk(child, fname if tag == "Folder" and fname else folder)
            elif tag == "Placemark":
                counter += 1
                rec = _placemark_record(child)
                rec["category"] = folder
                rec["source_layer"] = layer_index.setdefault(folder or doc_name, len(layer_index))
                rec.update(_placemark_style(child, styles))
                geom = None
                for g in child:
                    if g.tag.removeprefix(KML_NS) in (
                        "Point",
                        "LineString",
                        "Polygon",
                        "MultiGeometry",
                        "LinearRing",
                    ):
                        try:
                            geom = _kml_geometry(g)
                        except ValueError as exc:
                            rejected.append(
                                RowProblem(
                                    path.name,
                                    counter,
                                    _("unreadable coordinates (%(error)s)") % {"error": exc},
                                )
                            )
                            geom = False
                        break
                if geom is False:
                    continue
                if geom is not None and not _guard.finite_xy(geom):
                    rejected.append(
                        RowProblem(
                            path.name,
                            counter,
                            _("coordinates are not finite numbers (NaN or infinity)"),
                        )
                    )
                    continue
                if geom is None or geom.is_empty:
                    label = rec.get("name") or _("(no name)")
                    rejected.append(
                        RowProblem(
                            path.name,
                            counter,
                            _("placemark %(name)r in folder %(folder)r has no geometry")
                            % {"name": label, "folder": folder},
                            code="no_geometry",
                        )
                    )
                    continue
                records.append(rec)
                geoms.append(geom)
                refs.append(counter)

    walk(root, "")
    from_description = name_from_description(records)
    # the table's keys, taken off the record before its keys become the popup's fields
    table_keys: list[list[str]] = [r.pop(_TABLE_MARK, None) or [] for r in records]
    info: dict[str, Any] = {
        "folders": folders_seen,
        "source_layers": _source_layers(records, list(layer_index)),
    }
    tables = sum(1 for keys in table_keys if keys)
    if tables:
        info["description_tables"] = tables
    for rec in records:
        if _EXPORT_STAMP.match(rec["category"]):
            # a folder named by the export's date and time is not a kind of place
            rec["category"] = ""
    if tables and _names_are_ids(records):
        # <name> is empty or holds an ID (1, 2, 3 …) and the label is in the description's
        # table: keep the ID as a column and find the name among the table's fields
        for rec in records:
            rec[_NAME_IN_FILE] = rec.pop("name", "")
        info["name_is_id"] = _NAME_IN_FILE
    elif any("name" in r for r in records):
        # A placemark's <name> is the name Google My Maps and Google Earth show;
        # ExtendedData columns such as 名称 must not win over it. Where <name> is
        # missing, the name field of the description's table stands in (地理院地図 作図
        # writes no <name> when 名称 is left empty, and users type 名称 as a table row).
        from_description += name_from_table(records, table_keys)
        options["columns"] = {"name": "name", **(options.get("columns") or {})}
        options["_name_reason"] = _(
            "the placemark's <name> (or, when it is empty, the first line of its description)"
        )
    if from_description:
        info["name_from_description"] = from_description
    for rec, keys in zip(records, table_keys, strict=True):
        if keys:  # the description was only its table, now columns: the popup shows them once
            rec["description"] = ""
    return records_result(
        records,
        geoms,
        refs,
        path=path,
        layer=layer,
        options=options,
        rejected=rejected,
        info=info,
        rows=counter,
        category_from_container=True,
    )


def _kml_style(el: ET.Element) -> dict[str, Any]:
    """One ``<Style>``: icon, line and area colours (``#rrggbb``), line width, fill opacity."""
    out: dict[str, Any] = {}
    icon = el.findtext(f"{KML_NS}IconStyle/{KML_NS}color")
    if kml_hex(icon):
        out["icon"] = kml_hex(icon)
    line = el.findtext(f"{KML_NS}LineStyle/{KML_NS}color")
    if kml_hex(line):
        out["line"] = kml_hex(line)
    width = el.findtext(f"{KML_NS}LineStyle/{KML_NS}width")
    try:
        if width is not None and 0 < float(width) <= 20:
            out["width"] = float(width)
    except ValueError:
        pass
    poly = el.findtext(f"{KML_NS}PolyStyle/{KML_NS}color")
    if kml_hex(poly):
        out["fill"] = kml_hex(poly)
        out["fill_opacity"] = kml_alpha(poly)
    if (el.findtext(f"{KML_NS}PolyStyle/{KML_NS}fill") or "").strip() == "0":
        out["fill_opacity"] = 0.0
    return out


def _styles(root: ET.Element) -> dict[str, dict[str, Any]]:
    """Every shared style by id: ``<Style>`` and ``<StyleMap>`` (through its ``normal`` pair)."""
    styles = {
        el.get("id", ""): _kml_style(el) for el in root.iter(f"{KML_NS}Style") if el.get("id")
    }
    for sm in root.iter(f"{KML_NS}StyleMap"):
        for pair in sm.iter(f"{KML_NS}Pair"):
            if (pair.findtext(f"{KML_NS}key") or "").strip() == "normal":
                target = (pair.findtext(f"{KML_NS}styleUrl") or "").strip().lstrip("#")
                if sm.get("id") and target in styles:
                    styles[sm.get("id", "")] = styles[target]
    return styles


def _placemark_style(pm: ET.Element, styles: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A placemark's own look as columns: ``style_color`` (icon, line or area colour),
    ``style_weight``, ``style_fill``, and ``drawn_as`` for a line or an area."""
    url = (pm.findtext(f"{KML_NS}styleUrl") or "").strip()
    st = dict(styles.get(url.lstrip("#"), {})) if url.startswith("#") else {}
    inline = pm.find(f"{KML_NS}Style")
    if inline is not None:
        st.update(_kml_style(inline))
    kinds = {g.tag.removeprefix(KML_NS) for g in pm.iter() if g is not pm}
    out: dict[str, Any] = {}
    if kinds & {"Polygon"}:
        out["drawn_as"] = "area"
        colour = st.get("line") or st.get("fill")
        if st.get("fill"):
            out["style_fill"] = st["fill"]
    elif kinds & {"LineString", "LinearRing"}:
        out["drawn_as"] = "line"
        colour = st.get("line")
    else:
        colour = st.get("icon")
    if colour:
        out["style_color"] = colour
    if out.get("drawn_as") and st.get("width"):
        out["style_weight"] = st["width"]
    if out.get("drawn_as") == "area" and st.get("fill_opacity") is not None:
        out["_fill_opacity"] = st["fill_opacity"]
    return out


def _source_layers(records: list[dict[str, Any]], names: list[str]) -> list[SourceLayer]:
    """Each folder as a layer: the colour most of its placemarks have (a point's is then not
    repeated as its own), its areas' fill opacity, and a popup as My Maps shows it
    (name, the data fields, the description)."""
    out = []
    for i, name in enumerate(names):
        recs = [r for r in records if r.get("source_layer") == i]
        counts = Counter(r["style_color"] for r in recs if r.get("style_color"))
        colour = counts.most_common(1)[0][0] if counts else ""
        for r in recs:
            # a point takes the layer's colour back; a line or an area keeps its own, which
            # must win over a colour per category (a red route stays red)
            if r.get("style_color") == colour and not r.get("drawn_as"):
                del r["style_color"]
        opacities = [r.pop("_fill_opacity") for r in recs if "_fill_opacity" in r]
        keys: list[str] = ["name"]
        for r in recs:
            for k in r:
                if k not in keys and k not in _NOT_DATA and not k.startswith(("style_", "_")):
                    keys.append(k)
        out.append(
            SourceLayer(
                name=name,
                color=colour,
                fill_opacity=opacities[0] if opacities else None,
                popup=(*keys, "description"),
            )
        )
    return out


#: Columns of a placemark record that are not its data fields (for the popup's list).
_NOT_DATA = ("name", "description", "category", "source_layer", "drawn_as")


#: A label longer than this is a paragraph, not a name.
_LABEL_MAX = 60
#: A record's key/value-table keys, when its description was one (removed before the columns
#: are read).
_TABLE_MARK = "\0table"
#: Where a placemark's <name> goes when it holds an ID rather than a name.
_NAME_IN_FILE = "name (in file)"
#: A folder named by the date and time of an export (``2015/02/13 17:28:06``).
_EXPORT_STAMP = re.compile(r"^\d{4}[-/.]\d{1,2}[-/.]\d{1,2}(?:[ T]\d{1,2}:\d{2}(?::\d{2})?)?$")
_ID = re.compile(r"^[A-Za-z]{0,3}[-_]?\d+$")


def _names_are_ids(records: list[dict[str, Any]]) -> bool:
    """No ``<name>`` names a place: each is empty or an ID such as ``1`` or ``P-12``."""
    names = [str(r.get("name") or "").strip() for r in records]
    return all(_ID.match(n) for n in names if n)


def name_from_description(records: list[dict[str, Any]]) -> int:
    """Give placemarks without a ``<name>`` the first line of their description.

    地理院地図's 作図 tool (and some hand-written KML) leaves ``<name>`` empty
    and puts the label the author typed in ``<description>``. Returns how
    many placemarks were named so; the description itself is kept whole.
    """
    n = 0
    for rec in records:
        if str(rec.get("name") or "").strip() or rec.get(_TABLE_MARK):
            continue
        lines = [ln.strip() for ln in str(rec.get("description") or "").splitlines()]
        first = next((ln for ln in lines if ln), "")
        if first and len(first) <= _LABEL_MAX:
            rec["name"] = first
            n += 1
    return n


def name_from_table(records: list[dict[str, Any]], table_keys: list[list[str]]) -> int:
    """Give placemarks without a ``<name>`` the value of their table's name field.

    The field is found by the meaning of its key (名称, 施設名, …, as for a CSV header),
    per placemark, since 作図 users type different rows on each. Returns how many
    placemarks were named so.
    """
    n = 0
    for rec, keys in zip(records, table_keys, strict=True):
        if not keys or str(rec.get("name") or "").strip():
            continue
        found = name_header(keys)
        value = str(rec.get(found[0]) or "").strip() if found else ""
        if value and len(value) <= _LABEL_MAX:
            rec["name"] = value
            n += 1
    return n


def _placemark_record(pm: ET.Element) -> dict[str, Any]:
    raw_description = pm.findtext(f"{KML_NS}description") or ""
    rec: dict[str, Any] = {
        "name": (pm.findtext(f"{KML_NS}name") or "").strip(),
        "description": html_to_text(raw_description),
    }
    table = description_table(raw_description)
    if table:
        keys = [key if key not in COLUMNS else f"data_{key}" for key in table]
        rec[_TABLE_MARK] = keys
        for key, val in zip(keys, table.values(), strict=True):
            rec.setdefault(key, val)
    addr = pm.findtext(f"{KML_NS}address")
    if addr:
        rec["address"] = addr.strip()
    for data in pm.iter(f"{KML_NS}Data"):
        key = data.get("name") or ""
        val = html_to_text(data.findtext(f"{KML_NS}value") or "")
        if key:
            rec[key if key not in COLUMNS else f"data_{key}"] = val
    for sd in pm.iter(f"{KML_NS}SimpleData"):
        key = sd.get("name") or ""
        if key:
            rec[key if key not in COLUMNS else f"data_{key}"] = (sd.text or "").strip()
    return rec
