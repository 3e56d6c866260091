"""The rest of the flywheel on the demo's SMS data: clean, check, label, split, train, release, monitor.

Each stage calls the same workspace functions a user calls and reports its figures from what
it just computed, in one or two lines.
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from datawheel.pipeline import run_step
from datawheel.pipeline._clean import dedup_dataset, redact_dataset
from datawheel.pipeline._evaluate import evaluate_dataset, plan_learning_curve, slice_dataset, train_baseline
from datawheel.pipeline._label import (
    aggregate_labels,
    find_label_issues,
    measure_agreement,
    weak_label_dataset,
)
from datawheel.pipeline._labelling import create_project
from datawheel.pipeline._release import release
from datawheel.pipeline._replay import replayable
from datawheel.pipeline._split import split_dataset
from datawheel.pipeline._validate import (
    infer_version_contract,
    monitor_batches,
    profile_version,
    validate_target,
)
from datawheel.store import ROW_ID
from datawheel.validate import monitor_report, profile_report
from datawheel.workspace import Workspace

#: Simulated annotators of the demo's labelling round, with how often each one is right.
ANNOTATORS = {"ana": 0.95, "ben": 0.85, "cho": 0.7}
LABELING_FUNCTIONS = """\
[[lf]]
name = "money"
column = "text"
label = "spam"
keywords = ["cash", "prize", "won", "win", "claim", "award", "reward"]

[[lf]]
name = "call-now"
column = "text"
label = "spam"
regex = "(call|txt|text|reply) (now|stop|\\\\d{5})"

[[lf]]
name = "free"
column = "text"
label = "spam"
keywords = ["free", "urgent", "guaranteed", "mobile", "ringtone"]

[[lf]]
name = "chat"
column = "text"
label = "ham"
keywords = ["lol", "ok", "home", "sorry", "later", "love", "i'll", "gonna", "haha"]
"""


@dataclass(frozen=True)
class Stage:
    """One stage of the demo: its name, the lines it printed, and its figures."""

    name: str
    lines: tuple[str, ...]
    figures: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape of a stage."""
        return {"stage": self.name, "lines": list(self.lines), **self.figures}


@replayable()
def add_metadata(workspace: Workspace, ref: str) -> str:
    """Metadata columns for error analysis, as the next version.

    ``origin`` is the acquisition source (from ``_source``); ``length`` is short under 40
    characters, long over 120, else medium.
    """
    with run_step(workspace, "add-metadata", parameters={"ref": ref}) as run:
        frame = run.read(ref)
        origin = pl.col("_source").struct.field("source").fill_null("unknown").alias("origin")
        chars = pl.col("text").str.len_chars()
        length = pl.when(chars < 40).then(pl.lit("short")).when(chars > 120).then(pl.lit("long"))
        frame = frame.with_columns(origin, length.otherwise(pl.lit("medium")).alias("length"))
        return run.commit(workspace.resolve(ref).dataset, frame, message="origin and length columns").ref


@replayable()
def simulate_annotations(workspace: Workspace, ref: str, *, items: int = 300, seed: int = 0) -> str:
    """A labelling round, simulated: each annotator of :data:`ANNOTATORS` labels the same items.

    An annotator gives the true label with their accuracy, else the other label. The votes
    become ``NAME.annotations`` (item, annotator, label), recorded in lineage.
    """
    rng = np.random.default_rng(seed)
    with run_step(workspace, "simulate-annotations", parameters={"items": items, "seed": seed}) as run:
        frame = run.read(ref).select(ROW_ID, "label")
        chosen = frame[np.sort(rng.choice(frame.height, size=min(items, frame.height), replace=False))]
        truth = chosen["label"].to_numpy()
        other = np.where(truth == "spam", "ham", "spam")
        votes = [
            pl.DataFrame(
                {
                    "item": chosen[ROW_ID],
                    "annotator": name,
                    "label": np.where(rng.random(len(truth)) < accuracy, truth, other),
                }
            )
            for name, accuracy in ANNOTATORS.items()
        ]
        name = f"{workspace.resolve(ref).dataset}.annotations"
        return run.commit(name, pl.concat(votes), message="simulated labelling round").ref


