"""What a person needs to act on an upload's rejected rows: each error with its row, value and reason, and the
errors grouped by kind with one real example each.

The groups mask the row's own values (quoted text, numbers) out of the reason, so `price -1 must be ...` and
`price -2 must be ...` count as one kind; each group keeps its first real occurrence, because a masked pattern
alone does not tell the vendor which row to open.
"""

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ecom_pipeline.product_uploads.validation import RowOutcome

VALUE_CHARS = 200  # a value longer than this (a description, say) is cut, with a trailing '…'


@dataclass(frozen=True)
class RejectedField:
    """One error of one rejected row: where it is, what the value was and why it was refused."""

    row_number: int
    line_number: int
    sku: str
    field: str
    value: str
    reason: str


@dataclass(frozen=True)
class ReasonGroup:
    """Errors of one kind (field + masked reason) and the first row that has one."""

    field: str
    pattern: str
    rows: int
    example_row: int
    example_value: str
    example_reason: str


def rejected_fields(outcomes: Iterable[RowOutcome], limit: int | None = None) -> list[RejectedField]:
    """One entry per (row, error) of the rejected rows, in row order; at most `limit` entries."""
    found: list[RejectedField] = []
    for outcome in sorted((o for o in outcomes if o.errors), key=lambda o: o.row_number):
        for error in outcome.errors:
            if limit is not None and len(found) >= limit:
                return found
            found.append(
                RejectedField(
                    outcome.row_number,
                    outcome.line_number,
                    display_value(outcome.product_data.get("sku")),
                    error.field,
                    display_value(outcome.product_data.get(error.field)),
                    error.reason,
                )
            )
    return found


def reason_groups(outcomes: Sequence[RowOutcome]) -> list[ReasonGroup]:
    """Every kind of error of the rejected rows, most frequent first (ties by field and pattern)."""
    counts: dict[tuple[str, str], int] = {}
    first: dict[tuple[str, str], RejectedField] = {}
    for entry in rejected_fields(outcomes):
        key = (entry.field, reason_kind(entry.reason))
        counts[key] = counts.get(key, 0) + 1
        first.setdefault(key, entry)
    ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    return [
        ReasonGroup(
            field,
            pattern,
            count,
            first[(field, pattern)].row_number,
            first[(field, pattern)].value,
            first[(field, pattern)].reason,
        )
        for (field, pattern), count in ranked
    ]


def reason_kind(reason: str) -> str:
    """A reason with quoted values and numbers masked, so 'price -1 ...' and 'price -2 ...' group together."""
    masked = re.sub(r"'[^']*'|\"[^\"]*\"", "'…'", reason)
    return re.sub(r"-?\d+(\.\d+)?", "N", masked)


def display_value(value: Any) -> str:
    """A row's value as the vendor wrote it (typed values print as parsed), '' when absent, cut when long."""
    text = "" if value is None else str(value)
    return text if len(text) <= VALUE_CHARS else text[: VALUE_CHARS - 1] + "…"


def describe_group(group: ReasonGroup) -> str:
    """One log line per kind of error: the pattern, how many, and where to look first."""
    return (
        f"{group.rows} rejected: {group.field}: {group.pattern} "
        f"(e.g. row {group.example_row}, {group.field}={group.example_value!r}: {group.example_reason})"
    )
