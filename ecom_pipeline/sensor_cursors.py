"""The one cursor convention of the S3 sensors: a dataclass with `from_json` and `to_json`.

`LastModifiedCursor` is the high-water mark of LastModified plus the object versions (`key@etag`) seen at
exactly that instant: S3 timestamps have one-second resolution, so a file landing (or overwritten) in the
same second as the mark is still found, and one seen already is not offered twice. `pending` holds versions
seen but not yet requestable (their partition does not exist yet): they are offered again every tick.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

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
