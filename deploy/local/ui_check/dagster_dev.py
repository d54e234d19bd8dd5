"""`dagster dev` (webserver and daemon, as `make dev` runs it) on its own port, for the UI check.

Started in its own session so stopping it takes the daemon, the code server and any run worker with it.
Ready means the webserver answers and the code location has loaded (polled through GraphQL: waiting only).
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request
from pathlib import Path

from deploy.local.process_control import ManagedProcess, StackError, port_open, wait_until
from deploy.local.stack_config import REPO_ROOT, StackConfig

DEFAULT_PORT = 3000  # `make dev`'s port; ECOM_DAGSTER_PORT changes both
LOCATION_STATUS_QUERY = (
    "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
    "locationOrLoadError { __typename ... on PythonError { message } } } } } }"
)


def dagster_port() -> int:
    return int(os.environ.get("ECOM_DAGSTER_PORT", DEFAULT_PORT))


class DagsterDev:
    """One `dagster dev -w workspace.yaml` against the stack's instance (DAGSTER_HOME from stack.env)."""

    def __init__(self, config: StackConfig, port: int) -> None:
        self.port = port
        self.process = ManagedProcess(
            name="ui-check-dagster",
            run_dir=config.run_dir,
            logs_dir=config.logs_dir,
            port=port,
            cmdline_marker=f"-p {port}",
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 300.0) -> None:
        if not os.environ.get("DAGSTER_HOME"):
            raise StackError("DAGSTER_HOME is not set: source .local/stack.env (make stack-up writes it)")
        self.process.stop()  # a leftover of an interrupted check
        self.process.ensure_port_free("ECOM_DAGSTER_PORT")
        dagster = Path(sys.executable).with_name("dagster")
        argv = [str(dagster), "dev", "-w", "workspace.yaml", "-h", "127.0.0.1", "-p", str(self.port)]
        pid = self.process.start(argv, cwd=REPO_ROOT)
        wait_until(
            self._location_loaded,
            service="dagster dev",
            port=self.port,
            log_file=self.process.log_file,
            timeout=timeout,
            alive=lambda: self.process.pid() == pid,
        )

    def stop(self) -> None:
        self.process.stop(timeout=30.0)

    def _location_loaded(self) -> bool:
        if not port_open(self.port):
            return False
        entries = self.graphql(LOCATION_STATUS_QUERY)["workspaceOrError"]["locationEntries"]
        if not entries or any(entry["loadStatus"] != "LOADED" for entry in entries):
            return False
        errors = [e for e in entries if e["locationOrLoadError"]["__typename"] == "PythonError"]
        if errors:
            raise StackError(f"code location {errors[0]['name']} failed to load: see {self.process.log_file}")
        return True

    def graphql(self, query: str) -> dict:
        """Run a read-only GraphQL query (used to wait, never to act)."""
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return json.loads(response.read())["data"]
