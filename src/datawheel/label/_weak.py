"""Weak supervision: labelling functions vote or abstain; a label model turns votes into labels.

A labelling function is Python (decorate ``f(row: dict) -> label | None`` with
:func:`labeling_function`) or a rule from a config file (keywords or a regular expression over
a column, voting one label). :func:`analyse_functions` gives each function's coverage, overlaps,
conflicts and, where gold labels exist, its empirical accuracy.

The label model is ours: a generative model fitted by EM with class balance, in the manner of
Dawid-Skene, where each function has a matrix ``P(vote | true class)`` over the classes *and*
"abstain". Abstaining is an outcome, not a missing value, because a function that only ever
votes ``spam`` tells something when it stays silent; with abstain as missing such a function
would carry no information at all. The class balance is estimated by EM, or fixed when given.
"""

from __future__ import annotations

import importlib.util
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, overload

import numpy as np
import polars as pl

from datawheel.errors import LabelError
from datawheel.label._aggregate import majority_vote
from datawheel.label._annotations import FloatArray, IntArray, finite, records
from datawheel.label._em import Votes, dawid_skene_em

SMOOTHING = 1.0
TOLERANCE = 1e-6
MAX_ITER = 200


@dataclass(frozen=True)
class LabelingFunction:
    """A rule that votes a label for a row or abstains (``None``).

    ``function`` (Python) takes the row as a dict; ``expression`` (config rules) is a Polars
    expression that is true where the rule fires, and ``label`` is what it then votes.
    """

    name: str
    function: Callable[[dict[str, Any]], Any] | None = None
    expression: pl.Expr | None = None
    label: Any = None

    def __call__(self, row: dict[str, Any]) -> Any:
        """Vote on one row (Python functions only)."""
        if self.function is None:
            raise LabelError(f"labelling function '{self.name}' is a config rule", hint="use apply_functions")
        return self.function(row)

    def apply(self, frame: pl.DataFrame) -> pl.Series:
        """This function's vote on every row of ``frame`` (null where it abstains)."""
        if self.expression is not None:
            fired = frame.select(self.expression.fill_null(False)).to_series()
            return (
                pl.select(pl.when(fired).then(pl.lit(self.label)).otherwise(None))
                .to_series()
                .rename(self.name)
            )
        assert self.function is not None
        return pl.Series(self.name, [self.function(row) for row in frame.iter_rows(named=True)])


@overload
def labeling_function(function: Callable[[dict[str, Any]], Any], /) -> LabelingFunction: ...
@overload
def labeling_function(
    *, name: str | None = None
) -> Callable[[Callable[[dict[str, Any]], Any]], LabelingFunction]: ...
def labeling_function(
    function: Callable[[dict[str, Any]], Any] | None = None, /, *, name: str | None = None
) -> LabelingFunction | Callable[[Callable[[dict[str, Any]], Any]], LabelingFunction]:
    """Make a Python function of a row (a dict) into a labelling function; return ``None`` to abstain.

    Example:
        >>> @labeling_function
        ... def free(row):
        ...     return "spam" if "free" in row["text"].lower() else None
        >>> free.name, free({"text": "FREE ringtones"}), free({"text": "hi"})
        ('free', 'spam', None)
    """

    def wrap(fn: Callable[[dict[str, Any]], Any]) -> LabelingFunction:
        return LabelingFunction(name or fn.__name__, function=fn)

    return wrap(function) if function is not None else wrap


def keyword_function(
    name: str,
    *,
    column: str,
    label: Any,
    keywords: Sequence[str] = (),
    regex: str | None = None,
    case: bool = False,
) -> LabelingFunction:
    """A config rule: vote ``label`` where ``column`` holds one of ``keywords`` (words) or matches ``regex``.

    Example:
        >>> rule = keyword_function("prize", column="text", label="spam", keywords=["prize", "won"])
        >>> rule.apply(pl.DataFrame({"text": ["You WON a prize", "prized pig"]})).to_list()
        ['spam', None]
    """
    parts = [r"\b" + re.escape(k) + r"\b" for k in keywords]
    if regex:
        parts.append(f"(?:{regex})")
    if not parts:
        raise LabelError(
            f"labelling function '{name}' has neither keywords nor regex", hint="give one of them"
        )
    pattern = ("" if case else "(?i)") + "|".join(parts)
    try:
        re.compile(pattern)
    except re.error as exc:
        raise LabelError(
            f"labelling function '{name}': bad regex {regex!r} ({exc})", hint="fix the pattern"
        ) from exc
    expression = pl.col(column).cast(pl.String).str.contains(pattern)
    return LabelingFunction(name, expression=expression, label=label)


