"""The Ray engine: the same steps, run on a Ray cluster (placeholder until it is built)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import polars as pl

from datawheel.errors import PipelineError
from datawheel.pipeline._step import Step


def run_on_ray(
    step: Step, tables: Mapping[str, pl.DataFrame], params: Mapping[str, Any]
) -> dict[str, pl.DataFrame]:
    """Run ``step`` on Ray and return its outputs by name."""
    raise PipelineError(f"step '{step.name}': the ray engine is not built yet", hint="use --engine local")
