"""Label quality in the workspace: read a version (or a file), compute, commit results with lineage.

Each function runs one ``datawheel.label`` capability under :func:`run_step` and commits what
it produced as dataset versions named after the input dataset:

| step | commits |
| --- | --- |
| ``label-agreement`` | ``NAME.agreement`` (per pair of annotators) |
| ``label-aggregate`` | ``NAME.labels`` (one label per item), ``NAME.annotators`` |
| ``label-issues`` | ``NAME.review`` (the rows to review, most suspicious first) |
| ``label-suggest`` | ``NAME.suggestions``, and the baseline as a ``model`` artifact ``NAME-suggest`` |
| ``label-next-batch`` | ``NAME.batch`` |
| ``label-weak`` | ``NAME.weak`` (probabilistic labels), ``NAME.lf_analysis`` |

Rows of a dataset are named by their ``_row_id`` (as ``row_id``) and the dataset's key columns.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import polars as pl

from datawheel.errors import LabelError
from datawheel.ingest import read_frame
from datawheel.pipeline._artifacts import save_artifact
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import StepRun, run_step
from datawheel.pipeline._replay import replayable
from datawheel.store import ROW_HASH, ROW_ID, SOURCE
from datawheel.workspace import Workspace

MODEL = "model"
ROW_ID_COLUMN = "row_id"


@dataclass(frozen=True)
class LabelReport:
    """What a label step computed and committed: its result, the refs written, the execution."""

    step: str
    result: dict[str, Any]
    outputs: dict[str, str] = field(default_factory=dict)
    execution: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: the capability's result, plus ``outputs`` and ``execution``."""
        return {**self.result, "step": self.step, "outputs": self.outputs, "execution": self.execution}


@dataclass(frozen=True)
class _Input:
    name: str
    frame: pl.DataFrame
    key: tuple[str, ...]


@replayable(refs=("source", "items"))
def measure_agreement(
    workspace: Workspace,
    source: str | Path,
    *,
    item: str = "item",
    annotator: str = "annotator",
    label: str = "label",
    level: str = "nominal",
    labels: Sequence[Any] | None = None,
    items: str | None = None,
    time: str | None = None,
    every: str = "1d",
) -> LabelReport:
    """Agreement between annotators of a version or file; the pairs table becomes ``NAME.agreement``.

    ``items`` names a ref whose ``item`` column lists the known items: an annotation of another
    item is an error.
    """
    from datawheel.label import agreement

    parameters = _params(item=item, annotator=annotator, label=label, level=level, labels=labels, items=items)
    with run_step(
        workspace, "label-agreement", parameters=parameters, code_fingerprint=code_fingerprint(agreement)
    ) as run:
        given = _read(run, source)
        known = _known_items(run, items, item)
        result = agreement(
            given.frame,
            item=item,
            annotator=annotator,
            label=label,
            level=level,  # type: ignore[arg-type]
            labels=labels,
            items=known,
            time=time,
            every=every,
        )
        saved = run.commit(f"{given.name}.agreement", result.cohen_kappa, message=f"agreement ({level})")
        return LabelReport("label-agreement", result.to_dict(), {"agreement": saved.ref}, run.execution.id)


@replayable(refs=("source", "items"))
def aggregate_labels(
    workspace: Workspace,
    source: str | Path,
    *,
    method: str = "majority",
    item: str = "item",
    annotator: str = "annotator",
    label: str = "label",
    labels: Sequence[Any] | None = None,
    items: str | None = None,
    probabilities: str | None = None,
) -> LabelReport:
    """One label per item from several annotators: ``NAME.labels`` and the quality table ``NAME.annotators``.

    ``probabilities`` (for ``crowdlab``) names a ref with the item column and one column per class.
    """
    from datawheel.label import aggregate

    parameters = _params(
        method=method, item=item, annotator=annotator, label=label, labels=labels, items=items
    )
    with run_step(
        workspace, "label-aggregate", parameters=parameters, code_fingerprint=code_fingerprint(aggregate)
    ) as run:
        given = _read(run, source)
        probs = _strip(run.read(probabilities, role="probabilities")) if probabilities else None
        result = aggregate(
            given.frame,
            method=method,  # type: ignore[arg-type]
            item=item,
            annotator=annotator,
            label=label,
            labels=labels,
            items=_known_items(run, items, item),
            probabilities=probs,
        )
        table = result.labels.with_columns(pl.lit(method).alias("method"))
        saved = run.commit(f"{given.name}.labels", table, key=["item"], message=f"labels by {method}")
        quality = run.commit(
            f"{given.name}.annotators", result.annotators, message=f"annotator quality ({method})"
        )
        outputs = {"labels": saved.ref, "annotators": quality.ref}
        return LabelReport("label-aggregate", result.to_dict(), outputs, run.execution.id)


