"""``civicmap serve``'s server against hostile requests (issue 26).

Tested for real on 127.0.0.1: raw request paths (``..``, ``%2e%2e%2f``, backslashes, NUL,
invalid UTF-8, a symbolic link planted in the folder) never reach a file outside the site;
there is no listing, no hidden file and no method but GET and HEAD.
"""

from __future__ import annotations

import pytest
from serve_site import SECRET, get, served_site

from civicmap._outputs import SITE_MARKER


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    """One site for the module: every test only reads it (stopping a server takes 0.5 s)."""
    with served_site(tmp_path_factory.mktemp("serve")) as server:
        yield server


@pytest.mark.parametrize(
    "path",
    ["/../secret.txt", "/%2e%2e/secret.txt", "/%2e%2e%2fsecret.txt", "/sub/..%2f..%2fsecret.txt",
     "/sub/%2E%2E/%2E%2E/secret.txt", "/..%5csecret.txt", "/..\\secret.txt", "/link.txt",
     "/linked/secret.txt", "/%00/../secret.txt", "//etc/passwd", "/%ff%fe"],
)  # fmt: skip
def test_nothing_outside_the_site_is_served_however_the_path_is_spelt(site, path):
    status, _headers, body = get(site, path)
    assert status in (400, 404), (path, status)
    assert SECRET.encode() not in body


def test_no_listing_no_hidden_files_and_only_get_and_head(site):
    assert get(site, "/sub/")[0] == 404  # a folder without index.html: never a listing
    assert get(site, "/sub")[0] == 301
    assert get(site, f"/{SITE_MARKER}")[0] == 404
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        status, headers, _body = get(site, "/index.html", method=method)
        assert status == 405 and headers["Allow"] == "GET, HEAD"
