"""Evaluation: baselines to beat, metrics, slices, fairness and learning curves over predictions.

Plain functions over Polars frames (a label column, a prediction column, optional scores and
metadata) that return frozen dataclasses with a ``to_dict()`` for ``--json``. The workspace
side (models and results saved with lineage) is in ``datawheel.pipeline``.
"""

from datawheel.evaluate._fairness import FairnessReport, GroupRates, fairness_metrics, group_counts
from datawheel.evaluate._learning import (
    DEFAULT_FRACTIONS,
    MULTIPLES,
    ClassCurve,
    CurvePoint,
    LearningCurve,
    PowerLaw,
    Projection,
    fit_power_law,
    learning_curve,
    recommend,
    stratified_share,
)
from datawheel.evaluate._metrics import (
    CLASSIFICATION_METRICS,
    COUNT_METRICS,
    DEFAULT_METRICS,
    REGRESSION_METRICS,
    SCORE_METRICS,
    ClassScores,
    Evaluation,
    class_codes,
    evaluate_predictions,
    probabilities,
)
from datawheel.evaluate._report import (
    evaluation_report,
    fairness_report,
    learning_curve_report,
    slices_report,
)
from datawheel.evaluate._rules import Rule, RuleBaseline, load_rules, parse_rules
from datawheel.evaluate._scores import (
    average_precision,
    confusion_counts,
    count_metrics,
    log_loss,
    regression_scores,
    reliability,
    roc_auc,
)
from datawheel.evaluate._slices import Slice, SliceReport, benjamini_hochberg, find_slices

__all__ = [
    "CLASSIFICATION_METRICS",
    "COUNT_METRICS",
    "DEFAULT_FRACTIONS",
    "DEFAULT_METRICS",
    "MULTIPLES",
    "REGRESSION_METRICS",
    "SCORE_METRICS",
    "ClassCurve",
    "ClassScores",
    "CurvePoint",
    "Evaluation",
    "FairnessReport",
    "GroupRates",
    "LearningCurve",
    "PowerLaw",
    "Projection",
    "Rule",
    "RuleBaseline",
    "Slice",
    "SliceReport",
    "average_precision",
    "benjamini_hochberg",
    "class_codes",
    "confusion_counts",
    "count_metrics",
    "evaluate_predictions",
    "evaluation_report",
    "fairness_metrics",
    "fairness_report",
    "find_slices",
    "fit_power_law",
    "group_counts",
    "learning_curve",
    "learning_curve_report",
    "load_rules",
    "log_loss",
    "parse_rules",
    "probabilities",
    "recommend",
    "regression_scores",
    "reliability",
    "roc_auc",
    "slices_report",
    "stratified_share",
]
