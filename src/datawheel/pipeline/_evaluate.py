"""Evaluation in the workspace: baselines saved as models, predictions as versions, results as artifacts.

``train_baseline`` trains on the ``train`` rows of a split version, commits every row with its
prediction as ``NAME.predictions`` and saves the model as an artifact of kind ``model`` whose
properties hold its parameters and its metrics per split. ``evaluate_dataset``,
``slice_dataset``, ``fairness_dataset`` and ``plan_learning_curve`` read a version, save their
result as a JSON artifact (kinds ``evaluation``, ``slices``, ``fairness``, ``learning-curve``)
and an HTML report (kind ``report``), all recorded in lineage.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from datawheel.errors import EvaluationError
from datawheel.evaluate import (
    Evaluation,
    FairnessReport,
    LearningCurve,
    RuleBaseline,
    SliceReport,
    evaluate_predictions,
    evaluation_report,
    fairness_metrics,
    fairness_report,
    find_slices,
    learning_curve,
    learning_curve_report,
    slices_report,
)
from datawheel.lineage import ArtifactInfo, VersionInfo
from datawheel.models import Baseline, fit_baseline
from datawheel.pipeline._artifacts import save_artifact
from datawheel.pipeline._fingerprint import code_fingerprint
from datawheel.pipeline._record import StepRun, run_step
from datawheel.pipeline._replay import replayable
from datawheel.report import Report
from datawheel.workspace import Workspace

MODEL = "model"
REPORT = "report"
PREDICTIONS_SUFFIX = ".predictions"


@dataclass(frozen=True)
class Saved:
    """What an analysis saved in the workspace: its JSON artifact, its HTML report, a copy's path."""

    result: dict[str, Any]
    artifact: ArtifactInfo | None = None
    report: ArtifactInfo | None = None
    html: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """The result's ``--json`` shape, with where it was saved."""
        return {
            **self.result,
            "artifact": self.artifact.name if self.artifact else None,
            "report": self.report.name if self.report else None,
            "html": str(self.html) if self.html else None,
        }


@dataclass(frozen=True)
class BaselineReport:
    """A trained baseline: its model artifact, the predictions version, and its metrics per split."""

    model: ArtifactInfo
    predictions: VersionInfo
    kind: str
    classes: tuple[Any, ...]
    train_rows: int
    metrics: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``model``, ``predictions``, ``metrics`` per split."""
        return {
            "model": self.model.name,
            "kind": self.kind,
            "classes": list(self.classes),
            "train_rows": self.train_rows,
            "predictions": self.predictions.ref,
            "metrics": self.metrics,
            "execution": self.predictions.execution_id,
        }


def predictions_name(name: str) -> str:
    """The dataset holding a baseline's predictions of dataset ``name``."""
    return f"{name}{PREDICTIONS_SUFFIX}"


