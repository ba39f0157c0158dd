"""The wire format between the grader and a sandboxed student process.

Only plain data crosses: ``None``, ``bool``, ``int``, ``float``, ``complex``, ``str``,
NumPy arrays and scalars of numeric, boolean or string dtype, and ``tuple``/``list``/``dict`` of
these (dict keys: str or int). Arrays travel as ``.npy`` bytes read back with
``allow_pickle=False``; the structure travels as JSON. Anything else a student function
returns stays in the sandbox and crosses as an opaque reference ``{"$ref": id}``.

The decoder is the grader's defence: whatever the sandboxed process sends (it runs
student code and may have rewritten its own encoder), decoding can only produce plain
data or raise :class:`ProtocolError`, so an object that "compares equal to anything"
never reaches a test, and a malformed message (too large, too deep, an array whose
header lies about its size, an object dtype) is refused before it costs memory.

This module must stay importable with the standard library and NumPy only: it is
loaded inside the sandbox, where the course's own packages are not available.
"""

from __future__ import annotations

import ast
import io
import json
import struct

import numpy as np

MAX_HEADER_BYTES = 16 * 1024 * 1024     # the JSON part of one message
MAX_MESSAGE_BYTES = 512 * 1024 * 1024   # one message, arrays included
MAX_BLOBS = 100_000                     # arrays in one message
MAX_DEPTH = 32                          # nesting of tuples/lists/dicts
MAX_ARRAY_DIMS = 32


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
    such objects raise ``TypeError``. Only exact builtin types count as plain (a
    subclass of ``int`` or ``tuple`` may override ``__eq__``); NumPy arrays of any
    subclass are copied into a base-class array.
    """
    if depth > MAX_DEPTH:
        raise TypeError("data nested too deeply to send")
    if value is None or type(value) in (bool, str):
        return value
    if type(value) is int:
        return value if -2**62 < value < 2**62 else {"$int": str(value)}
    if type(value) is float:
        return {"$float": repr(value)}
    if type(value) is complex:
        return {"$complex": [repr(value.real), repr(value.imag)]}
    if type(value) is Ref:
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
    return (dtype.kind in "biufcUS" and not dtype.hasobject and dtype.fields is None
            and dtype.subdtype is None)


def _array_bytes(value) -> bytes:
    arr = np.array(value, copy=True, subok=False)    # a base-class ndarray, whatever came in
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
    try:
        return _decode(node, blobs, from_ref, depth)
    except ProtocolError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, OverflowError, RecursionError,
            MemoryError) as err:
        raise ProtocolError(f"malformed value ({type(err).__name__}: {err})"[:300]) from None


def _decode(node, blobs, from_ref, depth):
    if depth > MAX_DEPTH:
        raise ProtocolError("data nested too deeply")
    if node is None or type(node) in (bool, str, int):
        return node
    if type(node) is not dict or len(node) not in (1, 2):
        raise ProtocolError(f"unexpected node of type {type(node).__name__}")
    if "$float" in node:
        return float(_str(node["$float"]))
    if "$int" in node:
        return int(_str(node["$int"]))
    if "$complex" in node:
        parts = node["$complex"]
        if type(parts) is not list or len(parts) != 2:
            raise ProtocolError("bad complex number")
        return complex(float(_str(parts[0])), float(_str(parts[1])))
    if "$array" in node:
        index = node["$array"]
        if type(index) is not int or not 0 <= index < len(blobs):
            raise ProtocolError("bad array index")
        arr = load_array(blobs[index])
        return arr[()] if node.get("scalar") is True and arr.ndim == 0 else arr
    if "$ref" in node:
        if from_ref is None or type(node["$ref"]) is not int:
            raise ProtocolError("unexpected object reference")
        return from_ref(node["$ref"])
    for key, kind in (("$tuple", tuple), ("$list", list)):
        if key in node:
            items = node[key]
            if type(items) is not list:
                raise ProtocolError("bad sequence")
            return kind(_decode(v, blobs, from_ref, depth + 1) for v in items)
    if "$dict" in node:
        pairs = node["$dict"]
        if type(pairs) is not list:
            raise ProtocolError("bad dict")
        out = {}
        for pair in pairs:
            if type(pair) is not list or len(pair) != 2:
                raise ProtocolError("bad dict entry")
            k = _decode(pair[0], blobs, None, depth + 1)
            if type(k) not in (str, int):
                raise ProtocolError("bad dict key")
            out[k] = _decode(pair[1], blobs, from_ref, depth + 1)
        return out
    raise ProtocolError(f"unknown node {sorted(map(str, node))[:4]}")


def _str(value) -> str:
    if type(value) is not str or len(value) > 400:
        raise ProtocolError("bad number")
    return value


def load_array(blob: bytes) -> np.ndarray:
    """Read ``.npy`` bytes strictly: version 1-3 header, numeric or boolean dtype, no
    pickles, and exactly as many data bytes as the header promises (checked *before*
    anything is allocated, so a header claiming a huge shape costs nothing)."""
    if type(blob) is not bytes:
        raise ProtocolError("array data is not bytes")
    stream = io.BytesIO(blob)
    try:
        major, _minor = np.lib.format.read_magic(stream)
        if major not in (1, 2, 3):
            raise ProtocolError("unsupported .npy version")
        (size_fmt, size_len) = ("<H", 2) if major == 1 else ("<I", 4)
        (head_len,) = struct.unpack(size_fmt, stream.read(size_len))
        if head_len > 64 * 1024:
            raise ProtocolError("array header too long")
        text = stream.read(head_len).decode("latin1" if major < 3 else "utf8")
        header = ast.literal_eval(text)
    except ProtocolError:
        raise
    except Exception as err:  # noqa: BLE001 - any malformed header
        raise ProtocolError(f"bad array header: {type(err).__name__}") from None
    if (type(header) is not dict or set(header) != {"descr", "fortran_order", "shape"}
            or type(header["descr"]) is not str or type(header["fortran_order"]) is not bool
            or type(header["shape"]) is not tuple or len(header["shape"]) > MAX_ARRAY_DIMS
            or not all(type(s) is int and 0 <= s for s in header["shape"])):
        raise ProtocolError("bad array header")
    try:
        dtype = np.dtype(header["descr"])
    except (TypeError, ValueError):
        raise ProtocolError("bad array dtype") from None
    if not _plain_dtype(dtype):
        raise ProtocolError("array of an unsupported dtype")
    count = 1
    for s in header["shape"]:
        count *= s
    data = blob[stream.tell():]
    if count * dtype.itemsize != len(data):
        raise ProtocolError("array data does not match its header")
    arr = np.frombuffer(data, dtype=dtype, count=count)
    order = "F" if header["fortran_order"] else "C"
    arr = arr.reshape(header["shape"], order=order).copy(order="K")
    if type(arr) is not np.ndarray:
        raise ProtocolError("not a plain array")
    return arr


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


def read_message(stream, max_bytes: int | None = None) -> tuple[dict, list]:
    """Read one message; raises ``EOFError`` when the other side has gone away and
    ``ProtocolError`` for anything malformed (never another exception type)."""
    max_bytes = MAX_MESSAGE_BYTES if max_bytes is None else max_bytes
    (head_len,) = struct.unpack("<I", _read_exact(stream, 4))
    if head_len > min(MAX_HEADER_BYTES, max_bytes):
        raise ProtocolError(f"message header too large ({head_len} bytes)")
    try:
        header = json.loads(_read_exact(stream, head_len))
    except (ValueError, RecursionError, MemoryError) as err:
        raise ProtocolError(f"header is not valid JSON ({type(err).__name__})") from None
    if type(header) is not dict or type(header.get("nblobs")) is not int \
            or not 0 <= header["nblobs"] <= MAX_BLOBS:
        raise ProtocolError("bad message header")
    blobs, total = [], head_len
    for _ in range(header["nblobs"]):
        (size,) = struct.unpack("<Q", _read_exact(stream, 8))
        total += size
        if total > max_bytes:
            raise ProtocolError(f"message too large (over {max_bytes} bytes)")
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
