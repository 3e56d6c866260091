"""The datasheet of a release: the sections of "Datasheets for Datasets", filled from facts.

Gebru et al. (2021) ask eight groups of questions. What the lineage record can answer —
composition, how rows were collected, cleaned, labelled and split, how a baseline did — is
written from the facts the pipeline layer gathers; what only a person knows (why the data
exists, who may use it, who maintains it) is marked for the owner to write.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping, Sequence
from typing import Any

SECTIONS = (
    "Motivation",
    "Composition",
    "Collection process",
    "Preprocessing and cleaning",
    "Labelling",
    "Uses",
    "Distribution",
    "Maintenance",
)
OWNER = "**To be written by the owner:**"


def datasheet_markdown(facts: Mapping[str, Any]) -> str:
    """The datasheet as Markdown, one ``##`` section per datasheet section, in order.

    Every section is present; a fact that is missing is said to be missing, never invented.

    Example:
        >>> text = datasheet_markdown({"release": "v1", "datasets": [{"ref": "sms@3", "rows": 10}]})
        >>> [line for line in text.splitlines() if line.startswith("## ")][:2]
        ['## 1. Motivation', '## 2. Composition']
    """
    parts = [f"# Datasheet: {facts.get('release', 'release')}", ""]
    created = facts.get("created")
    parts.append(
        f"Released {created} with datawheel {facts.get('datawheel_version', '?')}." if created else "Release."
    )
    parts.append("Figures below come from the workspace's lineage record at release time.\n")
    writers = (
        _motivation,
        _composition,
        _collection,
        _cleaning,
        _labelling,
        _uses,
        _distribution,
        _maintenance,
    )
    for number, (title, write) in enumerate(zip(SECTIONS, writers, strict=True), start=1):
        parts += [f"## {number}. {title}", "", *write(facts), ""]
    return "\n".join(parts).rstrip() + "\n"


def _owner(*questions: str) -> list[str]:
    return [f"> {OWNER} " + " ".join(questions), ""]


def _table(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[str]:
    def cell(value: Any) -> str:
        text = f"{value:,}" if isinstance(value, int) and not isinstance(value, bool) else str(value)
        return text.replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]


def _motivation(facts: Mapping[str, Any]) -> list[str]:
    notes = str(facts.get("notes") or "").strip()
    lines = [notes, ""] if notes else []
    return lines + _owner(
        "For what purpose was the dataset created? Who created it, on behalf of whom, and who funded it?"
    )


def _composition(facts: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    datasets = facts.get("datasets") or []
    if datasets:
        lines += _table(
            ["dataset version", "rows", "columns", "splits"],
            [
                [
                    d.get("ref"),
                    d.get("rows", "?"),
                    len(d.get("columns") or {}),
                    ", ".join(f"{k} {v:,}" for k, v in (d.get("splits") or {}).items()) or "none",
                ]
                for d in datasets
            ],
        )
    for d in datasets:
        profile = d.get("profile") or []
        if profile:
            lines += [f"Columns of `{d.get('ref')}`:", ""]
            lines += _table(["column", "type", "nulls", "distinct (approx.)"], [list(p) for p in profile])
        classes = d.get("classes") or {}
        if classes:
            total = sum(classes.values()) or 1
            lines += [f"Class balance of `{d.get('ref')}` (column `{d.get('label')}`):", ""]
            lines += _table(
                ["class", "rows", "share"], [[k, v, f"{v / total:.1%}"] for k, v in classes.items()]
            )
    pii = facts.get("pii") or []
    if pii:
        lines.append("Personal data found and redacted: " + ", ".join(f"{k} {v:,}" for k, v in pii) + ".")
        lines.append("")
    if not lines:
        lines = ["No dataset versions were recorded.", ""]
    return lines + _owner(
        "What does each row represent? Is any information missing on purpose? Is it a sample?"
    )


def _collection(facts: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    sources = facts.get("sources") or []
    if sources:
        lines += ["Sources planned and used:", ""]
        lines += _table(
            ["source", "where", "expected rows", "quality", "notes"],
            [
                [
                    s.get("name"),
                    s.get("uri") or "",
                    s.get("expected_rows") or "",
                    s.get("quality") or "",
                    s.get("notes") or "",
                ]
                for s in sources
            ],
        )
    ingests = facts.get("ingests") or []
    if ingests:
        lines += ["Ingests (each row keeps its file and line in `_source`):", ""]
        lines += _table(
            ["when", "who", "file", "format", "version made", "rows", "quarantined", "source"],
            [
                [i.get("time", ""), i.get("user", ""), i.get("file", ""), i.get("format", ""),
                 i.get("version", ""), i.get("rows", ""), i.get("quarantined", 0), i.get("source") or ""]
                for i in ingests
            ],
        )  # fmt: skip
    if not lines:
        lines = ["No ingest is recorded upstream of the released versions.", ""]
    return lines + _owner("Who collected the data, under what consent or licence, over what time frame?")


def _cleaning(facts: Mapping[str, Any]) -> list[str]:
    steps = facts.get("cleaning") or []
    if not steps:
        return ["No cleaning step is recorded upstream of the released versions.", ""]
    lines = ["Steps in the order they ran; removed rows are kept aside in `NAME.removed` with a reason.", ""]
    lines += _table(
        ["step", "version made", "rows in", "rows kept", "removed", "parameters"],
        [
            [s.get(k, "") for k in ("step", "ref", "rows_in", "kept", "removed", "parameters")]
            for s in steps
        ],
    )  # fmt: skip
    return lines


def _labelling(facts: Mapping[str, Any]) -> list[str]:
    labelling = facts.get("labelling") or {}
    if not labelling:
        return [
            "No labelling step is recorded upstream of the released versions.",
            "",
            *_owner("Who labelled the data, with what guidelines?"),
        ]
    lines = [f"- {k}: {v}" for k, v in labelling.items()]
    return [*lines, "", *_owner("Who were the annotators, how were they trained and paid?")]


def _uses(facts: Mapping[str, Any]) -> list[str]:
    lines: list[str] = []
    evaluation = facts.get("evaluation") or {}
    if evaluation:
        lines += ["A baseline trained on this data scored:", ""]
        lines += [f"- {k}: {v}" for k, v in evaluation.items()]
        lines.append("")
    return lines + _owner(
        "What tasks is the dataset meant for? What should it not be used for? Could it harm people?"
    )


def _distribution(facts: Mapping[str, Any]) -> list[str]:
    files = facts.get("files") or []
    lines = [
        f"The bundle holds {len(files):,} data files, this datasheet, a quality report and the lineage; "
        "`manifest.json` lists every file with its BLAKE3 checksum "
        "(check them with `datawheel verify BUNDLE`).",
        "",
    ]
    if files:
        lines += _table(["file", "bytes"], [[f, b] for f, b in files])
    return lines + _owner("Under what licence is it distributed, to whom, and with what restrictions?")


def _maintenance(facts: Mapping[str, Any]) -> list[str]:
    name = facts.get("release", "NAME")
    return [
        f"Rebuild and compare with `datawheel reproduce {name}`; the lineage is in `lineage.html`.",
        "",
        *_owner("Who maintains the dataset, how will errors be reported and corrected, will it be updated?"),
    ]


def markdown_html(text: str, *, title: str) -> str:
    """A small, safe Markdown to HTML: headings, paragraphs, lists, tables, quotes, code, bold.

    Every piece of text is escaped first, so data shown in a datasheet can never become markup.
    """
    body: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = len(line) - len(line.lstrip("#"))
            body.append(f"<h{level}>{_inline(line[level:].strip())}</h{level}>")
            i += 1
        elif line.startswith("|"):
            block, i = _block(lines, i, "|")
            body.append(_html_table(block))
        elif line.startswith("- "):
            block, i = _block(lines, i, "- ")
            body.append("<ul>" + "".join(f"<li>{_inline(b[2:])}</li>" for b in block) + "</ul>")
        elif line.startswith(">"):
            block, i = _block(lines, i, ">")
            body.append("<blockquote>" + _inline(" ".join(b.lstrip("> ") for b in block)) + "</blockquote>")
        else:
            block, i = _block(lines, i, "")
            body.append(f"<p>{_inline(' '.join(block))}</p>")
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_CSS}</style></head><body><main>" + "\n".join(body) + "</main></body></html>\n"
    )


def _block(lines: list[str], i: int, prefix: str) -> tuple[list[str], int]:
    block: list[str] = []
    while i < len(lines) and lines[i].strip():
        line = lines[i]
        special = line.startswith(("#", "|", "- ", ">"))
        if (prefix and not line.startswith(prefix)) or (not prefix and special and block):
            break
        block.append(line)
        i += 1
    return block, i


def _html_table(block: list[str]) -> str:
    rows = [
        re.split(r"(?<!\\)\|", b.strip().strip("|"))
        for b in block
        if not re.fullmatch(r"\|(-+\|)+", b.strip())
    ]
    head, *rest = rows

    def cells(row: list[str], tag: str) -> str:
        return "".join(f"<{tag}>{_inline(c.strip().replace(chr(92) + '|', '|'))}</{tag}>" for c in row)

    return (
        "<table><thead><tr>" + cells(head, "th") + "</tr></thead><tbody>"
        + "".join("<tr>" + cells(r, "td") + "</tr>" for r in rest) + "</tbody></table>"
    )  # fmt: skip


def _inline(text: str) -> str:
    escaped = html.escape(text)
    escaped = re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)
    return re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", escaped)


_CSS = (
    "body{font:15px/1.5 system-ui,sans-serif;color:#222;background:#fff;margin:0}"
    "main{max-width:980px;margin:0 auto;padding:24px}"
    "h1{font-size:26px}h2{font-size:20px;border-bottom:1px solid #ddd;margin-top:32px}"
    "table{border-collapse:collapse;margin:8px 0;font-size:13px}"
    "th,td{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}"
    "blockquote{background:#fff8e1;border-left:4px solid #f0b400;margin:8px 0;padding:6px 12px}"
    "code{background:#f3f3f3;padding:0 3px;border-radius:3px}"
)
