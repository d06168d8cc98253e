"""The site output: a static folder any web host serves as is, offline on a phone after one visit.

People share a *link* on LINE, and a phone keeps a page offline only when the page cached
itself (a service worker); a local HTML file beside a tile folder does neither on Android,
iOS or an in-app browser. ``outputs: {site: {folder: out/site}}`` therefore writes::

    index.html             the page (no data in it): Leaflet, our script, the site's scripts
    data.json              the very payload of the single-file page (render/web.py), so the map,
                           its numbers (render/numbering.py), search and legend are the same
    site.json              the site's own settings: version, data date, stale_after, url, texts
    version.json           the build's version: the page asks for it online to offer an update
    sw.js                  the service worker: precaches every file listed here, nothing else
    manifest.webmanifest   the web app manifest, with icons/ (192, 512 and a maskable 512)
    qr.svg                 the QR code of ``site.url`` (share box), when a url is given
    assets/                civicmap.js/.css, the site scripts, Leaflet and plugins (vendored)
    tiles/{z}/{x}/{y}.png  the pack's tiles, only when the tile source's terms allow storing
                           them (:attr:`TileSource.storable`)

The page's script is split into small files (``assets/site*.js``): each registers a hook on
``civicmapSite.after`` that runs once the map is drawn; a later feature adds its own file to
:data:`SITE_SCRIPTS`. The folder is written all at once (:func:`civicmap._files.write_folder`)
and only a folder carrying :data:`~civicmap._outputs.SITE_MARKER` is ever replaced.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import logging
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import segno
from PIL import Image, ImageColor, ImageDraw

from civicmap import wording
from civicmap._files import write_folder
from civicmap._outputs import SITE_MARKER, is_site_folder
from civicmap.i18n import _
from civicmap.mapdata import MapData
from civicmap.render import assets
from civicmap.render.web import TEXTS, payload_with_tiles
from civicmap.render.web_filters import SCRIPT as FILTER_SCRIPT
from civicmap.spec.site import SiteOptions
from civicmap.spec.web import WebOptions

log = logging.getLogger(__name__)

_OWN = Path(__file__).with_name("assets")
_SITE_ASSETS = _OWN / "site"

#: The folder of the pack's tiles inside the site.
TILES_DIR = "tiles"
#: The site's own scripts, in load order after Leaflet and civicmap.js; ``site.js`` (the
#: boot: loads the data, draws the map, runs every hook) is last. A feature of the page
#: adds its file here and registers ``civicmapSite.after.push(function (map, data, site) {...})``.
SITE_SCRIPTS: tuple[str, ...] = ("site-offline.js", "site-share.js", "site.js")
SITE_STYLES: tuple[str, ...] = ("site.css",)
#: Never precached: the page asks for it online to learn whether a newer build exists.
VERSION_FILE = "version.json"
#: Icon sizes the manifest lists (Chrome asks for 192 and 512 px; Android masks the maskable one).
ICON_SIZES = (192, 512)
THEME = "#1c7ed6"

#: The site's fixed texts, by the map's language (the glossaries' ``site.*`` entries).
SITE_TEXTS = wording.Table("site")

Files = dict[str, bytes | Callable[[], bytes]]


def site_files(
    data: MapData, *, options: SiteOptions, web_options: WebOptions | None = None
) -> dict[str, bytes]:
    """Every file of the site (its bytes), by its path inside the folder.

    ``web_options`` default to the map's ``outputs.web`` (clustering, labels, the first
    background), else the defaults; the site always carries its own scripts (no CDN) and
    puts the pack's storable tiles in :data:`TILES_DIR`.

    Raises
    ------
    AssetsMissingError
        The Leaflet files are not installed (``python -m civicmap.render.assets install``).
    """
    assets.require_installed()
    lang = data.language
    web_opts = web_options or data.spec.web or WebOptions.defaults(language=lang)
    web_opts = replace(web_opts, self_contained=True, offline_tiles="folder")
    body, folder = payload_with_tiles(data, options=web_opts, tiles_dir=TILES_DIR)
    files: Files = {}
    if folder is not None:
        for key, reader in folder["files"].items():
            files[f"{TILES_DIR}/{key}.png"] = reader
    files["data.json"] = _json(body)
    styles, scripts = _asset_files(files)
    icons = _icons(files, _theme(data))
    if options.url:
        files["qr.svg"] = qr_svg(options.url)
    title = str(data.spec.title)
    files["manifest.webmanifest"] = _json(
        _manifest(title, str(data.spec.subtitle or ""), lang, icons)
    )
    files["index.html"] = _index_html(title, lang, styles, scripts).encode("utf-8")
    files = {name: _bytes(value) for name, value in files.items()}  # each tile read once
    site = {
        "built": data.built,
        "stale_after": options.stale_after_days,
        "url": options.url,
        "qr": "qr.svg" if options.url else None,
        "center": [data.area.geometry.centroid.y, data.area.geometry.centroid.x],
        "texts": {**SITE_TEXTS[lang], "data_as_of": TEXTS[lang]["data_as_of"]},
        "lang": lang,
    }
    # the version: every file the page uses and its settings, so a rebuild of the same map
    # is the same version and any change is a new one
    digest = hashlib.sha256(_json(site))
    for name in sorted(files):
        digest.update(b"\0" + name.encode("utf-8") + b"\0" + files[name])
    site = {"version": digest.hexdigest()[:20], **site}
    files["site.json"] = _json(site)
    precache = ["./", *sorted(files)]
    files["sw.js"] = _service_worker(site["version"], precache)
    files[VERSION_FILE] = _json({"version": site["version"], "built": data.built})
    return files


def write_site(data: MapData, folder: Path, *, options: SiteOptions, overwrite: bool) -> Path:
    """Write the site into ``folder`` all at once; refuses to replace it unless ``overwrite``.

    Only a folder civicmap wrote as a site (it carries :data:`SITE_MARKER`) is ever replaced.
    """
    files = site_files(data, options=options)
    write_folder(folder, files, overwrite=overwrite, ours=is_site_folder, marker=SITE_MARKER)
    size = sum(len(v) for v in files.values())
    log.info(
        _("site: %(path)s (%(n)d files, %(value).0f kB)"),
        {"path": folder, "n": len(files), "value": size / 1024},
    )
    return Path(folder)


def qr_svg(url: str) -> bytes:
    """The QR code of ``url`` as a small SVG (error correction M, as the paper map prints it)."""
    buf = io.BytesIO()
    segno.make(url, error="m").save(buf, kind="svg", scale=4, border=2, xmldecl=False)
    return buf.getvalue()


def terminal_qr(url: str) -> str:
    """The QR code of ``url`` drawn with block characters, for a terminal (``civicmap serve``)."""
    buf = io.StringIO()
    segno.make(url, error="m").terminal(out=buf, compact=True, border=2)
    return buf.getvalue()


def _bytes(value: bytes | Callable[[], bytes]) -> bytes:
    return value() if callable(value) else value


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode(
        "utf-8"
    )


def _asset_files(files: Files) -> tuple[list[str], list[str]]:
    """Leaflet and its plugins (vendored), civicmap.js/.css and the site's scripts; their paths."""
    styles: list[str] = []
    scripts: list[str] = []
    for key, pkg in assets.PACKAGES.items():
        base = f"assets/vendor/{pkg.name}@{pkg.version}"
        for f, text in zip(pkg.css, assets.inline_css(key), strict=True):
            files[f"{base}/{f}"] = text.encode("utf-8")  # its images inlined: one file each
            styles.append(f"{base}/{f}")
        for f in pkg.js:
            files[f"{base}/{f}"] = (pkg.folder / f).read_bytes()
            scripts.append(f"{base}/{f}")
        for licence in sorted(pkg.folder.glob("*LICEN[CS]E*")):  # LICENSE, MIT-LICENCE.txt
            if licence.is_file() and not licence.is_symlink():
                files[f"{base}/{licence.name}"] = licence.read_bytes()
    files["assets/civicmap.css"] = (_OWN / "civicmap.css").read_bytes()
    files["assets/civicmap.js"] = (_OWN / "civicmap.js").read_bytes()
    files[f"assets/{FILTER_SCRIPT.name}"] = FILTER_SCRIPT.read_bytes()  # the viewer's filters
    styles.append("assets/civicmap.css")
    scripts += ["assets/civicmap.js", f"assets/{FILTER_SCRIPT.name}"]
    for name in (*SITE_STYLES, *SITE_SCRIPTS):
        files[f"assets/{name}"] = (_SITE_ASSETS / name).read_bytes()
    styles += [f"assets/{n}" for n in SITE_STYLES]
    scripts += [f"assets/{n}" for n in SITE_SCRIPTS]
    return styles, scripts


