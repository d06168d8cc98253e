"""Make the DERIVED fixtures of issue 16 from the real files in tests/data (run once, by hand).

    PYTHONPATH=/tmp/xlwtlib .venv/bin/python tests/data/opendata/derived/make_derived.py

Each output is a real published file re-shaped into a habit we could not find a small
real example of (Excel with title rows and merged headers, .xls, .ods, plane-rectangular
metres, Tokyo datum, Linked-Data headers, ...). xlwt (for .xls only) is not a civicmap
dependency. The tests never run this script; they read its outputs.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import geopandas as gpd
import openpyxl
import pandas as pd
from openpyxl.utils import get_column_letter
from pyproj import Transformer

HERE = Path(__file__).parent
DATA = HERE.parent.parent


def records(path: Path, encoding: str = "utf-8-sig") -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_bytes().decode(encoding), newline="")))


def toyama_xlsx() -> None:
    """富山市 list as a 自治体-style workbook: notes sheet, title rows, merged two-row header."""
    recs = records(DATA / "childcare/toyama/toyama_nurseryFacilities_utf8bom.csv")
    header, rows = recs[0], recs[1:]
    wb = openpyxl.Workbook()
    notes = wb.active
    notes.title = "説明"
    notes["A1"] = "このファイルについて"
    notes["A2"] = "富山市の幼稚園・保育所の一覧です。"
    ws = wb.create_sheet("一覧")
    ws["A1"] = "富山市 幼稚園・保育所一覧"
    ws["A2"] = "令和5年4月1日現在"
    iy, ix = header.index("Y"), header.index("X")
    top, bottom = 4, 5
    for j, h in enumerate(header, start=1):
        if j - 1 == iy:
            ws.cell(top, j, "位置")
            ws.cell(bottom, j, "緯度")
        elif j - 1 == ix:
            ws.cell(bottom, j, "経度")
        else:
            ws.cell(top, j, h)
            ws.merge_cells(start_row=top, end_row=bottom, start_column=j, end_column=j)
    ws.merge_cells(start_row=top, end_row=top, start_column=iy + 1, end_column=ix + 1)
    date_col = len(header) + 1
    ws.cell(top, date_col, "更新日")
    ws.merge_cells(start_row=top, end_row=bottom, start_column=date_col, end_column=date_col)
    for i, rec in enumerate(rows):
        r = bottom + 1 + i
        for j, v in enumerate(rec, start=1):
            if j - 1 in (iy, ix) and v.strip():
                ws.cell(r, j, float(v))
            else:
                ws.cell(r, j, v if v != "" else None)
        ws.cell(r, date_col, "令和5年4月1日" if i % 2 == 0 else "R5.4.1")
    ws.column_dimensions[get_column_letter(1)].width = 12
    wb.save(HERE / "toyama_titled_merged.xlsx")


def shinjuku_header_line25() -> None:
    """新宿区 list with 24 lines of title and notes above the header (as a real ward file has)."""
    recs = records(DATA / "childcare/shinjuku/shinjuku_nurseryFacilities.csv")
    notes = [["新宿区 保育施設一覧"], ["令和5年4月1日現在"]] + [
        [f"注{i}: この一覧は参考です。最新の情報は各施設にお問い合わせください。"]
        for i in range(1, 23)
    ]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    for n in notes:
        w.writerow(n)
    w.writerows(recs)
    (HERE / "shinjuku_header_line25.csv").write_text(out.getvalue(), encoding="utf-8")
    import xlwt  # only here: .xls cannot be written with civicmap's dependencies

    book = xlwt.Workbook(encoding="utf-8")
    sh = book.add_sheet("保育施設")
    for i, n in enumerate(notes):
        sh.write(i, 0, n[0])
    for i, rec in enumerate(recs):
        for j, v in enumerate(rec):
            sh.write(len(notes) + i, j, v)
    book.save(str(HERE / "shinjuku_header_line25.xls"))


def minato_ods() -> None:
    """港区 list (with its blank line and footer rows) as an OpenDocument spreadsheet."""
    recs = records(DATA / "childcare/minato/minato_hoikuen.csv")
    frame = pd.DataFrame(recs[1:], columns=recs[0])
    frame.to_excel(HERE / "minato_hoikuen.ods", engine="odf", index=False, sheet_name="保育園")


def shinjuku_plane9() -> None:
    """新宿区 list with JGD2011 平面直角座標系 第IX系 metres added (X = north, survey convention)."""
    recs = records(DATA / "childcare/shinjuku/shinjuku_nurseryFacilities.csv")
    header, rows = recs[0], recs[1:]
    iy, ix = header.index("Y"), header.index("X")
    tr = Transformer.from_crs(4326, 6677, always_xy=True)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([*header, "X座標(m)", "Y座標(m)"])
    for rec in rows:
        east, north = tr.transform(float(rec[ix]), float(rec[iy]))
        w.writerow([*rec, f"{north:.3f}", f"{east:.3f}"])
    (HERE / "shinjuku_plane9.csv").write_text(out.getvalue(), encoding="utf-8")
    # the same without degrees: metres only
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    keep = [j for j in range(len(header)) if j not in (iy, ix)]
    w.writerow([header[j] for j in keep] + ["X", "Y"])
    for rec in rows:
        east, north = tr.transform(float(rec[ix]), float(rec[iy]))
        w.writerow([rec[j] for j in keep] + [f"{north:.3f}", f"{east:.3f}"])
    (HERE / "shinjuku_plane9_metres_only.csv").write_text(out.getvalue(), encoding="utf-8")


def gsi_crs() -> None:
    """GSI 新宿区 shelters re-projected: EPSG:6677 with a crs member, without one, Tokyo datum."""
    src = json.loads((DATA / "shelters/gsi/evacuation_131041.json").read_text(encoding="utf-8"))
    for target, crs_name, out_name in (
        (6677, "urn:ogc:def:crs:EPSG::6677", "gsi_131041_epsg6677.geojson"),
        (6677, None, "gsi_131041_epsg6677_no_crs.geojson"),
        (4301, "urn:ogc:def:crs:EPSG::4301", "gsi_131041_tokyo_datum.geojson"),
    ):
        tr = Transformer.from_crs(4326, target, always_xy=True)
        feats = []
        for f in src["features"]:
            x, y = f["geometry"]["coordinates"][:2]
            nx, ny = tr.transform(x, y)
            feats.append({**f, "geometry": {"type": "Point", "coordinates": [nx, ny]}})
        data = {"type": "FeatureCollection", "features": feats}
        if crs_name:
            data = {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": crs_name}},
                "features": feats,
            }
        (HERE / out_name).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")


def tottori_hiezu() -> None:
    """日吉津村's 7 町丁・字 polygons from the e-Stat shapefile, JGD2000 .prj and cp932 DBF kept."""
    src = Path("/work/shared/data/boundaries/chome/31-tottori-all.shp")
    frame = gpd.read_file(src, encoding="cp932")
    part = frame[frame["CITY"] == "384"]
    part.to_file(HERE / "tottori_hiezu_jgd2000.shp", encoding="cp932")


