"""Download a map with uMap's own export view (``MapDownload``, ``/map/<id>/download/``).

Run inside uMap's Django (``umap shell < umap_download.py`` cannot take arguments, so
run.sh calls ``umap shell -c "exec(open(...).read())"`` with the arguments in the
environment: ``RT_MAP_ID`` and ``RT_OUT``).

Maps saved by an anonymous user are not public (uMap's default share status), so the
download view answers 403 to a stranger; we mark the map public in the database first,
then fetch the view through Django's test client, exactly the bytes a user's
"Download → full backup" gives.
"""

import os

from django.test import Client
from umap.models import Map

map_id = int(os.environ["RT_MAP_ID"])
out = os.environ["RT_OUT"]
m = Map.objects.get(pk=map_id)
m.share_status = Map.PUBLIC
m.save()
resp = Client(HTTP_HOST="127.0.0.1").get(f"/map/{map_id}/download/")
if resp.status_code != 200:
    raise SystemExit(f"uMap download of map {map_id} answered HTTP {resp.status_code}")
with open(out, "wb") as fh:
    fh.write(resp.content)
print(f"{out}: {len(resp.content)} bytes from uMap map {map_id} ({m.datalayers.count()} layers)")
