"""A small thread-safe least-recently-used mapping (the importance filter's embedding cache)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import MutableMapping
from typing import Any

from langmem_ext._options import check_positive

__all__ = ["LRUCache"]


class LRUCache(MutableMapping[str, Any]):
    """A mapping that keeps the ``maxsize`` most recently used entries.

    Example:
        >>> cache = LRUCache(2)
        >>> cache["a"], cache["b"] = 1, 2
        >>> _ = cache["a"]; cache["c"] = 3
        >>> sorted(cache)
        ['a', 'c']
    """

    def __init__(self, maxsize: int) -> None:
        check_positive("LRUCache", maxsize=maxsize)
        self.maxsize = maxsize
        self._data: OrderedDict[str, Any] = OrderedDict()
        self._lock = threading.Lock()

    def __getitem__(self, key: str) -> Any:
        with self._lock:
            value = self._data[key]
            self._data.move_to_end(key)
            return value

    def __setitem__(self, key: str, value: Any) -> None:
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self.maxsize:
                self._data.popitem(last=False)

    def __delitem__(self, key: str) -> None:
        with self._lock:
            del self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Any:
        return iter(list(self._data))

    def __len__(self) -> int:
        return len(self._data)
