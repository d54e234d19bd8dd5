"""Every AWS call the pipeline code made during this test session is allowed by the deployed role that runs it.

The calls come from the plugin in tests/aws_calls.py (it runs this test last). A call's resource is mapped to
the deployed one through configuration, the way production gets its names: the resource field that supplied
the name (e.g. `BronzeLakeResource.bucket`) is bound to an environment variable in the code location
(`EnvVar("LAKE_BUCKET")`), and the CDK app sets that variable on the step functions and the daemon (e.g. to
the lake bucket's name). The policies are the synthesized templates' own, so a missing action or a resource
outside a statement's ARN pattern fails here, as AccessDenied would on AWS.
"""

from __future__ import annotations

import fnmatch
import os
from collections import defaultdict
from typing import Any

import pytest
from dagster import ConfigurableResource, EnvVar

from ecom_pipeline.constants import LAMBDA_FUNCTION_PREFIX, LAMBDA_STEP_SIZES
from ecom_pipeline.lambda_executor.sizing import step_function_name
from tests import aws_calls
from tests.aws_calls import DAEMON, STEP, RecordedCall, recorded_calls
from tests.deploy.cdk.conftest import Synthesized
from tests.deploy.cdk.template_refs import as_list, readable, role_statements

# The roles that run each kind of pipeline code: steps run in the step functions, and in the daemon's task
# for runs on the multiprocess executor; sensors, schedules and the executor's launcher run in the daemon.
ROLES = {
    STEP: [
        ("StepFunctions", "SmallStepFunctionRole"),
        ("StepFunctions", "LargeStepFunctionRole"),
        ("Orchestrator", "DaemonTaskRole"),
    ],
    DAEMON: [("Orchestrator", "DaemonTaskRole")],
}
ACCOUNT_ARN = "arn:${AWS::Partition}:{service}:${AWS::Region}:${AWS::AccountId}"
# Calls that failed because the resource they name does not exist (tests inject a missing bucket, queue or
# function): AWS refuses them whatever the policy says, so they prove nothing about the policy.
MISSING_RESOURCE_ERRORS = {
    "NoSuchBucket",
    "ResourceNotFoundException",
    "AWS.SimpleQueueService.NonExistentQueue",
    "QueueDoesNotExist",
}
# Code that reads a resource's name straight from a variable the deployment sets (no resource field): the
# instance storage reads the secret named by DAGSTER_PG_SECRET_NAME when the instance loads.
READS_VARIABLE = {"ecom_pipeline.lambda_executor.instance_url": "DAGSTER_PG_SECRET_NAME"}
# Statements for the platform rather than for calls the code makes (Lambda's own logs, VPC, tracing, the
# failure destination); they are not part of the least-privilege report.
PLATFORM_SIDS = {None, "WriteOwnLogs", "VpcNetworkInterfaces"}


def _environment_fields() -> dict[str, str]:
    """`Class.field` -> the environment variable the code location binds it to, or `=value` for a field
    the code location leaves at a fixed value (a metric namespace, say)."""
    from ecom_pipeline.definitions import defs

    fields: dict[str, str] = {}
    pending: list[Any] = list(defs.resources.values())
    while pending:
        resource = pending.pop()
        if not isinstance(resource, ConfigurableResource):
            continue
        for name in type(resource).model_fields:
            value = getattr(resource, name, None)
            if isinstance(value, EnvVar):
                fields[f"{type(resource).__name__}.{name}"] = value.env_var_name
            elif isinstance(value, ConfigurableResource):
                pending.append(value)
            elif isinstance(value, str):
                fields[f"{type(resource).__name__}.{name}"] = f"={value}"
    return fields


def _deployed_environment(synth: Synthesized) -> dict[str, Any]:
    """Variable -> its raw template value, as the CDK app sets it for the step functions."""
    functions = synth.templates["StepFunctions"].find_resources("AWS::Lambda::Function")
    variables = next(iter(functions.values()))["Properties"]["Environment"]["Variables"]
    return dict(variables)


