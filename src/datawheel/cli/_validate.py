"""Commands of the validate capability: profile, contract infer, validate, drift, monitor.

Each exits 1 when the check it ran failed (an error-level anomaly, drift, an alert), 2 on a
user error.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from datawheel.cli._app import app, workspace
from datawheel.cli._output import console, print_json
from datawheel.errors import WorkspaceError
from datawheel.pipeline._validate import (
    drift_slices,
    drift_versions,
    infer_version_contract,
    monitor_batches,
    profile_version,
    validate_target,
)
from datawheel.validate import (
    DriftReport,
    drift_report,
    load_contract,
    monitor_report,
    profile_report,
    validation_report,
)
from datawheel.workspace import Workspace

JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON on stdout.")]
HtmlOption = Annotated[
    Path | None, typer.Option("--html", help="Also write a self-contained HTML report here.")
]
ContractOption = Annotated[Path, typer.Option("--contract", help="The contract (YAML) to check against.")]

contract_app = typer.Typer(add_completion=False, rich_markup_mode=None, no_args_is_help=True)
app.add_typer(contract_app, name="contract", help="Data contracts: draft one from a version's profile.")


@app.command("profile")
def profile_command(
    ref: Annotated[str, typer.Argument(help="The version to profile: NAME, NAME@N or NAME@TAG.")],
    label: Annotated[str | None, typer.Option("--label", help="The label column (class balance).")] = None,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Profile a version in one pass and save the profile as an artifact (kind profile)."""
    with workspace() as ws:
        saved = profile_version(ws, ref, label=label)
    if html:
        profile_report(saved.profile, title=f"Profile of {saved.version.ref}").write(html)
    if json:
        print_json({**saved.profile.to_dict(), "ref": saved.version.ref, "artifact": saved.artifact.name})
        return
    console.print(
        f"profiled {saved.version.ref}: {saved.profile.rows:,} rows, {len(saved.profile.columns)} columns; "
        f"saved as profile {saved.artifact.name}" + (f"; report {html}" if html else ""),
        markup=False,
    )
    for name, column in saved.profile.columns.items():
        console.print(
            f"  {name}: {column.kind}, {column.nulls:,} nulls, ~{column.distinct:,} distinct", markup=False
        )


@contract_app.command("infer")
def contract_infer(
    ref: Annotated[str, typer.Argument(help="The version to draft a contract from.")],
    output: Annotated[Path, typer.Option("--output", "-o", help="Where to write the contract (YAML).")],
    json: JsonOption = False,
) -> None:
    """Draft an editable contract (types, nulls, ranges, categories, uniqueness, rows) from a version."""
    with workspace() as ws:
        contract, artifact = infer_version_contract(ws, ref, output)
    if json:
        print_json({"path": str(output), "artifact": artifact.name, "columns": list(contract.columns)})
        return
    console.print(
        f"wrote {output} ({len(contract.columns)} columns); saved as contract {artifact.name}", markup=False
    )


