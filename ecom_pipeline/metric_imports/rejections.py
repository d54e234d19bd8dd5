"""Why a metric file is not imported: the reason codes, the problem of one record, and the rejection that
goes to the ledger, the dead-letter queue and the notification."""

from dataclasses import dataclass

# Reason codes: stable strings for DLQ messages, the ledger and alarms.
TOO_LARGE = "too_large"
NOT_UTF8 = "not_utf8"
INVALID_JSON = "invalid_json"
NOT_AN_ARRAY = "not_an_array"
EMPTY_ARRAY = "empty_array"
INVALID_RECORD = "invalid_record"
# Not a rejection: the database kept failing. Dead-lettered and marked failed for the sweep, not quarantined.
DATABASE_ERROR = "database_error"


@dataclass(frozen=True)
class RecordProblem:
    """What is wrong with one record."""

    record_index: int
    field: str | None
    problem: str

    def describe(self) -> str:
        where = f"record {self.record_index}" + (f" field {self.field!r}" if self.field else "")
        return f"{where}: {self.problem}"


@dataclass(frozen=True)
class Rejection:
    """Why a file is not imported. `record_index` is None when the problem is the file as a whole."""

    file_key: str
    reason_code: str
    message: str
    record_index: int | None = None
    field: str | None = None
    invalid_records: int = 0
    total_records: int | None = None
    problems: tuple[RecordProblem, ...] = ()

    def as_dict(self) -> dict[str, object]:
        return {
            "file_key": self.file_key,
            "reason_code": self.reason_code,
            "message": self.message,
            "record_index": self.record_index,
            "field": self.field,
            "invalid_records": self.invalid_records,
            "total_records": self.total_records,
            "problems": [p.describe() for p in self.problems],
        }


class MetricFileRejected(ValueError):
    """Bad input: retrying the same bytes cannot succeed."""

    def __init__(self, rejection: Rejection):
        super().__init__(rejection.message)
        self.rejection = rejection
