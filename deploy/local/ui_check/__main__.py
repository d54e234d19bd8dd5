"""`make ui-check`: the user's tasks done in the Dagster UI by a headless Chromium, against the local stack.

Starts `dagster dev` on ECOM_DAGSTER_PORT, then (a) shows every pipeline's lineage in one graph, (b) backfills
seven days of a bronze asset, (c) turns on the uploads sensor, drops a CSV and finds its run, (d) finds why a
row was rejected and (e) opens a check evaluation's metadata. One screenshot per task under
.local/ui-check/; exits 1 naming every task that could not be done (a task whose input another task had to
produce is reported as not done too).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import traceback
from collections.abc import Callable
from pathlib import Path

from deploy.local.stack_config import StackConfig
from deploy.local.ui_check.browser import Page, chromium_binaries, start_chromium
from deploy.local.ui_check.dagster_dev import DagsterDev, dagster_port
from deploy.local.ui_check.tasks import (
    CheckState,
    TaskFailed,
    task_a_lineage,
    task_b_backfill,
    task_c_sensor,
    task_d_rejection,
    task_e_check,
)

TASK_TITLES = {
    "a": "lineage of all pipelines in one graph",
    "b": "7-day backfill of a bronze asset",
    "c": "uploads sensor on, CSV uploaded, run and S3 key found",
    "d": "why a vendor row was rejected",
    "e": "a check evaluation's evidence",
}
NEEDS = {"d": "c"}  # d reads the upload partition c found


def expected_graph() -> tuple[list[str], list[str]]:
    """(asset names, group names) of the code location, to compare with what the graph shows."""
    from ecom_pipeline.definitions import defs

    specs = defs.resolve_all_asset_specs()
    return sorted(spec.key.to_user_string() for spec in specs), sorted({spec.group_name for spec in specs})


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m deploy.local.ui_check", description=__doc__.splitlines()[0]
    )
    parser.add_argument("--out", type=Path, default=None, help="screenshot folder (default .local/ui-check)")
    parser.add_argument("--backfill-timeout", type=float, default=900.0, help="seconds for task b's backfill")
    parser.add_argument("--run-timeout", type=float, default=600.0, help="seconds for task c's sensor run")
    args = parser.parse_args(argv)
    for variable in ("DAGSTER_HOME", "UPLOADS_BUCKET", "AWS_ENDPOINT_URL"):
        if not os.environ.get(variable):
            print(f"{variable} is not set: source .local/stack.env (make seed writes it)", file=sys.stderr)
            return 2
    config = StackConfig.from_env()
    out = args.out or config.state_dir / "ui-check"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    # Under load the code server can take longer than Dagster's 60 s default to answer a run launch.
    os.environ.setdefault("DAGSTER_GRPC_TIMEOUT_SECONDS", "180")

    started = time.monotonic()
    chromium_binaries()  # install first, so its minutes are not counted against a task
    assets, groups = expected_graph()
    dagster = DagsterDev(config, dagster_port())
    print(f"starting dagster dev on {dagster.url} (log {dagster.process.log_file})", flush=True)
    results: dict[str, tuple[bool, str]] = {}
    driver = None
    try:
        dagster.start()
        print(f"dagster dev ready after {time.monotonic() - started:.0f}s", flush=True)
        driver = start_chromium(
            config.logs_dir / "ui-check-chromedriver.log", config.state_dir / "ui-check-chromium"
        )
        page = Page(driver, dagster.url)
        state = CheckState()
        steps: dict[str, Callable[[], str]] = {
            "a": lambda: task_a_lineage(page, state, assets, groups),
            "b": lambda: task_b_backfill(page, state, args.backfill_timeout),
            "c": lambda: task_c_sensor(page, state, os.environ["UPLOADS_BUCKET"], args.run_timeout),
            "d": lambda: task_d_rejection(page, state),
            "e": lambda: task_e_check(page, state),
        }
        for letter, step in steps.items():
            results[letter] = _run_task(letter, step, page, out, results)
    finally:
        if driver is not None:
            driver.quit()
        dagster.stop()

    elapsed = time.monotonic() - started
    failed = [letter for letter, (ok, _) in results.items() if not ok]
    print(
        f"\nui-check: {len(results) - len(failed)} of {len(results)} tasks done in {elapsed:.0f}s; screenshots in {out}"
    )
    if failed:
        names = "; ".join(f"({letter}) {TASK_TITLES[letter]}: {results[letter][1]}" for letter in failed)
        print(f"UI CHECK FAILED: {names}", file=sys.stderr)
        return 1
    return 0


def _run_task(
    letter: str, step: Callable[[], str], page: Page, out: Path, results: dict[str, tuple[bool, str]]
) -> tuple[bool, str]:
    title = f"({letter}) {TASK_TITLES[letter]}"
    needed = NEEDS.get(letter)
    if needed and not results.get(needed, (False, ""))[0]:
        message = f"not done: needs task ({needed})"
        print(f"{title}: FAILED, {message}", flush=True)
        return False, message
    print(f"{title} ...", flush=True)
    started = time.monotonic()
    try:
        outcome, ok = step(), True
    except TaskFailed as exc:
        outcome, ok = str(exc), False
    except Exception as exc:  # noqa: BLE001 - any browser error is this task's failure, the next task still runs
        traceback.print_exc()
        outcome, ok = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}", False
    finally:
        page.screenshot(out / f"{letter}.png")
    print(f"{title}: {'ok' if ok else 'FAILED'} in {time.monotonic() - started:.0f}s: {outcome}", flush=True)
    return ok, outcome


if __name__ == "__main__":
    sys.exit(main())
