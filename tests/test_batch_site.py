"""A batch area whose map has a site output (issue 26): the site's files are the area's files."""

from __future__ import annotations

import json

from site_maps import demo_site_spec

from civicmap.batch import STATE_FILE, _sha256, is_complete, output_files
from civicmap.pipeline import build


def test_a_sites_files_count_as_the_areas_output_so_a_deleted_one_rebuilds_it(tmp_path):
    site = tmp_path / "site"
    build(demo_site_spec(site), offline=True)
    files = output_files(site)
    assert site / "index.html" in files and site / "data.json" in files and site not in files
    doc = {"version": 1, "fingerprint": "f",
           "files": {str(p.relative_to(tmp_path)): _sha256(p) for p in files}}  # fmt: skip
    (tmp_path / STATE_FILE).write_text(json.dumps(doc), encoding="utf-8")
    assert is_complete(tmp_path, "f")
    (site / "data.json").unlink()  # a user tidied a file away: the area is no longer complete
    assert not is_complete(tmp_path, "f")
