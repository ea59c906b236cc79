"""Property-based tests of request validation: any JSON in any field gives a request or a readable InvalidParams."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from patina_lsp import protocol
from patina_lsp.index.search import MAX_LIMIT, SearchQuery
from patina_lsp.protocol import InvalidParams, RelatedRequest

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-2**63, max_value=2**63) | st.floats(allow_nan=True)
    | st.text(max_size=50),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4),
    max_leaves=12)

search_fields = st.fixed_dictionaries({}, optional={
    "query": json_values | st.text(min_size=1, max_size=80),
    "limit": json_values | st.integers(min_value=-5, max_value=300),
    "mode": json_values | st.sampled_from(["hybrid", "semantic", "lexical"]),
    "languages": json_values | st.lists(st.text(max_size=10), max_size=3),
    "kinds": json_values | st.lists(st.text(max_size=10), max_size=3),
    "paths": json_values | st.lists(st.text(max_size=10), max_size=3),
})

position = st.fixed_dictionaries({"line": json_values | st.integers(-3, 50), "character": json_values | st.integers(-3, 50)})
related_fields = st.fixed_dictionaries({}, optional={
    "textDocument": json_values | st.fixed_dictionaries({"uri": json_values | st.just("file:///ws/a.py")}),
    "position": json_values | position,
    "range": json_values | st.fixed_dictionaries({"start": position, "end": position}),
    "limit": json_values | st.integers(-5, 300),
})


def readable(exc: InvalidParams) -> bool:
    text = str(exc)
    return 10 <= len(text) <= 400 and "Traceback" not in text


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, search_fields))
def test_search_params(params):
    try:
        query = protocol.parse_search(params)
    except InvalidParams as exc:
        assert readable(exc), str(exc)
        return
    assert isinstance(query, SearchQuery)
    assert isinstance(query.text, str) and query.text.strip()
    assert 1 <= query.limit <= MAX_LIMIT
    assert query.mode in ("hybrid", "semantic", "lexical")
    assert all(isinstance(v, str) for v in query.languages + query.kinds + query.paths)


@settings(max_examples=400, deadline=None)
@given(st.one_of(json_values, related_fields))
def test_related_params(params):
    try:
        request = protocol.parse_related(params)
    except InvalidParams as exc:
        assert readable(exc), str(exc)
        return
    assert isinstance(request, RelatedRequest)
    assert isinstance(request.uri, str) and request.uri
    assert request.position is not None or request.range is not None
    for pos in [request.position] + list(request.range or ()):
        if pos is not None:
            assert isinstance(pos.line, int) and pos.line >= 0 and isinstance(pos.character, int) and pos.character >= 0


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_command_arguments(arguments):
    for parse in (protocol.parse_search_command, protocol.parse_related_command):
        try:
            parse(arguments)
        except InvalidParams as exc:
            assert readable(exc), str(exc)


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_options(raw):
    from patina_lsp.config import Options, parse_options

    options, problems = parse_options(raw)
    assert isinstance(options, Options)
    assert options.model in ("int8", "fp32")
    assert options.max_file_bytes >= 1 and options.max_units >= 1
    assert all(isinstance(p, str) and p for p in problems)


def test_filters_are_bounded_in_count_and_length():
    import pytest

    with pytest.raises(InvalidParams, match="at most 500 characters"):
        protocol.parse_search({"query": "x", "paths": ["*" * 501]})
    with pytest.raises(InvalidParams, match="at most 100 entries"):
        protocol.parse_search({"query": "x", "kinds": ["function"] * 101})
    assert protocol.parse_search({"query": "x", "paths": ["src/**/*.py"]}).paths == ("src/**/*.py",)


def test_lsp_columns_map_to_string_indexes():
    from patina_lsp.lsp_shapes import string_index

    line = "a😀b é"
    assert [string_index(line, c) for c in (0, 1, 3, 4, 5, 6, 99)] == [0, 1, 2, 3, 4, 5, 5]
