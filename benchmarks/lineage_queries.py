"""Lineage walks on a 100,000-artifact graph: datawheel on SQLite and PostgreSQL, and ML-Metadata.

The graph: 100 shared spam lists; ~14,000 pipelines of
``file → ingest → raw → clean (+ a spam list) → split → train, test → fit → model →
evaluate (test, model) → report`` (7 artifacts, 5 executions, 13 events each); and one dataset
edited 2,000 times (a chain of 2,000 versions). The same graph goes into datawheel's metadata
database (bulk insert) and, when installed, into ML-Metadata's SQLite store (``pip install -e
'.[bench]'``). Each query runs through the public API and is timed as the median of repeats.

    python benchmarks/lineage_queries.py [--artifacts 100000] [--repeat 30] [--postgres URL]
"""

from __future__ import annotations

import argparse
import importlib
import random
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from _common import DEFAULT_POSTGRES, median_ms, postgres_schema, print_table, seconds
from datawheel.lineage._models import Artifact, Event, Execution
from datawheel.workspace import Workspace

LISTS, CHAIN = 100, 2000


@dataclass
class Spec:
    """The graph, as plain rows with ids from 1."""

    artifacts: list[tuple[str, str]] = field(default_factory=list)  # (kind, name)
    executions: list[str] = field(default_factory=list)  # step
    events: list[tuple[int, int, str]] = field(default_factory=list)  # (execution, artifact, type)
    reports: list[int] = field(default_factory=list)
    lists: list[int] = field(default_factory=list)
    raws: list[int] = field(default_factory=list)
    chain_end: int = 0

    def artifact(self, kind: str, name: str) -> int:
        """Add an artifact; return its id."""
        self.artifacts.append((kind, name))
        return len(self.artifacts)

    def step(self, name: str, inputs: list[int], outputs: list[int]) -> None:
        """Add an execution that read ``inputs`` and wrote ``outputs``."""
        self.executions.append(name)
        run = len(self.executions)
        self.events += [(run, a, "input") for a in inputs] + [(run, a, "output") for a in outputs]


def build_spec(total: int) -> Spec:
    spec = Spec()
    spec.lists = [spec.artifact("file", f"/lists/spam-{i}.txt") for i in range(LISTS)]
    previous = spec.artifact("dataset_version", "events@1")
    for v in range(2, CHAIN + 1):
        current = spec.artifact("dataset_version", f"events@{v}")
        spec.step("edit", [previous], [current])
        previous = current
    spec.chain_end = previous
    for p in range((total - LISTS - CHAIN) // 7):
        source = spec.artifact("file", f"/raw/p{p}.csv")
        raw = spec.artifact("dataset_version", f"raw{p}@1")
        spec.step("ingest", [source], [raw])
        clean = spec.artifact("dataset_version", f"clean{p}@1")
        spec.step("clean", [raw, spec.lists[p % LISTS]], [clean])
        train, test = (
            spec.artifact("dataset_version", f"train{p}@1"),
            spec.artifact("dataset_version", f"test{p}@1"),
        )
        spec.step("split", [clean], [train, test])
        model = spec.artifact("model", f"model{p}@1")
        spec.step("fit", [train], [model])
        report = spec.artifact("report", f"eval{p}@1")
        spec.step("evaluate", [test, model], [report])
        spec.reports.append(report)
        spec.raws.append(source)
    return spec


def load_datawheel(ws: Workspace, spec: Spec) -> None:
    now = datetime.now(UTC)
    with ws.engine.begin() as conn:
        for chunk in range(0, len(spec.artifacts), 20_000):
            rows = spec.artifacts[chunk : chunk + 20_000]
            conn.execute(
                insert(Artifact),
                [
                    {
                        "id": chunk + i + 1,
                        "kind": k,
                        "name": n,
                        "digest": "",
                        "properties": {},
                        "created_at": now,
                    }
                    for i, (k, n) in enumerate(rows)
                ],
            )
        conn.execute(
            insert(Execution),
            [
                {
                    "id": i + 1,
                    "step": s,
                    "code_fingerprint": "",
                    "parameters": {},
                    "engine": "local",
                    "user": "bench",
                    "status": "completed",
                    "started_at": now,
                }
                for i, s in enumerate(spec.executions)
            ],
        )
        for chunk in range(0, len(spec.events), 50_000):
            conn.execute(
                insert(Event),
                [
                    {"execution_id": e, "artifact_id": a, "type": t, "role": "", "created_at": now}
                    for e, a, t in spec.events[chunk : chunk + 50_000]
                ],
            )
    if ws.engine.dialect.name == "postgresql":
        with ws.engine.begin() as conn:
            for table in ("artifacts", "executions"):
                conn.exec_driver_sql(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))"
                )
            conn.exec_driver_sql("ANALYZE")


def queries(spec: Spec, rng: random.Random) -> dict[str, tuple[str, list[int]]]:
    return {
        "upstream of a report (5 steps back)": ("upstream", rng.sample(spec.reports, 40)),
        "downstream of a shared spam list": ("downstream", rng.sample(spec.lists, 40)),
        "impact of a raw file": ("impact", rng.sample(spec.raws, 40)),
        "upstream of version 2,000 of a chain": ("upstream", [spec.chain_end]),
    }


def _cycle(walk: Callable[[int], object], starts: list[int], repeat: int) -> float:
    """Median time of ``walk`` over the start points, taken in turn."""
    it = iter(starts * (repeat + 1))
    return median_ms(lambda: walk(next(it)), repeat=repeat)


