"""The one cursor convention of the S3 sensors: a dataclass with `from_json` and `to_json`.

`LastModifiedCursor` is the high-water mark of LastModified plus the object versions (`key@etag`) seen at
exactly that instant: S3 timestamps have one-second resolution, so a file landing (or overwritten) in the
same second as the mark is still found, and one seen already is not offered twice. `pending` holds versions
seen but not yet requestable (their partition does not exist yet): they are offered again every tick.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from ecom_pipeline.s3_objects import S3ObjectVersion


@dataclass(frozen=True)
class LastModifiedCursor:
    last_modified: datetime | None = None
    versions_at_last_modified: frozenset[str] = frozenset()
    pending: frozenset[str] = frozenset()

    @classmethod
    def from_json(cls, text: str | None) -> LastModifiedCursor:
        if not text:
            return cls()
        data = json.loads(text)
        stamp = data.get("last_modified")
        return cls(
            datetime.fromisoformat(stamp) if stamp else None,
            frozenset(data.get("versions", ())),
            frozenset(data.get("pending", ())),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "last_modified": self.last_modified.isoformat() if self.last_modified else None,
                "versions": sorted(self.versions_at_last_modified),
                "pending": sorted(self.pending),
            }
        )

    def is_new(self, obj: S3ObjectVersion) -> bool:
        if (
            obj.version in self.pending
            or self.last_modified is None
            or obj.last_modified > self.last_modified
        ):
            return True
        return obj.last_modified == self.last_modified and obj.version not in self.versions_at_last_modified

    def with_pending(self, versions: Iterable[str]) -> LastModifiedCursor:
        return replace(self, pending=frozenset(versions))

    def select_new(
        self, objects: Iterable[S3ObjectVersion], limit: int | None = None
    ) -> tuple[list[S3ObjectVersion], LastModifiedCursor]:
        """The oldest `limit` objects not seen yet (pending ones included) and the cursor after them.

        Objects beyond the limit stay after the cursor for the next tick. The returned cursor has no pending
        versions: the caller sets those it still cannot request.
        """
        fresh = sorted((o for o in objects if self.is_new(o)), key=lambda o: (o.last_modified, o.key))
        fresh = fresh[:limit] if limit is not None else fresh
        if not fresh:
            return [], self
        newest = max(fresh[-1].last_modified, self.last_modified or fresh[-1].last_modified)
        at_newest = {o.version for o in fresh if o.last_modified == newest}
        if newest == self.last_modified:
            at_newest |= self.versions_at_last_modified
        return fresh, LastModifiedCursor(newest, frozenset(at_newest))


SCAN_CLOCK_MARGIN = timedelta(minutes=15)  # S3 LastModified against the sensor's clock
_SCAN_VERSION = 1


@dataclass
class PrefixScanCursor:
    """A bounded scan of a prefix: a `StartAfter` key per folder (the fast path) and a reconciliation pass
    that reads one page of the whole prefix per tick, resuming where the last tick stopped.

    - Fast path: S3 lists in key order, so each tick lists only keys after the last one handled in each
      folder: O(folders + new keys) per tick, whatever the bucket holds. It misses a key that sorts before
      its folder's cursor (a late file with a low name) and an overwritten key.
    - Reconciliation: one page per tick across the prefix. A pass offers the versions modified since the
      previous pass began (minus `SCAN_CLOCK_MARGIN`) that were not offered yet, so every version is offered
      by a pass that started after it was written; the caller may offer older ones too (from its own store).
    - `offered`: versions offered (by either path) that are still inside that window, with their
      LastModified, so neither path offers a version twice; pruned as the window moves on.
    - `seen` is what a cursor of the earlier full-listing sensors (`LastModifiedCursor` JSON) had handled: the
      fast path skips those versions, so switching a deployed sensor to this cursor requests nothing twice.
      A sensor without a cursor starts with an empty `seen` (everything is new), as before.
    - `pending`: versions found but not requestable yet (their partition does not exist): offered again.

    JSON: `{"v": 1, ...}`; a text without `"v"` is read as a `LastModifiedCursor` (the earlier sensors').
    """

    seen: LastModifiedCursor = field(default_factory=LastModifiedCursor)
    after: dict[str, str] = field(default_factory=dict)  # folder prefix -> last key the fast path handled
    pending: frozenset[str] = frozenset()
    offered: dict[str, datetime] = field(default_factory=dict)  # version -> its LastModified
    sweep_after: str = ""  # the reconciliation pass continues after this key ("" = from the start)
    sweep_started: datetime | None = None
    sweep_since: datetime | None = None  # the running pass offers versions modified at or after this
    passes: int = 0  # finished reconciliation passes

    @classmethod
    def from_json(cls, text: str | None) -> PrefixScanCursor:
        if not text:
            return cls()
        raw = json.loads(text)
        if "v" not in raw:  # stored by the full-listing sensors: what they had seen stays seen
            legacy = LastModifiedCursor.from_json(text)
            return cls(seen=replace(legacy, pending=frozenset()), pending=legacy.pending)
        if raw["v"] != _SCAN_VERSION:
            raise ValueError(f"prefix scan cursor version {raw['v']!r} is not {_SCAN_VERSION}")
        seen = raw.get("seen") or {}
        return cls(
            seen=LastModifiedCursor(_moment(seen.get("last_modified")), frozenset(seen.get("versions", ()))),
            after=dict(raw.get("after", {})),
            pending=frozenset(raw.get("pending", ())),
            offered={version: datetime.fromisoformat(at) for version, at in raw.get("offered", {}).items()},
            sweep_after=raw.get("sweep_after", ""),
            sweep_started=_moment(raw.get("sweep_started")),
            sweep_since=_moment(raw.get("sweep_since")),
            passes=int(raw.get("passes", 0)),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": _SCAN_VERSION,
                "seen": {
                    "last_modified": _text(self.seen.last_modified),
                    "versions": sorted(self.seen.versions_at_last_modified),
                },
                "after": dict(sorted(self.after.items())),
                "pending": sorted(self.pending),
                "offered": {version: at.isoformat() for version, at in sorted(self.offered.items())},
                "sweep_after": self.sweep_after,
                "sweep_started": _text(self.sweep_started),
                "sweep_since": _text(self.sweep_since),
                "passes": self.passes,
            },
            ensure_ascii=False,
        )

    def fast_path_wants(self, obj: S3ObjectVersion) -> bool:
        """A key after its folder's cursor: new unless the earlier cursor or this one has offered it."""
        return self.seen.is_new(obj) and obj.version not in self.offered

    def in_window(self, obj: S3ObjectVersion) -> bool:
        """Modified since the running pass's window began: a pass offers it (once)."""
        return self.sweep_since is None or obj.last_modified >= self.sweep_since

    def sweep_wants(self, obj: S3ObjectVersion) -> bool:
        """Modified inside the running pass's window and not offered yet."""
        return self.in_window(obj) and obj.version not in self.offered

    def offer(self, obj: S3ObjectVersion) -> None:
        """Remember an offered version while a pass could still offer it (older ones it never would)."""
        if self.in_window(obj):
            self.offered[obj.version] = obj.last_modified

    def start_pass_if_new(self, now: datetime) -> None:
        """The first pass offers only recent versions: the fast path lists everything else once anyway."""
        if self.sweep_started is None:
            self.sweep_started = now
            self.sweep_since = now - SCAN_CLOCK_MARGIN

    def finish_pass(self, now: datetime) -> None:
        """The next pass offers what was modified since this one began; older offers leave the cursor."""
        assert self.sweep_started is not None
        self.sweep_since = self.sweep_started - SCAN_CLOCK_MARGIN
        self.sweep_started = now
        self.sweep_after = ""
        self.passes += 1
        since = self.sweep_since
        self.offered = {version: at for version, at in self.offered.items() if at >= since}


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _text(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None
