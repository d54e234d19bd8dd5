"""Processed energy Parquet (seed 002): one file per (dataset, day) with the dataset's tags and fields.

Every (tag set, timestamp) pair is unique within a file, so each row becomes its own InfluxDB point and a
read-back can count them. `with_invalid` plants rows at known indices (`energy_invalid_rows`): broken field
values a loader must drop, and tag values that are legal but need line-protocol escaping.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from deploy.local.sources.columns import MICROS, micros_of, pick, rng_for

REGIONS = ("north", "northeast", "southeast", "south")
MEASUREMENT_TYPES = ("actual", "forecast")
QUALITY_FLAGS = ("good", "estimated", "suspect")
QUALITY_WEIGHTS = (0.9, 0.08, 0.02)
INVALID_EVERY = 10  # with_invalid: row i with i % 10 == 3 gets a bad field value, i % 10 == 7 odd tag values
_BAD_FIELD_VALUES = (math.nan, math.inf, None, -math.inf)
_ODD_TAG_VALUES = ("south east", "wind,offshore", "a=b", 'north, "quoted" = x')


@dataclass(frozen=True)
class EnergyDataset:
    """One dataset type: its varying tag (besides region/measurement_type/quality_flag) and its fields."""

    tag: str
    tag_values: tuple[str, ...]
    fields: tuple[str, str, str]


ENERGY_DATASETS: dict[str, EnergyDataset] = {
    "generation": EnergyDataset(
        "energy_source",
        ("hydro", "wind", "solar", "thermal", "nuclear", "biomass"),
        ("power_mw", "capacity_factor", "efficiency"),
    ),
    "consumption": EnergyDataset(
        "consumer_type",
        ("residential", "commercial", "industrial", "rural", "public"),
        ("consumption_mwh", "demand_mw", "load_factor"),
    ),
    "transmission": EnergyDataset(
        "line_id",
        tuple(f"LT-{code}-{n:03d}" for code in ("N", "NE", "SE", "S") for n in range(1, 6)),
        ("flow_mw", "losses_mwh", "voltage_kv"),
    ),
}


def energy_key(dataset: str, day: date, part: int = 0) -> str:
    """`processed/dataset={dataset}/date=YYYY-MM-DD/part-00000.parquet` in the series bucket."""
    return f"processed/dataset={dataset}/date={day.isoformat()}/part-{part:05d}.parquet"


def energy_invalid_rows(rows: int) -> dict[int, str]:
    """with_invalid=True: row index -> 'bad_field' (NaN, inf, null or -inf in one field; must be dropped)
    or 'odd_tag' (a tag value with spaces, commas, quotes or '='; valid once escaped)."""
    planted = {i: "bad_field" for i in range(3, rows, INVALID_EVERY)}
    planted.update({i: "odd_tag" for i in range(7, rows, INVALID_EVERY)})
    return dict(sorted(planted.items()))


def energy_parquet(
    dataset: str,
    day: date,
    rows: int,
    seed: int = 0,
    *,
    interval_minutes: int | None = None,
    with_invalid: bool = False,
) -> bytes:
    """Snappy Parquet with `timestamp` (timestamp[us, UTC]) inside `day`, the dataset's tags and its three
    float64 fields. Series (region x tag value x measurement type) take turns; their sampling interval is
    `interval_minutes`, or by default the widest that fits `rows` into the day (down to one second)."""
    if dataset not in ENERGY_DATASETS:
        raise ValueError(f"unknown dataset {dataset!r}; known: {', '.join(ENERGY_DATASETS)}")
    spec = ENERGY_DATASETS[dataset]
    series = len(REGIONS) * len(spec.tag_values) * len(MEASUREMENT_TYPES)
    steps = -(-rows // series) if rows else 0
    step_seconds = interval_minutes * 60 if interval_minutes else max(1, 86_400 // max(steps, 1))
    if steps * step_seconds > 86_400:
        raise ValueError(
            f"{rows} rows of {dataset} do not fit in one day at {step_seconds}s intervals "
            f"({series} series); lower rows or the interval"
        )
    rng = rng_for(seed, f"energy/{dataset}/{day.isoformat()}")
    index = np.arange(rows, dtype=np.int64)
    step, serial = np.divmod(index, series)
    region, rest = np.divmod(serial, len(spec.tag_values) * len(MEASUREMENT_TYPES))
    tag_value, measurement = np.divmod(rest, len(MEASUREMENT_TYPES))
    moment = micros_of(day) + step * step_seconds * MICROS
    hour = (step * step_seconds % 86_400) / 3_600
    fields = _FIELD_BUILDERS[dataset](rng, rows, hour, tag_value, step_seconds)
    tags = {
        "region": pick(REGIONS, region),
        spec.tag: pick(spec.tag_values, tag_value),
        "measurement_type": pick(MEASUREMENT_TYPES, measurement),
        "quality_flag": pick(QUALITY_FLAGS, rng.choice(len(QUALITY_FLAGS), rows, p=QUALITY_WEIGHTS)),
    }
    values = dict(zip(spec.fields, (pa.array(np.round(v, 4)) for v in fields), strict=True))
    if with_invalid:
        tags, values = _plant_invalid(tags, values, spec, rows)
    table = pa.table(
        {"timestamp": pa.array(moment, pa.int64()).cast(pa.timestamp("us", tz="UTC")), **tags, **values}
    )
    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="snappy")
    return buffer.getvalue()


def _plant_invalid(
    tags: dict[str, pa.Array], values: dict[str, pa.Array], spec: EnergyDataset, rows: int
) -> tuple[dict[str, pa.Array], dict[str, pa.Array]]:
    """Bad fields keep their row's tags; odd tag values (suffixed with the row index) put the row in a
    series of its own."""
    tag_lists = {name: column.to_pylist() for name, column in tags.items()}
    value_lists = {name: column.to_pylist() for name, column in values.items()}
    odd_columns = ("region", spec.tag, "measurement_type")
    for n, (i, kind) in enumerate(energy_invalid_rows(rows).items()):
        if kind == "bad_field":
            value_lists[spec.fields[n % 3]][i] = _BAD_FIELD_VALUES[n % len(_BAD_FIELD_VALUES)]
        else:
            tag_lists[odd_columns[n % 3]][i] = f"{_ODD_TAG_VALUES[n % len(_ODD_TAG_VALUES)]} {i}"
    return (
        {name: pa.array(v, pa.string()) for name, v in tag_lists.items()},
        {name: pa.array(v, pa.float64()) for name, v in value_lists.items()},
    )


def _daily_curve(hour: np.ndarray) -> np.ndarray:
    """Demand shape: low at night, peaks around 11:00 and 19:00; between 0.55 and ~1.0."""
    return 0.55 + 0.25 * np.exp(-((hour - 11) ** 2) / 8) + 0.2 * np.exp(-((hour - 19) ** 2) / 4)


def _generation(rng: np.random.Generator, n: int, hour: np.ndarray, source: np.ndarray, step: int) -> tuple:
    capacity = np.array([3_000.0, 800.0, 600.0, 1_200.0, 1_350.0, 250.0])[source]
    factor = np.clip(rng.normal(0.55, 0.15, n), 0.05, 0.98)
    daylight = np.clip(np.sin((hour - 6) / 12 * np.pi), 0, None)
    factor = np.where(source == 2, factor * daylight, factor)  # solar: nothing at night
    power = capacity * factor
    efficiency = np.clip(rng.normal(np.array([0.9, 0.45, 0.2, 0.38, 0.33, 0.3])[source], 0.02, n), 0.1, 0.95)
    return power, factor, efficiency


def _consumption(rng: np.random.Generator, n: int, hour: np.ndarray, kind: np.ndarray, step: int) -> tuple:
    base = np.array([900.0, 600.0, 1_400.0, 120.0, 200.0])[kind]
    demand = base * _daily_curve(hour) * rng.normal(1.0, 0.04, n)
    energy = demand * step / 3_600
    load_factor = np.clip(rng.normal(0.72, 0.08, n), 0.3, 0.98)
    return energy, demand, load_factor


def _transmission(rng: np.random.Generator, n: int, hour: np.ndarray, line: np.ndarray, step: int) -> tuple:
    voltage_class = np.array([230.0, 345.0, 440.0, 500.0, 765.0])[line % 5]
    flow = rng.normal(0, 1, n) * voltage_class * 2 * _daily_curve(hour)  # sign = direction
    losses = np.abs(flow) * rng.uniform(0.01, 0.03, n) * step / 3_600
    voltage = voltage_class * rng.normal(1.0, 0.01, n)
    return flow, losses, voltage


_FIELD_BUILDERS = {"generation": _generation, "consumption": _consumption, "transmission": _transmission}


def demo_energy_files(day: date = date(2026, 11, 20), rows: int = 480) -> dict[str, bytes]:
    """One clean file per dataset for `day`, plus a generation file with planted invalid rows for the day
    before (its own partition, so its points never overwrite the clean file's)."""
    files = {energy_key(name, day): energy_parquet(name, day, rows) for name in ENERGY_DATASETS}
    files[energy_key("generation", day - timedelta(days=1))] = energy_parquet(
        "generation", day - timedelta(days=1), rows, with_invalid=True
    )
    return files
