"""The one result record every benchmark writes, and the table `make bench` prints from them.

A benchmark run with `--record PATH` appends one `RoundResult` (JSON, one line) per round: the round's own
plain reference and pipeline timings on the same workload. `summarize` groups the rounds by (pipeline,
workload) and takes medians; the ratio is the median of the rounds' ratios, not the ratio of medians.
"""

from __future__ import annotations

import json
import resource
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path


def peak_rss_mb() -> float:
    """This process's peak RSS (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


@dataclass(frozen=True)
class RoundResult:
    """One round of one benchmark: the plain reference and the pipeline on the same rows, timed back to back.

    `goal` is printed as is; `goal_max_ratio` (pipeline / plain) decides `met` from the median ratio, from
    `min_rows` rows up (a smaller run is a smoke run: its goal is not judged). Without a ratio goal the
    benchmark decides `met` itself per round (all rounds must meet it).
    """

    pipeline: str
    workload: str
    rows: int
    plain_s: float
    pipeline_s: float
    peak_rss_mb: float
    goal: str
    goal_max_ratio: float | None = None
    min_rows: int = 0
    met: bool | None = None

    @property
    def ratio(self) -> float:
        return self.pipeline_s / self.plain_s


def append_record(path: str | Path, result: RoundResult) -> None:
    with open(path, "a") as handle:
        handle.write(json.dumps(asdict(result)) + "\n")


def read_records(path: str | Path) -> list[RoundResult]:
    lines = Path(path).read_text().splitlines() if Path(path).exists() else []
    return [RoundResult(**json.loads(line)) for line in lines if line.strip()]


@dataclass(frozen=True)
class TableRow:
    pipeline: str
    workload: str
    rounds: int
    plain_s: float
    pipeline_s: float
    ratio: float
    rows_per_s: float
    peak_rss_mb: float
    goal: str
    met: bool | None


def summarize(results: Iterable[RoundResult]) -> list[TableRow]:
    """One row per (pipeline, workload), medians over its rounds, in first-seen order."""
    groups: dict[tuple[str, str], list[RoundResult]] = {}
    for result in results:
        groups.setdefault((result.pipeline, result.workload), []).append(result)
    rows = []
    for (pipeline, workload), rounds in groups.items():
        first = rounds[0]
        ratio = statistics.median(r.ratio for r in rounds)
        pipeline_s = statistics.median(r.pipeline_s for r in rounds)
        if first.goal_max_ratio is not None:
            met = ratio <= first.goal_max_ratio if first.rows >= first.min_rows else None
        elif all(r.met is not None for r in rounds):
            met = all(r.met for r in rounds)
        else:
            met = None
        rows.append(
            TableRow(
                pipeline=pipeline,
                workload=workload,
                rounds=len(rounds),
                plain_s=statistics.median(r.plain_s for r in rounds),
                pipeline_s=pipeline_s,
                ratio=ratio,
                rows_per_s=first.rows / pipeline_s,
                peak_rss_mb=max(r.peak_rss_mb for r in rounds),
                goal=first.goal,
                met=met,
            )
        )
    return rows


COLUMNS = (
    "pipeline",
    "workload",
    "plain reference s",
    "pipeline s",
    "ratio",
    "rows/s",
    "peak RSS MB",
    "goal",
    "met",
)


def _cells(row: TableRow) -> list[str]:
    met = {True: "yes", False: "NO", None: "n/a"}[row.met]
    return [
        row.pipeline,
        row.workload,
        f"{row.plain_s:.2f}",
        f"{row.pipeline_s:.2f}",
        f"{row.ratio:.2f}x",
        f"{row.rows_per_s:,.0f}" if row.rows_per_s >= 100 else f"{row.rows_per_s:.2f}",
        f"{row.peak_rss_mb:.0f}",
        row.goal,
        met,
    ]


def render_table(rows: Sequence[TableRow]) -> str:
    """A plain-text table; ratios are medians of at least `rounds` rounds (noted under the table)."""
    cells = [list(COLUMNS)] + [_cells(row) for row in rows]
    widths = [max(len(line[i]) for line in cells) for i in range(len(COLUMNS))]
    numeric = {2, 3, 4, 5, 6}
    lines = []
    for n, line in enumerate(cells):
        lines.append(
            "  ".join(
                c.rjust(w) if i in numeric and n else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            ).rstrip()
        )
        if n == 0:
            lines.append("  ".join("-" * w for w in widths))
    fewest = min((row.rounds for row in rows), default=0)
    lines.append(
        f"ratio = pipeline / plain, median of {fewest}+ rounds; each round timed its own plain reference"
    )
    return "\n".join(lines)


def table_json(rows: Sequence[TableRow], rounds: Sequence[RoundResult], meta: dict) -> str:
    return json.dumps(
        {
            **meta,
            "table": [asdict(row) for row in rows],
            "rounds": [{**asdict(r), "ratio": r.ratio} for r in rounds],
        },
        indent=2,
    )
