"""VictoriaMetrics (Debian's `victoria-metrics`) as the local time-series store.

It accepts InfluxDB line protocol on `/api/v2/write` and is read back through `/api/v1/export`. It sits
behind the token-checking proxy (`influx_auth_proxy.py`); its own port is for reads in tests and demos.
"""

from __future__ import annotations

import shutil
import urllib.request
from pathlib import Path

from deploy.local.debian_packages import apt_install
from deploy.local.process_control import ManagedProcess, StackError, wait_until
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


class VictoriaMetricsServer:
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
        try:
            with urllib.request.urlopen(f"{self.config.vm_url}/health", timeout=2) as response:
                return response.status == 200
        except OSError:
            return False

    def ensure_running(self) -> str:
        if self.process.running_pid() is not None and self.is_ready():
            return "running"
        if self.process.pid() is not None:
            self.process.stop()
        self.process.ensure_port_free("ECOM_VM_PORT")
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
        pid = self.process.start(argv)
        wait_until(
            self.is_ready,
            service="victoria-metrics",
            port=self.config.vm_port,
            log_file=self.process.log_file,
            timeout=30,
            alive=lambda: self.process.pid() == pid,
        )
        return "started"

    def stop(self) -> bool:
        return self.process.stop()