def time_datawheel(
    ws: Workspace, spec: Spec, repeat: int, rng: random.Random
) -> dict[str, tuple[float, int]]:
    out = {}
    for label, (kind, starts) in queries(spec, rng).items():
        if kind == "impact":
            out[label] = (_cycle(ws.lineage.impact, starts, repeat), len(ws.lineage.impact(starts[0])))
        else:
            walk = ws.lineage.upstream if kind == "upstream" else ws.lineage.downstream
            out[label] = (_cycle(walk, starts, repeat), len(walk(starts[0]).artifacts()))
    return out


def time_mlmd(
    spec: Spec, repeat: int, rng: random.Random, folder: Path
) -> dict[str, tuple[float, int]] | None:
    try:  # typed as Any: the peer ships no type information
        metadata_store: Any = importlib.import_module("ml_metadata.metadata_store.metadata_store")
        pb: Any = importlib.import_module("ml_metadata.proto.metadata_store_pb2")
    except ImportError:
        print("(ML-Metadata skipped: not installed; pip install -e '.[bench]')")
        return None
    config = pb.ConnectionConfig()
    config.sqlite.filename_uri = str(folder / "mlmd.sqlite")
    config.sqlite.connection_mode = pb.SqliteMetadataSourceConfig.READWRITE_OPENCREATE
    store = metadata_store.MetadataStore(config)
    types = {k: store.put_artifact_type(pb.ArtifactType(name=k)) for k in {k for k, _ in spec.artifacts}}
    step_types = {s: store.put_execution_type(pb.ExecutionType(name=s)) for s in set(spec.executions)}

    def load() -> tuple[list[int], list[int]]:
        ids: list[int] = []
        for chunk in range(0, len(spec.artifacts), 10_000):
            ids += store.put_artifacts(
                [pb.Artifact(type_id=types[k], name=n) for k, n in spec.artifacts[chunk : chunk + 10_000]]
            )
        runs: list[int] = []
        for chunk in range(0, len(spec.executions), 10_000):
            runs += store.put_executions(
                [pb.Execution(type_id=step_types[s]) for s in spec.executions[chunk : chunk + 10_000]]
            )
        kinds = {"input": pb.Event.INPUT, "output": pb.Event.OUTPUT}
        for chunk in range(0, len(spec.events), 20_000):
            store.put_events(
                [
                    pb.Event(execution_id=runs[e - 1], artifact_id=ids[a - 1], type=kinds[t])
                    for e, a, t in spec.events[chunk : chunk + 20_000]
                ]
            )
        return ids, runs

    load_s, loaded = seconds(load)
    ids, _ = loaded
    print(f"ML-Metadata: loaded the graph in {load_s:.1f} s")
    out = {}
    for label, (kind, starts) in queries(spec, rng).items():
        if label.startswith("upstream of version"):
            continue  # ML-Metadata walks at most 100 hops
        direction = (
            pb.LineageSubgraphQueryOptions.Direction.DOWNSTREAM
            if kind != "upstream"
            else pb.LineageSubgraphQueryOptions.Direction.UPSTREAM
        )

        def walk(start: int, direction: int = direction) -> int:
            options = pb.LineageSubgraphQueryOptions(max_num_hops=20, direction=direction)
            options.starting_artifacts.filter_query = f"id = {ids[start - 1]}"
            graph = store.get_lineage_subgraph(options)
            return len(graph.artifacts) - 1

        out[label] = (_cycle(walk, starts, repeat), walk(starts[0]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--artifacts", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres", default=DEFAULT_POSTGRES)
    args = parser.parse_args()
    spec = build_spec(args.artifacts)
    print(f"graph: {len(spec.artifacts):,} artifacts, {len(spec.executions):,} executions, ", end="")
    print(f"{len(spec.events):,} events")
    results: dict[str, dict[str, tuple[float, int]]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        with Workspace.init(Path(tmp) / "sqlite") as ws:
            load_s, _ = seconds(lambda: load_datawheel(ws, spec))
            print(f"datawheel SQLite: loaded the graph in {load_s:.1f} s")
            results["datawheel SQLite"] = time_datawheel(ws, spec, args.repeat, random.Random(7))
        with postgres_schema(args.postgres) as url:
            if url is not None:
                with Workspace.init(Path(tmp) / "pg", database_url=url) as ws:
                    load_s, _ = seconds(lambda: load_datawheel(ws, spec))
                    print(f"datawheel PostgreSQL: loaded the graph in {load_s:.1f} s")
                    results["datawheel PostgreSQL"] = time_datawheel(ws, spec, args.repeat, random.Random(7))
        mlmd = time_mlmd(spec, args.repeat, random.Random(7), Path(tmp))
        if mlmd is not None:
            results["ML-Metadata SQLite"] = mlmd
    labels = list(queries(spec, random.Random(7)))
    engines = list(results)
    rows = []
    for label in labels:
        row = [label]
        for engine in engines:
            ms, size = results[engine].get(label, (float("nan"), 0))
            row.append(f"{ms:.1f} ms ({size:,} artifacts)" if ms == ms else "—")
        if "ML-Metadata SQLite" in results and label in results["ML-Metadata SQLite"]:
            ratio = results["ML-Metadata SQLite"][label][0] / results["datawheel SQLite"][label][0]
            row.append(f"{ratio:.1f}x")
        else:
            row.append("—")
        rows.append(row)
    print()
    print_table(["query (median)", *engines, "ML-Metadata / datawheel SQLite"], rows)


if __name__ == "__main__":
    main()