def load_functions(path: Path) -> list[LabelingFunction]:
    """Labelling functions from a file: TOML or YAML rules, or a Python module's decorated functions.

    TOML (YAML alike, a list under ``lf``)::

        [[lf]]
        name = "prize"            # unique
        column = "text"
        label = "spam"            # the vote when the rule fires
        keywords = ["prize", "won"]  # whole words, case-insensitive unless case = true
        regex = "https?://"       # and/or a regular expression
    """
    if not path.is_file():
        raise LabelError(f"no labelling functions file {path}", hint="give a .toml, .yaml or .py file")
    if path.suffix == ".py":
        return _from_module(path)
    text = path.read_text(encoding="utf-8")
    try:
        if path.suffix == ".toml":
            config: Any = tomllib.loads(text)
        elif path.suffix in (".yaml", ".yml"):
            import yaml

            config = yaml.safe_load(text)
        else:
            raise LabelError(f"{path}: unknown kind of file", hint="give a .toml, .yaml or .py file")
    except (tomllib.TOMLDecodeError, ValueError) as exc:
        raise LabelError(f"{path} is not valid: {exc}", hint="fix the syntax") from exc
    rules = config.get("lf") if isinstance(config, dict) else None
    if not isinstance(rules, list) or not rules:
        raise LabelError(
            f"{path} has no list of rules under 'lf'", hint="add [[lf]] tables (see docs/labels.md)"
        )
    return [_rule(path, i, rule) for i, rule in enumerate(rules, 1)]


def apply_functions(frame: pl.DataFrame, functions: Sequence[LabelingFunction]) -> pl.DataFrame:
    """Each function's votes as a column named after it (null where it abstains)."""
    names = [f.name for f in functions]
    if len(set(names)) != len(names) or not names:
        raise LabelError(f"labelling functions need distinct names, got {names}", hint="rename the repeats")
    return pl.DataFrame([f.apply(frame) for f in functions])


@dataclass(frozen=True)
class WeakLabels:
    """Probabilistic labels from labelling functions, and how each function did.

    ``labels`` has per row ``row``, ``label`` (the label model's), ``confidence``, ``majority``
    (majority vote of the same functions) and ``votes`` (how many did not abstain).
    ``probabilities`` is rows x classes. ``analysis`` has one row per function. ``comparison``
    holds the label model's and majority vote's accuracy on the gold labels, where given.
    """

    labels: pl.DataFrame
    probabilities: FloatArray
    analysis: pl.DataFrame
    classes: tuple[Any, ...]
    class_balance: FloatArray
    comparison: dict[str, Any]
    iterations: int

    def to_dict(self) -> dict[str, Any]:
        """The ``--json`` shape: ``analysis``, ``comparison``, ``class_balance`` and ``labels``."""
        return {
            "rows": self.labels.height,
            "classes": list(self.classes),
            "class_balance": dict(
                zip(map(str, self.classes), self.class_balance.round(6).tolist(), strict=True)
            ),
            "iterations": self.iterations,
            "comparison": self.comparison,
            "analysis": records(self.analysis),
            "labels": records(self.labels),
        }