@replayable()
def train_baseline(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    image: str | None = None,
    rules: RuleBaseline | None = None,
    split: str = "split",
    train: str = "train",
    name: str | None = None,
    seed: int = 0,
) -> BaselineReport:
    """Train a baseline on the ``train`` rows of a split version; save the model and the predictions.

    The model (a scikit-learn baseline from ``datawheel.models``, or ``rules``) becomes the next
    version of the ``model`` artifact ``name`` (default ``DATASET-baseline``), with properties
    ``parameters`` and ``metrics`` (per split value other than ``train``, and ``train``). Every
    row of the version, with ``prediction`` (and ``score``: the positive class's probability
    for two classes, one probability per class otherwise), is committed as ``DATASET.predictions``.

    Example:
        >>> import tempfile
        >>> texts = ["win cash now", "see you soon"] * 20
        >>> split = ["train"] * 30 + ["test"] * 10
        >>> frame = pl.DataFrame({"text": texts, "y": ["spam", "ham"] * 20, "split": split})
        >>> with Workspace.init(Path(tempfile.mkdtemp())) as ws:
        ...     _ = ws.commit("sms", frame)
        ...     report = train_baseline(ws, "sms", label="y", text="text")
        ...     report.model.name, report.predictions.ref, report.metrics["test"]["accuracy"]
        ('sms-baseline@1', 'sms.predictions@1', 1.0)
    """
    version = workspace.resolve(ref)
    model_name = name or f"{version.dataset}-baseline"
    parameters = {
        "label": label,
        "text": text,
        "features": list(features) if features else None,
        "image": image,
        "rules": rules.to_dict() if rules else None,
        "split": split,
        "train": train,
        "seed": seed,
    }
    fingerprint = code_fingerprint(fit_baseline if rules is None else RuleBaseline.predict)
    with run_step(workspace, "baseline", parameters=parameters, code_fingerprint=fingerprint) as run:
        frame = run.read(version.ref, role="data")
        _need(frame, [label, split], "a split version (run `datawheel split` first)")
        inputs = {"text": text, "features": features, "image": image}
        predicted, model = _fit_and_predict(frame, label, split, train, inputs, rules, seed)
        metrics = _metrics_per_split(predicted, label, split)
        kind, data, classes = _model_bytes(model)
        properties = {
            "kind": kind,
            "trained_on": version.ref,
            "parameters": parameters,
            "metrics": metrics,
            "classes": [str(c) for c in classes],
        }
        saved = save_artifact(run, MODEL, model_name, data, suffix=".pkl", properties=properties)
        out = run.commit(
            predictions_name(version.dataset),
            predicted,
            message=f"predictions of {saved.name} on {version.ref}",
        )
    train_rows = frame.filter(pl.col(split) == train).height
    return BaselineReport(saved, out, kind, classes, train_rows, metrics)


def _need(frame: pl.DataFrame, columns: Sequence[str | None], what: str) -> None:
    shown = ", ".join(c for c in frame.columns if not c.startswith("_"))
    for column in columns:
        if column is not None and column not in frame.columns:
            raise EvaluationError(
                f"no column '{column}' (columns: {shown})",
                hint=f"this needs {what}",
            )


def _fit_and_predict(
    frame: pl.DataFrame,
    label: str,
    split: str,
    train: str,
    inputs: dict[str, Any],
    rules: RuleBaseline | None,
    seed: int,
) -> tuple[pl.DataFrame, Baseline | RuleBaseline]:
    if rules is not None:
        predicted = rules.predict(frame).cast(frame.schema[label], strict=False)
        return frame.with_columns(predicted.alias("prediction")), rules
    training = frame.filter(pl.col(split) == train)
    if training.height == 0:
        raise EvaluationError(
            f"no row has '{split}' = '{train}'", hint="split the dataset first, or name the training split"
        )
    model = fit_baseline(training, label=label, seed=seed, **inputs)
    proba = model.predict_proba(frame)
    best = pl.Series("prediction", [model.classes[i] for i in proba.argmax(axis=1)])
    score = pl.Series("score", proba[:, 1]) if proba.shape[1] == 2 else pl.Series("score", proba.tolist())
    return frame.with_columns(best.cast(frame.schema[label], strict=False), score), model


def _metrics_per_split(predicted: pl.DataFrame, label: str, split: str) -> dict[str, dict[str, Any]]:
    score = "score" if "score" in predicted.columns else None
    out: dict[str, dict[str, Any]] = {}
    for value in sorted(predicted[split].drop_nulls().unique().cast(pl.String).to_list()):
        rows = predicted.filter(pl.col(split).cast(pl.String) == value)
        if rows.filter(pl.col(label).is_not_null()).height == 0:
            continue
        result = evaluate_predictions(rows, label=label, prediction="prediction", score=score, bootstrap=0)
        out[value] = {k: v for k, v in result.metrics.items()} | {"rows": result.rows}
    return out


