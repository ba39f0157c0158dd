"""The wire format between grader and sandbox: plain data round-trips; whatever else
comes over the pipe (malformed, huge, deep, lying arrays, pickles) is refused with a
ProtocolError before it costs memory, and never becomes anything but plain data."""

import io
import json
import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from autograder import protocol
from autograder.protocol import ProtocolError, Ref

scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=20),
                    st.floats(allow_nan=False), st.complex_numbers(allow_nan=False))
arrays = hnp.arrays(st.sampled_from([np.float64, np.float32, np.int64, np.uint8, np.bool_,
                                     np.complex128]),
                    hnp.array_shapes(min_dims=0, max_dims=3, max_side=4))
plain = st.recursive(
    st.one_of(scalars, arrays),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.lists(inner, max_size=4).map(tuple),
                            st.dictionaries(st.one_of(st.text(max_size=5), st.integers()),
                                            inner, max_size=4)),
    max_leaves=12)


def roundtrip(value, to_ref=None, from_ref=None):
    blobs = []
    node = json.loads(json.dumps(protocol.encode(value, blobs, to_ref)))
    return protocol.decode(node, blobs, from_ref)


def same(a, b):
    if isinstance(a, (np.ndarray, np.generic)):       # bit for bit, NaNs included
        return type(a) is type(b) and a.dtype == b.dtype and a.shape == b.shape and \
            np.asarray(a).tobytes() == np.asarray(b).tobytes()
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(same, a, b))
    if isinstance(a, dict):
        return type(b) is dict and a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


@settings(max_examples=150, deadline=None)
@given(plain)
def test_plain_data_round_trips_exactly(value):
    assert same(value, roundtrip(value))


def test_numbers_keep_their_types_and_extremes():
    for value in [2**70, -2**63, 1e308, -0.0, float("inf"), np.float32(1.5), np.int8(-3),
                  np.bool_(True), 1 + 2j, np.array(5.0)]:
        assert same(value, roundtrip(value))
    nan = roundtrip(float("nan"))
    assert type(nan) is float and nan != nan


def test_anything_else_becomes_a_reference():
    class Anything:
        def __eq__(self, other):
            return True

    class Liar(np.ndarray):
        def __eq__(self, other):
            return True

    class MyInt(int):
        pass

    kept = []

    def to_ref(obj):
        kept.append(obj)
        return Ref(len(kept))

    out = roundtrip([Anything(), MyInt(3), (lambda: 1)], to_ref, from_ref=lambda i: ("ref", i))
    assert out == [("ref", 1), ("ref", 2), ("ref", 3)]
    liar = roundtrip(np.zeros(3).view(Liar))           # crosses as a plain zero array
    assert type(liar) is np.ndarray and not (liar == 1).any()
    obj = roundtrip(np.array([1, "a"], dtype=object), to_ref, lambda i: ("ref", i))
    assert obj == ("ref", 4)
    with pytest.raises(TypeError, match="cannot send"):
        protocol.encode(Anything(), [])


@pytest.mark.parametrize("node", [
    {"$foo": 1}, {"$float": 1.5}, {"$float": "1" * 500}, {"$int": "12x"},
    {"$complex": ["1"]}, {"$complex": "1"}, {"$array": 0}, {"$array": "0"},
    {"$ref": 1}, {"$list": "abc"}, {"$dict": [[{"$list": []}, 1]]}, {"$dict": [[1]]},
    {"$dict": {"a": 1}}, {"a": 1, "b": 2, "c": 3}, [1, 2], 1.5,
])
def test_malformed_values_are_refused(node):
    with pytest.raises(ProtocolError):
        protocol.decode(node, [], None)


def test_nesting_is_bounded():
    node = 1
    for _ in range(protocol.MAX_DEPTH + 2):
        node = {"$list": [node]}
    with pytest.raises(ProtocolError, match="deep"):
        protocol.decode(node, [])


def npy(arr, allow_pickle=False):
    buf = io.BytesIO()
    np.save(buf, arr, allow_pickle=allow_pickle)
    return buf.getvalue()


def test_arrays_are_read_strictly():
    good = npy(np.arange(6.0).reshape(2, 3))
    assert np.array_equal(protocol.load_array(good), np.arange(6.0).reshape(2, 3))
    fortran = protocol.load_array(npy(np.asfortranarray(np.arange(6).reshape(2, 3))))
    assert np.array_equal(fortran, np.arange(6).reshape(2, 3))
    bad = {
        "lying shape": good.replace(b"(2, 3)", b"(1000000000000, 3)"),
        "short data": good[:-8],
        "extra data": good + b"\0" * 8,
        "object pickle": npy(np.array([1, None], dtype=object), allow_pickle=True),
        "structured": npy(np.zeros(2, dtype=[("a", "f8"), ("b", "i4")])),
        "datetime": npy(np.array(["2020-01-01"], dtype="datetime64[D]")),
        "not npy": b"hello world",
        "header code": good.replace(b"'descr'", b"__import__('os')"),
    }
    for what, blob in bad.items():
        with pytest.raises(ProtocolError):
            protocol.load_array(blob)
            pytest.fail(f"accepted an array with {what}")


def frame(header: bytes, *blobs: bytes) -> io.BytesIO:
    out = struct.pack("<I", len(header)) + header
    for blob in blobs:
        out += struct.pack("<Q", len(blob)) + blob
    return io.BytesIO(out)


def test_messages_are_framed_strictly():
    header = json.dumps({"ok": True, "nblobs": 1}).encode()
    assert protocol.read_message(frame(header, b"xyz")) == ({"ok": True, "nblobs": 1},
                                                             [b"xyz"])
    with pytest.raises(ProtocolError, match="too large"):
        protocol.read_message(io.BytesIO(struct.pack("<I", 2**31)))
    with pytest.raises(ProtocolError, match="too large"):
        protocol.read_message(frame(header, b"x" * 100), max_bytes=50)
    big = json.dumps({"nblobs": 1}).encode()
    with pytest.raises(ProtocolError, match="too large"):
        protocol.read_message(io.BytesIO(struct.pack("<I", len(big)) + big
                                         + struct.pack("<Q", 2**40)))
    for head in [b"not json", b"[1, 2]", b'{"nblobs": -1}', b'{"nblobs": "1"}',
                 b'{"a": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
                 json.dumps({"nblobs": 10**9}).encode()]:
        with pytest.raises(ProtocolError):
            protocol.read_message(frame(head))
    with pytest.raises(EOFError):
        protocol.read_message(frame(header))           # the blob never comes


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=200))
def test_random_bytes_are_refused_or_read_as_plain_data(data):
    try:
        header, blobs = protocol.read_message(io.BytesIO(data))
    except (ProtocolError, EOFError):
        return
    assert type(header) is dict and all(type(b) is bytes for b in blobs)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=10)),
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(
                                ["$float", "$int", "$complex", "$array", "$ref", "$tuple",
                                 "$list", "$dict", "scalar", "x"]), inner, max_size=2)),
    max_leaves=10)


@settings(max_examples=400, deadline=None)
@given(json_values)
def test_any_json_decodes_to_plain_data_or_is_refused(node):
    def plain_only(value):
        if type(value) in (list, tuple):
            return all(plain_only(v) for v in value)
        if type(value) is dict:
            return all(type(k) in (str, int) and plain_only(v) for k, v in value.items())
        return value is None or type(value) in (bool, int, float, complex, str, np.ndarray) \
            or isinstance(value, np.generic) or value == ("ref",)

    try:
        value = protocol.decode(node, [npy(np.zeros(2))], lambda i: ("ref",))
    except ProtocolError:
        return
    assert plain_only(value)