def analyse_functions(votes: pl.DataFrame, *, gold: pl.Series | None = None) -> pl.DataFrame:
    """Per function: the labels it votes, coverage, overlaps, conflicts, and accuracy on gold labels.

    Coverage is the share of rows it votes on; overlaps, the share where it and another function
    vote; conflicts, the share where another function votes differently. ``correct``,
    ``incorrect`` and ``accuracy`` count its votes on rows with a gold label.

    Example:
        >>> votes = pl.DataFrame({"a": ["spam", None, "ham"], "b": ["spam", "ham", "spam"]})
        >>> analyse_functions(votes).select("function", "coverage", "conflicts").rows()
        [('a', 0.6666666666666666, 0.3333333333333333), ('b', 1.0, 0.3333333333333333)]
    """
    n = max(votes.height, 1)
    voted = votes.select(pl.all().is_not_null()).to_numpy()
    codes, _ = _vote_codes(votes, None)
    others = voted.sum(axis=1, keepdims=True) - voted
    rows = []
    for j, name in enumerate(votes.columns):  # a loop over functions, not rows
        mine = codes[:, j]
        differ = ((codes != mine[:, None]) & voted).any(axis=1) & voted[:, j]
        row: dict[str, Any] = {
            "function": name,
            "labels": ", ".join(sorted(str(v) for v in votes[name].drop_nulls().unique().to_list())),
            "coverage": voted[:, j].sum() / n,
            "overlaps": (voted[:, j] & (others[:, j] > 0)).sum() / n,
            "conflicts": differ.sum() / n,
        }
        if gold is not None:
            judged = voted[:, j] & gold.is_not_null().to_numpy()
            right = int(
                (votes[name].cast(pl.String) == gold.cast(pl.String))
                .fill_null(False)
                .to_numpy()[judged]
                .sum()
            )
            row |= {"correct": right, "incorrect": int(judged.sum()) - right}
            row["accuracy"] = right / judged.sum() if judged.sum() else float("nan")
        rows.append(row)
    return pl.DataFrame(rows)


def weak_labels(
    frame: pl.DataFrame,
    functions: Sequence[LabelingFunction],
    *,
    gold: str | None = None,
    labels: Sequence[Any] | None = None,
    class_balance: Sequence[float] | None = None,
    smoothing: float = SMOOTHING,
    tol: float = TOLERANCE,
    max_iter: int = MAX_ITER,
) -> WeakLabels:
    """Apply labelling functions to ``frame`` and fit the label model to their votes.

    Args:
        frame: The rows to label.
        functions: The labelling functions.
        gold: A column of known labels (may be mostly null), to measure accuracy; never used to fit.
        labels: The label set, in order (default: the labels voted, and gold labels, sorted).
        class_balance: Fixed class priors in the order of ``labels``; estimated by EM otherwise.
        smoothing: The pseudo-count added to every cell of every function's matrix.
        tol: EM stops when the log-likelihood gains less than this, relatively.
        max_iter: EM stops after this many rounds at most.

    Example:
        >>> frame = pl.DataFrame({"text": ["win cash", "cash prize now", "see you", "lunch?", "call me"]})
        >>> rules = [keyword_function("cash", column="text", label="spam", keywords=["cash", "prize"]),
        ...          keyword_function("chat", column="text", label="ham", keywords=["you", "me", "lunch"])]
        >>> weak_labels(frame, rules).labels["label"].to_list()
        ['spam', 'spam', 'ham', 'ham', 'ham']
    """
    votes = apply_functions(frame, functions)
    gold_values = frame[gold] if gold is not None else None
    if gold is not None and gold not in frame.columns:
        raise LabelError(f"no gold label column '{gold}'", hint="name an existing column, or leave it out")
    codes, classes = _vote_codes(votes, labels, extra=gold_values)
    k = len(classes)
    if k < 2:
        raise LabelError(
            f"the labelling functions vote {list(classes)} only", hint="a label model needs two classes"
        )
    priors = _balance(class_balance, k)
    fit, mv = _fit(codes, k, priors, smoothing, tol, max_iter)
    table = pl.DataFrame(
        {
            "row": np.arange(frame.height, dtype=np.int64),
            "label": pl.Series([classes[i] for i in fit.posteriors.argmax(axis=1)]),
            "confidence": fit.posteriors.max(axis=1),
            "majority": pl.Series([classes[i] if i >= 0 else None for i in mv]),
            "votes": (codes >= 0).sum(axis=1).astype(np.int64),
        }
    )
    comparison = _compare(table, gold_values)
    return WeakLabels(
        table,
        fit.posteriors,
        analyse_functions(votes, gold=gold_values),
        classes,
        fit.priors,
        comparison,
        fit.iterations,
    )


