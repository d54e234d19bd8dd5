"""Where the local stack keeps its state, which ports it binds, and the AWS names it bootstraps.

One place for every name, so `stack.py`, `aws_bootstrap.py` and `stack_env.py` cannot drift apart. All
values follow docs/CONTRACTS.md; ports and the state directory can be overridden from the environment
(ECOM_*_PORT, ECOM_STACK_DIR) so a second, throwaway stack can run beside the shared one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
HOST = "127.0.0.1"
REGION = "us-east-1"
LOCAL_AWS_KEY = "testing"

DEFAULT_PORTS = {
    "ECOM_PG_PORT": 55432,
    "ECOM_MOTO_PORT": 55000,
    "ECOM_INFLUX_PORT": 58086,
    "ECOM_INFLUXD_PORT": 58087,  # influxd itself; its RPC (backup/restore) binds the next port
    "ECOM_API_PORT": 58090,
}


@dataclass(frozen=True)
class AwsNames:
    """Bucket, table, queue, topic and secret names of one environment (`ECOM_ENV`)."""

    env: str = "local"

    @property
    def buckets(self) -> dict[str, str]:
        return {
            "LAKE_BUCKET": f"ecom-lake-{self.env}",
            "UPLOADS_BUCKET": f"ecom-product-uploads-{self.env}",
            "SERIES_BUCKET": f"ecom-energy-series-{self.env}",
            "IMPORTS_BUCKET": f"ecom-metric-imports-{self.env}",
            "DAGSTER_LOGS_BUCKET": f"ecom-dagster-logs-{self.env}",
        }

    @property
    def checkpoint_table(self) -> str:
        return f"ecom-bronze-checkpoints-{self.env}"

    @property
    def upload_records_table(self) -> str:
        return f"UploadRecords-{self.env}"

    @property
    def queues(self) -> dict[str, str]:
        """Environment variable of the queue URL -> queue name."""
        return {
            "UPLOAD_ERRORS_QUEUE_URL": f"ecom-upload-errors-{self.env}",
            "IMPORT_DLQ_URL": f"ecom-metric-import-dlq-{self.env}",
            "LAMBDA_DLQ_URL": f"lambda-dlq-{self.env}",
        }

    @property
    def notifications_topic(self) -> str:
        return f"ecom-pipeline-notifications-{self.env}"

    rds_secret: str = "ecommerce/rds/credentials"
    api_key_secret: str = "ecom-payments-api-key"
    influx_token_secret: str = "ecom/influxdb/token"
    influx_org: str = "ecom"
    influx_bucket: str = "energy"


@dataclass(frozen=True)
class StackConfig:
    """Resolved paths and ports of one local stack instance."""

    state_dir: Path
    pg_port: int
    moto_port: int
    influx_port: int
    influxd_port: int
    api_port: int
    names: AwsNames = field(default_factory=AwsNames)

    @classmethod
    def from_env(cls, state_dir: str | os.PathLike[str] | None = None) -> StackConfig:
        chosen = state_dir or os.environ.get("ECOM_STACK_DIR") or REPO_ROOT / ".local"
        ports = {name: int(os.environ.get(name, default)) for name, default in DEFAULT_PORTS.items()}
        return cls(
            state_dir=Path(chosen).resolve(),
            pg_port=ports["ECOM_PG_PORT"],
            moto_port=ports["ECOM_MOTO_PORT"],
            influx_port=ports["ECOM_INFLUX_PORT"],
            influxd_port=ports["ECOM_INFLUXD_PORT"],
            api_port=ports["ECOM_API_PORT"],
        )

    @property
    def logs_dir(self) -> Path:
        return self.state_dir / "logs"

    @property
    def run_dir(self) -> Path:
        """Pid files of every process the stack started."""
        return self.state_dir / "run"

    @property
    def pg_data_dir(self) -> Path:
        return self.state_dir / "pg"

    @property
    def pg_socket_dir(self) -> Path:
        return self.state_dir / "pg_socket"

    @property
    def influxd_dir(self) -> Path:
        """influxd's config, meta, data and WAL."""
        return self.state_dir / "influxd"

    @property
    def dagster_home(self) -> Path:
        return self.state_dir / "dagster_home"

    @property
    def secrets_file(self) -> Path:
        """Generated local credentials (mode 0600); never printed."""
        return self.state_dir / "local_credentials.json"

    @property
    def env_file(self) -> Path:
        return self.state_dir / "stack.env"

    @property
    def lambda_logs_dir(self) -> Path:
        return self.logs_dir / "lambda"

    @property
    def moto_url(self) -> str:
        return f"http://{HOST}:{self.moto_port}"

    @property
    def influxd_url(self) -> str:
        return f"http://{HOST}:{self.influxd_port}"

    @property
    def influx_url(self) -> str:
        return f"http://{HOST}:{self.influx_port}"

    @property
    def api_url(self) -> str:
        return f"http://{HOST}:{self.api_port}"

    def ensure_dirs(self) -> None:
        for directory in (self.state_dir, self.logs_dir, self.run_dir, self.lambda_logs_dir):
            directory.mkdir(parents=True, exist_ok=True)
