"""Pipelines: steps wired by dataset names, read from a TOML file, checked before anything runs."""

from __future__ import annotations

import importlib
import linecache
import sys
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from datawheel.errors import PipelineError
from datawheel.pipeline._builtins import BUILTINS
from datawheel.pipeline._clean_steps import CLEANING
from datawheel.pipeline._step import Step
from datawheel.store import check_dataset_name, parse_ref

DEFAULT_FILE = "pipeline.toml"


@dataclass(frozen=True)
class StepSpec:
    """One use of a step in a pipeline: which datasets feed its inputs and take its outputs."""

    name: str
    step: Step
    inputs: dict[str, str] = field(default_factory=dict)  # table argument -> ref (NAME, NAME@N, NAME@TAG)
    outputs: dict[str, str] = field(default_factory=dict)  # step output -> dataset name
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def reads(self) -> list[str]:
        """The dataset names this step reads."""
        return [parse_ref(ref).name for ref in self.inputs.values()]


@dataclass(frozen=True)
class Pipeline:
    """Steps in an order where every step comes after the steps whose outputs it reads."""

    name: str
    steps: tuple[StepSpec, ...]
    path: Path | None = None

    def producer(self, dataset: str) -> StepSpec | None:
        """The step that writes ``dataset``, if a step does."""
        return next((s for s in self.steps if dataset in s.outputs.values()), None)

    def downstream(self, dataset: str) -> list[str]:
        """The steps that read ``dataset``, directly or through other steps, in pipeline order."""
        hit: set[str] = set()
        names = {dataset}
        for spec in self.steps:
            if names.intersection(spec.reads):
                hit.add(spec.name)
                names.update(spec.outputs.values())
        return [s.name for s in self.steps if s.name in hit]


def build_pipeline(name: str, specs: Sequence[StepSpec], *, path: Path | None = None) -> Pipeline:
    """Check the wiring and order the steps: each after the steps it reads from.

    Raises :class:`PipelineError`, naming the step, for a repeated step name, a dataset two
    steps write, wiring that does not match the step's inputs or outputs, or a cycle.

    Example:
        >>> from datawheel.pipeline._step import step
        >>> @step
        ... def b(a): return a
        >>> @step
        ... def c(b): return b
        >>> [s.name for s in build_pipeline("p", [StepSpec("c", c), StepSpec("b", b)]).steps]
        ['b', 'c']
    """
    checked = [_wired(spec) for spec in specs]
    seen: dict[str, str] = {}
    writers: dict[str, str] = {}
    for spec in checked:
        if spec.name in seen:
            raise PipelineError(f"two steps are named '{spec.name}'", hint="give every step its own name")
        seen[spec.name] = spec.name
        for dataset in spec.outputs.values():
            if dataset in writers:
                raise PipelineError(
                    f"steps '{writers[dataset]}' and '{spec.name}' both write dataset '{dataset}'",
                    hint="give each output its own dataset name",
                )
            writers[dataset] = spec.name
    return Pipeline(name, tuple(_ordered(checked, writers)), path)


def _wired(spec: StepSpec) -> StepSpec:
    inputs = dict(spec.inputs) or {i: i for i in spec.step.inputs}
    outputs = dict(spec.outputs) or {o: o for o in spec.step.outputs}
    if set(inputs) != set(spec.step.inputs):
        raise PipelineError(
            f"step '{spec.name}': inputs {sorted(inputs)} do not match "
            f"the function's {list(spec.step.inputs)}",
            hint="map every table argument of the function to a dataset, and nothing else",
        )
    if set(outputs) != set(spec.step.outputs):
        raise PipelineError(
            f"step '{spec.name}': outputs {sorted(outputs)} do not match "
            f"the step's {list(spec.step.outputs)}",
            hint="map every output of the step to a dataset name",
        )
    unknown = sorted(set(spec.params) - set(spec.step.defaults))
    if unknown:
        raise PipelineError(
            f"step '{spec.name}' has no parameter {unknown[0]!r} "
            f"(it has: {', '.join(spec.step.defaults) or 'none'})",
            hint="fix the parameter's name",
        )
    for ref in inputs.values():
        parse_ref(ref)
    for dataset in outputs.values():
        check_dataset_name(dataset)
    return StepSpec(spec.name, spec.step, inputs, outputs, dict(spec.params))


