"""Turn CloudFormation intrinsics into short readable names, so IAM statements can be compared whole.

`{"Fn::ImportValue": "...:ExportsOutputFnGetAttLakeBucket9CD7BBD2ArnF3D61E7E"}` -> `LakeBucket.Arn`,
`{"Fn::GetAtt": ["SmallLogGroup690F37E1", "Arn"]}` -> `SmallLogGroup.Arn`, `{"Ref": "AWS::Region"}` ->
`${AWS::Region}`, `Fn::Join` -> the joined string. Logical ids lose CDK's 8-hex-digit hash suffix.
"""

from __future__ import annotations

import re
from typing import Any

_HASH = r"[0-9A-F]{8}"
_EXPORT = re.compile(
    rf"^ExportsOutput(?:Ref(?P<ref>\w+?){_HASH}|FnGetAtt(?P<getatt>\w+?){_HASH}(?P<attr>\w+?)){_HASH}$"
)
_LOGICAL_ID = re.compile(rf"^(?P<name>\w+?){_HASH}$")


def logical_name(logical_id: str) -> str:
    match = _LOGICAL_ID.match(logical_id)
    return match.group("name") if match else logical_id


def readable(value: Any) -> Any:
    """A string for any intrinsic; lists stay lists; plain strings are returned as they are."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return [readable(item) for item in value]
    if isinstance(value, dict) and len(value) == 1:
        ((function, argument),) = value.items()
        if function == "Ref":
            return f"${{{argument}}}" if argument.startswith("AWS::") else logical_name(argument)
        if function == "Fn::GetAtt":
            return f"{logical_name(argument[0])}.{argument[1]}"
        if function == "Fn::Join":
            separator, parts = argument
            return separator.join(str(readable(part)) for part in parts)
        if function == "Fn::Sub":
            return argument if isinstance(argument, str) else argument[0]
        if function == "Fn::ImportValue":
            export = argument.split(":", 1)[1]
            match = _EXPORT.match(export)
            if not match:
                raise ValueError(f"unrecognised export name {argument!r}")
            if match.group("ref"):
                return match.group("ref")
            return f"{match.group('getatt')}.{match.group('attr')}"
    return value


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def role_statements(template_json: dict, role_logical_name: str) -> list[dict]:
    """Every statement of every inline policy attached to the role, made readable."""
    statements = []
    for resource in template_json["Resources"].values():
        if resource["Type"] != "AWS::IAM::Policy":
            continue
        roles = [readable(role) for role in resource["Properties"].get("Roles", [])]
        if role_logical_name not in roles:
            continue
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]:
            statements.append(
                {
                    "Sid": statement.get("Sid"),
                    "Effect": statement["Effect"],
                    "Action": sorted(as_list(statement["Action"])),
                    "Resource": sorted(str(readable(r)) for r in as_list(statement["Resource"])),
                    **({"Condition": statement["Condition"]} if "Condition" in statement else {}),
                }
            )
    return statements
