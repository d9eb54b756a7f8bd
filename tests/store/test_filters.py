"""compile_filter / matches: pure functions, no Redis."""

from __future__ import annotations

import pytest

from langmem_ext.store._keys import eq_token, numeric_field
from langmem_ext.store.filters import InvalidFilterError, compile_filter, matches


def _all(path: tuple[str, ...]) -> bool:
    return True


def test_user_text_never_reaches_the_query() -> None:
    evil = '"}) | @p:{*} -@r:{1} =>[KNN 9 @vec $B]'
    plan = compile_filter({evil: evil, "n": {"$in": [evil, 1]}}, has_numeric=_all)
    query = " ".join(plan.clauses)
    assert evil not in query and "KNN" not in query and "*" not in query
    assert eq_token((evil,), evil) in query


def test_equal_python_values_share_a_token() -> None:
    assert eq_token(("a",), 1) == eq_token(("a",), 1.0) == eq_token(("a",), True)
    assert eq_token(("a",), "1") != eq_token(("a",), 1)
    assert eq_token(("a",), 2**60 + 1) != eq_token(("a",), float(2**60))


def test_ranges_use_numeric_fields_and_unknown_paths_are_impossible() -> None:
    plan = compile_filter({"score": {"$gt": 3.2, "$lte": 9}}, has_numeric=_all)
    assert plan.clauses == [f"@{numeric_field(('score',))}:[(3.2 +inf]", f"@{numeric_field(('score',))}:[-inf 9.0]"]
    assert compile_filter({"score": {"$gt": 1}}, has_numeric=lambda p: False).impossible
    assert compile_filter({"score": {"$in": []}}, has_numeric=_all).impossible


def test_inexact_filters_are_flagged_for_python_checks() -> None:
    assert not compile_filter({"a": [{"x": 1}]}, has_numeric=_all).exact
    assert not compile_filter({"a": {"b": {"c": {"d": {"$gt": 1}}}}}, has_numeric=_all).exact
    assert compile_filter({"a": {"b": 1}}, has_numeric=_all).exact


@pytest.mark.parametrize(
    "flt, fix",
    [({"a": {"$regex": "x"}}, "Unsupported filter operator"), ({"a": {"$gt": "3"}}, "needs a number"),
     ({"a": {"$in": 3}}, "needs a list"), ({"a": {"$eq": 1, "b": 2}}, "mixes operators")],
)
def test_bad_filters_name_the_fix(flt: dict, fix: str) -> None:
    with pytest.raises(InvalidFilterError, match=fix):
        compile_filter(flt, has_numeric=_all)


def test_matches_follows_inmemorystore() -> None:
    value = {"a": {"b": 1, "c": [1, 2]}, "s": "x", "t": True}
    assert matches(value, {"a": {"b": 1}})
    assert matches(value, {"a": {"c": [1, 2]}})
    assert not matches(value, {"a": {"c": [1]}})
    assert matches(value, {"t": 1})
    assert matches(value, {"missing": {"$ne": 1}})
    assert matches(value, {"missing": None})
    assert not matches(value, {"missing": {"$gt": 0}})
    assert matches(value, {"s": {"$in": ["y", "x"]}})
