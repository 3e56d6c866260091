"""A chain of ops, fitted once on training data and replayed unchanged on any later batch.

``Transform.fit`` is the analyze phase: each op learns its state, in order, from the output of
the ops before it. ``FittedTransform.apply`` is the apply phase: plain Polars expressions over
that state, row by row, so it gives the same features on a whole frame or on its batches, eager
or lazy, in this process or another one that loaded the saved file.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import blake3
import polars as pl

from datawheel._version import __version__
from datawheel.errors import TransformError
from datawheel.transform._op import FrameT, Op, op_from_dict

FORMAT = "datawheel.transform"
"""The ``format`` field of a saved transform."""

FORMAT_VERSION = 1
"""The version of the saved transform's layout that this datawheel writes and reads."""

_SIMPLE_TYPES: dict[str, pl.DataType] = {
    str(t): t
    for t in (
        *(pl.Int8(), pl.Int16(), pl.Int32(), pl.Int64(), pl.UInt8(), pl.UInt16(), pl.UInt32(), pl.UInt64()),
        *(pl.Float32(), pl.Float64(), pl.String(), pl.Boolean(), pl.Categorical()),
    )
}


def _canonical(data: Mapping[str, Any]) -> bytes:
    text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    return text.encode()


def _check_format(data: Mapping[str, Any]) -> None:
    if data.get("format") != FORMAT:
        raise TransformError(
            f"not a datawheel transform (format {data.get('format')!r})",
            hint="give a file written by FittedTransform.save",
        )
    version = data.get("format_version")
    if version != FORMAT_VERSION:
        newer = isinstance(version, int) and version > FORMAT_VERSION
        raise TransformError(
            f"transform format version {version!r}; this datawheel reads version {FORMAT_VERSION}",
            hint="upgrade datawheel" if newer else "fit and save the transform again",
        )


def _fit_chain(ops: Iterable[Op], frame: pl.DataFrame | pl.LazyFrame) -> tuple[Op, ...]:
    """Each op fitted on what the ones before it wrote."""
    fitted: list[Op] = []
    for op in ops:
        done = op.fit(frame)
        fitted.append(done)
        frame = frame.with_columns(done.exprs()).drop(done.drops)
    return tuple(fitted)


@dataclass(frozen=True, init=False)
class Transform:
    """An ordered chain of ops, not yet fitted.

    Args:
        ops: The ops, applied in this order; each one reads what the ones before it wrote.

    Example:
        >>> from datawheel.transform import FillNull, Standardize
        >>> frame = pl.DataFrame({"age": [20, None, 40]})
        >>> fitted = Transform([FillNull("age"), Standardize("age")]).fit(frame)
        >>> fitted.apply(frame)["age"].to_list()
        [-1.224744871391589, 0.0, 1.224744871391589]
    """

    ops: tuple[Op, ...]

    def __init__(self, ops: Iterable[Op]) -> None:
        object.__setattr__(self, "ops", tuple(ops))
        if not self.ops:
            raise TransformError("a transform needs at least one op", hint="give it a list of ops")

    def fit(
        self, frame: pl.DataFrame | pl.LazyFrame, *, source: Mapping[str, Any] | None = None
    ) -> FittedTransform:
        """Learn every op's state from ``frame``, in order (one pass over the data per op).

        Args:
            frame: The training data.
            source: What the data was, kept in the saved file for lineage: plain JSON values,
                such as ``{"dataset": "sms@3"}``.
        """
        fitted = _fit_chain(self.ops, frame)
        schema = frame.collect_schema()
        rows = frame.height if isinstance(frame, pl.DataFrame) else frame.select(pl.len()).collect().item()
        return FittedTransform(
            fitted,
            input_schema={name: str(dtype) for name, dtype in schema.items()},
            rows=rows,
            source=dict(source or {}),
        )

    @staticmethod
    def load(path: str | os.PathLike[str]) -> FittedTransform:
        """A fitted transform from its file (the same as :meth:`FittedTransform.load`)."""
        return FittedTransform.load(path)


