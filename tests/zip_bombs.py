"""Zip members that unpack to hundreds of megabytes, written in a fraction of the time.

A test's zip bomb is a member of one chunk written again and again (1 GiB of spaces, 200 MB
of one letter). Deflating it whole takes seconds of CPU for every bomb; here each write ends
with a full flush, which resets the compressor, so the same chunk always deflates to the same
bytes: it is deflated once and those bytes are repeated. The member is an ordinary deflate
stream (any reader unpacks it to exactly the bytes written, its CRC is of those bytes) and
still packs about 1000:1.
"""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

#: Writes this long or longer have their deflated bytes remembered.
_REMEMBER = 1 << 16


class _FlushedDeflate:
    """A raw deflate compressor (as :mod:`zipfile` uses) that ends every write with a full flush."""

    def __init__(self) -> None:
        self._z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
        self._seen: dict[bytes, bytes] = {}

    def compress(self, data: bytes) -> bytes:
        # after a full flush the compressor starts afresh: the output depends on ``data`` only
        out = self._seen.get(data) if len(data) >= _REMEMBER else None
        if out is None:
            out = self._z.compress(data) + self._z.flush(zlib.Z_FULL_FLUSH)
            if len(data) >= _REMEMBER:
                self._seen[bytes(data)] = out
        return out

    def flush(self) -> bytes:
        return self._z.flush()


@contextmanager
def bomb_member(zf: zipfile.ZipFile, name: str) -> Iterator:
    """``zf.open(name, "w")`` (deflated, zip64) whose repeated large writes cost one deflate."""
    with zf.open(name, "w", force_zip64=True) as f:
        assert zf.compression == zipfile.ZIP_DEFLATED and hasattr(f, "_compressor")
        f._compressor = _FlushedDeflate()  # zipfile's own writer: CRC, sizes, zip64 headers
        yield f
