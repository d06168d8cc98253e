"""Draw in a real, local 地理院地図 (GSI Maps) with its 作図・ファイル tool and save the KML it writes.

Used by ``scripts/gsimaps_sakuzu/run.sh``; not part of the civicmap package.

Why a browser: the KML a 作図 user publishes is written by 地理院地図's JavaScript
(``GSI.SakuzuList.toKML`` and ``GSI.SakuzuListItem._makeKMLPoint/Line/Polygon`` in
``js/gsimaps.js``): when ``<name>`` is written, how the key/value table becomes
``<description>``, how colours and widths become ``<Style>``. A hand-written copy would test
our guess of that code. So we open the app, and like a user: ツール → 作図・ファイル, pick
the marker / line / polygon tool, click on the map, type the 名称 and the 項目名/値 rows (or
switch to 自由文入力), pick line width, colours and transparency in the edit panel, OK, 確定;
then the save button → KML形式 → 上記の内容で保存 → 保存, which downloads the file the app made.

Only 127.0.0.1 is reachable (``--host-resolver-rules``): base tiles and the symbol icons on
maps.gsi.go.jp do not load, which does not change the KML (the icon URL is written as is).

Usage::

    python sakuzu_browser.py BASE_URL OUT_DIR   # prints the path of the downloaded .kml
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.action_chains import ActionChains
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import Select

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
    "--window-size=1400,1400",
    "--lang=ja",
)

#: Where the map opens: 東京都小平市 (a residential area), zoom 17.
START = "#17/35.72876/139.47719/"

#: What a user draws. Points: (dx, dy) from the map's centre in pixels, 名称 (may be empty),
#: the 項目名/値 rows or a free text (自由文入力), the icon scale.
POINTS = [
    {
        "at": (-300, -150),
        "title": "小平第三小学校 体育館",
        "rows": [("種別", "指定避難所"), ("住所", "小平市学園東町1-7-1"), ("収容人数", "450")],
    },
    {
        # no 名称: the label is only the table's first row, as many 作図 files have it
        "at": (-120, -40),
        "title": "",
        "rows": [
            ("名称", "学園東町さくら公園"),
            ("種別", "一時集合場所"),
            ("備考", "夜間照明なし"),
        ],
    },
    {
        # free text with two lines: the app removes the line breaks when it writes KML
        "at": (60, 120),
        "title": "消火栓 No.12",
        "free": "道路の東側。\n冬季は除雪後に確認",
    },
    {
        # no 名称, free text: the label is the text's start
        "at": (200, -100),
        "title": "",
        "free": "AED（24時間）\n青梅街道沿いコンビニ店内",
    },
    {
        # & and < in the name: the app escapes them in <name>
        "at": (320, 60),
        "title": "山田＆佐藤クリニック <内科>",
        "rows": [("種別", "医療機関"), ("電話", "042-000-0000")],
        "scale": "1.5",
    },
]
#: A line: vertices, 名称, rows, width (px), colour from the palette, transparency (%).
LINE = {
    "at": [(-330, 200), (-150, 160), (40, 200), (250, 170)],
    "title": "避難経路（小学校まで）",
    "rows": [("種別", "避難経路"), ("距離", "約600m")],
    "weight": "5",
    "color": "#ff0000",
    "opacity": "20",
}
#: A polygon: vertices, 名称, rows, line width/colour, fill colour, fill transparency (%).
POLYGON = {
    "at": [(-60, -260), (150, -250), (170, -150), (-40, -140)],
    "title": "浸水想定区域（町内会調べ）",
    "rows": [("種別", "浸水想定区域"), ("想定浸水深", "0.5m未満")],
    "weight": "3",
    "color": "#0000ff",
    "opacity": "0",
    "fill": "#00ffff",
    "fill_opacity": "70",
}


def _driver(download_dir: Path) -> webdriver.Chrome:
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for f in FLAGS:
        opts.add_argument(f)
    opts.add_experimental_option(
        "prefs",
        {"download.default_directory": str(download_dir), "download.prompt_for_download": False},
    )
    d = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)
    d.set_page_load_timeout(60)
    d.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)}
    )
    return d


def _visible(d: webdriver.Chrome, css: str) -> WebElement:
    """The one visible element matching ``css`` (the app keeps hidden copies of its panels)."""
    for _ in range(40):
        els = [e for e in d.find_elements(By.CSS_SELECTOR, css) if e.is_displayed()]
        if els:
            return els[-1]
        time.sleep(0.25)
    raise SystemExit(f"nothing visible for {css!r}")


def _click_text(d: webdriver.Chrome, text: str) -> None:
    for _ in range(40):
        els = d.find_elements(By.XPATH, f"//*[normalize-space(text())={text!r}]")
        els = [e for e in els if e.is_displayed()]
        if els:
            d.execute_script("arguments[0].scrollIntoView({block: 'center'})", els[-1])
            els[-1].click()
            return
        time.sleep(0.25)
    raise SystemExit(f"no visible {text!r}")


def _click_map(d: webdriver.Chrome, dx: int, dy: int) -> None:
    m = d.find_element(By.ID, "map")
    ActionChains(d).move_to_element_with_offset(m, dx, dy).pause(0.2).click().perform()
    time.sleep(0.4)


def _tool(d: webdriver.Chrome, icon: str) -> None:
    _visible(d, f".gsi_sakuzu_dialog_modeselect img[src$='{icon}']").click()
    time.sleep(0.5)


def _pick_colour(d: webdriver.Chrome, selector: WebElement, colour: str) -> None:
    """Open the app's colour picker (simpleColorPicker) and click one swatch."""
    selector.click()
    time.sleep(0.6)
    _visible(d, f"li.color-box[title='{colour}']").click()
    time.sleep(0.6)


