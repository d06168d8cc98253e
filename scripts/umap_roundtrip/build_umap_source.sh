#!/usr/bin/env bash
# Make a uMap source tree installable: its JavaScript vendors from the npm registry.
#
#   scripts/umap_roundtrip/build_umap_source.sh UMAP_SOURCE NPM_DIR
#
# uMap's own way is `make installjs vendors` (= `npm install` + `scripts/vendorsjs.sh`). Here
# only the npm registry is reachable, and three of uMap's package.json dependencies are GitHub
# forks (csv2geojson, leaflet-textpath, leaflet-toolbar: "github:..." / "owner/repo"), which
# npm would clone from GitHub. So: install every *registry* dependency of the tree's
# package.json into NPM_DIR (the exact versions it asks for), point the tree's node_modules at
# it, and run uMap's own scripts/vendorsjs.sh. That script starts with `rm -rf vendors/` and
# does not copy some files the tree ships (leaflet-src.esm.js, "we changed an import path";
# the GitHub forks): every file the tree had that the script did not write again is put back
# from the tree's own copy, and listed. Called by run.sh when UMAP_SOURCE is set.
set -euo pipefail

SRC=$(cd "$1" && pwd)
NPM_DIR=$2
VENDORS="$SRC/umap/static/umap/vendors"
mkdir -p "$NPM_DIR"

# package.json with the registry dependencies only (a GitHub spec has a "/" or "github:")
node -e '
const fs = require("fs");
const pkg = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const deps = {}, skipped = [];
for (const [name, spec] of Object.entries(pkg.dependencies || {})) {
  if (spec.includes("/") || spec.includes(":")) skipped.push(`${name}@${spec}`);
  else deps[name] = spec;
}
fs.writeFileSync(process.argv[2], JSON.stringify({name: "umap-vendors", private: true,
  type: "module", dependencies: deps}, null, 2));
console.error("not from npm (GitHub forks; the vendored copy in the tree is kept): " + skipped.join(", "));
' "$SRC/package.json" "$NPM_DIR/package.json"
# a version the registry does not offer (its copy here may lag): keep the tree's vendored copy
node -e '
const fs = require("fs");
const {execFileSync} = require("child_process");
const file = process.argv[1];
const pkg = JSON.parse(fs.readFileSync(file, "utf8"));
for (const [name, spec] of Object.entries(pkg.dependencies)) {
  let found = "";
  try {
    found = execFileSync("npm", ["view", `${name}@${spec}`, "version"],
      {encoding: "utf8", stdio: ["ignore", "pipe", "ignore"]}).trim();
  } catch (e) { found = ""; }
  if (!found) {
    console.error(`not on the npm registry here: ${name}@${spec} (the vendored copy in the tree is kept)`);
    delete pkg.dependencies[name];
  }
}
fs.writeFileSync(file, JSON.stringify(pkg, null, 2));
' "$NPM_DIR/package.json"
(cd "$NPM_DIR" && npm install --no-audit --no-fund --loglevel=error)

if [ -e "$SRC/node_modules" ] && [ ! -L "$SRC/node_modules" ]; then
  echo "$SRC/node_modules exists and is not ours; leaving it" >&2
else
  ln -sfn "$NPM_DIR/node_modules" "$SRC/node_modules"
fi

KEEP="$NPM_DIR/vendors-as-shipped"
rm -rf "$KEEP" && cp -a "$VENDORS" "$KEEP"
(cd "$SRC" && sh scripts/vendorsjs.sh) 2>"$NPM_DIR/vendorsjs.err" || true
grep -v "^$" "$NPM_DIR/vendorsjs.err" >&2 || true
(cd "$KEEP" && find . -type f) | while read -r f; do
  if [ ! -e "$VENDORS/$f" ]; then
    mkdir -p "$(dirname "$VENDORS/$f")" && cp -a "$KEEP/$f" "$VENDORS/$f"
    echo "kept as shipped: vendors/${f#./}"
  fi
done
changed=$(cd "$KEEP" && find . -type f | while read -r f; do cmp -s "$f" "$VENDORS/$f" || echo "$f"; done | wc -l)
echo "vendors: $(find "$VENDORS" -type f | wc -l) files, $changed differ from the tree's shipped copy"