def linked_data_and_aliases() -> None:
    """Headers as other publishers write them: Linked-Data URIs, 国土数値情報 codes, トイレ名."""
    recs = records(DATA / "childcare/minato/minato_hoikuen.csv")
    rename = {
        "保育園名": "http://schema.org/name",
        "緯度": "http://www.w3.org/2003/01/geo/wgs84_pos#lat",
        "経度": "http://www.w3.org/2003/01/geo/wgs84_pos#long",
        "所在地": "ic:住所",
    }
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([rename.get(h, h) for h in recs[0]])
    w.writerows(recs[1:])
    (HERE / "minato_linked_data_headers.csv").write_text(out.getvalue(), encoding="utf-8")
    toilets = records(DATA / "messy/170003_public_toilet.csv")
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow(["トイレ名" if h == "名称" else h for h in toilets[0]])
    w.writerows(toilets[1:])
    (HERE / "toilet_toire_mei.csv").write_text(out.getvalue(), encoding="utf-8")
    src = json.loads((DATA / "shelters/gsi/emergency_172057.json").read_text(encoding="utf-8"))
    feats = []
    for f in src["features"]:
        p = dict(f["properties"])
        props = {"P20_002": p.pop("施設・場所名"), "P20_003": p.pop("住所"), "source": "国土地理院"}
        feats.append({**f, "properties": props})
    (HERE / "suzu_p20_codes.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": feats}, ensure_ascii=False),
        encoding="utf-8",
    )


