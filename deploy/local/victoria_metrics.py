"""VictoriaMetrics (Debian's `victoria-metrics`) as the local time-series store.

It accepts InfluxDB line protocol on `/api/v2/write` and is read back through `/api/v1/export`. It sits
behind the token-checking proxy (`influx_auth_proxy.py`); its own port is for reads in tests and demos.
"""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from deploy.local.debian_packages import apt_install
from deploy.local.process_control import LocalService, ManagedProcess, StackError, http_status
from deploy.local.stack_config import HOST, StackConfig


def victoria_metrics_binary() -> Path:
    for _attempt in range(2):
        found = shutil.which("victoria-metrics")
        if found:
            return Path(found)
        apt_install(["victoria-metrics"])
    raise StackError("victoria-metrics binary not found even after installing the Debian package")


def force_flush(vm_url: str, timeout: float = 10.0) -> None:
    """Make just-written samples visible to export/queries (VM buffers ingested rows for ~1-2 s)."""
    with urllib.request.urlopen(f"{vm_url}/internal/force_flush", timeout=timeout) as response:
        response.read()


class VictoriaMetricsServer(LocalService):
    port_variable = "ECOM_VM_PORT"
    start_timeout = 30.0

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.process = ManagedProcess(
            name="victoria-metrics",
            run_dir=config.run_dir,
            logs_dir=config.logs_dir,
            port=config.vm_port,
            cmdline_marker=str(config.vm_data_dir),
        )

    def is_ready(self) -> bool:
        return http_status(self.config.vm_port, "/health") == 200

    def launch(self) -> int:
        self.config.vm_data_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            str(victoria_metrics_binary()),
            f"-httpListenAddr={HOST}:{self.config.vm_port}",
            f"-storageDataPath={self.config.vm_data_dir}",
            # Test and demo data carry historical timestamps: keep everything (default is 1 month,
            # older samples would be dropped silently).
            "-retentionPeriod=100y",
            # Make points visible to queries right after the write (default hides the last 30 s).
            "-search.latencyOffset=0s",
            "-loggerLevel=WARN",
        ]
        return self.process.start(argv)