def _model_bytes(model: Baseline | RuleBaseline) -> tuple[str, bytes, tuple[Any, ...]]:
    if isinstance(model, RuleBaseline):
        return "rules", json.dumps(model.to_dict(), ensure_ascii=False, indent=2).encode(), model.classes
    return model.inputs.kind, model.to_bytes(), model.classes


def _rows(
    run: StepRun, ref: str, needed: Sequence[str | None], split: str, split_value: str | None
) -> pl.DataFrame:
    frame = run.read(ref, role="predictions")
    _need(frame, needed, "a label and a prediction column")
    if split_value is None:
        return frame
    _need(frame, [split], f"a '{split}' column to choose the {split_value} rows")
    return frame.filter(pl.col(split).cast(pl.String) == split_value)


def _save(
    run: StepRun,
    kind: str,
    name: str,
    result: dict[str, Any],
    page: Report,
    html: Path | None,
) -> Saved:
    text = json.dumps(result, ensure_ascii=False, indent=2, default=_json_default).encode()
    artifact = save_artifact(run, kind, name, text, suffix=".json")
    rendered = page.render().encode()
    report = save_artifact(run, REPORT, f"{name}-report", rendered, suffix=".html")
    if html is not None:
        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_bytes(rendered)
    return Saved(json.loads(text), artifact, report, html)


def _json_default(value: object) -> object:
    if isinstance(value, np.generic):
        return value.item()
    return str(value)


def evaluate_dataset(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    prediction: str,
    score: str | None = None,
    metrics: Sequence[str] | None = None,
    split: str = "split",
    split_value: str | None = None,
    html: Path | None = None,
    bootstrap: int = 1000,
) -> tuple[Evaluation, Saved]:
    """Evaluate the predictions in a version (all rows, or those of one split); save JSON and HTML.

    The result is the artifact ``DATASET-evaluation`` (kind ``evaluation``) and its report
    ``DATASET-evaluation-report`` (kind ``report``); ``html`` also writes the page there.
    """
    version = workspace.resolve(ref)
    parameters = {"label": label, "prediction": prediction, "score": score, "split": split_value}
    with run_step(
        workspace, "evaluate", parameters=parameters, code_fingerprint=code_fingerprint(evaluate_predictions)
    ) as run:
        rows = _rows(run, version.ref, [label, prediction, score], split, split_value)
        result = evaluate_predictions(
            rows, label=label, prediction=prediction, score=score, metrics=metrics, bootstrap=bootstrap
        )
        page = evaluation_report(result, title=f"Evaluation of {version.ref}" + _of(split_value))
        saved = _save(run, "evaluation", f"{version.dataset}-evaluation", result.to_dict(), page, html)
    return result, saved


def _of(split_value: str | None) -> str:
    return f" ({split_value} rows)" if split_value else ""


def slice_dataset(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    prediction: str,
    by: Sequence[str],
    score: str | None = None,
    split: str = "split",
    split_value: str | None = None,
    html: Path | None = None,
    alpha: float = 0.05,
    min_count: int = 1,
) -> tuple[SliceReport, Saved]:
    """Find the slices where the model fails (see ``datawheel.evaluate.find_slices``); save JSON and HTML."""
    version = workspace.resolve(ref)
    parameters = {
        "label": label,
        "prediction": prediction,
        "by": list(by),
        "split": split_value,
        "alpha": alpha,
    }
    with run_step(
        workspace, "slices", parameters=parameters, code_fingerprint=code_fingerprint(find_slices)
    ) as run:
        rows = _rows(run, version.ref, [label, prediction, *by], split, split_value)
        result = find_slices(
            rows, label=label, prediction=prediction, by=by, score=score, alpha=alpha, min_count=min_count
        )
        page = slices_report(result, title=f"Slices of {version.ref}" + _of(split_value))
        saved = _save(run, "slices", f"{version.dataset}-slices", result.to_dict(), page, html)
    return result, saved


