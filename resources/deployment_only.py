"""Resource fields that only the deployment sets: where a secret is sent, and which secret.

Dagster lets a run's config override any field of a resource bound in `Definitions`, EnvVar-bound ones
included, so a user who can launch a run from the UI could point the InfluxDB or API URL at a host of theirs
and receive the token or API key the step sends. A resource that lists such fields in `DEPLOYMENT_ONLY`
refuses to start when the run's config leaves one of them with a value other than the one it was bound with
(set to another value, or dropped: run config for a resource replaces every value bound in code).
"""

from collections.abc import Mapping
from typing import Any, ClassVar

from dagster import ConfigurableResource, EnvVar

from ecom_pipeline.errors import ConfigurationError


def _bound_value(value: Any) -> Any:
    return value.get_value() if isinstance(value, EnvVar) else value


class DeploymentOnlyFields(ConfigurableResource):
    """Mixin: fields named in `DEPLOYMENT_ONLY` keep the value the code location bound them to."""

    DEPLOYMENT_ONLY: ClassVar[frozenset[str]] = frozenset()

    def _with_updated_values(self, values: Mapping[str, Any] | None) -> Any:
        """Dagster builds the run's copy of the resource here from the resolved config: the bound values, or
        the run config in their place. A deployment-only field that differs from its bound value was changed."""
        for name in sorted(self.DEPLOYMENT_ONLY & set(values or {})):
            bound = getattr(self, name)
            if values[name] != _bound_value(bound):
                env = bound.env_var_name if isinstance(bound, EnvVar) else None
                source = f"environment variable {env}" if env else "in code"
                keep = f'{{"env": "{env}"}}' if env else "the value the code location binds"
                raise ConfigurationError(
                    f"run config may not change {type(self).__name__}.{name}: it decides where a secret is "
                    f"sent, so only the deployment sets it ({source}). "
                    f"A resource's run config replaces all of its bound values: leave this resource out of the "
                    f"run config, or give {name} {keep}"
                )
        return super()._with_updated_values(values)
