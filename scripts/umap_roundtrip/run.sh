#!/usr/bin/env bash
# Check civicmap's uMap round trip against a real, local uMap (see README.md here).
#
#   scripts/umap_roundtrip/run.sh            # from the worktree root, as root (apt, postgres)
#
# Installs (once): Debian postgresql + postgis, and uMap in its OWN venv ($UMAP_VENV, default
# /tmp/umap-venv; never the project's .venv): PyPI umap-project, or with UMAP_SOURCE=DIR a uMap
# source tree (its JS vendors from npm, its Python deps from PyPI). Everything listens on
# 127.0.0.1 only: PostgreSQL (Debian default listen_addresses=localhost), uMap's
# runserver on 127.0.0.1:$UMAP_PORT, Chromium resolving every other host to nothing.
# Re-runnable: the uMap database is dropped and made again each run.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/scripts/umap_roundtrip"
CIVICMAP_VENV=${CIVICMAP_VENV:-$ROOT/.venv}  # the project's venv (a worktree may use main's)
PY="$CIVICMAP_VENV/bin/python"
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"  # check this tree's civicmap
UMAP_VENV=${UMAP_VENV:-/tmp/umap-venv}
UMAP_VERSION=${UMAP_VERSION:-}            # e.g. 3.7.3; empty = newest the index has
UMAP_SOURCE=${UMAP_SOURCE:-}              # a uMap source tree (git archive of a tag) instead of PyPI
UMAP_PYTHON=${UMAP_PYTHON:-python3}       # uMap 3.8 needs Python >= 3.12
UMAP_PORT=${UMAP_PORT:-8019}
WORK=${WORK:-/tmp/umap-rt}
BASE="http://127.0.0.1:$UMAP_PORT"
mkdir -p "$WORK" "$WORK/proxy-cache"

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "1. PostgreSQL + PostGIS (Debian)"
if ! command -v pg_lsclusters >/dev/null || ! ls /usr/share/postgresql/*/extension/postgis.control >/dev/null 2>&1; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql postgis
fi
PGVER=$(pg_lsclusters -h | awk 'NR==1{print $1}')
pg_ctlcluster "$PGVER" main start 2>/dev/null || true
su postgres -c "psql -tAc \"SHOW listen_addresses\""
su postgres -c "psql -qc \"DROP DATABASE IF EXISTS umap_rt\""
su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='umap_rt'\"" | grep -q 1 \
  || su postgres -c "psql -qc \"CREATE USER umap_rt PASSWORD 'umap_rt'\""
su postgres -c "createdb -O umap_rt umap_rt"
su postgres -c "psql -d umap_rt -qc 'CREATE EXTENSION postgis'"

step "2. uMap in its own venv ($UMAP_VENV)"
if [ ! -x "$UMAP_VENV/bin/umap" ]; then
  "$UMAP_PYTHON" -m venv "$UMAP_VENV"
  if [ -n "$UMAP_SOURCE" ]; then
    "$HERE/build_umap_source.sh" "$UMAP_SOURCE" "$WORK/npm"
    "$UMAP_VENV/bin/pip" install -q "$UMAP_SOURCE"
  else
    "$UMAP_VENV/bin/pip" install -q "umap-project${UMAP_VERSION:+==$UMAP_VERSION}"
  fi
fi
"$UMAP_VENV/bin/pip" show umap-project | sed -n 2p

cat > "$WORK/umap.conf" <<CONF
# uMap settings for the civicmap round-trip check: loopback only, throwaway.
SECRET_KEY = "civicmap-roundtrip-not-secret"
# DEBUG off: uMap 3.8 imports django-debug-toolbar (a dev extra) whenever DEBUG is on.
# runserver --insecure serves the static files instead, unhashed (no collectstatic manifest)
DEBUG = False
import umap.settings.base as _base
STORAGES = {**_base.STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
SITE_URL = "$BASE"
UMAP_ALLOW_ANONYMOUS = True  # the browser saves maps without an account
DATABASES = {"default": {"ENGINE": "django.contrib.gis.db.backends.postgis",
    "NAME": "umap_rt", "USER": "umap_rt", "PASSWORD": "umap_rt",
    "HOST": "127.0.0.1", "PORT": "5432"}}
STATIC_ROOT = "$WORK/static"
MEDIA_ROOT = "$WORK/uploads"
AJAX_PROXY_CACHE_DIR = "$WORK/proxy-cache"  # uMap 3.8 requires it (remote data proxy; unused here)
CONF
export UMAP_SETTINGS="$WORK/umap.conf"
"$UMAP_VENV/bin/umap" migrate -v0
"$UMAP_VENV/bin/umap" collectstatic --noinput -v0

step "3. uMap server on $BASE"
setsid "$UMAP_VENV/bin/umap" runserver "127.0.0.1:$UMAP_PORT" --noreload --insecure >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true' EXIT
for _ in $(seq 60); do curl -sf -o /dev/null "$BASE/en/map/new/" && break; sleep 1; done
curl -sf -o /dev/null "$BASE/en/map/new/"
ss -ltn | grep -E ":($UMAP_PORT|5432) " || true

download() {  # map id, output file: uMap's own "full backup" download view
  RT_MAP_ID=$1 RT_OUT=$2 "$UMAP_VENV/bin/umap" shell -c "exec(open('$HERE/umap_download.py').read())" | tail -1
}

step "4. Direction 1: civicmap's .umap (the demo) imported by uMap's importer"
"$CIVICMAP_VENV/bin/civicmap" export "$ROOT/civicmap/data/demo/demo.yaml" --format umap \
  -o "$WORK/demo.umap" --offline --overwrite
ID=$("$PY" "$HERE/umap_browser.py" import "$BASE" "$WORK/demo.umap")
download "$ID" "$WORK/from_umap_demo.umap"
"$PY" "$HERE/compare.py" "$WORK/demo.umap" "$WORK/from_umap_demo.umap" | tee "$WORK/direction1.txt"

step "5. Direction 2: a map made in uMap (child layer, styles, labelKey) read by civicmap"
ID=$("$PY" "$HERE/umap_browser.py" build-children "$BASE")
download "$ID" "$WORK/made_in_umap.umap"
"$CIVICMAP_VENV/bin/civicmap" check "$WORK/made_in_umap.umap"
"$PY" - "$WORK/made_in_umap.umap" <<'PYEOF'
import json, sys
from pathlib import Path
import civicmap
path = Path(sys.argv[1])
data = json.loads(path.read_text(encoding="utf-8"))
def walk(ls):
    for l in ls:
        yield l
        yield from walk(l.get("layers") or [])
layers = list(walk(data["layers"]))
res = civicmap.read_path(path, layer="x")
names = [l["properties"]["name"] for l in layers]
n = sum(len(l["features"]) for l in layers)
ok = res.info["umap_layers"] == names and len(res.features) == n and (res.features["name"] != "").all()
print(f"layers {res.info['umap_layers']} (uMap: {names}); features {len(res.features)} of {n}; "
      f"empty names {(res.features['name'] == '').sum()}; colours {sorted(set(res.features['umap_color']))}")
print(res.features[["category", "name", "umap_color", "umap_iconClass"]].to_string())
sys.exit(0 if ok else 1)
PYEOF
echo "copy $WORK/made_in_umap.umap to tests/data/umap/ to refresh the fixture"

step "6. Issue 27: the 8-layer styled map (Categorized, rules, lines, polygon, remote data)"
ID=$("$PY" "$HERE/umap_browser.py" build-styled "$BASE")
download "$ID" "$WORK/styled_kamimap.umap"
"$PY" "$HERE/umap_browser.py" drawn "$BASE" "$ID" > "$WORK/styled_kamimap.drawn.json"
"$CIVICMAP_VENV/bin/civicmap" check "$WORK/styled_kamimap.umap"
"$UMAP_VENV/bin/pip" show umap-project | sed -n 2p | tee "$WORK/umap-version.txt"
echo "copy $WORK/styled_kamimap.umap to tests/data/umap/umap<version>_styled_kamimap.umap"
step "done"
