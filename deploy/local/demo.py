"""`make demo`: every pipeline end to end through Dagster against the local stack.

Exits non-zero when any pipeline's demo raises or sees an outcome it did not expect.
"""

import importlib
import os
import sys
import time
import traceback

from dagster import DagsterInstance

from deploy.local.demos.base import DemoContext, DemoSummary

# Order matters: product uploads and metric imports write source tables that bronze then ingests.
DEMO_MODULES = ("product_uploads", "metric_imports", "bronze", "energy_series", "lambda_executor")


def main() -> int:
    if not os.environ.get("DAGSTER_HOME"):
        print("DAGSTER_HOME is not set: source .local/stack.env (make stack-up writes it)", file=sys.stderr)
        return 2
    from ecom_pipeline.definitions import defs

    context = DemoContext(instance=DagsterInstance.get(), defs=defs)
    summaries: list[DemoSummary] = []
    failures: list[str] = []
    for name in DEMO_MODULES:
        print(f"\n=== {name} ===", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"deploy.local.demos.{name}")
            summary = module.run(context)
        except Exception:  # a demo failure is reported, then the next pipeline still runs
            traceback.print_exc()
            failures.append(name)
            continue
        summary.notes.append(f"{time.perf_counter() - started:.1f}s")
        summaries.append(summary)

    print("\n=== summary ===")
    header = f"{'pipeline':<18}{'runs ok':>8}{'runs failed*':>13}{'assets':>8}{'rows':>10}{'checks ok':>10}{'checks warn/fail':>17}  notes"
    print(header)
    for s in summaries:
        print(
            f"{s.pipeline:<18}{s.runs_succeeded:>8}{s.runs_failed:>13}{s.assets_materialized:>8}{s.rows:>10}"
            f"{s.checks_passed:>10}{s.checks_failed:>17}  {'; '.join(s.notes)}"
        )
    print("* failed on purpose: bad sample input that must end rejected/quarantined")
    if failures:
        print(f"\nDEMO FAILED: {', '.join(failures)}", file=sys.stderr)
        return 1
    print("\ndemo ok")
    return 0


if __name__ == "__main__":
    sys.exit(main())
