"""Lua scripts: each touches only the seven keys of one thread (passed as KEYS, in
:class:`~langmem_ext.checkpoint._keys.ThreadKeys` order), so it runs on one cluster slot.

Only core commands are used (hashes, sorted sets, EXPIRE): they run on Redis >= 7,
Valkey, ElastiCache, Memorystore and Redis Cluster. ``ARGV[1]`` is always the TTL in
seconds (``0`` = leave expiry alone); a positive TTL re-arms the expiry of all seven keys.
"""

from __future__ import annotations

import hashlib
from typing import NamedTuple

__all__ = ["Script", "PUT", "PUT_WRITES", "LOAD", "REMOVE", "DROP", "SNAPSHOT", "ALL"]

_COMMON = r"""
local function touch(ttl)
  if tonumber(ttl) > 0 then
    for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
  end
end
local function chunked(cmd, key, items)
  for i = 1, #items, 1000 do
    redis.call(cmd, key, unpack(items, i, math.min(i + 999, #items)))
  end
end
local function hmget(key, fields)
  local out = {}
  for i = 1, #fields, 1000 do
    local part = redis.call('HMGET', key, unpack(fields, i, math.min(i + 999, #fields)))
    for j = 1, #part do out[#out + 1] = part[j] end
  end
  return out
end
local function writes_of(m)
  return redis.call('ZRANGE', KEYS[5], '[' .. m .. '|', '(' .. m .. '|\255', 'BYLEX')
end
"""


class Script(NamedTuple):
    """A Lua script and its SHA1 (for EVALSHA)."""

    name: str
    source: str
    sha: str


def _script(name: str, body: str) -> Script:
    source = _COMMON + body
    return Script(name, source, hashlib.sha1(source.encode()).hexdigest())


PUT = _script(
    "put",
    r"""
-- ARGV: ttl, member, record, refs, run_member ('' = none), blob field/value pairs...
-- Returns 1 if the thread had no checkpoint before (so the caller registers it).
local fresh = redis.call('EXISTS', KEYS[1]) == 0
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[2], ARGV[4])
redis.call('ZADD', KEYS[1], 0, ARGV[2])
if ARGV[5] ~= '' then redis.call('ZADD', KEYS[7], 0, ARGV[5]) end
for i = 6, #ARGV, 1000 do
  redis.call('HSET', KEYS[4], unpack(ARGV, i, math.min(i + 999, #ARGV)))
end
touch(ARGV[1])
if fresh then return 1 end
return 0
""",
)

PUT_WRITES = _script(
    "put_writes",
    r"""
-- ARGV: ttl, then triples (field, value, overwrite '1' | keep-first '0')
for i = 2, #ARGV, 3 do
  if ARGV[i + 2] == '1' then
    redis.call('HSET', KEYS[6], ARGV[i], ARGV[i + 1])
  else
    redis.call('HSETNX', KEYS[6], ARGV[i], ARGV[i + 1])
  end
  redis.call('ZADD', KEYS[5], 0, ARGV[i])
end
touch(ARGV[1])
return 1
""",
)

