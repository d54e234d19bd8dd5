"""The one container image (deploy/lambda/Dockerfile) as CDK assets for Lambda and for ECS.

The build context is the repository root; the context is whitelisted with the same patterns as
deploy/lambda/Dockerfile.dockerignore, so synth hashes (and `cdk deploy` uploads) only the code, never
`.venv` or `.local`. Synth needs no Docker engine; `cdk deploy` builds and pushes with one.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import IgnoreMode
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_ecs as ecs
from aws_cdk import aws_lambda as lambda_

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
DOCKERFILE = "deploy/lambda/Dockerfile"
STEP_FUNCTION_TARGET = "step-function"
ORCHESTRATOR_TARGET = "orchestrator"


def build_context_patterns() -> list[str]:
    """Docker-style ignore patterns of the build context (comments and blank lines dropped)."""
    ignore_file = REPOSITORY_ROOT / f"{DOCKERFILE}.dockerignore"
    lines = ignore_file.read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def step_function_code() -> lambda_.DockerImageCode:
    """Lambda code: the image's last stage, whose CMD is the step handler."""
    return lambda_.DockerImageCode.from_image_asset(
        str(REPOSITORY_ROOT),
        file=DOCKERFILE,
        target=STEP_FUNCTION_TARGET,
        platform=ecr_assets.Platform.LINUX_AMD64,
        exclude=build_context_patterns(),
        ignore_mode=IgnoreMode.DOCKER,
    )


def orchestrator_image() -> ecs.ContainerImage:
    """ECS image: the same base layers plus dagster-webserver."""
    return ecs.ContainerImage.from_asset(
        str(REPOSITORY_ROOT),
        file=DOCKERFILE,
        target=ORCHESTRATOR_TARGET,
        platform=ecr_assets.Platform.LINUX_AMD64,
        exclude=build_context_patterns(),
        ignore_mode=IgnoreMode.DOCKER,
    )
