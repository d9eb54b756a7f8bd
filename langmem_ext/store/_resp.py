"""Reply parsing (RESP2 and RESP3 alike), Lua scripts, and Item building: no I/O.

Example:
    >>> hits = parse_search([1, b"k1", [b"u", b"5"]])
    >>> hits.total, hits.rows[0].id, hits.rows[0].fields["u"]
    (1, 'k1', b'5')
    >>> to_datetime(0).isoformat()
    '1970-01-01T00:00:00+00:00'
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from langgraph.store.base import Item, SearchItem

__all__ = [
    "Check",
    "Embed",
    "EmbedQueries",
    "Pipe",
    "Hit",
    "Hits",
    "TOUCH_LUA",
    "WRITE_LUA",
    "build_item",
    "load_json",
    "parse_aggregate",
    "parse_attributes",
    "parse_search",
    "sha1",
    "to_datetime",
]

@dataclass
class Pipe:
    """Run these commands in one pipelined round trip; errors are returned if ``tolerant``."""

    cmds: list[tuple[Any, ...]]
    tolerant: bool = False


@dataclass
class Embed:
    """Embed these documents with one call."""

    texts: list[str]


@dataclass
class EmbedQueries:
    """Embed these search queries."""

    texts: list[str]


@dataclass
class Check:
    """Check that the server is a Redis with RediSearch."""


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

# KEYS[1] item key. ARGV: expected version ('' = any, '0' = absent), ttl ms ('0' = none),
# now (µs), n = how many item field/value strings follow (0 = delete), those n strings,
# m = how many child field/value strings follow, those m strings, then the vectors (the
# first on the item, the rest on children :1..k). Plain arguments, no JSON to decode; one
# HSET per hash, so RediSearch indexes each document once.
# Returns the new version, 0 after a delete, false on conflict.
WRITE_LUA = """
local key = KEYS[1]
local old = redis.call('HMGET', key, 'ver', 'nv', 'c')
local cur = old[1]
if ARGV[1] ~= '' and (cur or '0') ~= ARGV[1] then return false end
for j = 1, tonumber(old[2] or '0') do redis.call('DEL', key .. ':' .. j) end
if cur then redis.call('DEL', key) end
local n = tonumber(ARGV[4])
if n == 0 then return 0 end
local args = {}
for i = 5, 4 + n do args[i - 4] = ARGV[i] end
local ver = (tonumber(cur) or 0) + 1
args[n + 1] = 'ver'; args[n + 2] = tostring(ver)
args[n + 3] = 'c'; args[n + 4] = old[3] or ARGV[3]
local m = tonumber(ARGV[5 + n])
local v = 6 + n + m
if #ARGV >= v then args[n + 5] = 'vec'; args[n + 6] = ARGV[v] end
redis.call('HSET', key, unpack(args))
local ttl = tonumber(ARGV[2])
if #ARGV > v then
  local common = {}
  for i = 6 + n, 5 + n + m do common[i - 5 - n] = ARGV[i] end
  for j = v + 1, #ARGV do
    local ck = key .. ':' .. (j - v)
    redis.call('HSET', ck, 'vec', ARGV[j], unpack(common))
    if ttl > 0 then redis.call('PEXPIRE', ck, ttl) end
  end
