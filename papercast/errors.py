"""The two kinds of failure a user sees, each as one line (the CLI maps them to exit codes)."""


class UserError(ValueError):
    """Bad input from the user: unknown id, invalid date, missing file, unknown profile. Exit 2."""


class RuntimeFailure(RuntimeError):
    """The outside world failed: network, LLM, a store server. Exit 1."""
