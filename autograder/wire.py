"""The wire between the grader and the child: length-prefixed messages of plain data.

A message is a dict of tensors, numbers, strings, bytes, bools, None, dtypes, lists,
tuples and dicts, written in a small tagged binary format of this module's own. Its
reader builds only those types: there is no pickle, no import and no call by name, so
nothing the child sends can run code in the grader. Every length is checked against
the bytes that are there, nesting is bounded, and a reply over ``MAX_REPLY_BYTES`` is
refused unread. (It replaced ``torch.save``/``torch.load(weights_only=True)``, which
cost about 1.5 ms a message on each side: a third of a whole grade's CPU time.)
"""
from __future__ import annotations

import os
import select
import struct
import time

import torch

MAX_REPLY_BYTES = 64 * 1024 * 1024
MAX_DEPTH = 32
_HEADER = struct.Struct("!Q")
_COUNT = struct.Struct("!I")
_INT = struct.Struct("!q")
_FLOAT = struct.Struct("!d")
_DIMENSION = struct.Struct("!Q")
DTYPES = {str(dtype).removeprefix("torch."): dtype for dtype in (
    torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128,
    torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.bool)}
_NAMES = {dtype: name for name, dtype in DTYPES.items()}


class WireError(Exception):
    """A message that is not plain data, is too big, or was cut short."""


def encode(message: dict) -> bytes:
    parts: list[bytes] = []
    _write(message, parts, 0)
    payload = b"".join(parts)
    return _HEADER.pack(len(payload)) + payload


def _text(value: str) -> bytes:
    data = value.encode("utf-8", "surrogatepass")
    return _COUNT.pack(len(data)) + data


def _write(value, parts: list[bytes], depth: int) -> None:
    if depth > MAX_DEPTH:
        raise TypeError(f"data nested deeper than {MAX_DEPTH} levels")
    if value is None:
        parts.append(b"N")
    elif value is True or value is False:
        parts.append(b"T" if value else b"F")
    elif isinstance(value, int) and not isinstance(value, bool):
        value = int(value)
        if -(2**63) <= value < 2**63:
            parts += [b"i", _INT.pack(value)]
        else:
            parts += [b"I", _text(str(value))]
    elif isinstance(value, float):
        parts += [b"f", _FLOAT.pack(float(value))]
    elif isinstance(value, str):
        parts += [b"s", _text(str(value))]
    elif isinstance(value, (bytes, bytearray)):
        parts += [b"b", _COUNT.pack(len(value)), bytes(value)]
    elif isinstance(value, torch.Tensor):
        _write_tensor(value, parts)
    elif isinstance(value, torch.dtype):
        if value not in _NAMES:
            raise TypeError(f"dtype {value} does not cross the wire")
        parts += [b"y", _text(_NAMES[value])]
    elif isinstance(value, (list, tuple)):
        parts += [b"l" if isinstance(value, list) else b"t", _COUNT.pack(len(value))]
        for item in value:
            _write(item, parts, depth + 1)
    elif isinstance(value, dict):
        parts += [b"d", _COUNT.pack(len(value))]
        for key, item in value.items():
            if not (key is None or isinstance(key, (str, int, float))):
                raise TypeError(f"a dict key of type {type(key).__name__} does not cross the wire")
            _write(key, parts, depth + 1)
            _write(item, parts, depth + 1)
    else:
        raise TypeError(f"a {type(value).__name__} does not cross the wire")


def _write_tensor(tensor: torch.Tensor, parts: list[bytes]) -> None:
    requires_grad = bool(tensor.requires_grad)
    tensor = torch.Tensor.detach(tensor)
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    tensor = tensor.resolve_conj().resolve_neg().contiguous()
    if tensor.dtype not in _NAMES:
        raise TypeError(f"a tensor of dtype {tensor.dtype} does not cross the wire")
    data = tensor.reshape(-1).view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
    parts += [b"x", _text(_NAMES[tensor.dtype]), bytes([tensor.dim(), requires_grad])]
    parts += [_DIMENSION.pack(size) for size in tensor.shape]
    parts += [_DIMENSION.pack(len(data)), data]


