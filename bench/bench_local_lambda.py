"""Latency of the local Lambda Invoke (moto server + reusable worker processes).

Creates a Zip function whose module imports `--import-module` (default dagster, like the step handler),
then measures the cold invoke (new worker: Python start + imports), warm invokes (reused worker) and, as
the fastest plain path over the same HTTP server, moto's GetFunction round trip. Prints median/p95,
invokes/s, the warm/plain ratio and peak RSS of the worker.

    .venv/bin/python bench/bench_local_lambda.py --invocations 200
    .venv/bin/python bench/bench_local_lambda.py --invocations 20 --import-module json   # smoke run
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import time
import uuid
import zipfile

import boto3

HANDLER = """
import os, resource
import {module}

def handler(event, context):
    return {{"pid": os.getpid(), "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024}}
"""


def timed(call) -> tuple[float, object]:
    started = time.perf_counter()
    result = call()
    return time.perf_counter() - started, result


def summary(label: str, seconds: list[float]) -> str:
    ordered = sorted(seconds)
    p95 = ordered[max(0, int(len(ordered) * 0.95) - 1)]
    return (
        f"{label:<28} median {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  "
        f"{len(ordered) / sum(ordered):7.0f} calls/s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--invocations", type=int, default=200)
    parser.add_argument("--import-module", default="dagster")
    args = parser.parse_args()
    lam, iam = boto3.client("lambda"), boto3.client("iam")
    name = f"bench-lambda-{uuid.uuid4().hex[:8]}"
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")["Role"]["Arn"]
    code = io.BytesIO()
    with zipfile.ZipFile(code, "w") as archive:
        archive.writestr("app.py", HANDLER.format(module=args.import_module))
    lam.create_function(
        FunctionName=name,
        Runtime="python3.11",
        Role=role,
        Handler="app.handler",
        Code={"ZipFile": code.getvalue()},
        Timeout=60,
        MemorySize=512,
    )
    try:
        cold, response = timed(lambda: lam.invoke(FunctionName=name, Payload=b"{}"))
        first = json.loads(response["Payload"].read())
        warm, plain, pids = [], [], set()
        for _ in range(args.invocations):
            seconds, response = timed(lambda: lam.invoke(FunctionName=name, Payload=b"{}"))
            body = json.loads(response["Payload"].read())
            warm.append(seconds)
            pids.add(body["pid"])
            plain.append(timed(lambda: lam.get_function(FunctionName=name))[0])
    finally:
        lam.delete_function(FunctionName=name)
        iam.delete_role(RoleName=name)
    print(
        f"handler imports {args.import_module}; {args.invocations} warm invocations on {len(pids)} worker(s)"
    )
    print(f"{'cold invoke (new worker)':<28} {cold * 1000:7.1f} ms")
    print(summary("warm invoke", warm))
    print(summary("GetFunction (plain HTTP)", plain))
    print(f"ratio warm/plain (median): {statistics.median(warm) / statistics.median(plain):.2f}")
    print(
        f"peak RSS: worker {body['rss_mb']} MB (first {first['rss_mb']} MB), "
        f"bench {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB"
    )
    if os.environ.get("AWS_ENDPOINT_URL") is None:
        print("note: AWS_ENDPOINT_URL unset - this ran against real AWS")


if __name__ == "__main__":
    main()
