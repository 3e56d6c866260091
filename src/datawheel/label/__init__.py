"""Label quality: agreement, aggregation, label issues, weak supervision, active learning.

Plain functions over Polars frames of annotations (item, annotator, label) and over arrays of
class probabilities; they know nothing of workspaces (see ``datawheel.pipeline`` for that).
"""

from datawheel.label._active import (
    STRATEGIES,
    Batch,
    Strategy,
    Suggestions,
    next_batch,
    select_batch,
    suggest,
    uncertainty,
)
from datawheel.label._aggregate import METHODS, Aggregation, Method, aggregate, majority_vote
from datawheel.label._agreement import LEVELS, Agreement, Level, agreement, fleiss_kappa, krippendorff_alpha
from datawheel.label._annotations import LabelWarning
from datawheel.label._issues import FilterBy, LabelIssues, label_issues
from datawheel.label._weak import (
    LabelingFunction,
    WeakLabels,
    analyse_functions,
    apply_functions,
    keyword_function,
    labeling_function,
    load_functions,
    weak_labels,
)

__all__ = [
    "LEVELS",
    "METHODS",
    "STRATEGIES",
    "Aggregation",
    "Agreement",
    "Batch",
    "FilterBy",
    "LabelIssues",
    "LabelWarning",
    "LabelingFunction",
    "Level",
    "Method",
    "Strategy",
    "Suggestions",
    "WeakLabels",
    "aggregate",
    "agreement",
    "analyse_functions",
    "apply_functions",
    "fleiss_kappa",
    "keyword_function",
    "krippendorff_alpha",
    "label_issues",
    "labeling_function",
    "load_functions",
    "majority_vote",
    "next_batch",
    "select_batch",
    "suggest",
    "uncertainty",
    "weak_labels",
]