end
if ttl > 0 then redis.call('PEXPIRE', key, ttl) end
return ver
"""

# KEYS[1] item key: re-arm its expiry (and its children's) from its stored ttl.
TOUCH_LUA = """
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl') or '0')
if ttl <= 0 then return 0 end
redis.call('PEXPIRE', KEYS[1], ttl)
local nv = tonumber(redis.call('HGET', KEYS[1], 'nv') or '0')
for j = 1, nv do redis.call('PEXPIRE', KEYS[1] .. ':' .. j, ttl) end
return 1
"""


def sha1(script: str) -> str:
    """The SHA1 Redis uses to name a script."""
    return hashlib.sha1(script.encode()).hexdigest()


def _s(x: Any) -> str:
    return x.decode() if isinstance(x, bytes) else str(x)


@dataclass
class Hit:
    """One search result row."""

    id: str
    fields: dict[str, Any] = field(default_factory=dict)
    score: float | None = None


@dataclass
class Hits:
    """A parsed FT.SEARCH reply."""

    total: int
    rows: list[Hit]


def _pairs(flat: list[Any]) -> dict[str, Any]:
    return {_s(flat[i]): flat[i + 1] for i in range(0, len(flat) - 1, 2)}


def _str_keys(attrs: dict[Any, Any]) -> dict[str, Any]:
    return {(k.decode() if k.__class__ is bytes else k): v for k, v in attrs.items()}


def parse_search(reply: Any, *, withscores: bool = False) -> Hits:
    """Parse FT.SEARCH in either protocol."""
    if isinstance(reply, dict):
        if b"results" in reply:  # RESP3 with bytes keys (decode_responses=False): the hot path
            return Hits(int(reply.get(b"total_results", 0)), [
                Hit(r[b"id"].decode(), _str_keys(r.get(b"extra_attributes") or {}),
                    float(r[b"score"]) if r.get(b"score") is not None else None)
                for r in reply[b"results"]
            ])
        rows = []
        for r in reply.get("results", []):
            attrs = r.get("extra_attributes", {}) or {}
            score = r.get("score")
            rows.append(Hit(_s(r.get("id")), _str_keys(attrs), float(score) if score is not None else None))
        return Hits(int(reply.get("total_results", 0)), rows)
    total, rest, rows = int(reply[0]), list(reply[1:]), []
    step = 3 if withscores else 2
    for i in range(0, len(rest), step):
        score = float(rest[i + 1]) if withscores else None
        fields = rest[i + step - 1] if i + step - 1 < len(rest) else []
        rows.append(Hit(_s(rest[i]), _pairs(list(fields or [])), score))
    return Hits(total, rows)


def parse_aggregate(reply: Any) -> list[dict[str, Any]]:
    """Rows of an FT.AGGREGATE reply, as dicts."""
    if isinstance(reply, dict):
        return [
            {_s(k): v for k, v in (r.get(b"extra_attributes", r.get("extra_attributes", {})) or {}).items()}
            for r in reply.get(b"results", reply.get("results", []))
        ]
    return [_pairs(list(row)) for row in reply[1:]]


def parse_attributes(info: Any) -> dict[str, dict[str, Any]]:
    """Attributes of an FT.INFO reply: identifier -> its properties."""
    if not isinstance(info, dict):
        info = _pairs(list(info))
    attrs = info.get(b"attributes", info.get("attributes", []))
    out: dict[str, dict[str, Any]] = {}
    for a in attrs:
        props = {_s(k): v for k, v in a.items()} if isinstance(a, dict) else _pairs(list(a))
        out[_s(props.get("attribute", props.get("identifier")))] = props
    return out


def to_datetime(micros: Any) -> datetime:
    """A UTC datetime from stored microseconds since the epoch."""
    return _EPOCH + timedelta(microseconds=int(micros))


_DECODER = json.JSONDecoder()


def load_json(raw: bytes | str) -> Any:
    """Decode stored JSON (UTF-8 bytes or text)."""
    return _DECODER.decode(raw.decode() if raw.__class__ is bytes else raw)  # type: ignore[union-attr]


@functools.lru_cache(maxsize=4096)
def _namespace(raw: bytes | str) -> tuple[str, ...]:
    return tuple(load_json(raw))


def build_item(fields: dict[str, Any], score: float | None = None, *, search: bool = False,
               value: Any = None) -> Item:
    """An Item (or SearchItem) from a stored hash's fields (``value``: ``v`` already decoded)."""
    namespace = _namespace(fields["ns"])
    key = fields["k"]
    common = dict(
        namespace=namespace,
        key=key.decode() if key.__class__ is bytes else str(key),
        value=load_json(fields["v"]) if value is None else value,
        created_at=to_datetime(fields["c"]),
        updated_at=to_datetime(fields["u"]),
    )
    if search:
        return SearchItem(**common, score=score)
    return Item(**common)