def decode(payload: bytes) -> dict:
    try:
        reader = _Reader(payload)
        message = reader.value(0)
        if reader.at != len(payload):
            raise WireError(f"{len(payload) - reader.at} bytes after the message")
    except WireError as exc:
        raise WireError(f"reply is not plain data ({exc})") from None
    except (struct.error, ValueError, RuntimeError, OverflowError, UnicodeDecodeError, TypeError) as exc:
        raise WireError(f"reply is not plain data ({type(exc).__name__}: {str(exc)[:200]})") from None
    if not isinstance(message, dict):
        raise WireError(f"reply is a {type(message).__name__}, not a dict")
    return message


class _Reader:
    def __init__(self, payload: bytes):
        self.payload, self.at = memoryview(payload), 0

    def take(self, size: int) -> memoryview:
        if size < 0 or self.at + size > len(self.payload):
            raise WireError(f"cut short: {size} bytes wanted at byte {self.at} of {len(self.payload)}")
        chunk = self.payload[self.at:self.at + size]
        self.at += size
        return chunk

    def unpack(self, form: struct.Struct):
        return form.unpack(self.take(form.size))[0]

    def text(self) -> str:
        return str(self.take(self.unpack(_COUNT)), "utf-8", "surrogatepass")

    def value(self, depth: int):
        if depth > MAX_DEPTH:
            raise WireError(f"nested deeper than {MAX_DEPTH} levels")
        tag = bytes(self.take(1))
        if tag == b"N":
            return None
        if tag in (b"T", b"F"):
            return tag == b"T"
        if tag == b"i":
            return self.unpack(_INT)
        if tag == b"I":
            text = self.text()
            if len(text) > 4000 or not text.lstrip("-").isdigit():
                raise WireError("not a whole number")
            return int(text)
        if tag == b"f":
            return self.unpack(_FLOAT)
        if tag == b"s":
            return self.text()
        if tag == b"b":
            return bytes(self.take(self.unpack(_COUNT)))
        if tag == b"y":
            return self.dtype()
        if tag in (b"l", b"t"):
            count = self.items()
            items = [self.value(depth + 1) for _ in range(count)]
            return items if tag == b"l" else tuple(items)
        if tag == b"d":
            count = self.items()
            result = {}
            for _ in range(count):
                key = self.value(depth + 1)
                if not (key is None or isinstance(key, (str, int, float))):
                    raise WireError(f"a dict key of type {type(key).__name__}")
                result[key] = self.value(depth + 1)
            return result
        if tag == b"x":
            return self.tensor()
        raise WireError(f"unknown tag {tag!r} at byte {self.at - 1}")

    def items(self) -> int:
        count = self.unpack(_COUNT)
        if count > len(self.payload) - self.at:  # every item takes at least one byte
            raise WireError(f"{count} items announced, {len(self.payload) - self.at} bytes left")
        return count

    def dtype(self) -> torch.dtype:
        name = self.text()
        if name not in DTYPES:
            raise WireError(f"unknown dtype {name[:40]!r}")
        return DTYPES[name]

    def tensor(self) -> torch.Tensor:
        dtype = self.dtype()
        dimensions, requires_grad = self.take(2)
        shape = [self.unpack(_DIMENSION) for _ in range(dimensions)]
        size = self.unpack(_DIMENSION)
        elements = 1
        for extent in shape:
            elements *= extent
        itemsize = torch.empty((), dtype=dtype).element_size()
        if elements * itemsize != size:
            raise WireError(f"a {dtype} tensor of shape {tuple(shape)} cannot hold {size} bytes")
        data = self.take(size)
        if not elements:
            tensor = torch.empty(shape, dtype=dtype)
        else:
            tensor = torch.frombuffer(bytearray(data), dtype=dtype).reshape(shape)
        if requires_grad and (dtype.is_floating_point or dtype.is_complex):
            tensor.requires_grad_()
        return tensor


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
