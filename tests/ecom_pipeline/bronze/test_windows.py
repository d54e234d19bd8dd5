"""`plan_window`: every input of the full-or-incremental decision and the window it yields."""

from datetime import UTC, date, datetime, timedelta

import pytest

from ecom_pipeline.bronze.windows import EPOCH, LoadType, plan_window

DAY = date(2026, 3, 4)
START = datetime(2026, 3, 4, tzinfo=UTC)
END = datetime(2026, 3, 5, tzinfo=UTC)
LATER = datetime(2026, 3, 10, tzinfo=UTC)


def plan(
    checkpoint: datetime | None,
    now: datetime = LATER,
    config: str | None = None,
    tag: str | None = None,
    previous_start: datetime | None = None,
):
    return plan_window(
        DAY,
        now,
        config_load_type=config,
        tag_load_type=tag,
        checkpoint=checkpoint,
        previous_incremental_start=previous_start,
    )


def test_first_incremental_run_starts_at_the_epoch():
    window = plan(checkpoint=None)
    assert (window.start, window.end) == (EPOCH, END)
    assert window.first_run and window.advances_checkpoint


def test_incremental_run_after_the_previous_day_covers_exactly_the_day():
    window = plan(checkpoint=START)
    assert (window.start, window.end) == (START, END)
    assert window.caught_up_days == 0


def test_a_skipped_day_is_caught_up_from_the_checkpoint():
    checkpoint = START - timedelta(days=1)
    window = plan(checkpoint=checkpoint)
    assert window.start == checkpoint and window.caught_up_days == 1


def test_backfilling_an_old_partition_keeps_its_own_window_and_never_rewinds_the_checkpoint():
    window = plan(checkpoint=LATER, now=LATER + timedelta(hours=1))
    assert (window.start, window.end) == (START, END)
    assert not window.advances_checkpoint


def test_a_rerun_reuses_the_earlier_window_start_so_it_rewrites_the_same_rows():
    first_start = START - timedelta(days=2)
    window = plan(checkpoint=END, previous_start=first_start)
    assert window.start == first_start


def test_an_earlier_run_that_started_later_does_not_narrow_the_window():
    checkpoint = START - timedelta(days=1)
    window = plan(checkpoint=checkpoint, previous_start=START)
    assert window.start == checkpoint


def test_full_load_is_unbounded_below():
    window = plan(checkpoint=START, config="full")
    assert window.start is None and window.end == END


def test_full_load_ignores_the_earlier_incremental_start_and_still_advances_from_no_checkpoint():
    window = plan(checkpoint=None, tag="full", previous_start=START - timedelta(days=3))
    assert window.load_type is LoadType.FULL and window.start is None
    assert window.first_run and window.advances_checkpoint and window.caught_up_days == 0


def test_a_day_in_progress_ends_now_and_a_future_day_is_refused():
    now = START + timedelta(hours=5)
    assert plan(checkpoint=START, now=now).end == now
    with pytest.raises(ValueError, match="has not started"):
        plan(checkpoint=START, now=START)


@pytest.mark.parametrize(
    ("config", "tag", "expected"),
    [
        (None, None, LoadType.INCREMENTAL),
        ("", "", LoadType.INCREMENTAL),
        (None, "FULL", LoadType.FULL),
        ("incremental", "full", LoadType.INCREMENTAL),
        ("full", None, LoadType.FULL),
        ("full", "incremental", LoadType.FULL),
        ("", "full", LoadType.FULL),
    ],
)
def test_load_type_config_wins_over_tag(config, tag, expected):
    assert plan(checkpoint=START, config=config, tag=tag).load_type is expected


def test_bad_load_type_names_its_origin():
    with pytest.raises(ValueError, match="run tag ecom/bronze_load_type is 'weekly'"):
        plan(checkpoint=START, tag="weekly")
    with pytest.raises(ValueError, match="run config load_type is 'weekly'"):
        plan(checkpoint=START, config="weekly", tag="full")


def test_incremental_runs_re_read_the_overlap_before_the_checkpoint():
    overlap = timedelta(hours=1)
    kwargs = dict(config_load_type=None, tag_load_type=None, previous_incremental_start=None)
    window = plan_window(DAY, LATER, checkpoint=START, overlap=overlap, **kwargs)
    assert (window.start, window.query_start) == (START, START - overlap)
    assert window.caught_up_days == 0
    # A re-run after the checkpoint moved on re-reads what its earlier run read.
    rerun = plan_window(
        DAY,
        LATER,
        config_load_type=None,
        tag_load_type=None,
        checkpoint=END,
        previous_incremental_start=START,
        overlap=overlap,
        previous_read_start=START - overlap,
    )
    assert (rerun.start, rerun.query_start) == (START, START - overlap)
    assert plan_window(DAY, LATER, checkpoint=None, overlap=overlap, **kwargs).query_start == EPOCH
    full = plan_window(
        DAY, LATER, checkpoint=START, overlap=overlap, **{**kwargs, "config_load_type": "full"}
    )
    assert full.query_start is None
