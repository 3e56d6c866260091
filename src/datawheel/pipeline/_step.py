"""Steps: functions over tables, with named inputs, outputs and parameters."""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

import polars as pl

from datawheel.errors import PipelineError
from datawheel.pipeline._fingerprint import code_fingerprint

F = TypeVar("F", bound=Callable[..., Any])
_TABLES = (pl.DataFrame, pl.LazyFrame)


@dataclass(frozen=True)
class Step:
    """A function over tables, with named inputs, outputs and parameters.

    Its table arguments are the inputs, its keyword-only arguments the parameters (with their
    defaults), and what it returns the outputs: one table for one output, or a dict of tables
    keyed by output name.
    """

    name: str
    fn: Callable[..., Any]
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    defaults: dict[str, Any] = field(default_factory=dict)

    @property
    def fingerprint(self) -> str:
        """A digest of the step's code: it changes when the code does."""
        return code_fingerprint(self.fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.fn(*args, **kwargs)

    def run(self, tables: Mapping[str, pl.DataFrame], params: Mapping[str, Any]) -> dict[str, pl.DataFrame]:
        """Call the function and return its outputs by name, checking what it returned."""
        unknown = sorted(set(params) - set(self.defaults))
        if unknown:
            raise PipelineError(
                f"step '{self.name}' has no parameter {unknown[0]!r} "
                f"(it has: {', '.join(self.defaults) or 'none'})",
                hint="fix the parameter's name in the pipeline file",
            )
        result = self.fn(*(tables[i] for i in self.inputs), **{**self.defaults, **params})
        return self._outputs(result)

    def _outputs(self, result: Any) -> dict[str, pl.DataFrame]:
        if isinstance(result, Mapping):
            if set(result) != set(self.outputs):
                raise PipelineError(
                    f"step '{self.name}' returned outputs {sorted(result)}, "
                    f"but declares {list(self.outputs)}",
                    hint="return a dict with exactly the declared outputs",
                )
            return {k: _table(self.name, k, v) for k, v in result.items()}
        if len(self.outputs) != 1:
            raise PipelineError(
                f"step '{self.name}' returned one {type(result).__name__}, "
                f"but declares {len(self.outputs)} outputs",
                hint="return a dict of tables keyed by output name",
            )
        return {self.outputs[0]: _table(self.name, self.outputs[0], result)}


def _table(step: str, output: str, value: Any) -> pl.DataFrame:
    if isinstance(value, pl.LazyFrame):
        return value.collect()
    if isinstance(value, pl.DataFrame):
        return value
    raise PipelineError(
        f"step '{step}' returned a {type(value).__name__} for output '{output}', not a table",
        hint="return a polars DataFrame or LazyFrame",
    )


@overload
def step(fn: F, /) -> Step: ...


@overload
def step(*, name: str | None = None, outputs: str | Sequence[str] | None = None) -> Callable[[F], Step]: ...


def step(
    fn: F | None = None, /, *, name: str | None = None, outputs: str | Sequence[str] | None = None
) -> Step | Callable[[F], Step]:
    """Make a function over tables a pipeline step.

    Positional arguments are the step's input tables, keyword-only arguments its parameters
    (each needs a default). ``outputs`` names what it returns (default: one output named like
    the step). The return annotation, when given, must be a table or a dict of tables.

    Example:
        >>> @step(outputs="adults")
        ... def keep_adults(people: pl.DataFrame, *, min_age: int = 18) -> pl.DataFrame:
        ...     return people.filter(pl.col("age") >= min_age)
        >>> keep_adults.inputs, keep_adults.outputs, keep_adults.defaults
        (('people',), ('adults',), {'min_age': 18})
        >>> keep_adults.run({"people": pl.DataFrame({"age": [12, 40]})}, {})["adults"]["age"].to_list()
        [40]
    """

    def make(function: F) -> Step:
        return _build(function, name=name or function.__name__, outputs=outputs)

    return make(fn) if fn is not None else make


def _build(fn: Callable[..., Any], *, name: str, outputs: str | Sequence[str] | None) -> Step:
    signature = inspect.signature(fn)
    inputs, defaults = [], {}
    for param in signature.parameters.values():
        if param.kind in (param.POSITIONAL_ONLY, param.POSITIONAL_OR_KEYWORD):
            inputs.append(param.name)
        elif param.kind is param.KEYWORD_ONLY:
            if param.default is param.empty:
                raise PipelineError(
                    f"step '{name}': parameter '{param.name}' has no default",
                    hint="give every keyword-only parameter a default; table inputs come before '*'",
                )
            defaults[param.name] = param.default
        else:
            raise PipelineError(f"step '{name}': *args and **kwargs are not allowed", hint="name every input")
    _check_return(fn, name)
    names = (outputs,) if isinstance(outputs, str) else tuple(outputs or (name,))
    made = Step(name=name, fn=fn, inputs=tuple(inputs), outputs=names, defaults=defaults)
    for attribute in ("__doc__", "__module__", "__qualname__"):  # help() and doctests see the function
        object.__setattr__(made, attribute, getattr(fn, attribute, None))
    object.__setattr__(made, "__wrapped__", fn)
    return made


def _check_return(fn: Callable[..., Any], name: str) -> None:
    try:
        annotation = typing.get_type_hints(fn).get("return", inspect.Signature.empty)
    except (NameError, TypeError):  # annotations that cannot be resolved here are not checked
        return
    if annotation is inspect.Signature.empty or _is_table_type(annotation):
        return
    raise PipelineError(
        f"step '{name}' is annotated to return {getattr(annotation, '__name__', annotation)}, not a table",
        hint="a step returns a polars DataFrame or LazyFrame, or a dict of them keyed by output name",
    )


def _is_table_type(annotation: Any) -> bool:
    if annotation in _TABLES:
        return True
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return all(_is_table_type(a) for a in typing.get_args(annotation))
    if origin in (dict, Mapping) or origin is typing.get_origin(Mapping[str, Any]):
        args = typing.get_args(annotation)
        return len(args) == 2 and _is_table_type(args[1])
    return False
