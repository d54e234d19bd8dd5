"""Handler of the Image-type test function: ImageConfig.Command = ["tests.deploy.local.lambda_image_fixture.handler"].

Not a test module; it runs inside the local Lambda runtime to show which interpreter, task root and
environment an Image function gets.
"""

import os
import sys


def handler(event, context):
    return {
        "event": event,
        "function_name": context.function_name,
        "memory_limit_in_mb": context.memory_limit_in_mb,
        "task_root": os.environ.get("LAMBDA_TASK_ROOT"),
        "python_prefix": sys.prefix,
        "deploy_lambda_on_path": any(path.endswith("deploy/lambda") for path in sys.path),
        "custom_env": os.environ.get("STEP_SETTING"),
        "endpoint": os.environ.get("AWS_ENDPOINT_URL"),
    }


def other_handler(event, context):
    return {"handler": "other_handler"}