def production_batch(workspace: Workspace, ref: str, path: Path, *, rows: int = 600, seed: int = 1) -> Path:
    """Write a simulated production batch: more spam, longer texts, a new origin — drift to catch."""
    rng = np.random.default_rng(seed)
    frame = workspace.read(ref).drop(pl.selectors.starts_with("_"))
    spam = frame.filter(pl.col("label") == "spam")
    ham = frame.filter(pl.col("label") == "ham")
    take = [
        spam[rng.choice(spam.height, size=int(rows * 0.6))],
        ham[rng.choice(ham.height, size=rows - int(rows * 0.6))],
    ]
    batch = pl.concat(take).with_columns(
        (pl.col("text") + " Reply STOP to end. Txt WIN to 80888 for your prize!").alias("text"),
        pl.lit("sms-gateway").alias("origin"),
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    batch.write_csv(path)
    return path


def turn(ws: Workspace, root: Path, say: Callable[[Stage], None]) -> tuple[list[Stage], dict[str, Path]]:
    """Run the stages after ingest on ``sms`` (the cleaned latest version); return them and the reports."""
    reports = root / "reports"
    reports.mkdir(exist_ok=True)
    stages: list[Stage] = []
    found: dict[str, Path] = {}

    def stage(name: str, lines: list[str], **figures: Any) -> None:
        done = Stage(name, tuple(lines), figures)
        stages.append(done)
        say(done)

    add_metadata(ws, "sms")
    near = dedup_dataset(ws, "sms", column="text", threshold=0.8)
    removed = ws.read(near.removed_version.ref) if near.removed_version else pl.DataFrame({"reason": []})
    exact = int((removed["reason"] == "exact duplicate").sum())
    stage(
        "dedup",
        [
            f"Dedup: {near.version.ref} keeps {near.kept:,} of {near.rows_in:,} rows; {exact:,} exact and "
            f"{near.removed - exact:,} near duplicates (MinHash, Jaccard ≥ 0.8) set aside in sms.removed"
        ],
        kept=near.kept,
        exact=exact,
        near=near.removed - exact,
    )

    redacted = redact_dataset(ws, "sms", column="text", mode="tag")
    findings = redacted.stats.get("findings", {})
    stage(
        "redact",
        [
            f"PII: {sum(findings.values()):,} findings redacted into {redacted.version.ref} ("
            + ", ".join(f"{k} {v:,}" for k, v in sorted(findings.items()))
            + "); where they were, never what, is in sms.pii_findings"
        ],
        findings=findings,
    )

    saved = profile_version(ws, "sms", label="label")
    found["profile"] = profile_report(saved.profile, title=f"Profile of {saved.version.ref}").write(
        reports / "profile.html"
    )
    contract_path = root / "contract.yaml"
    contract, _ = infer_version_contract(ws, "sms", contract_path)
    checked = validate_target(ws, "sms", contract)
    stage(
        "contract",
        [
            f"Profile of {saved.version.ref}: {saved.profile.rows:,} rows, "
            f"{len(saved.profile.columns)} columns; "
            f"contract drafted to contract.yaml; validation: {'ok' if checked.ok else 'FAILED'} "
            f"({len(checked.anomalies)} anomalies)"
        ],
        ok=checked.ok,
    )

    rules = root / "labeling_functions.toml"
    rules.write_text(LABELING_FUNCTIONS, encoding="utf-8")
    weak = weak_label_dataset(ws, "sms", functions=rules, gold="label").result
    comparison = weak.get("comparison", {})
    model_acc = float(comparison.get("label_model_accuracy_covered", 0.0))
    vote_acc = float(comparison.get("majority_accuracy_covered", 0.0))
    stage(
        "weak-labels",
        [
            f"Weak labels: {len(weak.get('analysis', []))} labelling functions vote on "
            f"{comparison.get('covered_rows', 0):,} rows; there the label model is {model_acc:.1%} right "
            f"and majority vote {vote_acc:.1%}; on all rows the label model is "
            f"{float(comparison.get('label_model_accuracy', 0.0)):.1%} right"
        ],
        label_model_accuracy=model_acc,
        majority_accuracy=vote_acc,
    )

    annotations = simulate_annotations(ws, "sms", items=300, seed=0)
    agreed = measure_agreement(ws, annotations).result
    ds = aggregate_labels(ws, annotations, method="dawid-skene")
    truth = ws.read("sms").select(pl.col(ROW_ID).alias("item"), pl.col("label").alias("truth"))
    labels = ws.read(ds.outputs["labels"]).join(truth, on="item")
    ds_acc = float(np.mean(labels["label"].to_numpy() == labels["truth"].to_numpy()))
    stage(
        "annotation",
        [
            f"Labelling round (simulated): {len(ANNOTATORS)} annotators x 300 items; Fleiss κ "
            f"{agreed['fleiss_kappa']:.3f}, Krippendorff alpha {agreed['krippendorff_alpha']:.3f}, "
            f"agreement {agreed['percent_agreement']:.1%}",
            f"Aggregated with Dawid-Skene into {ds.outputs['labels']}: {ds_acc:.1%} match the true labels",
        ],
        fleiss_kappa=agreed["fleiss_kappa"],
        krippendorff_alpha=agreed["krippendorff_alpha"],
        dawid_skene_accuracy=ds_acc,
    )

    issues = find_label_issues(ws, "sms", label="label", text="text")
    listed = issues.result.get("issues", [])
    stage(
        "label-issues",
        [
            f"Label issues: {len(listed):,} rows probably mislabelled (confident learning on out-of-fold "
            f"TF-IDF + logistic regression), in {issues.outputs.get('review', 'sms.review')} for review"
        ]
        + ([_example(ws, listed[0])] if listed else []),
        issues=len(listed),
    )

    split = split_dataset(ws, "sms", [0.7, 0.15, 0.15], stratify=["label"], near="text")
    shown = split.to_dict()
    leaks = shown.get("leakage", {})
    stage(
        "split",
        [
            f"Split {split.version.ref}: "
            + ", ".join(
                f"{n} {s['rows']:,} (spam {s['classes'].get('spam', 0):,})"
                for n, s in shown["splits"].items()
            )
            + f"; largest deviation {shown['max_deviation']['class_rows']:g} rows; "
            f"leakage across splits: {_leak_text(leaks)}"
        ],
        splits={n: s["rows"] for n, s in shown["splits"].items()},
    )

    baseline = train_baseline(ws, split.version.ref, label="label", text="text")
    predictions = baseline.predictions.ref
    evaluation, _ = evaluate_dataset(
        ws, predictions, label="label", prediction="prediction", score="score", split_value="test",
        html=reports / "evaluation.html", bootstrap=200,
    )  # fmt: skip
    found["evaluation"] = reports / "evaluation.html"
    slices, _ = slice_dataset(
        ws, predictions, label="label", prediction="prediction", by=["origin", "length"], split_value="test",
        html=reports / "slices.html",
    )  # fmt: skip
    found["slices"] = reports / "slices.html"
    metrics = evaluation.to_dict()
    worst = slices.slices[0] if slices.slices else None
    stage(
        "baseline",
        [
            "Baseline (TF-IDF + logistic regression) on the test split: "
            f"accuracy {metrics['accuracy']:.3f}, "
            f"F1 macro {metrics['f1_macro']:.3f}, ROC-AUC {metrics.get('roc_auc', float('nan')):.3f}",
            (
                f"Slices by origin and length: worst {_slice_name(worst.columns, worst.values)} "
                f"({worst.count:,} rows, "
                f"{worst.metric} {worst.value:.3f}"
                f"{', significant' if worst.significant else ', not significant'})"
                if worst
                else "Slices by origin and length: none"
            ),
        ],
        accuracy=metrics["accuracy"],
        f1_macro=metrics["f1_macro"],
    )

    curves, _ = plan_learning_curve(
        ws, split.version.ref, label="label", text="text", fractions=(0.1, 0.25, 0.5, 1.0), seeds=(0, 1),
        html=reports / "learning_curve.html",
    )  # fmt: skip
    found["learning_curve"] = reports / "learning_curve.html"
    stage("learning-curve", [f"How much more data: {curves.recommendation}"])

    notes = root / "NOTES.md"
    notes.write_text("The SMS Spam Collection (UCI, CC BY 4.0), cleaned and split by the datawheel demo.\n")
    released = release(ws, "v1", datasets=[split.version.ref, "sms.removed"], notes=notes, label="label")
    for page in ("datasheet.html", "quality.html", "lineage.html"):
        found[page.removesuffix(".html")] = released.bundle / page
    stage(
        "release",
        [
            f"Release v1: {released.files} files in {released.bundle.relative_to(root)} "
            "(data per split, manifest, datasheet, quality report, lineage)"
        ],
        bundle=str(released.bundle),
        files=released.files,
    )  # fmt: skip

    batch = production_batch(ws, "sms", root / "data" / "production_batch.csv")
    monitored = monitor_batches(ws, "sms", [str(batch)], contract=contract, label_on_alert="sms.to_label")
    found["monitor"] = monitor_report(monitored.report, title="Monitoring against sms").write(
        reports / "monitor.html"
    )
    result = monitored.report.batches[0]
    project = None
    if monitored.to_label is not None:
        project = create_project(
            ws, "sms-round-2", monitored.to_label.ref, task_type="single", column="text",
            labels=["ham", "spam"], overlap=2, guidelines="Spam is unsolicited advertising or a scam.",
        )  # fmt: skip
    stage(
        "monitor",
        [
            f"Production batch {batch.name}: {'ALERT' if result.alert else 'ok'} — drifted columns "
            f"{', '.join(result.drift.drifted) if result.drift else 'none'}; "
            f"{len(result.validation.anomalies) if result.validation else 0} contract anomalies, "
            f"{len(result.failures)} data failures",
            (
                f"Opened {monitored.to_label.ref} ({monitored.to_label.rows:,} rows of the drifted slice) "
                f"as labelling project '{project.name}' (overlap 2)"
                if monitored.to_label and project
                else "No labelling batch opened"
            ),
        ],
        alert=result.alert,
        to_label=monitored.to_label.ref if monitored.to_label else None,
    )
    return stages, found


def _leak_text(leaks: dict[str, Any]) -> str:
    kinds = [(k, v) for k, v in leaks.items() if isinstance(v, dict) and "rows" in v]
    if not kinds:
        return "none"
    return ", ".join(f"{k} {v['rows']:,} rows" for k, v in kinds)


def _example(ws: Workspace, issue: dict[str, Any]) -> str:
    row = ws.read("sms").filter(pl.col(ROW_ID) == issue["row_id"])
    text = textwrap.shorten(str(row["text"][0]), 60) if row.height else "?"
    given, suggested = issue.get("given_label"), issue.get("suggested_label")
    return f"  most suspicious: labelled {given!r}, model says {suggested!r}: {text!r}"


def _slice_name(columns: tuple[str, ...], values: tuple[Any, ...]) -> str:
    return ", ".join(f"{c}={v}" for c, v in zip(columns, values, strict=True))
