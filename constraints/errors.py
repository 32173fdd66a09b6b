"""The exceptions dqloop raises, in one tree.

    DqloopError                 base; every message says what happened and what to do next
    ├── UsageError              the request itself is wrong (unknown column, bad option value)
    │   └── BaselineError       the baseline folder is incomplete, from another version, or invalid
    │                           (defined in constraints.baseline)
    ├── SetupError              the installation is incomplete (Deequ jar missing): run scripts/setup
    ├── ClusterUnreachable      the Spark master named by --master / spark.master does not answer
    ├── MissingBackend          a constraint kind says nothing of one backend (the pass, Deequ, pandera,
    │                           SageMaker): register how it is expressed there, or that it is not
    │                           (defined in constraints.backends)
    └── DataError               the data cannot be used as given
        ├── InputNotFound       the input path does not exist
        ├── EmptyInput          the input has no rows (or no usable columns)
        └── UnreadableInput     a file is corrupt, of an unknown format, or unparsable

Each carries its exit code: UsageError (and BaselineError) and InputNotFound -> 2, the others -> 3.
The commands' exit statuses are named here too, so job modules need not import the command line.
"""

from __future__ import annotations

EXIT_OK, EXIT_VIOLATIONS, EXIT_USAGE, EXIT_RUNTIME = 0, 1, 2, 3   # DqloopError.exit_code uses 2 and 3


class DqloopError(Exception):
    """Base of dqloop's errors. `hint` is the next step for the user."""

    exit_code = 3

    def __init__(self, message: str, hint: str | None = None):
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}\n  fix: {self.hint}" if self.hint else self.message


class UsageError(DqloopError):
    exit_code = 2


class SetupError(DqloopError):
    pass


class ClusterUnreachable(DqloopError):
    pass


class DataError(DqloopError):
    pass


class InputNotFound(DataError):
    exit_code = 2


class EmptyInput(DataError):
    pass


class UnreadableInput(DataError):
    pass
