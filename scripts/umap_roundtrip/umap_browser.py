"""Drive a real, local uMap in headless Chromium: import a .umap with uMap's own importer.

Used by ``scripts/umap_roundtrip/run.sh``; not part of the civicmap package.

Why a browser: uMap imports a ``.umap`` backup in its JavaScript (``Umap.importRaw`` in
``static/umap/js/modules/umap.js``: it makes one datalayer per ``layers`` entry, migrating
``_umap_options``/``_storage`` to ``properties``), then saves the map and each layer through
its Django views. Re-implementing that in Python would check our guess of uMap, not uMap.
So we open ``/en/map/new/`` on the local server, call ``U.MAP.importRaw(text)`` (what
"Import data → format umap → Import" calls) and ``U.MAP.saveAll()`` (the Save button), and
return the new map's id; uMap's own ``/map/<id>/download/`` then gives the stored backup.

Only 127.0.0.1 is reachable: every other host name resolves to nothing
(``--host-resolver-rules``), so no tile or font is fetched from the internet.

Usage::

    python umap_browser.py import BASE_URL FILE.umap   # prints the new map id
    python umap_browser.py build-children BASE_URL     # builds a map with child layers
    python umap_browser.py build-styled BASE_URL       # 8 layers: styles, Categorized, rules, shapes
    python umap_browser.py drawn BASE_URL MAP_ID       # JSON: the style uMap draws each feature in
"""

from __future__ import annotations

import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # loopback only: any other host fails to resolve
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
    "--window-size=1280,900",
)


def _driver() -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for f in FLAGS:
        opts.add_argument(f)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(60)
    d.set_script_timeout(120)
    return d


def _open_new_map(d: webdriver.Chrome, base: str) -> None:
    d.get(f"{base}/en/map/new/")
    for _ in range(120):
        if d.execute_script("return !!(window.U && U.MAP && U.MAP.datalayersLoaded)"):
            return
        time.sleep(0.5)
    raise SystemExit(f"uMap page at {base}/en/map/new/ did not load: {_console(d)}")


def _console(d: webdriver.Chrome) -> str:
    try:
        return "; ".join(e["message"] for e in d.get_log("browser"))[:2000]
    except Exception:  # diagnostics only
        return ""


_SAVE = """
const done = arguments[arguments.length - 1];
(async () => {
  try {
    // uMap 3.8 journals every edit: its journal comes up in enableEdit(), which the new-map
    // page runs without awaiting; bring it up before creating layers (a no-op when it is up)
    if (U.MAP.initJournal) await U.MAP.initJournal();
    %s
    await U.MAP.saveAll();
    // layer saves run after the map save: wait until nothing is left to save
    for (let i = 0; i < 300 && (U.MAP.isDirty || !U.MAP.id); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 1000));
    done({id: U.MAP.id, dirty: U.MAP.isDirty});
  } catch (e) { done({error: String(e) + ' ' + (e.stack || '')}); }
})();
"""


def import_umap(base: str, path: str) -> int:
    """Import ``path`` with uMap's importer (``importRaw``), save, return the map id."""
    raw = open(path, encoding="utf-8").read()
    d = _driver()
    try:
        _open_new_map(d, base)
        res = d.execute_async_script(_SAVE % "U.MAP.importRaw(arguments[0]);", raw)
        if not res or res.get("error") or not res.get("id"):
            raise SystemExit(f"uMap import/save failed: {res}; console: {_console(d)}")
        return int(res["id"])
    finally:
        d.quit()


_BUILD_CHILDREN = """
// A map made in uMap's editor API: two top-level layers, one with a child layer,
// per-feature style, a labelKey other than 'name' and a popup template.
U.MAP.createDataLayer({properties: {name: '避難所（区）', color: 'DarkGreen',
  iconClass: 'Circle', labelKey: '施設名', popupTemplate: 'Table'},
  features: [
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7046, 35.7064]},
   properties: {'施設名': '戸山小学校', '収容人数': '450'}},
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7081, 35.7079]},
   properties: {'施設名': '大久保小学校', '収容人数': '380',
                _umap_options: {color: 'Red', iconClass: 'Drop'}}}],
  layers: [{properties: {name: '福祉避難所', color: 'Purple', iconClass: 'Square',
    labelKey: '施設名'},
    features: [
    {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7060, 35.7050]},
     properties: {'施設名': '戸山シニア活動館'}}]}]});
U.MAP.createDataLayer({properties: {name: '公衆トイレ', color: '#1971c2',
  iconClass: 'Drop', popupTemplate: 'Default', popupContentTemplate: '# {name}\\n{note}'},
  features: [
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7066, 35.7070]},
   properties: {name: '西早稲田公園トイレ', note: '車いす可'}},
  {type: 'Feature', geometry: {type: 'LineString', coordinates: [[139.7040, 35.7060], [139.7090, 35.7085]]},
   properties: {name: '避難経路', _umap_options: {color: 'Orange', weight: 6}}}]});
U.MAP.properties.name = 'uMap で作った地図（civicmap 往復テスト）';
"""


