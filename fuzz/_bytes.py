"""from_bytes harnesses: the input is the serialised bytes.  When its first
byte is even, the CRC-32 trailer is recomputed over the mutated body so that
the fuzzer gets past the checksum and exercises the parser and the
semantic checks; otherwise the bytes go in as they are."""
from __future__ import annotations

import struct
import zlib
from typing import Any, Callable


def payload(data: bytes) -> bytes:
    if not data:
        return data
    body = data[1:]
    if data[0] & 1 or len(body) < 4:
        return body
    body = body[:-4]
    return body + struct.pack("<I", zlib.crc32(body))


def raw_entry(load: Callable[[bytes], Any], exercise: Callable[[Any], None],
              skip: Callable[[bytes], bool] = lambda b: False) -> Callable[[bytes], None]:
    from _common import call

    def test_one_input(data: bytes) -> None:
        b = payload(data)
        if skip(b):
            return
        obj = call(load, b)
        if obj is not None:
            exercise(obj)

    return test_one_input


def seed(serialised: bytes, fix_crc: bool = True) -> bytes:
    """A corpus file for raw_entry harnesses from real to_bytes() output."""
    return (b"\x00" if fix_crc else b"\x01") + serialised
