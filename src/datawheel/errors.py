"""The exception tree of datawheel.

Every error datawheel raises on purpose is a :class:`DatawheelError`. Its message says what
went wrong and where (file, line, column or ref); its ``hint`` says what to do about it. The
command line prints both on one line and exits with ``exit_code`` (2: the user's input was
wrong), without a traceback unless ``--verbose`` is given.

Example:
    >>> err = RefError("no version 9 of dataset 'sms'", hint="list them with `datawheel versions sms`")
    >>> str(err)
    "no version 9 of dataset 'sms'; list them with `datawheel versions sms`"
    >>> err.exit_code
    2
"""

from __future__ import annotations

__all__ = [
    "CleanError",
    "ContractError",
    "DatawheelError",
    "EvaluationError",
    "IngestError",
    "LabelError",
    "LabellingError",
    "LineageError",
    "PipelineError",
    "RefError",
    "SchemaVersionError",
    "SplitError",
    "StoreError",
    "TransformError",
    "ValidationError",
    "WorkspaceError",
]


class DatawheelError(Exception):
    """The root of every error datawheel raises on purpose.

    Args:
        message: What went wrong, naming the file, line, column or ref at fault.
        hint: What the user should do about it.
    """

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message}; {self.hint}" if self.hint else self.message


class WorkspaceError(DatawheelError):
    """The workspace is missing, malformed, or cannot be opened."""


class SchemaVersionError(WorkspaceError):
    """The workspace's metadata was written by a newer datawheel than this one."""


class StoreError(DatawheelError):
    """A dataset version cannot be written or read."""


class RefError(StoreError):
    """A ref (``NAME``, ``NAME@N``, ``NAME@TAG``) names nothing that exists."""


class LineageError(DatawheelError):
    """The lineage graph cannot record or answer something."""


class IngestError(DatawheelError):
    """A source cannot be read."""


class PipelineError(DatawheelError):
    """A pipeline or one of its steps is malformed, or a step misbehaved."""


class TransformError(DatawheelError):
    """A transform cannot be fitted, applied, saved or loaded, or a skew check was misused."""


class CleanError(DatawheelError):
    """A cleaning step (dedup, filters, redaction, anonymisation) cannot run on the input given."""


class LabelError(DatawheelError):
    """Label quality cannot run on the input given: a missing column, one annotator, a bad label."""


class EvaluationError(DatawheelError):
    """A baseline, evaluation, slice, fairness or learning-curve analysis cannot run on the input given."""


class ValidationError(DatawheelError):
    """A profile, drift comparison or monitoring run cannot be made from the input given."""


class ContractError(ValidationError):
    """A data contract cannot be read, or does not fit the data it is asked to check."""


class LabellingError(DatawheelError):
    """A labelling project, task, account or export cannot do what was asked.

    ``status`` is the HTTP status the labelling service answers with (404: not found,
    403: not allowed, 409: conflicts with the task's state, 400: a bad request).
    """

    def __init__(self, message: str, *, hint: str | None = None, status: int = 400) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class SplitError(DatawheelError):
    """A split cannot be made as asked: bad ratios or names, a missing column, a bad mode mix."""