def _theme(data: MapData) -> str:
    """The icon's colour: the first layer's, so two maps on one phone tell apart."""
    for layer in data.layers:
        colour = getattr(layer.spec.style, "color", None)
        try:
            ImageColor.getrgb(str(colour))
        except ValueError:
            continue
        return str(colour)
    return THEME


def _icons(files: Files, colour: str) -> list[dict[str, str]]:
    """PNG icons (a white map pin on the map's colour); the manifest's entries for them."""
    entries = []
    for size in ICON_SIZES:
        files[f"icons/icon-{size}.png"] = icon_png(size, colour, maskable=False)
        entries.append({"src": f"icons/icon-{size}.png", "sizes": f"{size}x{size}",
                        "type": "image/png", "purpose": "any"})  # fmt: skip
    files["icons/maskable-512.png"] = icon_png(512, colour, maskable=True)
    entries.append({"src": "icons/maskable-512.png", "sizes": "512x512", "type": "image/png",
                    "purpose": "maskable"})  # fmt: skip
    return entries


def icon_png(size: int, colour: str, *, maskable: bool) -> bytes:
    """One icon. A maskable icon fills its square and keeps the pin inside the central
    safe circle (radius 40 %) a launcher's mask never cuts."""
    rgb = ImageColor.getrgb(colour)[:3]
    img = Image.new("RGBA", (size, size), (*rgb, 255) if maskable else (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    if not maskable:
        d.rounded_rectangle([0, 0, size - 1, size - 1], radius=round(size * 0.2), fill=(*rgb, 255))
    s = size * (0.46 if maskable else 0.62)  # the pin's height
    cx, top = size / 2, (size - s) / 2
    r = s * 0.3
    cy = top + r
    white = (255, 255, 255, 255)
    d.polygon(
        [(cx - r * 0.86, cy + r * 0.5), (cx + r * 0.86, cy + r * 0.5), (cx, top + s)], fill=white
    )
    d.ellipse([cx - r, cy - r, cx + r, cy + r], fill=white)
    h = r * 0.42
    d.ellipse([cx - h, cy - h, cx + h, cy + h], fill=(*rgb, 255))
    buf = io.BytesIO()
    img.save(buf, "PNG", optimize=True)
    return buf.getvalue()


def _manifest(title: str, subtitle: str, lang: str, icons: list[dict[str, str]]) -> dict[str, Any]:
    short = title if len(title) <= 12 else title[:12]
    return {
        "name": title,
        "short_name": short,
        "description": subtitle or title,
        "lang": lang,
        "start_url": "./",
        "scope": "./",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": THEME,
        "icons": icons,
    }


def _index_html(title: str, lang: str, styles: list[str], scripts: list[str]) -> str:
    """The page: no data in it (the title escaped), every file by a relative path."""
    t = SITE_TEXTS[lang]
    head = "\n".join(f'<link rel="stylesheet" href="{html.escape(s)}">' for s in styles)
    body = "\n".join(f'<script src="{html.escape(s)}"></script>' for s in scripts)
    return f"""<!DOCTYPE html>
<html lang="{lang}">
<head>
<meta charset="utf-8">
<title>{html.escape(title)}</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="theme-color" content="{THEME}">
<link rel="manifest" href="manifest.webmanifest">
<link rel="icon" type="image/png" href="icons/icon-192.png">
<link rel="apple-touch-icon" href="icons/icon-192.png">
{head}
</head>
<body class="cm-site">
<div id="cm-site-bars" role="status"></div>
<main id="map" class="cm-site-map" aria-label="{html.escape(title)}"></main>
<p id="cm-site-failed" role="alert" hidden>{html.escape(t["load_failed"])}</p>
<noscript><p>{html.escape(t["load_failed"])}</p></noscript>
{body}
</body>
</html>
"""


def _service_worker(version: str, files: list[str]) -> bytes:
    """``sw.js``: the precache list and version as JSON data, then the fixed worker script."""
    config = json.dumps({"version": version, "files": files, "versionFile": VERSION_FILE},
                        ensure_ascii=True, separators=(",", ":"))  # fmt: skip
    script = (_SITE_ASSETS / "sw.js").read_text(encoding="utf-8")
    return ("var CIVICMAP_SW = " + config + ";\n" + script).encode("utf-8")


__all__ = ["SITE_SCRIPTS", "qr_svg", "site_files", "terminal_qr", "write_site"]
