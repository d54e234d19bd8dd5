"""Metric JSON files in seed 000's format, `[{"name", "value", "timestamp"}, ...]`, good and broken."""

from __future__ import annotations

import json
from datetime import date

import numpy as np

from deploy.local.sources.columns import MICROS, micros_of, rng_for
from deploy.local.sources.vocabulary import METRIC_NAMES

DEFAULT_METRIC_DAY = date(2026, 11, 20)

# Defect name -> what record `index` of the broken file looks like.
METRIC_JSON_DEFECTS: dict[str, str] = {
    "non_numeric_value": 'value is the string "n/a"',
    "missing_name": "the name key is absent",
    "bad_timestamp": 'timestamp is "yesterday"',
    "naive_timestamp": "timestamp has no UTC offset",
    "boolean_value": "value is true",
}


def _records(rows: int, seed: int, day: date) -> list[dict[str, object]]:
    rng = rng_for(seed, f"metric_json/{day.isoformat()}")
    which = rng.integers(0, len(METRIC_NAMES), rows)
    typical = np.array([m[1] for m in METRIC_NAMES])[which]
    spread = np.array([m[2] for m in METRIC_NAMES])[which]
    values = np.round(np.abs(rng.normal(typical, spread)), 4)
    seconds = np.sort(rng.integers(0, 86_400, rows))
    start = micros_of(day) // MICROS
    return [
        {
            "name": METRIC_NAMES[w][0],
            "value": float(v),
            "timestamp": np.datetime_as_string(np.datetime64(start + int(s), "s")) + "Z",
        }
        for w, v, s in zip(which, values, seconds, strict=True)
    ]


def metric_json(rows: int, seed: int = 0, day: date = DEFAULT_METRIC_DAY) -> bytes:
    """`rows` metric records with timestamps inside `day` (UTC, `Z` suffix), in time order."""
    return json.dumps(_records(rows, seed, day), indent=1).encode("utf-8")


def broken_metric_json(
    rows: int = 10,
    seed: int = 0,
    day: date = DEFAULT_METRIC_DAY,
    defect: str = "non_numeric_value",
    index: int = 3,
) -> bytes:
    """Like `metric_json`, except record `index` carries `defect` (see METRIC_JSON_DEFECTS); a correct
    importer rejects the whole file and names that record and field."""
    if not 0 <= index < rows:
        raise ValueError(f"index must be within 0..{rows - 1}, got {index}")
    records = _records(rows, seed, day)
    record = records[index]
    match defect:
        case "non_numeric_value":
            record["value"] = "n/a"
        case "missing_name":
            del record["name"]
        case "bad_timestamp":
            record["timestamp"] = "yesterday"
        case "naive_timestamp":
            record["timestamp"] = str(record["timestamp"]).removesuffix("Z")
        case "boolean_value":
            record["value"] = True
        case _:
            raise ValueError(f"unknown defect {defect!r}; known: {', '.join(METRIC_JSON_DEFECTS)}")
    return json.dumps(records, indent=1).encode("utf-8")


def demo_metric_files(day: date = DEFAULT_METRIC_DAY) -> dict[str, bytes]:
    """Two good files and one with a non-numeric value at record index 3, keyed by S3 key."""
    stamp = day.strftime("%Y%m%d")
    return {
        f"imports/metrics_{stamp}_a.json": metric_json(50, seed=0, day=day),
        f"imports/metrics_{stamp}_b.json": metric_json(50, seed=1, day=day),
        f"imports/metrics_{stamp}_broken.json": broken_metric_json(10, seed=2, day=day),
    }
