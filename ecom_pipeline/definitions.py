"""The code location: one Definitions object, loaded by workspace.yaml."""

import importlib
import pkgutil
from types import ModuleType

from dagster import (
    Definitions,
    ScheduleDefinition,
    SensorDefinition,
    load_asset_checks_from_modules,
    load_assets_from_modules,
)

import assets
import sensors
from ecom_pipeline.jobs import PIPELINE_JOBS
from resources import build_resources


def _submodules(package: ModuleType) -> list[ModuleType]:
    return [
        importlib.import_module(f"{package.__name__}.{info.name}")
        for info in pkgutil.iter_modules(package.__path__)
        if not info.name.startswith("_")
    ]


def _triggers(modules: list[ModuleType]) -> tuple[list[SensorDefinition], list[ScheduleDefinition]]:
    found_sensors: dict[str, SensorDefinition] = {}
    found_schedules: dict[str, ScheduleDefinition] = {}
    for module in modules:
        for value in vars(module).values():
            if isinstance(value, SensorDefinition):
                found_sensors[value.name] = value
            elif isinstance(value, ScheduleDefinition):
                found_schedules[value.name] = value
    return list(found_sensors.values()), list(found_schedules.values())


_asset_modules = _submodules(assets)
_sensors, _schedules = _triggers(_submodules(sensors))

defs = Definitions(
    assets=load_assets_from_modules(_asset_modules),
    asset_checks=load_asset_checks_from_modules(_asset_modules),
    jobs=PIPELINE_JOBS,
    sensors=_sensors,
    schedules=_schedules,
    resources=build_resources(),
)