def _fill_info(d: webdriver.Chrome, spec: dict) -> None:
    """The edit panel's 名称 and either its 項目名/値 table or its 自由文 text."""
    panel = _visible(d, ".infoedit-panel")
    title = panel.find_element(By.CSS_SELECTOR, "input.inputtext")
    title.clear()
    if spec["title"]:
        title.send_keys(spec["title"])
    if "free" in spec:
        panel.find_element(By.CSS_SELECTOR, "a.toggleinfobtn").click()  # 自由文入力に切替
        time.sleep(0.8)
        text = _visible(d, ".infoedit-panel > textarea.inputtextarea")
        text.clear()
        text.send_keys(spec["free"])  # a newline in a textarea is a line break
        return
    for i, (key, value) in enumerate(spec["rows"]):
        keys = [e for e in panel.find_elements(By.NAME, "info_table_key") if e.is_displayed()]
        vals = [e for e in panel.find_elements(By.NAME, "info_table_value") if e.is_displayed()]
        keys[i].send_keys(key)
        vals[i].send_keys(value)
        if i < len(spec["rows"]) - 1:
            # the row's "この下に行を追加" button
            row = keys[i].find_element(By.XPATH, "./ancestor::tr[1]")
            row.find_element(By.CSS_SELECTOR, "img[src$='icon_enter.png']").click()
            time.sleep(0.6)


def _ok_and_commit(d: webdriver.Chrome) -> None:
    _click_text(d, "OK")
    time.sleep(0.8)
    _click_text(d, "確定")
    time.sleep(0.8)


def _type_over(box: WebElement, text: str) -> None:
    """Replace a text box's value as a user does: click, select all, type (the app polls it)."""
    box.click()
    box.send_keys(Keys.CONTROL, "a")
    box.send_keys(text)
    time.sleep(0.4)


def _line_style(d: webdriver.Chrome, spec: dict) -> None:
    panel = _visible(d, ".lineedit-panel")
    Select(panel.find_element(By.TAG_NAME, "select")).select_by_value(spec["weight"])
    time.sleep(0.3)
    _pick_colour(d, panel.find_element(By.CSS_SELECTOR, ".color_select"), spec["color"])
    if "opacity" in spec:
        _type_over(panel.find_element(By.CSS_SELECTOR, "input.line-opacity"), spec["opacity"])


def draw(d: webdriver.Chrome) -> None:
    """Everything a user does in ツール → 作図・ファイル."""
    _click_text(d, "ツール")
    time.sleep(0.8)
    _click_text(d, "作図・ﾌｧｲﾙ")
    time.sleep(1.5)
    for p in POINTS:
        _tool(d, "icon_mark.png")
        _click_map(d, *p["at"])
        if p.get("scale"):
            Select(
                _visible(d, ".gsi-sakuzuinfoedit-dialog-content-contentframe select")
            ).select_by_value(p["scale"])
        _fill_info(d, p)
        _ok_and_commit(d)

    _tool(d, "icon_line.png")
    for dx, dy in LINE["at"]:
        _click_map(d, dx, dy)
    _click_map(d, *LINE["at"][-1])  # clicking the last vertex again ends the line
    time.sleep(0.8)
    _line_style(d, LINE)
    _fill_info(d, LINE)
    _ok_and_commit(d)

    _tool(d, "icon_polygon.png")
    for dx, dy in POLYGON["at"]:
        _click_map(d, dx, dy)
    _click_map(d, *POLYGON["at"][0])  # clicking the first vertex closes the polygon
    time.sleep(0.8)
    _line_style(d, POLYGON)
    panel = _visible(d, ".gsi-sakuzuinfoedit-dialog-content-contentframe")
    fills = [e for e in panel.find_elements(By.CSS_SELECTOR, ".color_select") if e.is_displayed()]
    _pick_colour(d, fills[-1], POLYGON["fill"])
    _type_over(panel.find_element(By.CSS_SELECTOR, "input.fill-opacity"), POLYGON["fill_opacity"])
    _fill_info(d, POLYGON)
    _ok_and_commit(d)


def save(d: webdriver.Chrome, out: Path) -> Path:
    """The save button → KML形式 → 上記の内容で保存 → 保存: the app's own download of its own KML."""
    before = set(out.glob("*.kml"))
    _tool(d, "icon_filesave.png")
    time.sleep(0.8)
    _click_text(d, "KML形式")
    time.sleep(0.8)
    _click_text(d, "上記の内容で保存")
    time.sleep(1.0)
    _click_text(d, "保存")
    for _ in range(60):
        new = set(out.glob("*.kml")) - before
        if new and not list(out.glob("*.crdownload")):
            return new.pop()
        time.sleep(0.5)
    raise SystemExit("the app's download did not arrive")


def main(base: str, out_dir: str) -> None:
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    d = _driver(out)
    try:
        d.get(f"{base}/index.html{START}")
        for _ in range(120):
            if d.execute_script("return !!(window.GSI && GSI.GLOBALS && GSI.GLOBALS.gsimaps)"):
                break
            time.sleep(0.5)
        time.sleep(2)
        draw(d)
        d.save_screenshot(str(out / "drawn.png"))
        print(save(d, out))
    finally:
        d.quit()


if __name__ == "__main__":
    main(*sys.argv[1:3])
