"""The byte-level splitters keep each item's exact bytes; the strict parser only returns or rejects."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mira_core import jsonstream
from mira_core.errors import ImportRejected
from mira_core.jsonstream import RawItem, iter_array_elements, iter_lines, parse_json

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
    | st.sampled_from(['"', "\\", ",", "]", "[", "{", "}", '\\"', "\\\\"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=20,
)
spaces = st.sampled_from(["", " ", "\n", "\t", "\r\n  "])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(json_values, max_size=6), seps=st.lists(spaces, min_size=20, max_size=20),
       chunk=st.integers(min_value=1, max_value=9), ascii_only=st.booleans())
def test_array_elements_round_trip(tmp_path, monkeypatch, values, seps, chunk, ascii_only):
    """Elements come back as the exact bytes written, whatever the chunk boundaries and whitespace."""
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    encoded = [json.dumps(v, ensure_ascii=ascii_only).encode() for v in values]
    body = seps[0].encode() + b"[" + seps[1].encode()
    for i, e in enumerate(encoded):
        sep = seps[(i + 2) % len(seps)].encode()
        body += e + sep + (b"," + sep if i < len(encoded) - 1 else b"")
    body += b"]" + seps[-1].encode()
    path = tmp_path / "a.json"
    path.write_bytes(body)
    items = list(iter_array_elements(path, max_bytes=1 << 20))
    assert all(isinstance(i, RawItem) for i in items)
    assert [i.raw for i in items] == encoded
    assert [i.origin for i in items] == [f"{path}#{n}" for n in range(len(values))]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(json_values, min_size=1, max_size=5), big=st.integers(min_value=0, max_value=4),
       chunk=st.integers(min_value=1, max_value=7))
def test_oversize_element_is_reported_and_the_rest_kept(tmp_path, monkeypatch, values, big, chunk):
    monkeypatch.setattr(jsonstream, "CHUNK", chunk)
    big = big % len(values)
    encoded = [json.dumps(v).encode() for v in values]
    limit = max(len(e) for e in encoded) + 1
    encoded[big] = json.dumps(["y" * limit, {"k": "]"}]).encode()
    path = tmp_path / "b.json"
    path.write_bytes(b"[" + b",".join(encoded) + b"]")
    items = list(iter_array_elements(path, max_bytes=limit))
    assert isinstance(items[big], ImportRejected) and items[big].where == f"{path}#{big}"
    assert [i.raw for n, i in enumerate(items) if n != big] == [e for n, e in enumerate(encoded) if n != big]


def test_array_with_bom_and_leading_blank_lines(tmp_path, monkeypatch):
    monkeypatch.setattr(jsonstream, "CHUNK", 2)
    path = tmp_path / "c.json"
    path.write_bytes(b"\xef\xbb\xbf\n\n   \n[1, 2]")
    assert [i.raw for i in iter_array_elements(path, 100)] == [b"1", b"2"]


def test_lines_keep_exact_bytes_and_report_long_lines(tmp_path):
    path = tmp_path / "d.jsonl"
    path.write_bytes(b'{"a": 1}\r\n\n' + b"x" * 50 + b'\n{"b": 2}')
    items = list(iter_lines(path, max_bytes=20))
    assert [type(i).__name__ for i in items] == ["RawItem", "ImportRejected", "RawItem"]
    assert items[0].raw == b'{"a": 1}' and items[2].raw == b'{"b": 2}'
    assert items[1].where == f"{path}:3" and "51 bytes" in items[1].reason


@settings(max_examples=400, deadline=None)
@given(raw=st.binary(max_size=200) | st.text(max_size=80).map(lambda s: s.encode("utf-8", "surrogatepass")))
def test_parse_json_only_returns_or_rejects(raw):
    try:
        value = parse_json(raw, "f:1")
    except ImportRejected as exc:
        assert exc.where == "f:1" and exc.reason
        return
    assert not any(isinstance(v, float) and math.isnan(v) for v in _leaves(value))


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"NaN", "invalid JSON: NaN is not valid JSON"),
        (b"[Infinity]", "invalid JSON: Infinity is not valid JSON"),
        (b"[" * 100_000, "JSON nested too deeply"),
        (b'"\xff"', "invalid UTF-8 at byte 1"),
        (b'{"a": ', "invalid JSON: Expecting value at line 1 column 7"),
    ],
)
def test_parse_json_reasons(raw, reason):
    with pytest.raises(ImportRejected) as info:
        parse_json(raw, "f:1")
    assert info.value.reason == reason


def _leaves(value):
    if isinstance(value, dict):
        for v in value.values():
            yield from _leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from _leaves(v)
    else:
        yield value


def test_whole_file_over_limit(tmp_path: Path):
    path = tmp_path / "w.json"
    path.write_bytes(b"{}" + b" " * 100)
    (item,) = list(jsonstream.read_whole(path, max_bytes=50))
    assert isinstance(item, ImportRejected) and "102 bytes" in item.reason


def test_parse_json_fast_and_stdlib_paths_agree_on_edge_cases():
    """orjson is tried first; these inputs must still parse exactly as the stdlib would (or be rejected)."""
    big = b'{"n": 12345678901234567890123, "x": "a\\u0000b"}'
    assert parse_json(big, "f:1") == {"n": 12345678901234567890123, "x": "a\x00b"}
    assert parse_json(b'{"s": "\\ud800"}', "f:2") == {"s": "\ud800"}  # lone surrogate: kept for the text rule
    assert parse_json(b'\xef\xbb\xbf{"a": 1}', "f:3") == {"a": 1}
    for bad, reason in [(b'{"a": NaN}', "invalid JSON"), (b"[" * 5000 + b"]" * 5000, "nested too deeply"),
                        (b'{"a": "\xff"}', "invalid UTF-8")]:
        with pytest.raises(ImportRejected) as exc:
            parse_json(bad, "f:9")
        assert reason in exc.value.reason and exc.value.where == "f:9"


line_pieces = st.lists(
    st.sampled_from([b"", b" ", b"\t", b"\r", b"\r\r", b"  \r", b"{}", b'{"a": 1}', b"x" * 7, b" {} ", b"\x0b", b"[1]\r"]),
    max_size=4,
).map(b"".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(lines=st.lists(line_pieces, max_size=12), final_newline=st.booleans(),
       block=st.integers(min_value=1, max_value=16), max_bytes=st.integers(min_value=1, max_value=12))
def test_line_spans_read_back_as_iter_lines(tmp_path, lines, final_newline, block, max_bytes):
    """Spans (what import workers read themselves) give exactly iter_lines' items, numbers and rejections,
    whatever the block boundaries, blank lines, CRs and over-long lines."""
    path = tmp_path / "l.jsonl"
    path.write_bytes(b"\n".join(lines) + (b"\n" if final_newline and lines else b""))
    expected = list(iter_lines(path, max_bytes))
    got = []
    fd = os.open(path, os.O_RDONLY)
    try:
        for span in jsonstream.iter_line_spans(path, max_bytes, block=block):
            got.append(span if isinstance(span, ImportRejected) else jsonstream.read_span(fd, path, span))
    finally:
        os.close(fd)
    assert [(type(i), i.where if isinstance(i, ImportRejected) else i.origin) for i in got] == \
        [(type(i), i.where if isinstance(i, ImportRejected) else i.origin) for i in expected]
    assert [i.reason if isinstance(i, ImportRejected) else i.raw for i in got] == \
        [i.reason if isinstance(i, ImportRejected) else i.raw for i in expected]


def test_span_of_a_file_that_shrank_is_rejected_with_its_line(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_bytes(b'{"a": 1}\n{"b": 2}\n')
    spans = list(jsonstream.iter_line_spans(path, 100))
    path.write_bytes(b'{"a": 1}\n')
    fd = os.open(path, os.O_RDONLY)
    try:
        first, second = (jsonstream.read_span(fd, path, s) for s in spans)
    finally:
        os.close(fd)
    assert isinstance(first, RawItem) and first.raw == b'{"a": 1}'
    assert isinstance(second, ImportRejected) and second.where == f"{path}:2" and "changed" in second.reason


json_docs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from([1e300, -0.0, 5e-324])
    | st.text(alphabet=st.characters(exclude_categories=()), max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=4),
    max_leaves=25,
)


@settings(max_examples=300, deadline=None)
@given(doc=json_docs, ascii_only=st.booleans())
def test_parse_json_equals_the_stdlib(doc, ascii_only):
    """Whichever parser runs (orjson or the stdlib fallback), the value is the stdlib's, type for type:
    big integers stay exact ints, lone surrogates survive (for the text rule), -0.0 stays a float."""
    raw = json.dumps(doc, ensure_ascii=ascii_only).encode("utf-8", "surrogatepass")
    try:
        expected = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        with pytest.raises(ImportRejected):
            parse_json(raw, "f:1")
        return
    got = parse_json(raw, "f:1")
    assert got == expected
    assert [type(v) for v in _leaves(got)] == [type(v) for v in _leaves(expected)]


def test_parse_json_out_of_range_float_is_the_stdlibs_inf():
    assert parse_json(b"[1e400, -1e400]", "f:1") == [math.inf, -math.inf]
