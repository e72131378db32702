"""The wire between the grader and the child: length-prefixed messages of plain data.

A message is a dict of tensors, numbers, strings, bools, None, lists, tuples and dicts,
serialized with ``torch.save`` and read back with ``torch.load(weights_only=True)``,
which refuses anything that would run code. The grader never unpickles what the child
sends in any other way, and a reply over ``MAX_REPLY_BYTES`` is refused unread.
"""
from __future__ import annotations

import io
import os
import select
import struct
import time

import torch

MAX_REPLY_BYTES = 64 * 1024 * 1024
_HEADER = struct.Struct("!Q")


class WireError(Exception):
    """A message that is not plain data, is too big, or was cut short."""


def encode(message: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(message, buffer)
    payload = buffer.getvalue()
    return _HEADER.pack(len(payload)) + payload


def decode(payload: bytes) -> dict:
    try:
        message = torch.load(io.BytesIO(payload), weights_only=True, map_location="cpu")
    except Exception as exc:  # any failure to decode is the sender's fault
        raise WireError(f"reply is not plain data ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(message, dict):
        raise WireError(f"reply is a {type(message).__name__}, not a dict")
    return message


def write_message(fd: int, message: dict) -> None:
    data = encode(message)
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def read_exact(fd: int, size: int, deadline: float | None = None) -> bytes:
    """Read ``size`` bytes; past ``deadline`` (``time.monotonic``) raise TimeoutError."""
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError
        chunk = os.read(fd, min(remaining, 1 << 20))
        if not chunk:
            raise WireError(f"connection closed after {size - remaining} of {size} bytes")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def read_message(fd: int, limit: int = MAX_REPLY_BYTES, deadline: float | None = None) -> dict:
    (size,) = _HEADER.unpack(read_exact(fd, _HEADER.size, deadline))
    if size > limit:
        raise WireError(f"reply of {size} bytes is over the {limit}-byte limit")
    return decode(read_exact(fd, size, deadline))
