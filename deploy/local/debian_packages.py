"""Install missing Debian packages of the stack with apt-get (only when their binaries are absent)."""

from __future__ import annotations

import os
import shutil
import subprocess

from deploy.local.process_control import StackError


def apt_install(packages: list[str]) -> None:
    """`apt-get update` then a non-interactive install; needs root (the dev machines and CI run as root)."""
    if shutil.which("apt-get") is None:
        raise StackError(f"apt-get not found; install {' '.join(packages)} by hand")
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    print(f"installing Debian packages: {' '.join(packages)}", flush=True)
    for argv in (
        [*prefix, "apt-get", "update", "-q"],
        [*prefix, "apt-get", "install", "-y", "-q", "--no-install-recommends", *packages],
    ):
        result = subprocess.run(argv, env=env, capture_output=True, text=True)
        if result.returncode != 0:
            tail = "\n".join((result.stdout + result.stderr).splitlines()[-15:])
            raise StackError(f"{' '.join(argv)} failed (exit {result.returncode}):\n{tail}")
