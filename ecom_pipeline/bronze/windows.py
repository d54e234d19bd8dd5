"""Whether a bronze partition loads full or incremental, which source changes it extracts, and where the
checkpoint may move afterwards: the whole decision is `plan_window`.

A daily partition D owns the half-open window of changes D 00:00 <= cursor < D+1 00:00 (UTC). Half-open
windows are what make `updated_at >=` boundaries safe: a row whose cursor equals a boundary belongs to
exactly one window, so it is neither read twice nor skipped.

Incremental runs widen the window backwards to the stored checkpoint, so a day the schedule skipped is caught
up by the next run; a first run (no checkpoint) therefore starts at the epoch and extracts everything. A
re-run of a partition starts no later than its previous run did (read from the partition's manifest), so it
re-extracts the same window and replaces its data with the same rows. Full loads take every row changed
before the window end (and rows without a cursor value). The checkpoint only ever moves to the window end
and only forwards, so backfilling an old partition never rewinds it.

Late-committed rows: a row whose transaction commits after its window ran, with an older `updated_at`
(a long transaction, replica lag), lies before the checkpoint and no later window would read it. So every
incremental run that has a checkpoint also re-reads `overlap` before it (`read_start`), and the writer
drops every row the lake's other incremental partitions already hold (same primary key and record hash,
see overlap.py): a late row lands exactly once, in the first partition that sees it. A re-run reads from
its earlier run's `read_start`, so it re-reads the same range and converges.

The load type comes from the run config's `load_type`, else the run tag `ecom/bronze_load_type`, else
incremental (the schedule sets the tag; a full reload is one tag or config value away).
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LoadType(StrEnum):
    FULL = "full"
    INCREMENTAL = "incremental"


LOAD_TYPE_TAG = "ecom/bronze_load_type"


def _load_type(config_value: str | None, tag_value: str | None) -> LoadType:
    """Run config wins over the run tag; neither set means INCREMENTAL. Accepts either case (`FULL`)."""
    for origin, value in (("run config load_type", config_value), (f"run tag {LOAD_TYPE_TAG}", tag_value)):
        if value is None or value == "":
            continue
        try:
            return LoadType(value.strip().lower())
        except ValueError:
            raise ValueError(
                f"{origin} is {value!r}; expected one of {', '.join(t.value for t in LoadType)}"
            ) from None
    return LoadType.INCREMENTAL


@dataclass(frozen=True)
class ExtractionWindow:
    """`start` None means unbounded below (full load); `end` is exclusive."""

    partition_date: date
    load_type: LoadType
    start: datetime | None
    end: datetime
    checkpoint_before: datetime | None
    read_start: datetime | None = None  # where the query starts: `start`, or earlier by the overlap

    @property
    def query_start(self) -> datetime | None:
        """The lower bound of the query: the overlap's start when there is one, else `start`."""
        if self.start is None:
            return None
        return min(self.start, self.read_start) if self.read_start is not None else self.start

    @property
    def first_run(self) -> bool:
        return self.checkpoint_before is None

    @property
    def advances_checkpoint(self) -> bool:
        return self.checkpoint_before is None or self.end > self.checkpoint_before

    @property
    def caught_up_days(self) -> int:
        """Whole days before the partition that this incremental window re-reads (a skipped day caught up)."""
        if self.start is None:
            return 0
        return max(0, (partition_start(self.partition_date) - self.start).days)


def partition_start(partition_date: date) -> datetime:
    return datetime(partition_date.year, partition_date.month, partition_date.day, tzinfo=UTC)


def plan_window(
    partition_date: date,
    now: datetime,
    *,
    config_load_type: str | None,
    tag_load_type: str | None,
    checkpoint: datetime | None,
    previous_incremental_start: datetime | None,
    overlap: timedelta = timedelta(0),
    previous_read_start: datetime | None = None,
) -> ExtractionWindow:
    """The window partition `partition_date` extracts (the rules are in the module docstring).

    `checkpoint` is the entity's stored last sync time; `previous_incremental_start` the window start recorded
    in the manifest of this partition's earlier incremental run (None when it never ran), and
    `previous_read_start` that run's query start (its overlap included). Raises ValueError
    for an unknown load type or a partition whose day has not started.
    """
    load_type = _load_type(config_load_type, tag_load_type)
    start_of_day = partition_start(partition_date)
    if now <= start_of_day:
        raise ValueError(
            f"partition {partition_date.isoformat()} has not started yet (now is {now.isoformat()})"
        )
    # A partition whose day is not over yet only covers what has happened so far.
    end = min(start_of_day + timedelta(days=1), now.astimezone(UTC))
    if load_type is LoadType.FULL:
        return ExtractionWindow(partition_date, load_type, None, end, checkpoint)
    candidates = [start_of_day, checkpoint or EPOCH]
    if previous_incremental_start is not None:
        candidates.append(previous_incremental_start)
    start = min(candidates)
    reads = [start]
    if checkpoint is not None:
        reads.append(max(EPOCH, checkpoint - overlap))
    if previous_read_start is not None:
        reads.append(previous_read_start)
    return ExtractionWindow(partition_date, load_type, start, end, checkpoint, read_start=min(reads))
