#!/usr/bin/env bash
# Make a 地理院地図 作図 KML with the real 地理院地図 (see README.md here).
#
#   scripts/gsimaps_sakuzu/run.sh [GSIMAPS]    # from the worktree root
#
# GSIMAPS: a checkout of github.com/gsi-cyberjapan/gsimaps, or a (bare) git directory of it
# (default $GSIMAPS_GIT, else /work/.mirror/gsi-cyberjapan+gsimaps/repo). The app is static
# JavaScript: it is served with Python's http.server on 127.0.0.1:$GSIMAPS_PORT only, and
# Chromium resolves every other host to nothing. Nothing is downloaded or installed.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
HERE="$ROOT/scripts/gsimaps_sakuzu"
PY=${PY:-"$ROOT/.venv/bin/python"}
[ -x "$PY" ] || PY=/work/main/.venv/bin/python
SRC=${1:-${GSIMAPS_GIT:-/work/.mirror/gsi-cyberjapan+gsimaps/repo}}
PORT=${GSIMAPS_PORT:-8731}
WORK=${WORK:-/tmp/gsimaps-sakuzu}
rm -rf "$WORK" && mkdir -p "$WORK/app" "$WORK/out"

if [ -f "$SRC/index.html" ]; then
  cp -r "$SRC/." "$WORK/app/"
  COMMIT=$(git -C "$SRC" rev-parse HEAD 2>/dev/null || echo unknown)
else
  # a bare mirror: the 3D viewer (globe/, Cesium) is left out; 作図 does not use it
  git --git-dir="$SRC" archive HEAD -- . ':!globe' | tar -x -C "$WORK/app"
  COMMIT=$(git --git-dir="$SRC" rev-parse HEAD)
fi
echo "gsimaps commit: $COMMIT"

"$PY" -m http.server "$PORT" --bind 127.0.0.1 --directory "$WORK/app" >"$WORK/http.log" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
sleep 1
ss -ltn "sport = :$PORT" || true

KML=$("$PY" "$HERE/sakuzu_browser.py" "http://127.0.0.1:$PORT" "$WORK/out" | tail -1)
echo "the app saved: $KML"
echo "copy it with: cp '$KML' tests/data/kml/gsimaps_sakuzu_kodaira.kml"
