"""`_manifest.json`: what the last successful run of a bronze partition committed.

Written after the parts are in place and before the checkpoint moves, so its presence marks a complete
partition. It lets a re-run reuse the earlier window start, lets the checks compare schemas with the previous
partition, and records the lineage of every file (ingestion id, window, checkpoint).
"""

import json
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class PartitionManifest:
    entity: str
    partition_date: str
    load_type: str
    ingestion_id: str
    ingestion_ts: str
    window_start: str | None
    window_end: str
    rows_extracted: int
    rows_written: int
    files: list[dict[str, Any]] = field(default_factory=list)  # key, event_date, rows, bytes
    schema: dict[str, str] = field(default_factory=dict)
    checkpoint_before: str | None = None
    checkpoint_after: str | None = None
    run_id: str | None = None
    read_start: str | None = None  # the query's start, overlap included (None: same as window_start)
    rows_already_held: int = 0  # extracted rows dropped because another partition holds them

    @property
    def read_start_at(self) -> datetime | None:
        return datetime.fromisoformat(self.read_start) if self.read_start else None

    @property
    def window_start_at(self) -> datetime | None:
        """The recorded window start; None for a full load (unbounded below)."""
        return datetime.fromisoformat(self.window_start) if self.window_start else None

    def to_json(self) -> bytes:
        return json.dumps(asdict(self), indent=1, sort_keys=True).encode("utf-8")

    @classmethod
    def from_json(cls, body: bytes, where: str) -> "PartitionManifest":
        try:
            data = json.loads(body)
            return cls(**data)
        except (ValueError, TypeError) as exc:
            raise ValueError(f"{where}: not a bronze partition manifest ({exc})") from None
