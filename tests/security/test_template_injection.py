"""Data is never template source: Jinja syntax in any cell reaches the page as text.

branca compiles a MacroElement's rendered script as a Jinja2 template a second time, so
before this fix a nursery named ``{{ ... }}`` ran code at build time. Every payload here
is generated; a payload that would create a file must not create it.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from civicmap.cli import main
from civicmap.render import assets


def _payloads(marker: Path) -> list[str]:
    run = f"lipsum.__globals__.os.popen('touch {marker}').read()"
    return [
        "{{ " + run + " }}",
        "{{7*7}}",
        "{% for x in range(3) %}x{% endfor %}",
        "{# comment #}hidden",
        "{{ broken",
        "{% if %}",
        "</script><script>document.title='pwned'</script>",
        "{{ cycler.__init__.__globals__.os.system('touch " + str(marker) + "') }}",
    ]


def _write_map(tmp: Path, names: list[str], *, title: str = "安全テスト") -> Path:
    with (tmp / "places.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["名称", "住所", "緯度", "経度", "備考"])
        for i, name in enumerate(names):
            w.writerow([name, name, 35.70 + i * 0.0005, 139.70 + i * 0.0005, name])
    (tmp / "places.yaml").write_text(
        "id: places\ntitle: {ja: 施設, en: Places}\nsources:\n  - csv: {path: places.csv}\n"
        'style: {color: "#d6336c", symbol: circle}\npopup: [name, address, 備考]\n',
        encoding="utf-8",
    )
    (tmp / "map.yaml").write_text(
        f"title: {json.dumps(title, ensure_ascii=False)}\n"
        "area: {bbox: [139.69, 35.69, 139.72, 35.72]}\n"
        "layers: [places.yaml]\nbasemap: {draw: false}\n"
        "outputs:\n  web: {file: out/map.html, offline: true}\n"
        "  umap: {file: out/map.umap}\n  kml: {file: out/map.kml}\n"
        "  geojson: {file: out/map.geojson}\n",
        encoding="utf-8",
    )
    return tmp / "map.yaml"


@pytest.mark.skipif(bool(assets.missing()), reason="Leaflet files not installed")
def test_jinja_in_csv_cells_never_runs_and_shows_literally(tmp_path):
    marker = tmp_path / "PWNED"
    payloads = _payloads(marker)
    mapfile = _write_map(tmp_path, payloads, title="{{7*7}} {% raw %}")
    result = CliRunner().invoke(main, ["build", str(mapfile)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert not marker.exists(), "a template payload in the data ran code at build time"
    page = (tmp_path / "out" / "map.html").read_text(encoding="utf-8")
    assert "49" not in re.sub(r"[0-9.]{5,}", "", page.split('id="civicmap-data">', 1)[1][:4000])
    block = re.search(
        r'<script type="application/json" id="civicmap-data">(.*?)</script>', page, re.S
    )
    data = json.loads(block.group(1))
    names = {f["n"] for layer in data["layers"] for f in layer["features"]}
    for p in payloads:
        assert p in names, f"{p!r} did not reach the page literally"
    assert data["title"] == "{{7*7}} {% raw %}"
    # No raw closing tag from the data inside the page script.
    assert "</script><script>document.title" not in page
    # The exports carry the text unchanged too.
    for out in ("map.umap", "map.kml", "map.geojson"):
        text = (tmp_path / "out" / out).read_text(encoding="utf-8")
        assert "{{7*7}}" in text, out
        assert "{% for x in range(3) %}" in text, out