def _fit(
    codes: IntArray, k: int, priors: FloatArray | None, smoothing: float, tol: float, max_iter: int
) -> tuple[Any, IntArray]:
    n, m = codes.shape
    outcome = np.where(codes >= 0, codes, k)  # abstain is outcome k
    votes = Votes(
        np.repeat(np.arange(n, dtype=np.int64), m),
        np.tile(np.arange(m, dtype=np.int64), n),
        outcome.ravel(),
        n,
        m,
        k,
        k + 1,
    )
    counts = np.zeros((n, k))
    rows, cols = np.nonzero(codes >= 0)
    np.add.at(counts, (rows, codes[rows, cols]), 1.0)
    winners, _, _ = majority_vote(counts)
    covered = counts.sum(axis=1) > 0
    start = np.where(covered[:, None], (counts + 0.1) / (counts + 0.1).sum(axis=1, keepdims=True), 1.0 / k)
    fit = dawid_skene_em(votes, start, smoothing=smoothing, tol=tol, max_iter=max_iter, priors=priors)
    return fit, np.where(covered, winners, -1).astype(np.int64)


def _vote_codes(
    votes: pl.DataFrame, labels: Sequence[Any] | None, *, extra: pl.Series | None = None
) -> tuple[IntArray, tuple[Any, ...]]:
    seen = {v for c in votes.columns for v in votes[c].drop_nulls().unique().to_list()}
    if extra is not None:
        seen |= set(extra.drop_nulls().unique().to_list())
    if labels is None:
        classes = tuple(sorted(seen, key=str))
    else:
        classes = tuple(labels)
        outside = sorted(str(v) for v in seen - set(classes))
        if outside:
            raise LabelError(
                f"votes or gold labels {outside} are outside the label set {list(classes)}",
                hint="fix the rules",
            )
    index = {c: i for i, c in enumerate(classes)}
    codes = np.full(votes.shape, -1, dtype=np.int64)
    for j, column in enumerate(votes.columns):  # a loop over functions, not rows
        codes[:, j] = votes[column].replace_strict(index, default=-1, return_dtype=pl.Int64).to_numpy()
    return codes, classes


def _balance(given: Sequence[float] | None, k: int) -> FloatArray | None:
    if given is None:
        return None
    balance = np.asarray(given, dtype=np.float64)
    if balance.shape != (k,) or (balance <= 0).any():
        raise LabelError(
            f"class balance {list(given)} needs {k} positive numbers", hint="one share per class"
        )
    return np.asarray(balance / balance.sum(), dtype=np.float64)


def _compare(table: pl.DataFrame, gold: pl.Series | None) -> dict[str, Any]:
    if gold is None or gold.is_null().all():
        return {}
    judged = table.with_columns(gold.cast(pl.String).alias("_gold")).filter(pl.col("_gold").is_not_null())
    covered = judged.filter(pl.col("votes") > 0)
    return {
        "gold_rows": judged.height,
        "label_model_accuracy": _accuracy(judged, "label"),
        "majority_accuracy": _accuracy(judged, "majority"),
        "covered_rows": covered.height,
        "label_model_accuracy_covered": _accuracy(covered, "label"),
        "majority_accuracy_covered": _accuracy(covered, "majority"),
    }


def _accuracy(judged: pl.DataFrame, column: str) -> float | None:
    if judged.height == 0:
        return None
    right = (judged[column].cast(pl.String) == judged["_gold"]).fill_null(False)
    return finite(int(right.sum()) / judged.height)


def _rule(path: Path, number: int, rule: Any) -> LabelingFunction:
    if not isinstance(rule, dict) or not {"name", "column", "label"} <= rule.keys():
        raise LabelError(f"{path}: rule {number} needs name, column and label", hint="see docs/labels.md")
    unknown = set(rule) - {"name", "column", "label", "keywords", "regex", "case"}
    if unknown:
        raise LabelError(
            f"{path}: rule '{rule['name']}' has unknown keys {sorted(unknown)}", hint="see docs/labels.md"
        )
    return keyword_function(
        str(rule["name"]),
        column=str(rule["column"]),
        label=rule["label"],
        keywords=[str(k) for k in rule.get("keywords", [])],
        regex=rule.get("regex"),
        case=bool(rule.get("case", False)),
    )


def _from_module(path: Path) -> list[LabelingFunction]:
    spec = importlib.util.spec_from_file_location(f"datawheel_lfs_{path.stem}", path)
    if spec is None or spec.loader is None:
        raise LabelError(f"cannot load {path} as Python", hint="give a .py file")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    found = [v for v in vars(module).values() if isinstance(v, LabelingFunction)]
    if not found:
        raise LabelError(
            f"{path} defines no @labeling_function", hint="decorate functions with @labeling_function"
        )
    return found
