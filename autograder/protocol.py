"""The wire format between the grader and a sandboxed student process.

Only plain data crosses: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
NumPy arrays and scalars of numeric or boolean dtype, and ``tuple``/``list``/``dict`` of
these (dict keys: str or int). Arrays travel as ``.npy`` bytes read back with
``allow_pickle=False``; the structure travels as JSON. Anything else a student function
returns stays in the sandbox and crosses as an opaque reference ``{"$ref": id}``.

The decoder is the grader's defence: whatever the sandboxed process sends (it runs
student code and may have rewritten its own encoder), decoding can only produce plain
data, so an object that "compares equal to anything" never reaches a test.

This module must stay importable with the standard library and NumPy only: it is
loaded inside the sandbox, where the course's own packages are not available.
"""

from __future__ import annotations

import io
import json
import struct

import numpy as np

MAX_MESSAGE_BYTES = 512 * 1024 * 1024   # one message (arguments or a result)
MAX_DEPTH = 32                          # nesting of tuples/lists/dicts


class ProtocolError(Exception):
    """A message that does not follow the wire format."""


class Ref:
    """Reference to an object that lives in the sandbox (a cache, a model, ...)."""

    __slots__ = ("id",)

    def __init__(self, ref_id: int):
        self.id = int(ref_id)

    def __repr__(self) -> str:
        return f"Ref({self.id})"


# --------------------------------------------------------------------------------------
# Encoding: Python value -> (JSON-able structure, list of array blobs)
# --------------------------------------------------------------------------------------

def encode(value, blobs: list, to_ref=None, depth: int = 0):
    """Turn ``value`` into a JSON-able structure; arrays go to ``blobs``.

    ``to_ref(obj) -> Ref`` is called for objects that are not plain data; without it
    such objects raise ``TypeError``.
    """
    if depth > MAX_DEPTH:
        raise TypeError("data nested too deeply to send")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int) and type(value) is int:
        return value
    if type(value) is float:
        return {"$float": repr(value)}
    if type(value) is complex:
        return {"$complex": [repr(value.real), repr(value.imag)]}
    if isinstance(value, Ref):
        return {"$ref": value.id}
    if isinstance(value, (np.ndarray, np.generic)) and _plain_dtype(np.asarray(value).dtype):
        blobs.append(_array_bytes(value))
        return {"$array": len(blobs) - 1, "scalar": isinstance(value, np.generic)}
    if type(value) in (tuple, list):
        key = "$tuple" if type(value) is tuple else "$list"
        return {key: [encode(v, blobs, to_ref, depth + 1) for v in value]}
    if type(value) is dict and all(type(k) in (str, int) for k in value):
        return {"$dict": [[encode(k, blobs, to_ref, depth + 1), encode(v, blobs, to_ref, depth + 1)]
                          for k, v in value.items()]}
    if to_ref is None:
        raise TypeError(f"cannot send an object of type {type(value).__name__}")
    return {"$ref": to_ref(value).id}


def _plain_dtype(dtype: np.dtype) -> bool:
    return dtype.kind in "biufc" and not dtype.hasobject and dtype.fields is None


def _array_bytes(value) -> bytes:
    arr = np.array(value, copy=True)          # a base-class ndarray, whatever came in
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=False)
    return buf.getvalue()


# --------------------------------------------------------------------------------------
# Decoding: strict, produces plain data only
# --------------------------------------------------------------------------------------

def decode(node, blobs: list, from_ref=None, depth: int = 0):
    """Inverse of :func:`encode`; raises ``ProtocolError`` on anything unexpected.

    ``from_ref(ref_id)`` maps a reference to a local object (a proxy in the grader,
    the real object in the sandbox).
    """
    if depth > MAX_DEPTH:
        raise ProtocolError("data nested too deeply")
    if node is None or type(node) in (bool, str):
        return node
    if type(node) is int:
        return node
    if type(node) is not dict or len(node) not in (1, 2):
        raise ProtocolError(f"unexpected node of type {type(node).__name__}")
    if "$float" in node:
        return float(node["$float"])
    if "$complex" in node:
        re_, im_ = node["$complex"]
        return complex(float(re_), float(im_))
    if "$array" in node:
        index = node["$array"]
        if type(index) is not int or not 0 <= index < len(blobs):
            raise ProtocolError("bad array index")
        arr = np.load(io.BytesIO(blobs[index]), allow_pickle=False)
        if type(arr) is not np.ndarray or not _plain_dtype(arr.dtype):
            raise ProtocolError("array of an unsupported dtype")
        return arr[()] if node.get("scalar") and arr.ndim == 0 else arr
    if "$ref" in node:
        if from_ref is None or type(node["$ref"]) is not int:
            raise ProtocolError("unexpected object reference")
        return from_ref(node["$ref"])
    for key, kind in (("$tuple", tuple), ("$list", list)):
        if key in node:
            items = node[key]
            if type(items) is not list:
                raise ProtocolError("bad sequence")
            return kind(decode(v, blobs, from_ref, depth + 1) for v in items)
    if "$dict" in node:
        out = {}
        for pair in node["$dict"]:
            if type(pair) is not list or len(pair) != 2:
                raise ProtocolError("bad dict entry")
            k = decode(pair[0], blobs, None, depth + 1)
            if type(k) not in (str, int):
                raise ProtocolError("bad dict key")
            out[k] = decode(pair[1], blobs, from_ref, depth + 1)
        return out
    raise ProtocolError(f"unknown node {sorted(node)}")


# --------------------------------------------------------------------------------------
# Framing: [4-byte header length][JSON header][for each blob: 8-byte length][blob]
# --------------------------------------------------------------------------------------

def write_message(stream, header: dict, blobs: list | None = None) -> None:
    blobs = blobs or []
    head = json.dumps({**header, "nblobs": len(blobs)}).encode()
    parts = [struct.pack("<I", len(head)), head]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    stream.write(b"".join(parts))
    stream.flush()


def read_message(stream) -> tuple[dict, list]:
    """Read one message; raises ``EOFError`` when the other side has gone away."""
    (head_len,) = struct.unpack("<I", _read_exact(stream, 4))
    if head_len > MAX_MESSAGE_BYTES:
        raise ProtocolError("header too large")
    try:
        header = json.loads(_read_exact(stream, head_len))
    except ValueError as err:
        raise ProtocolError("header is not JSON") from err
    if type(header) is not dict or type(header.get("nblobs")) is not int:
        raise ProtocolError("bad header")
    blobs, total = [], head_len
    for _ in range(header["nblobs"]):
        (size,) = struct.unpack("<Q", _read_exact(stream, 8))
        total += size
        if total > MAX_MESSAGE_BYTES:
            raise ProtocolError("message too large")
        blobs.append(_read_exact(stream, size))
    return header, blobs


def _read_exact(stream, n: int) -> bytes:
    chunks, got = [], 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            raise EOFError("the other side closed the connection")
        chunks.append(chunk)
        got += len(chunk)
    return b"".join(chunks)
