"""Local stand-in for the payments and shipments APIs (seed 001), served from schema `external`.

`python -m deploy.local.source_api --port $ECOM_API_PORT` (started by `make stack-up`), or in tests
`serve_in_thread(dsn, api_key, port=0, ignore_since=(), fail_first=0) -> (server, base_url)`.
"""

from deploy.local.source_api.server import SourceApiServer, serve_in_thread

__all__ = ["SourceApiServer", "serve_in_thread"]