def build_children(base: str) -> int:
    """Make a map with a child layer in uMap itself, save it, return the map id."""
    d = _driver()
    try:
        _open_new_map(d, base)
        res = d.execute_async_script(_SAVE % _BUILD_CHILDREN)
        if not res or res.get("error") or not res.get("id"):
            raise SystemExit(f"uMap build/save failed: {res}; console: {_console(d)}")
        return int(res["id"])
    finally:
        d.quit()


_BUILD_STYLED = """
// A 紙マップ-like map made in uMap's editor API (issue 27): 8 layers (one a child layer),
// per-layer and per-feature colours and icon shapes, labelKey, popup templates, a
// Categorized layer, a layer with rules, lines and a polygon, and a remote-data layer.
U.MAP.createDataLayer({properties: {name: '給水所', color: 'DodgerBlue', iconClass: 'Circle',
  labelKey: '施設名', popupTemplate: 'Default', popupContentTemplate: '# {施設名}\\n{時間}'},
  features: [
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7046, 35.7064]},
   properties: {'施設名': '戸山小学校 給水所', '時間': '9:00-17:00'}},
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7081, 35.7079]},
   properties: {'施設名': '大久保小学校 給水所', '時間': '10:00-16:00',
                _umap_options: {color: 'Navy', iconClass: 'Drop'}}}],
  layers: [{properties: {name: '給水車', color: 'Orange', iconClass: 'Ball', labelKey: '施設名'},
    features: [
    {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7060, 35.7050]},
     properties: {'施設名': '給水車（戸山公園）'}}]}]});
U.MAP.createDataLayer({properties: {name: '入浴', type: 'Categorized',
  categorized: {property: '種別', brewer: 'Set1', mode: 'alpha'}},
  features: [
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7100, 35.7040]},
   properties: {name: '松の湯', '種別': '銭湯'}},
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7020, 35.7090]},
   properties: {name: '自衛隊 入浴支援', '種別': '自衛隊'}},
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7120, 35.7075]},
   properties: {name: 'ホテル大浴場 開放', '種別': 'ホテル'}}]});
U.MAP.createDataLayer({properties: {name: '営業中の店', color: 'Black', iconClass: 'Default',
  rules: [{condition: '状況=営業', name: '営業中', properties: {color: 'Green'}},
          {condition: '状況=休業', name: '休業', properties: {color: 'Gray'}}]},
  features: [
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7030, 35.7045]},
   properties: {name: 'コンビニ 戸山店', '状況': '営業'}},
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7095, 35.7058]},
   properties: {name: 'スーパー 大久保', '状況': '休業'}},
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7075, 35.7092]},
   properties: {name: '薬局 西早稲田', '状況': '確認中'}}]});
U.MAP.createDataLayer({properties: {name: '避難経路', color: 'Purple', weight: 5, dashArray: '10,5'},
  features: [
  {type: 'Feature', geometry: {type: 'LineString', coordinates: [[139.7040, 35.7060], [139.7060, 35.7070], [139.7090, 35.7085]]},
   properties: {name: '避難経路 A'}},
  {type: 'Feature', geometry: {type: 'LineString', coordinates: [[139.7100, 35.7040], [139.7085, 35.7065]]},
   properties: {name: '避難経路 B', _umap_options: {color: 'DarkMagenta', weight: 3}}}]});
U.MAP.createDataLayer({properties: {name: '浸水区域', color: 'Red', fillColor: 'Red', fillOpacity: 0.3},
  features: [
  {type: 'Feature', geometry: {type: 'Polygon', coordinates: [[[139.7050, 35.7035], [139.7110, 35.7035], [139.7110, 35.7055], [139.7050, 35.7055], [139.7050, 35.7035]]]},
   properties: {name: '浸水区域（想定）'}}]});
U.MAP.createDataLayer({properties: {name: '仮設トイレ', color: '#1971c2', iconClass: 'Drop',
  popupTemplate: 'Table'},
  features: [
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7066, 35.7070]},
   properties: {name: '西早稲田公園 仮設トイレ', note: '車いす可'}},
  {type: 'Feature', geometry: {type: 'Point', coordinates: [139.7035, 35.7080]},
   properties: {name: '戸山公園 仮設トイレ', _umap_options: {color: '#e8590c'}}}]});
U.MAP.createDataLayer({properties: {name: '最新情報（外部データ）', color: 'Teal',
  remoteData: {url: 'https://example.org/kamimap/latest.geojson', format: 'geojson', ttl: 3600}}});
U.MAP.properties.name = '紙マップ（uMap で作成、civicmap テスト）';
"""


