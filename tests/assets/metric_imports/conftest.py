"""The metric import sandbox fixtures (`import_env`, `source_schema`) for every test of this folder."""

from tests.assets.metric_imports.sandbox import import_env_fixture, source_schema

__all__ = ["import_env_fixture", "source_schema"]
