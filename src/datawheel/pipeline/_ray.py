"""The Ray engine: the same steps, run on a Ray cluster, with the outputs the local engine gives.

Row-wise built-ins (``filter`` with a row-wise condition, ``select``; see
:data:`~datawheel.pipeline._builtins.ROW_WISE`) run on Ray Data: the table is cut into blocks,
each block goes through the step's own per-batch Polars function in a Ray task, and the results
come back in block order. Every other step (``join``, a filter on an aggregate, the user's own
steps) runs whole, as one Ray task. Tables travel as Arrow; the Polars schema travels beside
them, so the outputs have the local engine's dtypes (an ``Enum`` stays an ``Enum``).

The cluster: ``DATAWHEEL_RAY_ADDRESS`` (``ray://host:10001``, ``host:6379`` or ``auto``) joins a
running one (``DATAWHEEL_RAY_CONNECT_TIMEOUT`` seconds to answer, default 5); without it a local
cluster starts, with ``DATAWHEEL_RAY_NUM_CPUS`` CPUs (default: all).
A session Ray already has (``ray.init`` called by the user) is used as it is.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import math
import os
import socket
import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any
from urllib.parse import urlsplit

import polars as pl
import pyarrow as pa

from datawheel.errors import PipelineError
from datawheel.pipeline._builtins import batch_function
from datawheel.pipeline._step import Step

try:
    import ray
    import ray.data
except ImportError as exc:  # the extra datawheel[ray] is not installed
    _MISSING: ImportError | None = exc
else:
    _MISSING = None

ADDRESS_ENV = "DATAWHEEL_RAY_ADDRESS"
NUM_CPUS_ENV = "DATAWHEEL_RAY_NUM_CPUS"
CONNECT_TIMEOUT_ENV = "DATAWHEEL_RAY_CONNECT_TIMEOUT"
_CLIENT_PORT = 10001  # Ray Client's port when a ray:// address names none
_GCS_PORT = 6379
_BLOCK_BYTES = 64 * 1024**2  # no block much larger than this
_BLOCK_ROWS = 10_000  # and none smaller, unless the table is
_INSTALL_HINT = "install the Ray engine with: pip install 'datawheel[ray]'"


def connect() -> None:
    """Join the Ray cluster at ``DATAWHEEL_RAY_ADDRESS``, or start a local one; once per process.

    Raises:
        PipelineError: Ray is not installed, or the address does not answer.
    """
    if _MISSING is not None:
        raise PipelineError(
            f"the ray engine needs Ray, which is not installed ({_MISSING})", hint=_INSTALL_HINT
        )
    if ray.is_initialized():
        return
    address = os.environ.get(ADDRESS_ENV) or None
    if address is not None:
        _probe(address)
    try:
        with warnings.catch_warnings():  # Ray Client warns before it raises; the error says it all
            warnings.filterwarnings("ignore", "Ray Client connection timed out", UserWarning)
            ray.init(
                address=address,
                num_cpus=None if address else _num_cpus(),
                include_dashboard=False,
                ignore_reinit_error=True,
                log_to_driver=False,
            )
    except (ConnectionError, RuntimeError, TimeoutError, ValueError) as exc:
        where = f"the Ray cluster at {address}" if address else "a local Ray cluster"
        raise PipelineError(
            f"cannot connect to {where}: {exc}",
            hint=f"check {ADDRESS_ENV} (ray://HEAD:10001, HEAD:6379 or auto); unset it for a local cluster",
        ) from exc


def run_on_ray(
    step: Step, tables: Mapping[str, pl.DataFrame], params: Mapping[str, Any], *, blocks: int | None = None
) -> dict[str, pl.DataFrame]:
    """Run ``step`` on Ray and return its outputs by name, as the local engine would.

    ``blocks`` is how many blocks a row-wise step's table is cut into (default: enough to keep
    every CPU busy, none over 64 MiB).
    """
    connect()
    batch = batch_function(step, params)
    if batch is not None and len(step.inputs) == 1 and len(step.outputs) == 1:
        try:
            return _run_batches(step, batch, tables[step.inputs[0]], params, blocks=blocks)
        except ray.exceptions.RayTaskError:
            pass  # a block failed, and Ray Data keeps only the error's text: the whole step raises it
    return _run_whole(step, tables, params)


def _run_batches(
    step: Step,
    batch: Callable[..., pl.DataFrame],
    table: pl.DataFrame,
    params: Mapping[str, Any],
    *,
    blocks: int | None,
) -> dict[str, pl.DataFrame]:
    """A row-wise step on Ray Data: the table in blocks, each through ``batch``, gathered in order."""
    (output,) = step.outputs
    # The step itself on no rows: checks the parameters and columns as the local engine would
    # (raising its errors, here), and gives the output's schema.
    schema = step.run({step.inputs[0]: table.clear()}, params)[output].schema
    parts = map_blocks(batch, table, {**step.defaults, **params}, blocks=blocks or _block_count(table))
    frames = [_polars(part, schema) for part in parts if part.num_rows]
    return {output: pl.concat(frames) if frames else pl.DataFrame(schema=schema)}


def map_blocks(
    fn: Callable[..., pl.DataFrame], table: pl.DataFrame, params: Mapping[str, Any], *, blocks: int
) -> list[pa.Table]:
    """``fn(block, **params)`` for each of ``blocks`` blocks of ``table``, on Ray Data, in block order.

    Blocks are contiguous slices of nearly equal height (:func:`split_blocks`); each is one batch.
    Through Ray Client (a ``ray://`` address), which cannot drive Ray Data itself, a task on the
    cluster (holding no CPU) drives it.
    """
    parts = [part.to_arrow() for part in split_blocks(table, blocks)]
    call = functools.partial(_apply_batch, fn=fn, params=dict(params), schema=table.schema)
    if ray.util.client.ray.is_connected():  # type: ignore[no-untyped-call]
        driver = ray.remote(num_cpus=0)(_map_on_ray_data)
        tables: list[pa.Table] = ray.get(driver.remote(call, *[ray.put(part) for part in parts]))
        return tables
    return _map_on_ray_data(call, *parts)


def _map_on_ray_data(call: Callable[[pa.Table], pa.Table], *parts: pa.Table) -> list[pa.Table]:
    """Each part, a block of a Ray Data dataset, through ``call``; the results in order."""
    with _ordered_execution():
        dataset = ray.data.from_arrow(list(parts))
        mapped = dataset.map_batches(call, batch_format="pyarrow", batch_size=None)  # a block is a batch
        tables: list[pa.Table] = ray.get(mapped.to_arrow_refs())
    return tables


def _apply_batch(
    batch: pa.Table, *, fn: Callable[..., pl.DataFrame], params: Mapping[str, Any], schema: pl.Schema
) -> pa.Table:
    """In a Ray worker: one block through the step's per-batch function."""
    return fn(_polars(batch, schema), **params).to_arrow()


def _run_whole(
    step: Step, tables: Mapping[str, pl.DataFrame], params: Mapping[str, Any]
) -> dict[str, pl.DataFrame]:
    """The step over whole tables, as one Ray task."""
    module = sys.modules.get(step.fn.__module__)
    if module is not None and module.__name__ != "__main__" and not module.__name__.startswith("datawheel."):
        # The user's module may not be importable on the workers (a pipeline's folder, a test):
        # its code travels with the task.
        ray.cloudpickle.register_pickle_by_value(module)  # type: ignore[no-untyped-call]
    names = list(tables)
    refs = [ray.put(tables[n].to_arrow()) for n in names]
    schemas = {n: tables[n].schema for n in names}
    task = ray.remote(_whole_task)
    with _errors_as_local():
        produced: dict[str, tuple[pa.Table, pl.Schema]] = ray.get(
            task.remote(step, names, schemas, dict(params), *refs)
        )
    return {name: _polars(table, schema) for name, (table, schema) in produced.items()}


def _whole_task(
    step: Step, names: list[str], schemas: Mapping[str, pl.Schema], params: dict[str, Any], *tables: pa.Table
) -> dict[str, tuple[pa.Table, pl.Schema]]:
    """In a Ray worker: the step on whole tables; its outputs as Arrow, with their Polars schemas."""
    frames = {n: _polars(t, schemas[n]) for n, t in zip(names, tables, strict=True)}
    outputs = step.run(frames, params)
    return {name: (frame.to_arrow(), frame.schema) for name, frame in outputs.items()}


@contextlib.contextmanager
def _errors_as_local() -> Iterator[None]:
    """A step's own error in a Ray worker, raised here as the local engine raises it."""
    try:
        yield
    except ray.exceptions.RayTaskError as exc:
        if not isinstance(exc.cause, Exception) or isinstance(exc.cause, ray.exceptions.RayError):
            raise
        raise exc.cause from exc


def _polars(table: pa.Table, schema: pl.Schema) -> pl.DataFrame:
    """An Arrow table as Polars, with exactly ``schema``'s dtypes (Arrow has no ``Enum``…)."""
    frame = pl.DataFrame(table)
    differ = {c: d for c, d in schema.items() if frame.schema.get(c) != d}
    return frame.cast(pl.Schema(differ)) if differ else frame


def split_blocks(table: pl.DataFrame, count: int) -> list[pl.DataFrame]:
    """``table`` cut into ``count`` slices of nearly equal height, in order (never an empty one).

    Example:
        >>> [p.height for p in split_blocks(pl.DataFrame({"a": range(10)}), 3)]
        [4, 3, 3]
    """
    count = max(1, min(count, table.height))
    size, extra = divmod(table.height, count)
    starts = [i * size + min(i, extra) for i in range(count + 1)]
    return [table.slice(a, b - a) for a, b in itertools.pairwise(starts)]


def _block_count(table: pl.DataFrame) -> int:
    cpus = int(ray.cluster_resources().get("CPU", 1))  # type: ignore[no-untyped-call]
    by_cpu = min(4 * cpus, math.ceil(table.height / _BLOCK_ROWS))
    by_size = math.ceil(table.estimated_size() / _BLOCK_BYTES)
    return max(1, by_cpu, by_size)


@contextlib.contextmanager
def _ordered_execution() -> Iterator[None]:
    """Ray Data set to keep the order of blocks, for the datasets made and run within."""
    with warnings.catch_warnings():  # Ray's own defaults trip its deprecation warnings
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=r"ray\.data\.")
        context = ray.data.DataContext.get_current()
    before = context.execution_options.preserve_order
    context.execution_options.preserve_order = True
    try:
        yield
    finally:
        context.execution_options.preserve_order = before


