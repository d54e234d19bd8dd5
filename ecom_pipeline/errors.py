"""Errors the resources raise, split by what the caller should do about them.

Messages name the missing or failing thing (secret name, host:port, table) and never carry a secret value.
"""


class ConfigurationError(RuntimeError):
    """Fix the configuration: a secret, table or bucket is missing, or a credential is rejected. Not retried."""


class ServiceUnavailableError(RuntimeError):
    """A dependency could not be reached or answered 5xx/429: transient, worth retrying (the seed's 503)."""


class BadRequestError(RuntimeError):
    """The service refused the data itself (the seed's 400): retrying the same input cannot succeed."""
