"""A private influxd with its own token proxy, for tests that stop the server (the shared one stays up)."""

from __future__ import annotations

import random
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from deploy.local.influx_auth_proxy import InfluxAuthProxyServer
from deploy.local.influxd_server import InfluxdServer
from deploy.local.process_control import port_open
from deploy.local.stack_config import StackConfig

TOKEN = "private-influxd-token"


@dataclass
class PrivateInfluxd:
    server: InfluxdServer
    proxy_url: str

    def stop(self) -> None:
        """SIGKILL: the server dies as in a crash, with whatever it had not yet flushed."""
        self.server.process.stop(signal.SIGKILL, timeout=10)

    def start(self) -> str:
        return self.server.ensure_running()


def _free_pair() -> int:
    """A port p with p and p + 1 free, below the ephemeral range (influxd binds p, its RPC p + 1)."""
    low = int(open("/proc/sys/net/ipv4/ip_local_port_range").read().split()[0])
    for port in random.sample(range(20000, min(low, 32000) - 2), 200):
        if not port_open(port) and not port_open(port + 1) and not port_open(port + 2):
            return port
    raise RuntimeError("no free port pair")


@contextmanager
def private_influxd(state_dir: Path) -> Iterator[PrivateInfluxd]:
    influxd_port = _free_pair()
    proxy_port = influxd_port + 2
    config = StackConfig(
        state_dir=state_dir,
        pg_port=0,
        moto_port=0,
        influx_port=proxy_port,
        influxd_port=influxd_port,
        api_port=0,
    )
    config.ensure_dirs()
    server = InfluxdServer(config)
    server.ensure_running()
    proxy = InfluxAuthProxyServer(("127.0.0.1", proxy_port), config.influxd_url, TOKEN)
    thread = threading.Thread(target=proxy.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    try:
        yield PrivateInfluxd(server=server, proxy_url=config.influx_url)
    finally:
        proxy.shutdown()
        proxy.server_close()
        server.stop()
