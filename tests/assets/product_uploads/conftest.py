"""The `uploads_env` fixture (a private slice of the stack per test) for every product_uploads asset test."""

from tests.assets.product_uploads.sandbox import uploads_env_fixture  # noqa: F401