@replayable()
def find_label_issues(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    probabilities: Sequence[str] | None = None,
    folds: int = 5,
    seed: int = 0,
    filter_by: str = "low_self_confidence",
) -> LabelReport:
    """Rows whose label is probably wrong, committed as the review set ``NAME.review``, most suspicious first.

    Each issue names its row (``row_id`` and the key columns), the given and suggested labels and
    the score (cleanlab's label quality: lower is more suspicious).
    """
    from datawheel.label import label_issues

    parameters = _params(
        label=label,
        text=text,
        features=features,
        probabilities=probabilities,
        folds=folds,
        seed=seed,
        filter_by=filter_by,
    )
    with run_step(
        workspace, "label-issues", parameters=parameters, code_fingerprint=code_fingerprint(label_issues)
    ) as run:
        given = _read(run, ref)
        found = label_issues(
            given.frame,
            label=label,
            probabilities=list(probabilities) if probabilities else None,
            text=text,
            features=features,
            folds=folds,
            seed=seed,
            filter_by=filter_by,  # type: ignore[arg-type]
            keep=_keep(given, text),
        )
        review = _identified(found.issues, given).with_columns(
            pl.int_range(1, found.issues.height + 1, dtype=pl.Int64).alias("rank")
        )
        saved = run.commit(f"{given.name}.review", review, message=f"label issues of {label} to review")
        result = found.to_dict() | {"issues": _issue_records(review, given.key)}
        return LabelReport("label-issues", result, {"review": saved.ref}, run.execution.id)


@replayable()
def suggest_labels(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
) -> LabelReport:
    """Pre-annotate: a baseline fitted on the labelled rows suggests labels for the rest.

    The suggestions become ``NAME.suggestions``; the fitted baseline is saved as the ``model``
    artifact ``NAME-suggest`` (load it with ``datawheel.models.Baseline.from_bytes``).
    """
    from datawheel.label import suggest

    parameters = _params(label=label, text=text, features=features, seed=seed)
    with run_step(
        workspace, "label-suggest", parameters=parameters, code_fingerprint=code_fingerprint(suggest)
    ) as run:
        given = _read(run, ref)
        made = suggest(
            given.frame, label=label, text=text, features=features, seed=seed, keep=_keep(given, text)
        )
        table = _identified(made.table, given)
        saved = run.commit(f"{given.name}.suggestions", table, message=f"suggested {label} from a baseline")
        model = save_artifact(
            run,
            MODEL,
            f"{given.name}-suggest",
            made.model.to_bytes(),
            suffix=".pkl",
            properties={
                "label": label,
                "classes": [str(c) for c in made.classes],
                "trained_on": made.labelled,
            },
        )
        result = made.to_dict() | {"suggestions": _issue_records(table, given.key), "model": model.name}
        return LabelReport(
            "label-suggest", result, {"suggestions": saved.ref, "model": model.name}, run.execution.id
        )


@replayable()
def select_next_batch(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    size: int = 50,
    strategy: str = "entropy",
    text: str | None = None,
    features: Sequence[str] | None = None,
    seed: int = 0,
) -> LabelReport:
    """The unlabelled rows to label next (by a baseline's uncertainty), committed as ``NAME.batch``."""
    from datawheel.label import next_batch

    parameters = _params(label=label, size=size, strategy=strategy, text=text, features=features, seed=seed)
    with run_step(
        workspace, "label-next-batch", parameters=parameters, code_fingerprint=code_fingerprint(next_batch)
    ) as run:
        given = _read(run, ref)
        batch = next_batch(
            given.frame,
            label=label,
            size=size,
            strategy=strategy,  # type: ignore[arg-type]
            text=text,
            features=features,
            seed=seed,
            keep=_keep(given, text),
        )
        table = _identified(batch.table, given)
        saved = run.commit(
            f"{given.name}.batch", table, message=f"next {table.height} rows to label ({strategy})"
        )
        result = batch.to_dict() | {"batch": _issue_records(table, given.key)}
        return LabelReport("label-next-batch", result, {"batch": saved.ref}, run.execution.id)


