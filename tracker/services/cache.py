"""Caches keyed by the data stamp (services.datastamp): a page built once serves until someone writes."""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import TypeVar

T = TypeVar("T")


class StampedCache:
    """A small, thread-safe, least-recently-used cache whose entries are valid for one stamp.

    Each process has its own; the stamp in the database keeps them all honest.
    """

    def __init__(self, size: int = 128) -> None:
        self.size = size
        self._entries: OrderedDict[Hashable, tuple[int, object]] = OrderedDict()
        self._lock = threading.Lock()

    def get_or_build(self, stamp: int | None, key: Hashable, build: Callable[[], T]) -> T:
        """The value cached for this key at this stamp, else build() (cached for next time; never for stamp None)."""
        if stamp is None:
            return build()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == stamp:
                self._entries.move_to_end(key)
                return entry[1]  # type: ignore[return-value]
        value = build()
        with self._lock:
            self._entries[key] = (stamp, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._entries.clear()