def fairness_dataset(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    prediction: str,
    group: str | Sequence[str],
    positive: Any = None,
    split: str = "split",
    split_value: str | None = None,
    html: Path | None = None,
) -> tuple[FairnessReport, Saved]:
    """Rates per sensitive group and representation (see ``datawheel.evaluate.fairness_metrics``).

    Model rates use the rows of ``split_value`` when given; representation always covers every
    split of the version.
    """
    version = workspace.resolve(ref)
    groups = [group] if isinstance(group, str) else list(group)
    parameters = {"label": label, "prediction": prediction, "group": groups, "split": split_value}
    with run_step(
        workspace, "fairness", parameters=parameters, code_fingerprint=code_fingerprint(fairness_metrics)
    ) as run:
        frame = _rows(run, version.ref, [label, prediction, *groups], split, None)
        result = fairness_metrics(
            frame, label=label, prediction=prediction, group=groups, positive=positive, split=split
        )
        if split_value is not None:
            chosen = frame.filter(pl.col(split).cast(pl.String) == split_value)
            rates = fairness_metrics(
                chosen, label=label, prediction=prediction, group=groups, positive=positive
            )
            result = FairnessReport(
                rates.group, rates.positive, rates.rows, rates.groups, result.representation
            )
        page = fairness_report(result, title=f"Fairness of {version.ref}" + _of(split_value))
        saved = _save(run, "fairness", f"{version.dataset}-fairness", result.to_dict(), page, html)
    return result, saved


def plan_learning_curve(
    workspace: Workspace,
    ref: str,
    *,
    label: str,
    text: str | None = None,
    features: Sequence[str] | None = None,
    image: str | None = None,
    split: str = "split",
    train: str = "train",
    dev: str = "dev",
    fractions: Sequence[float] | None = None,
    seeds: Sequence[int] = (0, 1, 2),
    metric: str = "accuracy",
    issues: str | None = None,
    html: Path | None = None,
) -> tuple[LearningCurve, Saved]:
    """How much more data would buy: the learning curve of the baseline on a split version.

    ``issues`` names a boolean column marking rows suspected of a wrong label (e.g. from
    ``datawheel label issues``): counted per class among training rows, it turns the advice
    into "fix the labels of class X first" where they cluster.
    """
    from datawheel.evaluate import DEFAULT_FRACTIONS

    version = workspace.resolve(ref)
    parameters = {
        "label": label,
        "text": text,
        "features": list(features) if features else None,
        "image": image,
        "fractions": list(fractions or DEFAULT_FRACTIONS),
        "seeds": list(seeds),
        "metric": metric,
        "issues": issues,
    }
    with run_step(
        workspace, "learning-curve", parameters=parameters, code_fingerprint=code_fingerprint(learning_curve)
    ) as run:
        frame = run.read(version.ref, role="data")
        _need(frame, [label, split, issues], "a split version (run `datawheel split` first)")
        result = learning_curve(
            frame,
            label=label,
            text=text,
            features=features,
            image=image,
            split=split,
            train=train,
            dev=dev,
            fractions=fractions or DEFAULT_FRACTIONS,
            seeds=seeds,
            metric=metric,
            label_issues=_issue_counts(frame, label, split, train, issues),
        )
        page = learning_curve_report(result, title=f"Learning curve of {version.ref}")
        saved = _save(
            run, "learning-curve", f"{version.dataset}-learning-curve", result.to_dict(), page, html
        )
    return result, saved


def _issue_counts(
    frame: pl.DataFrame, label: str, split: str, train: str, issues: str | None
) -> dict[str, int] | None:
    if issues is None:
        return None
    flagged = frame.filter((pl.col(split) == train) & pl.col(issues).cast(pl.Boolean).fill_null(False))
    counts = flagged.group_by(pl.col(label).cast(pl.String)).len()
    return {str(k): int(v) for k, v in counts.iter_rows()}