def disaster_flags() -> None:
    """石川県 evacuation list, first 60 records, flags written the ways other cities write them."""
    recs = records(DATA / "shelters/ishikawa/170003_evacuation_space.csv")
    header, rows = recs[0], recs[1:61]
    rename = {
        "災害種別_崖崩れ、土石流及び地滑り": "土砂",
        "災害種別_内水氾濫": "内水",
        "災害種別_洪水": "洪水",
    }
    styles = ["1.0", "○", "◯", "可", "有"]
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([rename.get(h, h) for h in header])
    for i, rec in enumerate(rows):
        new = list(rec)
        for j, h in enumerate(header):
            if h in rename and rec[j].strip() == "1":
                new[j] = styles[(i + j) % len(styles)]
            if h == "災害種別_洪水" and rec[j].strip() == "1" and i % 7 == 0:
                new[j] = "2階以上可"
        w.writerow(new)
    (HERE / "ishikawa_flags_other_styles.csv").write_text(out.getvalue(), encoding="utf-8")


def outside_kml() -> None:
    """Three placemarks of the 2018 My Maps, two with coordinates as found in other exports:
    longitude 103.0 (a slip of the pin) and latitude = longitude."""
    import xml.etree.ElementTree as ET

    ns = "http://www.opengis.net/kml/2.2"
    ET.register_namespace("", ns)
    root = ET.parse(DATA / "kml/hiroshima2018_water-supply_google-mymaps.kml").getroot()
    placemarks = list(root.iter(f"{{{ns}}}Placemark"))[:3]
    kml = ET.Element(f"{{{ns}}}kml")
    doc = ET.SubElement(kml, f"{{{ns}}}Document")
    folder = ET.SubElement(doc, f"{{{ns}}}Folder")
    ET.SubElement(folder, f"{{{ns}}}name").text = "給水"
    for k, pm in enumerate(placemarks):
        coords = pm.find(f".//{{{ns}}}coordinates")
        _lon, lat = coords.text.strip().split(",")[:2]
        if k == 1:
            coords.text = f"103.0,{lat},0"
        elif k == 2:
            coords.text = "34.4,34.4,0"
        folder.append(pm)
    ET.ElementTree(kml).write(
        HERE / "mymaps_outside_japan.kml", encoding="utf-8", xml_declaration=True
    )


def umap_current() -> None:
    """The 沖縄 uMap export re-laid out as current uMap: options in each layer's properties,
    a child layer, a remote-data layer and a labelKey layer."""
    src = json.loads((DATA / "umap/mapprint_sample_legacy.umap").read_text(encoding="utf-8"))
    layers = []
    for k, dl in enumerate(src["layers"]):
        opts = dict(dl["_umap_options"])
        feats = dl["features"]
        if k == 2:
            opts["labelKey"] = "title"
            feats = [{**f, "properties": {"title": f["properties"]["name"]}} for f in feats]
        layers.append({"type": "FeatureCollection", "features": feats, "properties": opts})
    child = layers.pop(1)
    layers[0]["layers"] = [child]
    layers.append(
        {
            "type": "FeatureCollection",
            "features": [],
            "properties": {
                "name": "道路情報（外部）",
                "remoteData": {
                    "url": "https://example.org/okinawa/roads.geojson",
                    "format": "geojson",
                },
            },
        }
    )
    data = {**src, "layers": layers}
    (HERE / "okinawa_current_layout.umap").write_text(
        json.dumps(data, ensure_ascii=False, indent=1), encoding="utf-8"
    )


if __name__ == "__main__":
    toyama_xlsx()
    shinjuku_header_line25()
    minato_ods()
    shinjuku_plane9()
    gsi_crs()
    tottori_hiezu()
    linked_data_and_aliases()
    disaster_flags()
    outside_kml()
    umap_current()
