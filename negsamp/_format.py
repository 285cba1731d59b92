"""The one framing of every ``to_bytes()`` / ``from_bytes()`` format.

A serialised object is ``magic (8 bytes) | version (uint32) | body |
CRC-32 (uint32)``, little-endian, the CRC taken over everything before it.
Each format (alias.py, reservoir.py) writes its own body; this module writes
and checks the frame around it, with one set of error messages.
"""
from __future__ import annotations

import struct
import zlib
from typing import Any, Sequence, Tuple

import numpy as np

__all__ = ["PREFIX", "CRC", "as_bytes", "frame", "open_frame", "check_crc", "Reader"]

PREFIX = struct.Struct("<8sI")  # magic, version
CRC = struct.Struct("<I")


def as_bytes(data: Any) -> bytes:
    """``data`` (bytes, bytearray or memoryview) as bytes, else TypeError."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data must be bytes, got {type(data).__name__}")
    return bytes(data)


def frame(magic: bytes, version: int, *parts: bytes) -> bytes:
    """``magic | version | parts... | CRC-32``."""
    raw = b"".join((PREFIX.pack(magic, version),) + parts)
    return raw + CRC.pack(zlib.crc32(raw))


def open_frame(data: bytes, magic: bytes, what: str, versions: Sequence[int],
               header_size: int = 0) -> int:
    """Checks that ``data`` is long enough for the prefix, a fixed header of
    ``header_size`` bytes and the CRC, then its magic bytes (a serialised
    ``what``) and its version (one of ``versions``); returns the version.
    The CRC is checked by :func:`check_crc`, once the caller has checked any
    length its header implies."""
    if len(data) < PREFIX.size + header_size + CRC.size:
        raise ValueError(f"data is truncated: {len(data)} bytes is shorter than the header")
    got_magic, version = PREFIX.unpack_from(data, 0)
    if got_magic != magic:
        raise ValueError(f"data is not a serialised {what} (bad magic bytes)")
    if version not in versions:
        raise ValueError(f"data has unsupported format version {version} (this negsamp "
                         f"reads {what} format versions {', '.join(map(str, versions))})")
    return int(version)


def check_crc(data: bytes, *, length_checked: bool = False) -> None:
    """ValueError unless the trailing CRC-32 matches.  ``length_checked``:
    the caller already matched the length against its header, so a mismatch
    can only be corruption (the message says so)."""
    (crc,) = CRC.unpack_from(data, len(data) - CRC.size)
    if zlib.crc32(data[: -CRC.size]) != crc:
        what = "corrupted" if length_checked else "corrupted or truncated"
        raise ValueError(f"data is {what}: CRC-32 mismatch")


class Reader:
    """Sequential reads of a framed body (after the prefix, before the CRC);
    running short is ValueError."""

    def __init__(self, data: bytes, what: str) -> None:
        self.data, self.what = data, what
        self.offset, self.end = PREFIX.size, len(data) - CRC.size

    def take(self, n: int) -> bytes:
        if n < 0 or self.offset + n > self.end:
            raise ValueError("data is truncated or inconsistent with its header")
        out = self.data[self.offset : self.offset + n]
        self.offset += n
        return out

    def unpack(self, st: struct.Struct) -> Tuple[Any, ...]:
        return st.unpack(self.take(st.size))

    def array(self, dtype: Any, n: int) -> np.ndarray:
        """``n`` items of ``dtype``, copied out of the data."""
        dt = np.dtype(dtype)
        if n < 0 or n * dt.itemsize > self.end - self.offset:
            raise ValueError("data is truncated or inconsistent with its header")
        return np.frombuffer(self.take(n * dt.itemsize), dtype=dt, count=n).copy()

    def done(self) -> None:
        if self.offset != self.end:
            raise ValueError(f"data has trailing bytes after the {self.what}")
