"""Key names: reversible, unambiguous, one cluster slot per thread."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from redis.crc import key_slot

from langmem_ext.checkpoint._keys import esc, member, split_member, thread_keys, unesc

names = st.text(alphabet=st.characters(codec="utf-8"), max_size=20) | st.sampled_from(
    ["", "|", "{", "}", "%7C", "a|b", "{x}", "ns:1|2", "\n", "%", "é|{}"]
)


@settings(max_examples=200, deadline=None)
@given(names)
def test_escape_round_trips_and_removes_separators(text: str) -> None:
    escaped = esc(text)
    assert unesc(escaped) == text
    assert not set("|{}\n") & set(escaped)


@settings(max_examples=200, deadline=None)
@given(names, names)
def test_member_splits_back_into_its_parts(ns: str, cid: str) -> None:
    assert split_member(member(ns, cid)) == (ns, cid)
    assert split_member(member(ns, cid).encode()) == (ns, cid)


@settings(max_examples=100, deadline=None)
@given(names, names)
def test_distinct_threads_never_share_keys_and_each_thread_is_one_slot(a: str, b: str) -> None:
    ka, kb = thread_keys("p", a), thread_keys("p", b)
    assert len({key_slot(k.encode()) for k in ka}) == 1
    if a != b:
        assert not set(ka) & set(kb)


def test_namespace_prefix_does_not_match_a_longer_namespace() -> None:
    # "a|" must not be a prefix of any member of namespace "a|b" (an exact-namespace range).
    assert not member("a|b", "1").startswith(esc("a") + "|")
    assert member("a", "1").startswith(esc("a") + "|")