class DeployedNames:
    """Maps a recorded call's local resource name to the ARN the deployed policy is written against."""

    def __init__(self, synth: Synthesized) -> None:
        self.fields = _environment_fields()
        self.deployed = _deployed_environment(synth)

    def namespace(self, call: RecordedCall) -> str:
        """The metric namespace the deployed code location uses where this call used `value`."""
        bound = self.fields.get(call.resource.source or "", "")
        return bound[1:] if bound.startswith("=") else call.resource.value

    def _variable(self, call: RecordedCall, local: str) -> str | None:
        bound = self.fields.get(call.resource.source or "")
        if bound and not bound.startswith("="):
            return bound
        if call.caller in READS_VARIABLE:
            return READS_VARIABLE[call.caller]
        # Names the code reads straight from the environment (the executor's payload bucket).
        return next((name for name in self.deployed if os.environ.get(name) == local), None)

    def arn(self, call: RecordedCall) -> str:
        kind, value = call.resource.kind, call.resource.value
        if kind == "namespace":
            return "*"
        if kind == "function":
            for size in LAMBDA_STEP_SIZES:
                if value == step_function_name(os.environ.get("ECOM_ENV", "local"), size):
                    return f"{size.capitalize()}StepFunction.Arn"
            if value.startswith(f"{LAMBDA_FUNCTION_PREFIX}-"):
                # A test's own step function (a size class of its own): the executor code path is the
                # same, so it needs what invoking a deployed size needs.
                return "SmallStepFunction.Arn"
            raise LookupError(f"function {value!r} is not one of the step functions")
        local, _, rest = value.partition("/") if kind in {"object", "table"} else (value, "", "")
        variable = self._variable(call, local)
        if variable is None or variable not in self.deployed:
            raise LookupError(
                f"{kind} {local!r} (from {call.resource.source or 'no resource field'}) is bound to no "
                "variable the deployment sets"
            )
        raw = self.deployed[variable]
        if kind == "secret" and not isinstance(raw, dict):
            # A secret imported by name: its ARN ends in six random characters.
            return ACCOUNT_ARN.replace("{service}", "secretsmanager") + f":secret:{raw}-AbCdEf"
        symbol = readable(raw)
        if kind in {"topic", "secret"}:
            return symbol  # Ref of a topic or a created secret is its ARN
        if kind == "object":
            return f"{symbol}.Arn/{rest}"
        if kind == "table" and rest:
            return f"{symbol}.Arn/{rest}"
        return f"{symbol}.Arn"


def _allows(statement: dict, call: RecordedCall, arn: str, namespace: str) -> bool:
    if statement["Effect"] != "Allow":
        return False
    if not any(fnmatch.fnmatchcase(call.action, action) for action in statement["Action"]):
        return False
    if not any(fnmatch.fnmatchcase(arn, pattern) for pattern in statement["Resource"]):
        return False
    for operator, condition in statement.get("Condition", {}).items():
        assert operator == "StringEquals", f"condition {operator} is not modelled here"
        for key, allowed in condition.items():
            assert key == "cloudwatch:namespace", f"condition key {key} is not modelled here"
            if namespace not in as_list(allowed):
                return False
    return True


def test_iam_covers_recorded_calls(dev: Synthesized) -> None:
    calls = recorded_calls()
    if not calls:
        pytest.skip("no pipeline AWS calls were recorded in this session (run it with the suite)")
    names = DeployedNames(dev)
    statements = {
        (part, role): role_statements(dev.json(part), role)
        for roles in ROLES.values()
        for part, role in roles
    }
    missing: set[str] = set()
    unmapped: set[str] = set()
    used: dict[tuple[str, str], set[str]] = defaultdict(set)
    for call in sorted(calls, key=lambda c: (c.role, c.operation, c.resource.value)):
        if call.error in MISSING_RESOURCE_ERRORS:
            continue
        try:
            arn = names.arn(call)
        except LookupError as exc:
            unmapped.add(f"{call.operation} by {call.caller}: {exc}")
            continue
        for part, role in ROLES[call.role]:
            namespace = names.namespace(call)
            if any(_allows(statement, call, arn, namespace) for statement in statements[(part, role)]):
                used[(part, role)].add(call.action)
            else:
                missing.add(f"{role} lacks {call.action} on {arn} ({call.operation} in {call.caller})")

    report = []
    for (part, role), granted in statements.items():
        actions = {a for s in granted if s.get("Sid") not in PLATFORM_SIDS for a in s["Action"]}
        unused = sorted(actions - used[(part, role)])
        report.append(
            f"{role}: {len(actions) - len(unused)} of {len(actions)} granted actions used; unused: {unused}"
        )
    aws_calls.LEAST_PRIVILEGE_REPORT[:] = [f"{len(calls)} recorded AWS calls", *report]

    assert not unmapped, "calls whose resource cannot be tied to a deployed one:\n" + "\n".join(
        sorted(unmapped)
    )
    assert not missing, "missing permissions:\n" + "\n".join(sorted(missing))