def build_styled(base: str) -> int:
    """Make the 8-layer styled map of issue 27 in uMap itself, save it, return the map id."""
    d = _driver()
    try:
        _open_new_map(d, base)
        res = d.execute_async_script(_SAVE % _BUILD_STYLED)
        if not res or res.get("error") or not res.get("id"):
            raise SystemExit(f"uMap build/save failed: {res}; console: {_console(d)}")
        return int(res["id"])
    finally:
        d.quit()


_DRAWN = """
const done = arguments[arguments.length - 1];
(async () => {
  try {
    // every layer with its own data loaded (the remote-data layer's URL cannot load here,
    // and uMap's dataloaded waits for it too)
    const ready = () => U.MAP.dataloaded || Array.from(U.MAP.layers.tree).every(
      (dl) => dl.isRemoteLayer() || dl.isLoaded());
    for (let i = 0; i < 300 && !ready(); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const out = [];
    for (const dl of U.MAP.layers.tree) {
      if (dl.compute) await dl.compute();
      const labelKey = dl.getProperty('labelKey') || 'name';
      const feats = [];
      for (const f of dl.features.all()) {
        const o = (k) => { const v = f.getDynamicOption(k); return v === undefined ? null : v; };
        feats.push({name: f.properties[labelKey] ?? f.properties.name ?? null,
          geometry: f.geometry.type, color: o('color'), fillColor: o('fillColor'),
          weight: o('weight'), dashArray: o('dashArray'), fillOpacity: o('fillOpacity'),
          iconClass: o('iconClass')});
      }
      out.push({name: dl.properties.name, parent: dl.parent?.properties?.name ?? null,
        type: dl.properties.type ?? 'Default', features: feats});
    }
    done({layers: out});
  } catch (e) { done({error: String(e) + ' ' + (e.stack || '')}); }
})();
"""


def drawn(base: str, map_id: int) -> str:
    """What uMap draws for each feature of a saved map: its colour, weight, icon shape.

    Opens the saved map as a visitor would and asks uMap's own feature code
    (``getDynamicOption``: per-feature options, then Categorized/rules, then the layer, its
    parent layer, the map) for each style option. Written beside the download so tests can
    compare civicmap's colours with uMap's without running uMap.
    """
    d = _driver()
    try:
        d.get(f"{base}/en/map/x_{map_id}")
        for _ in range(120):
            if d.execute_script("return !!(window.U && U.MAP && U.MAP.datalayersLoaded)"):
                break
            time.sleep(0.5)
        res = d.execute_async_script(_DRAWN)
        if not res or res.get("error"):
            raise SystemExit(f"uMap map {map_id}: could not read its drawing: {res}; {_console(d)}")
        return json.dumps(res["layers"], ensure_ascii=False, indent=1)
    finally:
        d.quit()


if __name__ == "__main__":
    cmd, base = sys.argv[1], sys.argv[2].rstrip("/")
    if cmd == "import":
        print(import_umap(base, sys.argv[3]))
    elif cmd == "build-children":
        print(build_children(base))
    elif cmd == "build-styled":
        print(build_styled(base))
    elif cmd == "drawn":
        print(drawn(base, int(sys.argv[3])))
    else:
        raise SystemExit(
            f"unknown command {cmd!r}; use import, build-children, build-styled or drawn"
        )