LOAD = _script(
    "load",
    r"""
-- ARGV: ttl, mode, meta_only ('1' = members and records only), mode arguments:
--   'latest' prefix | 'ids' member... | 'range' max min limit (-1 = all), newest first
local mode = ARGV[2]
local members
if mode == 'latest' then
  members = redis.call('ZRANGE', KEYS[1], '(' .. ARGV[4] .. '\255', '[' .. ARGV[4],
                       'BYLEX', 'REV', 'LIMIT', 0, 1)
elseif mode == 'ids' then
  members = {}
  for i = 4, #ARGV do members[#members + 1] = ARGV[i] end
elseif tonumber(ARGV[6]) >= 0 then
  members = redis.call('ZRANGE', KEYS[1], ARGV[4], ARGV[5], 'BYLEX', 'REV', 'LIMIT', 0, ARGV[6])
else
  members = redis.call('ZRANGE', KEYS[1], ARGV[4], ARGV[5], 'BYLEX', 'REV')
end
local found, recs = {}, {}
if #members > 0 then
  local raw = hmget(KEYS[2], members)
  for i = 1, #members do
    if raw[i] then found[#found + 1] = members[i]; recs[#recs + 1] = raw[i] end
  end
end
if ARGV[3] == '1' or #found == 0 then return {found, recs} end
local refs = hmget(KEYS[3], found)
local seen, fields = {}, {}
for i = 1, #refs do
  if refs[i] then
    for f in string.gmatch(refs[i], '[^\n]+') do
      if not seen[f] then seen[f] = true; fields[#fields + 1] = f end
    end
  end
end
local values = {}
if #fields > 0 then values = hmget(KEYS[4], fields) end
local writes = {}
for i = 1, #found do
  local wf = writes_of(found[i])
  if #wf > 0 then writes[i] = hmget(KEYS[6], wf) else writes[i] = {} end
end
touch(ARGV[1])
return {found, recs, fields, values, writes}
""",
)

REMOVE = _script(
    "remove",
    r"""
-- ARGV: ttl, mode ('runs' run_prefix... | 'keep_latest'); deletes checkpoints, their
-- writes and run entries, then every blob no remaining checkpoint refers to.
local doomed, list = {}, {}
if ARGV[2] == 'runs' then
  for i = 3, #ARGV do
    local p = ARGV[i]
    for _, x in ipairs(redis.call('ZRANGE', KEYS[7], '[' .. p, '(' .. p .. '\255', 'BYLEX')) do
      local m = string.sub(x, #p + 1)
      if not doomed[m] then doomed[m] = true; list[#list + 1] = m end
    end
  end
else
  local all = redis.call('ZRANGE', KEYS[1], 0, -1)
  for i = 1, #all - 1 do
    if string.match(all[i], '^[^|]*') == string.match(all[i + 1], '^[^|]*') then
      doomed[all[i]] = true; list[#list + 1] = all[i]
    end
  end
end
if #list == 0 then return 0 end
chunked('HDEL', KEYS[2], list)
chunked('HDEL', KEYS[3], list)
chunked('ZREM', KEYS[1], list)
for _, m in ipairs(list) do
  local wf = writes_of(m)
  if #wf > 0 then chunked('HDEL', KEYS[6], wf); chunked('ZREM', KEYS[5], wf) end
end
local rdel = {}
for _, x in ipairs(redis.call('ZRANGE', KEYS[7], 0, -1)) do
  if doomed[string.match(x, '^[^|]*|(.*)$')] then rdel[#rdel + 1] = x end
end
if #rdel > 0 then chunked('ZREM', KEYS[7], rdel) end
local keep = {}
for _, r in ipairs(redis.call('HVALS', KEYS[3])) do
  for f in string.gmatch(r, '[^\n]+') do keep[f] = true end
end
local bdel = {}
for _, f in ipairs(redis.call('HKEYS', KEYS[4])) do
  if not keep[f] then bdel[#bdel + 1] = f end
end
if #bdel > 0 then chunked('HDEL', KEYS[4], bdel) end
touch(ARGV[1])
return #list
""",
)

DROP = _script(
    "drop",
    r"""
-- Delete the whole thread; return its run entries so the caller can clean run registries.
local runs = redis.call('ZRANGE', KEYS[7], 0, -1)
redis.call('DEL', unpack(KEYS))
return runs
""",
)

SNAPSHOT = _script(
    "snapshot",
    r"""
-- A consistent copy of a thread's contents (for copy_thread).
return {redis.call('HGETALL', KEYS[2]), redis.call('HGETALL', KEYS[3]),
        redis.call('HGETALL', KEYS[4]), redis.call('HGETALL', KEYS[6]),
        redis.call('ZRANGE', KEYS[1], 0, -1), redis.call('ZRANGE', KEYS[5], 0, -1),
        redis.call('ZRANGE', KEYS[7], 0, -1)}
""",
)

ALL = (PUT, PUT_WRITES, LOAD, REMOVE, DROP, SNAPSHOT)
