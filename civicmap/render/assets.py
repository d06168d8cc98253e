"""The web map's scripts and styles: CDN links online, inlined copies offline.

An offline map must work from ``file://`` with no network, so its Leaflet
scripts and styles are inlined into the one HTML file. We never copy those
files into our repository: ``python -m civicmap.render.assets install`` (run by
``make install``) takes them from the npm registry packages that ship them
(``npm pack``) into ``civicmap/render/assets/vendor/`` (gitignored). Online
maps link the very same versions from jsDelivr.
"""

from __future__ import annotations

import argparse
import base64
import logging
import mimetypes
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

from civicmap.errors import CivicMapError
from civicmap.i18n import _

log = logging.getLogger(__name__)

#: Where ``install`` puts the unpacked npm packages (one folder per package).
VENDOR_DIR = Path(__file__).with_name("assets") / "vendor"
CDN = "https://cdn.jsdelivr.net/npm"


@dataclass(frozen=True)
class Package:
    """One npm package and the files of it the web map uses."""

    name: str
    version: str
    js: tuple[str, ...] = ()
    css: tuple[str, ...] = ()

    @property
    def folder(self) -> Path:
        return VENDOR_DIR / f"{self.name}@{self.version}"


#: In load order: plugins need ``L`` from Leaflet first.
PACKAGES: dict[str, Package] = {
    "leaflet": Package("leaflet", "1.9.4", js=("dist/leaflet.js",), css=("dist/leaflet.css",)),
    "markercluster": Package(
        "leaflet.markercluster",
        "1.5.3",
        js=("dist/leaflet.markercluster.js",),
        css=("dist/MarkerCluster.css", "dist/MarkerCluster.Default.css"),
    ),
    "locate": Package(
        "leaflet.locatecontrol",
        "0.79.0",
        js=("dist/L.Control.Locate.min.js",),
        css=("dist/L.Control.Locate.min.css",),
    ),
    "fullscreen": Package(
        "leaflet.fullscreen",
        "3.0.2",
        js=("Control.FullScreen.js",),
        css=("Control.FullScreen.css",),
    ),
}


class AssetsMissingError(CivicMapError):
    """The self-contained web map's scripts are not installed."""

    exit_code = 2


def cdn_url(pkg: Package, file: str) -> str:
    """The jsDelivr URL of one file of ``pkg`` (the online map links these)."""
    return f"{CDN}/{pkg.name}@{pkg.version}/{file}"


def missing() -> list[str]:
    """Files an offline map needs that are not installed (empty when all are there)."""
    out = []
    for pkg in PACKAGES.values():
        for f in (*pkg.js, *pkg.css):
            if not (pkg.folder / f).is_file():
                out.append(f"{pkg.name}@{pkg.version}/{f}")
    return out


def require_installed() -> None:
    """Raise :class:`AssetsMissingError` naming what is missing and the command that fixes it."""
    gone = missing()
    if gone:
        raise AssetsMissingError(
            _(
                "self-contained web map: got no %(files)s under %(vendor_dir)s; expected the Leaflet "
                "files installed there. Run `python -m civicmap.render.assets install` (needs "
                "npm and the npm registry once), or set outputs.web.self_contained: false"
            )
            % {"files": ", ".join(gone), "vendor_dir": VENDOR_DIR}
        )


_CSS_URL = re.compile(r"url\(\s*(['\"]?)([^'\")]+)\1\s*\)")


def _inline_css_urls(css: str, base: Path) -> str:
    """Replace relative ``url(...)`` in a stylesheet with data: URIs (images, SVG)."""

    def repl(m: re.Match) -> str:
        ref = m.group(2).strip()
        if ref.startswith(("data:", "http:", "https:", "#", "//")):
            return m.group(0)
        target = (base / ref.split("?")[0].split("#")[0]).resolve()
        if not target.is_file():
            log.debug("stylesheet %s refers to missing %s; left as is", base, ref)
            return "url(data:,)"
        mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        data = base64.b64encode(target.read_bytes()).decode("ascii")
        return f'url("data:{mime};base64,{data}")'

    return _CSS_URL.sub(repl, css)


def inline_js(key: str) -> list[str]:
    """The text of each script of package ``key`` (installed copies)."""
    pkg = PACKAGES[key]
    return [(pkg.folder / f).read_text(encoding="utf-8") for f in pkg.js]


def inline_css(key: str) -> list[str]:
    """The text of each stylesheet of package ``key``, with its images as data: URIs."""
    pkg = PACKAGES[key]
    out = []
    for f in pkg.css:
        path = pkg.folder / f
        out.append(_inline_css_urls(path.read_text(encoding="utf-8"), path.parent))
    return out


def install(*, npm: str = "npm", force: bool = False) -> list[Path]:
    """Fetch each package with ``npm pack`` and unpack it into :data:`VENDOR_DIR`.

    Returns the package folders. Already installed versions are kept unless
    ``force``.
    """
    exe = shutil.which(npm)
    if exe is None:
        raise AssetsMissingError(
            _(
                "got no %(npm)r on PATH; expected npm (Node.js) to fetch the Leaflet files for "
                "self-contained web maps. Install Node.js/npm, or use outputs.web.self_contained: false"
            )
            % {"npm": npm}
        )
    VENDOR_DIR.mkdir(parents=True, exist_ok=True)
    done = []
    for pkg in PACKAGES.values():
        if (
            pkg.folder.is_dir()
            and not force
            and all((pkg.folder / f).is_file() for f in (*pkg.js, *pkg.css))
        ):
            done.append(pkg.folder)
            continue
        with tempfile.TemporaryDirectory(dir=VENDOR_DIR) as tmp:
            spec = f"{pkg.name}@{pkg.version}"
            proc = subprocess.run(
                [exe, "pack", spec, "--pack-destination", tmp, "--silent"],
                capture_output=True,
                text=True,
                timeout=300,
                check=False,
            )
            tgz = sorted(Path(tmp).glob("*.tgz"))
            if proc.returncode != 0 or not tgz:
                raise AssetsMissingError(
                    _(
                        "npm pack %(spec)s failed (exit %(returncode)s): %(stderr)s; check the npm "
                        "registry can be reached"
                    )
                    % {
                        "spec": spec,
                        "returncode": proc.returncode,
                        "stderr": proc.stderr.strip()[-500:],
                    }
                )
            unpack = Path(tmp) / "unpacked"
            with tarfile.open(tgz[0]) as tar:
                tar.extractall(unpack, filter="data")
            if pkg.folder.exists():
                shutil.rmtree(pkg.folder)
            (unpack / "package").rename(pkg.folder)
        log.info(_("installed %(spec)s into %(folder)s"), {"spec": spec, "folder": pkg.folder})
        done.append(pkg.folder)
    require_installed()
    return done


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m civicmap.render.assets",
        description="Install (from the npm registry) or check the offline web map's Leaflet files.",
    )
    parser.add_argument("command", choices=["install", "check"])
    parser.add_argument("--force", action="store_true", help="re-download installed packages")
    args = parser.parse_args(argv)
    try:
        if args.command == "install":
            for folder in install(force=args.force):
                sys.stdout.write(f"{folder}\n")
        else:
            require_installed()
            sys.stdout.write(f"all offline web map files are in {VENDOR_DIR}\n")
    except CivicMapError as exc:
        sys.stderr.write(f"Error: {exc}\n")
        return exc.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())
