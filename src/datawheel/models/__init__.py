"""Baseline models: text, table and image classifiers, and out-of-fold probabilities.

Plain functions over Polars frames, used by label quality (out-of-fold probabilities for
label issues, suggestions, the next batch) and evaluation (baselines to beat).
"""

from datawheel.models._baseline import (
    IMAGE_SIDE,
    Baseline,
    Inputs,
    ModelError,
    ModelKind,
    fit_baseline,
    image_pixels,
    make_model,
    out_of_fold_proba,
)

__all__ = [
    "IMAGE_SIDE",
    "Baseline",
    "Inputs",
    "ModelError",
    "ModelKind",
    "fit_baseline",
    "image_pixels",
    "make_model",
    "out_of_fold_proba",
]