@replayable()
def weak_label_dataset(
    workspace: Workspace,
    ref: str,
    *,
    functions: Path | Sequence[Any],
    gold: str | None = None,
    class_balance: Sequence[float] | None = None,
    labels: Sequence[Any] | None = None,
) -> LabelReport:
    """Labelling functions (a file, or ``LabelingFunction`` objects) vote; the label model labels every row.

    The labels become ``NAME.weak`` (with each function's vote) and the per-function analysis
    ``NAME.lf_analysis``; a rules file is recorded as an input by its digest.
    """
    from datawheel.label import apply_functions, load_functions, weak_labels

    rules = load_functions(functions) if isinstance(functions, Path) else list(functions)
    parameters = _params(
        functions=[f.name for f in rules],
        file=str(functions) if isinstance(functions, Path) else None,
        digest=_digest(functions) if isinstance(functions, Path) else None,
        gold=gold,
        class_balance=class_balance,
        labels=labels,
    )
    with run_step(
        workspace, "label-weak", parameters=parameters, code_fingerprint=code_fingerprint(weak_labels)
    ) as run:
        if isinstance(functions, Path):
            run.use(_file_artifact(workspace, functions), role="labelling functions")
        given = _read(run, ref)
        made = weak_labels(given.frame, rules, gold=gold, labels=labels, class_balance=class_balance)
        votes = apply_functions(given.frame, rules).rename(lambda c: f"lf_{c}")
        named = made.labels.with_columns(given.frame.select(_keep(given, None)))
        table = _identified(named, given).with_columns(votes)
        saved = run.commit(f"{given.name}.weak", table, message=f"weak labels from {len(rules)} functions")
        analysis = run.commit(
            f"{given.name}.lf_analysis", made.analysis, message="labelling function analysis"
        )
        result = made.to_dict()
        result["labels"] = _issue_records(table.drop(votes.columns), given.key)
        outputs = {"weak": saved.ref, "analysis": analysis.ref}
        return LabelReport("label-weak", result, outputs, run.execution.id)


def _params(**values: Any) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items() if v is not None}


def _read(run: StepRun, source: str | Path) -> _Input:
    """A version (by ref) or a file (CSV, TSV, JSON lines, Parquet), recorded as an input."""
    path = Path(source)
    if isinstance(source, Path) or (path.suffix and path.is_file()):
        if not path.is_file():
            raise LabelError(f"no file {path}", hint="give an existing file or a dataset ref")
        run.use(_file_artifact(run.workspace, path), role="annotations")
        return _Input(path.stem.replace(" ", "_"), read_frame(path), ())
    version = run.workspace.resolve(str(source))
    return _Input(version.dataset, run.read(version.ref), tuple(version.key))


def _file_artifact(workspace: Workspace, path: Path) -> Any:
    resolved = path.resolve()
    return workspace.lineage.add_artifact(
        "file", str(resolved), digest=_digest(resolved), uri=resolved.as_uri()
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _known_items(run: StepRun, items: str | None, column: str) -> pl.Series | None:
    if items is None:
        return None
    table = run.read(items, role="items")
    if column not in table.columns:
        raise LabelError(f"{items} has no '{column}' column", hint="the items table needs the item column")
    return table[column]


def _strip(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop(ROW_ID, ROW_HASH, SOURCE, strict=False)


def _keep(given: _Input, text: str | None) -> list[str]:
    wanted = [ROW_ID, *given.key, *([text] if text else [])]
    return [c for c in dict.fromkeys(wanted) if c in given.frame.columns]


def _identified(table: pl.DataFrame, given: _Input) -> pl.DataFrame:
    """Name each row by ``row_id`` (its ``_row_id`` in the input) and key columns, first."""
    if ROW_ID in table.columns:
        table = table.rename({ROW_ID: ROW_ID_COLUMN})
    first = [c for c in (ROW_ID_COLUMN, *given.key) if c in table.columns]
    return table.select(*first, pl.exclude(first))


def _issue_records(table: pl.DataFrame, key: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows as JSON-ready objects (``row_id`` and the key columns first; NaN becomes null)."""
    del key  # _identified already put the key columns after row_id
    floats = [c for c, t in table.schema.items() if t.is_float()]
    return table.with_columns(pl.col(c).fill_nan(None) for c in floats).to_dicts()
