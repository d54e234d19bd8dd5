"""InfluxDB 1.x (Debian's `influxdb`, influxd 1.6) as the local time-series store, under `<state>/influxd`.

A real InfluxDB storage engine: nanosecond timestamps, 400 on malformed lines, 400 "partial write" on a
field type conflict, InfluxQL on `/query`. It has no v2 API; the token proxy (`influx_auth_proxy.py`)
translates the v2 write the pipeline uses. The package's own config binds 0.0.0.0:8086 (HTTP) and :8088
(RPC), so the stack writes its own config: every address on 127.0.0.1, HTTP on ECOM_INFLUXD_PORT and the
backup/restore RPC on the next port, so two stacks never collide.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from deploy.local.debian_packages import apt_install
from deploy.local.process_control import LocalService, ManagedProcess, StackError, http_status
from deploy.local.stack_config import HOST, StackConfig


def influxd_binary() -> Path:
    """`influxd` from PATH; installs Debian's `influxdb` package when it is missing."""
    for _attempt in range(2):
        found = shutil.which("influxd")
        if found:
            return Path(found)
        apt_install(["influxdb"])
    raise StackError("influxd not found even after installing the Debian package influxdb")


def render_config(data_dir: Path, http_port: int, rpc_port: int) -> str:
    """influxd's TOML: local-only binds, no usage reporting, no _internal database, quiet logs."""
    return f"""# Written by deploy/local/influxd_server.py; rewritten on every `stack up`.
reporting-disabled = true
bind-address = "{HOST}:{rpc_port}"

[meta]
  dir = "{data_dir / "meta"}"

[data]
  dir = "{data_dir / "data"}"
  wal-dir = "{data_dir / "wal"}"
  query-log-enabled = false

[monitor]
  store-enabled = false

[http]
  enabled = true
  bind-address = "{HOST}:{http_port}"
  auth-enabled = false
  log-enabled = false

[ifql]
  enabled = false

[logging]
  level = "warn"

[subscriber]
  enabled = false

[continuous_queries]
  enabled = false
"""


class InfluxdServer(LocalService):
    """The stack's controller for influxd; its HTTP port is for the proxy and for tests' direct reads."""

    port_variable = "ECOM_INFLUXD_PORT"
    start_timeout = 60.0

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.process = ManagedProcess(
            name="influxd",
            run_dir=config.run_dir,
            logs_dir=config.logs_dir,
            port=config.influxd_port,
            cmdline_marker=str(self.config_file),
        )

    @property
    def config_file(self) -> Path:
        return self.config.influxd_dir / "influxd.conf"

    def is_ready(self) -> bool:
        return http_status(self.config.influxd_port, "/ping") == 204

    def launch(self) -> int:
        data_dir = self.config.influxd_dir
        data_dir.mkdir(parents=True, exist_ok=True)
        rpc_port = self.config.influxd_port + 1
        self.config_file.write_text(render_config(data_dir, self.config.influxd_port, rpc_port))
        return self.process.start([str(influxd_binary()), "run", "-config", str(self.config_file)])