def _ordered(specs: list[StepSpec], writers: Mapping[str, str]) -> list[StepSpec]:
    """Steps in file order, each moved after the steps it reads from (a cycle is an error)."""
    by_name = {s.name: s for s in specs}
    needs = {s.name: {writers[d] for d in s.reads if d in writers} for s in specs}
    done: list[StepSpec] = []
    placed: set[str] = set()
    while len(done) < len(specs):
        ready = [s for s in specs if s.name not in placed and needs[s.name] <= placed]
        if not ready:
            stuck = [s.name for s in specs if s.name not in placed]
            raise PipelineError(
                f"the steps {', '.join(stuck)} read each other's outputs in a cycle",
                hint="break the cycle: a step cannot depend, even through others, on its own output",
            )
        done.append(by_name[ready[0].name])
        placed.add(ready[0].name)
    return done


def load_pipeline(path: Path) -> Pipeline:
    """Read a pipeline file (TOML); its steps name built-ins or ``module:function`` steps.

    Modules are imported with the file's folder first on the import path.
    """
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise PipelineError(
            f"no pipeline file {path}",
            hint="write one (see docs/pipelines.md) or name it: datawheel run FILE",
        ) from exc
    except tomllib.TOMLDecodeError as exc:
        raise PipelineError(
            f"{path} is not valid TOML: {exc}", hint="fix the file at the place named"
        ) from exc
    head = data.get("pipeline", {})
    entries = data.get("step", [])
    if not isinstance(head, dict) or not isinstance(entries, list) or not entries:
        raise PipelineError(f"{path} has no [[step]] entries", hint="add at least one [[step]] table")
    specs = [_spec(entry, path, i) for i, entry in enumerate(entries, 1)]
    return build_pipeline(str(head.get("name") or path.stem), specs, path=path.resolve())


def _spec(entry: Any, path: Path, number: int) -> StepSpec:
    if not isinstance(entry, dict) or "uses" not in entry:
        raise PipelineError(
            f"{path}: step {number} has no 'uses'", hint="name a built-in step or module:function"
        )
    uses = str(entry["uses"])
    name = str(entry.get("name") or uses.rpartition(":")[2])
    for key in ("inputs", "outputs", "params"):
        if not isinstance(entry.get(key, {}), dict):
            raise PipelineError(
                f"{path}: step '{name}': '{key}' must be a table", hint=f'write {key} = {{ a = "b" }}'
            )
    return StepSpec(
        name=name,
        step=_resolve(uses, path, name),
        inputs={str(k): str(v) for k, v in entry.get("inputs", {}).items()},
        outputs={str(k): str(v) for k, v in entry.get("outputs", {}).items()},
        params=dict(entry.get("params", {})),
    )


def _resolve(uses: str, path: Path, name: str) -> Step:
    if ":" not in uses:
        if uses in CLEANING:
            return CLEANING[uses]
        if uses not in BUILTINS:
            raise PipelineError(
                f"step '{name}' uses '{uses}', which is not a built-in step",
                hint=f"use one of {', '.join(sorted({*BUILTINS, *CLEANING}))}, "
                "or module:function for your own",
            )
        return BUILTINS[uses]
    module_name, _, attribute = uses.partition(":")
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)
    try:
        loaded = sys.modules.get(module_name)
        local = Path(folder, *module_name.split("."))
        here = local.with_suffix(".py").is_file() or local.is_dir()
        if loaded is not None and here and not str(getattr(loaded, "__file__", "") or "").startswith(folder):
            del sys.modules[module_name]  # a module of that name beside another pipeline file
        module = importlib.import_module(module_name)
        if str(getattr(module, "__file__", "") or "").startswith(folder):
            linecache.checkcache()  # so that fingerprints read the code as it is now
            module = importlib.reload(module)  # the pipeline's own modules are read afresh
    except ImportError as exc:
        raise PipelineError(
            f"step '{name}': cannot import module '{module_name}': {exc}",
            hint=f"put {module_name}.py beside {path.name}, or install it",
        ) from exc
    finally:
        sys.path.remove(folder)
    found = getattr(module, attribute, None)
    if not isinstance(found, Step):
        what = "nothing" if found is None else f"a {type(found).__name__}"
        raise PipelineError(
            f"step '{name}': {uses} is {what}, not a step",
            hint="decorate the function with @datawheel.step",
        )
    return found
