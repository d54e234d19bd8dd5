"""The upload sensor's cursor: a StartAfter key per vendor folder plus a slow safety-net sweep.

S3 lists keys in UTF-8 binary order, not in upload order, and vendor folders are not time-ordered: a single
global StartAfter cursor would never see `uploads/VEND001/x.csv` once it had passed `uploads/VEND002/...`.

- Fast path: one `StartAfter` cursor per vendor folder, so a tick lists only keys after the last one seen in
  each folder: O(vendors + new keys) per tick instead of O(objects). A new vendor folder starts from its
  beginning. Still missed: a file named lower than its own folder's cursor (`a.csv` after `b.csv`) and an
  overwritten key.
- Sweep: a bounded page of the whole prefix per tick, resuming where the last tick stopped; it requests only
  objects modified since the previous pass began (minus a clock margin), so every object is seen by at least
  one pass that started after it was written. Latency for those stragglers is up to two passes
  (objects / keys-per-tick ticks); duplicates with the fast path share a run key, so Dagster drops them.

It follows the shared cursor convention (`from_json` / `to_json`, see ecom_pipeline/sensor_cursors.py) but is
not a `LastModifiedCursor`: S3 cannot list by LastModified, so a high-water mark of it would still need a full
listing every tick, which the per-folder StartAfter keys avoid. The JSON (`"v": 1`) is what deployed sensors
have stored; changing its shape needs a new version that still reads version 1.
"""

import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta

SWEEP_CLOCK_MARGIN = timedelta(minutes=15)  # S3 LastModified vs. the sensor's clock
_VERSION = 1


@dataclass
class UploadSensorCursor:
    vendor_after: dict[str, str] = field(default_factory=dict)  # vendor folder -> last key handled there
    sweep_after: str = ""  # the sweep pass continues after this key ("" = from the start)
    sweep_started: datetime | None = None  # when the running sweep pass began
    sweep_since: datetime | None = None  # the running pass requests objects modified at or after this

    @classmethod
    def from_json(cls, text: str | None) -> "UploadSensorCursor":
        if not text:
            return cls()
        raw = json.loads(text)
        if raw.get("v") != _VERSION:
            raise ValueError(f"upload sensor cursor version {raw.get('v')!r} is not {_VERSION}")
        return cls(
            vendor_after=dict(raw.get("vendors", {})),
            sweep_after=raw.get("sweep_after", ""),
            sweep_started=_parse(raw.get("sweep_started")),
            sweep_since=_parse(raw.get("sweep_since")),
        )

    def to_json(self) -> str:
        return json.dumps(
            {
                "v": _VERSION,
                "vendors": dict(sorted(self.vendor_after.items())),
                "sweep_after": self.sweep_after,
                "sweep_started": _format(self.sweep_started),
                "sweep_since": _format(self.sweep_since),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )

    def start_if_new(self, now: datetime) -> None:
        """First tick: the fast path lists everything, so the first sweep pass only needs recent objects."""
        if self.sweep_started is None:
            self.sweep_started = now
            self.sweep_since = now - SWEEP_CLOCK_MARGIN

    def finish_sweep_pass(self, now: datetime) -> None:
        """The next pass requests what was modified since this pass began (it may have been missed)."""
        assert self.sweep_started is not None
        self.sweep_since = self.sweep_started - SWEEP_CLOCK_MARGIN
        self.sweep_started = now
        self.sweep_after = ""

    def sweep_wants(self, last_modified: datetime) -> bool:
        return self.sweep_since is None or last_modified >= self.sweep_since


def _format(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None
