"""_keys: the token builders of puts agree with the ones filters use (pure, no Redis)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from langmem_ext.store._keys import _walk, dict_token, eq_token, exists_token, field_tokens


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.text(max_size=6), _json, max_size=4))
def test_field_tokens_are_the_filter_tokens(value: dict) -> None:
    """The fast token builder of puts must agree with the builders the filters use."""
    expected = []
    for path, v in _walk(value, ()):
        expected.append(exists_token(path))
        expected.append(dict_token(path) if isinstance(v, dict) else eq_token(path, v))
    assert field_tokens(value) == expected