@dataclass(frozen=True)
class FittedTransform:
    """A transform with every op's learned state: apply it to new data, save it, load it.

    ``input_schema`` is the schema (column name to Polars type name) of the frame it was fitted
    on, ``rows`` how many rows that frame had, ``source`` what the caller said the data was.

    Example:
        >>> import tempfile
        >>> from datawheel.transform import Vocabulary
        >>> fitted = Transform([Vocabulary("label")]).fit(pl.DataFrame({"label": ["ham", "spam", "ham"]}))
        >>> path = Path(tempfile.mkdtemp()) / "label.json"
        >>> digest = fitted.save(path)
        >>> Transform.load(path).apply(pl.DataFrame({"label": ["spam", "eggs"]}))["label"].to_list()
        [1, 2]
    """

    ops: tuple[Op, ...]
    input_schema: Mapping[str, str]
    rows: int
    source: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for op in self.ops:
            if not op.fitted:
                raise TransformError(
                    f"{op.describe()} is not fitted", hint="fit the transform with Transform.fit"
                )
        try:
            _canonical(self.source)
        except (TypeError, ValueError) as exc:
            raise TransformError(
                f"the transform's source {self.source!r} is not plain JSON ({exc})",
                hint="give strings, numbers, booleans, lists and dicts",
            ) from exc

    @property
    def required(self) -> dict[str, str]:
        """The input columns the ops read, with the type each had when the transform was fitted."""
        written: set[str] = set()
        needed: dict[str, str] = {}
        for op in self.ops:
            if op.column not in written and op.column not in needed:
                needed[op.column] = self.input_schema.get(op.column, "?")
            written.update(op.writes)
        return needed

    @property
    def outputs(self) -> tuple[str, ...]:
        """The columns the ops write and leave in place (the features), in the order first written."""
        columns: list[str] = []
        for op in self.ops:
            columns += [name for name in op.writes if name not in columns]
            columns = [name for name in columns if name not in op.drops or name in op.writes]
        return tuple(columns)

    def apply(self, frame: FrameT) -> FrameT:
        """The features of ``frame``: every op applied in order (eager or lazy, as given).

        Columns the ops do not touch pass through. A column the transform reads must be present
        with the type it was fitted on (an all-null column is cast to it).
        """
        frame = self._conform(frame)
        try:
            for op in self.ops:
                frame = op.apply(frame)
        except pl.exceptions.PolarsError as exc:
            raise TransformError(
                f"the transform could not be applied: {exc}", hint="check the input"
            ) from exc
        return frame

    def _conform(self, frame: FrameT) -> FrameT:
        schema = frame.collect_schema()
        missing = [name for name in self.required if name not in schema]
        if missing:
            wanted = ", ".join(f"'{name}' ({self.required[name]})" for name in missing)
            raise TransformError(
                f"the frame lacks column{'s' if len(missing) > 1 else ''} {wanted}, "
                "which the transform reads",
                hint="add the columns with the types they had when the transform was fitted",
            )
        casts = []
        for name, expected in self.required.items():
            actual = schema[name]
            if str(actual) == expected:
                continue
            if isinstance(actual, pl.Null) and expected in _SIMPLE_TYPES:
                casts.append(pl.col(name).cast(_SIMPLE_TYPES[expected]))
                continue
            raise TransformError(
                f"column '{name}' is {actual}, but the transform was fitted on {expected}",
                hint=f"cast it first, e.g. pl.col({name!r}).cast(pl.{expected})",
            )
        return frame.with_columns(casts) if casts else frame

    def to_dict(self) -> dict[str, Any]:
        """The transform as plain JSON values: the saved file without its digest."""
        return {
            "format": FORMAT,
            "format_version": FORMAT_VERSION,
            "datawheel_version": __version__,
            "input_schema": dict(self.input_schema),
            "rows": self.rows,
            "source": dict(self.source),
            "ops": [op.to_dict() for op in self.ops],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FittedTransform:
        """A fitted transform from :meth:`to_dict`'s form (a ``digest`` key is ignored)."""
        _check_format(data)
        try:
            ops = tuple(op_from_dict(op) for op in data["ops"])
            return cls(
                ops, input_schema=dict(data["input_schema"]), rows=int(data["rows"]), source=data["source"]
            )
        except (AttributeError, KeyError, TypeError, ValueError) as exc:
            raise TransformError(
                f"malformed transform: {exc!r}", hint="fit and save the transform again"
            ) from exc

    @property
    def digest(self) -> str:
        """The BLAKE3 digest (hex) of the transform's canonical JSON: its identity as an artifact."""
        digest: str = blake3.blake3(_canonical(self.to_dict())).hexdigest()
        return digest

    def save(self, path: str | os.PathLike[str]) -> str:
        """Write the transform to one JSON file, atomically; return its digest.

        The file holds :meth:`to_dict` and a ``digest`` of that content, which :meth:`load`
        checks. Floats are written in their shortest exact form, so they read back bit for bit.
        """
        target = Path(path)
        data = {**self.to_dict(), "digest": self.digest}
        text = json.dumps(data, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return cast(str, data["digest"])

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> FittedTransform:
        """Read a transform saved by :meth:`save`, checking its format version and digest."""
        source = Path(path)
        try:
            data = json.loads(source.read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise TransformError(f"no transform file {source}", hint="check the path") from exc
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise TransformError(
                f"{source} is not valid JSON ({exc}); it may be truncated or damaged",
                hint="save the transform again, or restore the file",
            ) from exc
        if not isinstance(data, dict):
            raise TransformError(f"{source} is not a datawheel transform", hint="give a file written by save")
        _check_format(data)
        content = {key: value for key, value in data.items() if key != "digest"}
        if data.get("digest") != blake3.blake3(_canonical(content)).hexdigest():
            raise TransformError(
                f"{source} does not match its digest: it was changed after it was saved",
                hint="fit and save the transform again, or restore the original file",
            )
        return cls.from_dict(content)
