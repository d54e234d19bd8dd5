"""A throwaway PostgreSQL cluster under `<state>/pg`, listening only on 127.0.0.1.

It holds the Dagster instance storage (`dagster` db) and the source database (`ecommerce_platform`).
Started as root, the cluster runs as the `postgres` OS user (PostgreSQL refuses to run as root).
"""

from __future__ import annotations

import glob
import hashlib
import os
import pwd
import shutil
import signal
import subprocess
from pathlib import Path

import psycopg2
from psycopg2 import sql

from deploy.local.debian_packages import apt_install
from deploy.local.process_control import ManagedProcess, StackError, is_alive, port_open, wait_until
from deploy.local.stack_config import HOST, StackConfig

DAGSTER_ROLE = DAGSTER_PASSWORD = DAGSTER_DB = "dagster"
SOURCE_ROLE = "ecom"
SOURCE_DB = "ecommerce_platform"

# Local tuning for a disposable test cluster: durability is traded for speed (fsync and
# synchronous_commit off are NOT acceptable anywhere data matters). Enough connections for eight
# developers' test runs plus Dagster runs against one cluster.
_SERVER_SETTINGS = {
    "listen_addresses": HOST,
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "300",
    "shared_buffers": "256MB",
    "max_wal_size": "2GB",
    "log_min_messages": "warning",
    "log_min_duration_statement": "-1",
}


def pg_bin_dir() -> Path:
    """Newest /usr/lib/postgresql/*/bin holding initdb; installs Debian's `postgresql` when none does."""
    for _attempt in range(2):
        candidates = sorted(
            glob.glob("/usr/lib/postgresql/*/bin/initdb"),
            key=lambda path: int(path.split("/")[4]) if path.split("/")[4].isdigit() else 0,
        )
        if candidates:
            return Path(candidates[-1]).parent
        apt_install(["postgresql"])
    raise StackError("initdb not found under /usr/lib/postgresql/*/bin even after installing postgresql")


def _run_as() -> str | None:
    return "postgres" if os.geteuid() == 0 else None


def _chown_for_postgres(path: Path) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam("postgres")
        os.chown(path, entry.pw_uid, entry.pw_gid)


def cluster_dirs(config: StackConfig) -> tuple[Path, Path]:
    """(data dir, socket dir): under the state dir, unless the `postgres` user cannot reach it.

    A checkout under a private home (e.g. /root, mode 0700) is not traversable by `postgres`; the
    cluster then lives in postgres's own home, keyed by the state dir so each stack keeps its own.
    """
    if os.geteuid() != 0 or _postgres_can_enter(config.state_dir):
        return config.pg_data_dir, config.pg_socket_dir
    home = Path(pwd.getpwnam("postgres").pw_dir) / "ecom-stacks"
    key = hashlib.sha256(str(config.state_dir).encode()).hexdigest()[:12]
    home.mkdir(parents=True, exist_ok=True)
    _chown_for_postgres(home)
    return home / key / "pg", home / key / "pg_socket"


def _postgres_can_enter(directory: Path) -> bool:
    directory.mkdir(parents=True, exist_ok=True)
    return subprocess.run(["runuser", "-u", "postgres", "--", "test", "-x", str(directory)]).returncode == 0


class PostgresServer:
    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.data_dir, self.socket_dir = cluster_dirs(config)
        self.process = ManagedProcess(
            name="postgres",
            run_dir=config.run_dir,
            logs_dir=config.logs_dir,
            port=config.pg_port,
            cmdline_marker=str(self.data_dir),
        )

    def admin_connect(self, dbname: str = "postgres") -> psycopg2.extensions.connection:
        """Superuser connection over the cluster's private Unix socket (trust auth, local only)."""
        return psycopg2.connect(
            host=str(self.socket_dir),
            port=self.config.pg_port,
            user="postgres",
            dbname=dbname,
            connect_timeout=3,
        )

    def is_ready(self) -> bool:
        try:
            conn = self.admin_connect()
        except psycopg2.Error:
            return False
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT 1")
        except psycopg2.Error:
            return False
        finally:
            conn.close()
        return port_open(self.config.pg_port)

    def ensure_running(self) -> str:
        if self.process.running_pid() is not None and self.is_ready():
            return "running"
        if self.process.pid() is not None:  # alive but not answering: repair
            self.process.stop(signal.SIGINT)
        self.process.ensure_port_free("ECOM_PG_PORT")
        bin_dir = pg_bin_dir()
        self._init_cluster(bin_dir)
        self.socket_dir.mkdir(parents=True, exist_ok=True)
        _chown_for_postgres(self.socket_dir)
        settings = {**_SERVER_SETTINGS, "port": str(self.config.pg_port)}
        settings["unix_socket_directories"] = str(self.socket_dir)
        argv = [str(bin_dir / "postgres"), "-D", str(self.data_dir)]
        for key, value in settings.items():
            argv += ["-c", f"{key}={value}"]
        pid = self.process.start(argv, user=_run_as(), cwd=self.data_dir)
        wait_until(
            self.is_ready,
            service="postgres",
            port=self.config.pg_port,
            log_file=self.process.log_file,
            timeout=60,
            alive=lambda: is_alive(pid),  # see LocalService.ensure_running
        )
        return "started"

    def _init_cluster(self, bin_dir: Path) -> None:
        data_dir = self.data_dir
        if (data_dir / "PG_VERSION").exists():
            return
        if data_dir.exists():  # a half-initialised cluster from an interrupted first run
            shutil.rmtree(data_dir)
        data_dir.mkdir(parents=True, mode=0o700)
        _chown_for_postgres(data_dir)
        argv = [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth-local=trust",
            "--auth-host=scram-sha-256",
            "--encoding=UTF8",
            "--no-locale",
            "--no-sync",  # throwaway cluster: skip the final fsync of initdb
        ]
        result = subprocess.run(argv, user=_run_as(), capture_output=True, text=True, cwd=data_dir)
        if result.returncode != 0:
            shutil.rmtree(data_dir, ignore_errors=True)
            raise StackError(f"initdb failed (exit {result.returncode}): {result.stderr.strip()[-2000:]}")

    def provision(self, ecom_password: str) -> None:
        """Create (or re-assert) the roles and databases; the stored password always wins."""
        conn = self.admin_connect()
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                for role, password in ((DAGSTER_ROLE, DAGSTER_PASSWORD), (SOURCE_ROLE, ecom_password)):
                    cur.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,))
                    verb = "ALTER" if cur.fetchone() else "CREATE"
                    cur.execute(
                        sql.SQL(verb + " ROLE {} LOGIN PASSWORD %s").format(sql.Identifier(role)), (password,)
                    )
                for dbname, owner in ((DAGSTER_DB, DAGSTER_ROLE), (SOURCE_DB, SOURCE_ROLE)):
                    cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (dbname,))
                    if not cur.fetchone():
                        cur.execute(
                            sql.SQL("CREATE DATABASE {} OWNER {}").format(
                                sql.Identifier(dbname), sql.Identifier(owner)
                            )
                        )
        finally:
            conn.close()

    def stop(self) -> bool:
        # SIGINT = "fast" shutdown: does not wait for clients (teammates' pools) to disconnect.
        return self.process.stop(signal.SIGINT, timeout=30)
