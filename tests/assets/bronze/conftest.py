"""The `bronze_sandbox` fixture (an isolated bronze world on the live stack) for every bronze asset test."""

from tests.assets.bronze.sandbox import bronze_sandbox_fixture  # noqa: F401 (fixture)