def _num_cpus() -> int | None:
    value = os.environ.get(NUM_CPUS_ENV)
    if not value:
        return None
    try:
        cpus = int(value)
    except ValueError:
        cpus = 0
    if cpus < 1:
        raise PipelineError(f"{NUM_CPUS_ENV}={value!r} is not a number of CPUs", hint="set it to 1 or more")
    return cpus


def _probe(address: str) -> None:
    """Fail fast when nothing listens at a cluster's address (Ray itself waits 30 s or more)."""
    if address in ("auto", "local"):
        return
    client = address.startswith("ray://")
    parts = urlsplit(address if client else f"//{address}")
    try:
        host, port = parts.hostname, parts.port or (_CLIENT_PORT if client else _GCS_PORT)
    except ValueError:  # a port that is not a number
        host = port = None
    if not host or not port:
        raise PipelineError(
            f"{ADDRESS_ENV}={address!r} is not a Ray address",
            hint="write ray://HEAD:10001, HEAD:6379 or auto",
        )
    try:
        timeout = float(os.environ.get(CONNECT_TIMEOUT_ENV) or 5)
    except ValueError:
        raise PipelineError(
            f"{CONNECT_TIMEOUT_ENV}={os.environ[CONNECT_TIMEOUT_ENV]!r} is not a number of seconds",
            hint="set it to a number, e.g. 5",
        ) from None
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise PipelineError(
            f"no Ray cluster answers at {address} ({host}:{port}: {exc.strerror or exc})",
            hint=f"start one (ray start --head) or fix {ADDRESS_ENV}; unset it to run on a local cluster",
        ) from exc
