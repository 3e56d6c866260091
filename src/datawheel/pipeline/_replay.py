"""Recording how each version was made, as a call that can be made again.

A workspace function decorated with :func:`replayable` records its own call (the function's
import path and its arguments, refs resolved to ``NAME@N``) in the parameters of the
execution it runs, under ``_call``. :func:`replay_call` makes that call again in another
workspace, with the refs mapped to that workspace's versions: the basis of ``reproduce``.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import polars as pl

from datawheel.errors import DatawheelError, PipelineError
from datawheel.workspace import Workspace

CALL = "_call"
_UNREPLAYABLE = "__unreplayable__"
_DATACLASS = "__dataclass__"
_PATH = "__path__"
_DTYPE = "__dtype__"

P = ParamSpec("P")
R = TypeVar("R")

_current: ContextVar[dict[str, Any] | None] = ContextVar("datawheel_call", default=None)


def replayable(
    *, refs: tuple[str, ...] = ("ref",), secrets: tuple[str, ...] = (), outside: tuple[str, ...] = ()
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Record the decorated workspace function's call in the first execution it runs.

    ``refs`` names the arguments that hold refs (a ref or a list of refs); they are recorded
    resolved (``sms`` becomes ``sms@3``), so a replay reads the same versions. Arguments that
    cannot be written as JSON (a function, an object), and ``secrets`` (a salt, a password)
    when given, are recorded as unreplayable, never their value; a replay of that call says
    so. ``outside`` names arguments that write outside the workspace (an export folder):
    recorded, but left out of a replay, so a replay never touches the user's files. Calls made
    inside a recorded call are not recorded again.
    """

    def decorate(fn: Callable[P, R]) -> Callable[P, R]:
        signature = inspect.signature(fn)
        path = f"{fn.__module__}:{fn.__qualname__}"

        @functools.wraps(fn)
        def recorded(*args: P.args, **kwargs: P.kwargs) -> R:
            if _current.get() is not None:
                return fn(*args, **kwargs)
            bound = signature.bind(*args, **kwargs)
            given = dict(bound.arguments)
            workspace = given.pop(next(iter(signature.parameters)))
            for name, parameter in signature.parameters.items():
                if parameter.kind is inspect.Parameter.VAR_KEYWORD:  # recorded as keywords of their own
                    given.update(given.pop(name, {}))
            arguments = {
                name: _resolved(workspace, value) if name in refs else _encode(value)
                for name, value in given.items()
                if name != "progress"
            }
            for name in secrets:
                if given.get(name) is not None:
                    arguments[name] = {_UNREPLAYABLE: "a secret, never recorded"}
            call = {"function": path, "arguments": arguments, "refs": list(refs), "outside": list(outside)}
            token = _current.set(call)
            try:
                return fn(*args, **kwargs)
            finally:
                _current.reset(token)

        return recorded

    return decorate


def take_call() -> dict[str, Any] | None:
    """The call being recorded, once: the first execution it starts takes it."""
    call = _current.get()
    if call is None or call.get("taken"):
        return None
    call["taken"] = True
    return {k: v for k, v in call.items() if k != "taken"}


def without_call(parameters: Mapping[str, Any]) -> dict[str, Any]:
    """The parameters of an execution as the step gave them, without the recorded call."""
    return {k: v for k, v in parameters.items() if k != CALL}


def unreplayable(call: Mapping[str, Any]) -> list[str]:
    """The arguments of a recorded call that a replay cannot give again."""
    return [name for name, value in call["arguments"].items() if _holds_unreplayable(value)]


def replay_call(workspace: Workspace, call: Mapping[str, Any], refs: Mapping[str, str]) -> Any:
    """Make a recorded call again in ``workspace``; ``refs`` maps recorded refs to this workspace's."""
    missing = unreplayable(call)
    if missing:
        raise PipelineError(
            f"{call['function']} cannot be called again: {', '.join(missing)} was not recorded",
            hint="run that step again by hand, or give it arguments that can be written down",
        )
    module, _, name = str(call["function"]).partition(":")
    fn: Any = importlib.import_module(module)
    for part in name.split("."):
        fn = getattr(fn, part)
    arguments = {
        key: _mapped(value, refs) if key in call["refs"] else _decode(value)
        for key, value in call["arguments"].items()
        if key not in call.get("outside", ())
    }
    return getattr(fn, "__wrapped__", fn)(workspace, **arguments)


def _resolved(workspace: Workspace, value: Any) -> Any:
    """A ref as ``NAME@N``; a value that names no version (a file's path) is kept as given."""
    if isinstance(value, list | tuple):
        return [_resolved(workspace, v) for v in value]
    if isinstance(value, str):
        try:
            return workspace.resolve(value).ref
        except DatawheelError:
            return value
    return _encode(value)


def _mapped(value: Any, refs: Mapping[str, str]) -> Any:
    if isinstance(value, list):
        return [refs.get(v, v) for v in value]
    return refs.get(value, value) if isinstance(value, str) else value


def _encode(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Path):
        return {_PATH: str(value.resolve())}
    if isinstance(value, pl.DataType) and isinstance(getattr(pl, str(value), None), type):
        return {_DTYPE: str(value)}
    if isinstance(value, list | tuple):
        return [_encode(v) for v in value]
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        return {k: _encode(v) for k, v in value.items()}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        kind = type(value)
        fields = {f.name: _encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {_DATACLASS: f"{kind.__module__}:{kind.__qualname__}", "fields": fields}
    return {_UNREPLAYABLE: type(value).__name__}


def _decode(value: Any) -> Any:
    if isinstance(value, list):
        return [_decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if _PATH in value:
        return Path(value[_PATH])
    if _DTYPE in value:
        return getattr(pl, value[_DTYPE])()
    if _DATACLASS in value:  # frozen dataclasses hold sequences as tuples
        module, _, name = value[_DATACLASS].partition(":")
        kind = getattr(importlib.import_module(module), name)
        fields = {k: _decode(v) for k, v in value["fields"].items()}
        return kind(**{k: tuple(v) if isinstance(v, list) else v for k, v in fields.items()})
    return {k: _decode(v) for k, v in value.items()}


def _holds_unreplayable(value: Any) -> bool:
    if isinstance(value, dict):
        return _UNREPLAYABLE in value or any(_holds_unreplayable(v) for v in value.values())
    if isinstance(value, list):
        return any(_holds_unreplayable(v) for v in value)
    return False
