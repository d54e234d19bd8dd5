"""moto's server (S3, DynamoDB, Secrets Manager, SQS, SNS, CloudWatch, IAM, Lambda, ...) with local Lambda.

`python -m deploy.local.moto_server --port P --state-dir D` installs `lambda_invoke_patch` (handlers run
in local worker processes, no Docker) and then serves moto's WSGI app on 127.0.0.1. `MotoServer` is the
stack's controller for that process.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from pathlib import Path

from deploy.local.process_control import LocalService, ManagedProcess, http_status
from deploy.local.stack_config import HOST, REPO_ROOT, StackConfig

MODULE = "deploy.local.moto_server"


def serve(host: str, port: int, state_dir: Path) -> None:
    os.environ.setdefault("MOTO_PORT", str(port))
    os.environ.setdefault("MOTO_LAMBDA_STUB_ECR", "TRUE")  # Image functions need no image in moto's ECR
    from moto.moto_server.werkzeug_app import (
        DomainDispatcherApplication,
        MotoRequestHandler,
        create_backend_app,
    )
    from werkzeug.serving import make_server

    from deploy.local.lambda_invoke_patch import LocalLambdaSettings, install

    pool = install(
        LocalLambdaSettings(
            state_dir=state_dir,
            moto_url=f"http://{host}:{port}",
            async_retry_delay_s=float(os.environ.get("ECOM_LAMBDA_ASYNC_RETRY_DELAY_SECONDS", "1")),
        )
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per request: the log stays readable
    app = DomainDispatcherApplication(create_backend_app)
    server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    print(f"moto server (local Lambda) on {host}:{port}", file=sys.stderr, flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        pool.shutdown()
        server.server_close()


class MotoServer(LocalService):
    port_variable = "ECOM_MOTO_PORT"

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.process = ManagedProcess(
            name="moto",
            run_dir=config.run_dir,
            logs_dir=config.logs_dir,
            port=config.moto_port,
            cmdline_marker=f"{MODULE} --port {config.moto_port}",
        )

    def is_ready(self) -> bool:
        status = http_status(self.config.moto_port, "/moto-api/")
        return status is not None and status < 500

    def launch(self) -> int:
        argv = [sys.executable, "-m", MODULE, "--port", str(self.config.moto_port)]
        argv += ["--state-dir", str(self.config.state_dir)]
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        return self.process.start(argv, env=env, cwd=REPO_ROOT)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=HOST)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--state-dir", type=Path, required=True)
    args = parser.parse_args(argv)
    serve(args.host, args.port, args.state_dir.resolve())


if __name__ == "__main__":
    main()