@app.command("validate")
def validate_command(
    target: Annotated[str, typer.Argument(help="A version (NAME, NAME@N) or a file to check.")],
    contract: ContractOption,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Check a version or a file against a contract in one pass; exit 1 on an error-level anomaly."""
    rules = load_contract(contract)
    with _maybe_workspace(target) as ws:
        result = validate_target(ws, target, rules)
    if html:
        validation_report(result, title=f"Validation of {target}", subtitle=f"contract {contract}").write(
            html
        )
    if json:
        print_json(result.to_dict())
    else:
        status = "ok" if result.ok else "FAILED"
        console.print(
            f"{target}: {status}; {result.rows:,} rows, {result.errors} errors, "
            f"{len(result.anomalies) - result.errors} warnings",
            markup=False,
        )
        for a in result.anomalies:
            console.print(
                f"  {a.severity}: {a.column or 'table'} {a.check}: "
                f"expected {a.expected}, observed {a.observed}"
                + (f" (e.g. {', '.join(map(str, a.examples))})" if a.examples else ""),
                markup=False,
            )
    if not result.ok:
        raise typer.Exit(1)


@app.command("drift")
def drift_command(
    reference: Annotated[str, typer.Argument(help="The reference version (or file).")],
    current: Annotated[str, typer.Argument(help="The current version (or file).")],
    by: Annotated[
        str | None, typer.Option("--by", help="Compare slice by slice, per value of this column.")
    ] = None,
    contract: Annotated[
        Path | None, typer.Option("--contract", help="A contract whose drift thresholds to use.")
    ] = None,
    tests: Annotated[bool, typer.Option("--tests", help="Also run KS / chi-squared tests (Holm).")] = False,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Compare two versions column by column (PSI, Jensen-Shannon, Wasserstein, L-inf); exit 1 on drift."""
    rules = load_contract(contract) if contract else None
    with workspace() as ws:
        if by:
            slices = drift_slices(ws, reference, current, by=by, contract=rules)
        else:
            report = drift_versions(ws, reference, current, contract=rules, tests=tests)
    if by:
        _show_slices(slices, by, html, json)
        if any(r.drifted for r in slices.values()):
            raise typer.Exit(1)
        return
    if html:
        drift_report(report, title=f"Drift: {reference} → {current}").write(html)
    if json:
        print_json(report.to_dict())
    else:
        _show_drift(report, f"{reference} → {current}")
    if report.drifted:
        raise typer.Exit(1)


def _show_drift(report: DriftReport, what: str) -> None:
    console.print(f"{what}: {len(report.drifted)} of {len(report.columns)} columns drifted", markup=False)
    for name, c in report.columns.items():
        mark = "DRIFT" if c.drifted else "ok"
        console.print(
            f"  {mark:5} {name}: {c.metric} {c.value:.4g} (threshold {c.threshold:g})", markup=False
        )


def _show_slices(slices: dict[str, DriftReport], by: str, html: Path | None, json: bool) -> None:
    if html:
        from datawheel.report import Report, bar_chart, table

        page = Report(f"Drift by {by}")
        page.summary(
            [
                ("error" if r.drifted else "ok", f"{by}={k}: {', '.join(r.drifted) or 'no drift'}")
                for k, r in slices.items()
            ]
        )
        for key, r in slices.items():
            values = [c.value / c.threshold if c.threshold else c.value for c in r.columns.values()]
            rows = [[n, c.metric, c.value, c.threshold, c.drifted] for n, c in r.columns.items()]
            page.section(
                f"{by} = {key}",
                bar_chart(list(r.columns), values, title="value ÷ threshold", highlight=set(r.drifted))
                + table(["column", "metric", "value", "threshold", "drifted"], rows),
            )
        page.write(html)
    if json:
        drifted = sorted({c for r in slices.values() for c in r.drifted})
        print_json({"by": by, "drifted": drifted, "slices": {k: r.to_dict() for k, r in slices.items()}})
        return
    for key, r in slices.items():
        _show_drift(r, f"{by}={key}")


@app.command("monitor")
def monitor_command(
    batches: Annotated[list[str], typer.Argument(help="New batches: files or versions.")],
    reference: Annotated[str, typer.Option("--reference", help="The reference version to compare with.")],
    contract: Annotated[
        Path | None, typer.Option("--contract", help="Also check each batch against this.")
    ] = None,
    label_on_alert: Annotated[
        str | None,
        typer.Option("--label-on-alert", help="On alert, commit the drifted rows as this dataset, to label."),
    ] = None,
    html: HtmlOption = None,
    json: JsonOption = False,
) -> None:
    """Check new batches: contract, drift, data failures (empty, missing columns, spikes); exit 1 on alert."""
    rules = load_contract(contract) if contract else None
    with workspace() as ws:
        run = monitor_batches(ws, reference, batches, contract=rules, label_on_alert=label_on_alert)
    if html:
        monitor_report(run.report, title=f"Monitoring against {reference}").write(html)
    if json:
        print_json(run.to_dict())
    else:
        for b in run.report.batches:
            reasons = [f.check for f in b.failures] + (
                ["contract"] if b.validation and not b.validation.ok else []
            )
            reasons += [f"drift:{c}" for c in (b.drift.drifted if b.drift else [])]
            console.print(
                f"{'ALERT' if b.alert else 'ok':5} {b.name}: {b.rows:,} rows; {', '.join(reasons) or 'fine'}",
                markup=False,
            )
        if run.to_label:
            console.print(
                f"opened {run.to_label.ref} ({run.to_label.rows:,} rows) for labelling", markup=False
            )
    if run.report.alert:
        raise typer.Exit(1)


@contextmanager
def _maybe_workspace(target: str) -> Iterator[Workspace | None]:
    """The workspace, or None for a file checked outside one."""
    try:
        ws = workspace()
    except WorkspaceError:
        if Path(target).exists():
            yield None
            return
        raise
    with ws:
        yield ws
