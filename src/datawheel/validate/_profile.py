"""Profiles: one streaming pass over batches; profiles of batches merge into the profile of their union.

Per batch, exact aggregates (count, nulls, min, max, mean, sum of squared deviations, string
lengths) come from one Polars ``select``; quantiles (KLL), distinct counts (HyperLogLog) and
frequent values (DataSketches frequent items) are fed whole arrays (see ``_sketch``). Means and
variances merge with Chan's parallel formula, so merged exact fields equal those of one pass.

Text statistics that need a regular expression per character (tokens; Hangul, Latin, digit,
whitespace and other characters) are measured on an evenly spaced sample of at most
``TEXT_SAMPLE`` values per batch (all values of a smaller batch), and merged as sums.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import datasketches as ds
import numpy as np
import polars as pl

from datawheel.errors import ValidationError
from datawheel.validate import _sketch as sk

Kind = Literal["number", "boolean", "datetime", "string", "other"]

CATEGORY_LIMIT = 1000
"""Exact value counts are kept while a column has at most this many distinct values."""

TEXT_SAMPLE = 20_000
"""Most values per batch whose tokens and character classes are counted."""

TOP = 10
"""How many frequent values a profile reports per column."""

BATCH_ROWS = 1_000_000
"""Rows per batch when a whole frame is profiled."""

CHAR_CLASSES: dict[str, str] = {
    "hangul": r"\p{Hangul}",
    "latin": r"\p{Latin}",
    "digit": r"\p{Nd}",
    "whitespace": r"\s",
}
"""Character classes counted in text (``other`` is every remaining character)."""

QUANTILES = (0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99)
FORMAT = "datawheel-profile/1"


@dataclass(frozen=True)
class TextStats:
    """Lengths of every value (exact) and, over a sample, tokens and character classes."""

    length_min: int
    length_max: int
    length_mean: float
    length_m2: float
    sampled: int = 0
    tokens: int = 0
    chars: int = 0
    classes: dict[str, int] = field(default_factory=dict)

    def to_dict(self, values: int) -> dict[str, Any]:
        """The JSON shape: length statistics, mean tokens, and each class's share of characters."""
        return {
            "length": {
                "min": self.length_min,
                "max": self.length_max,
                "mean": self.length_mean,
                "std": math.sqrt(self.length_m2 / values) if values else None,
            },
            "sampled": self.sampled,
            "tokens_mean": self.tokens / self.sampled if self.sampled else None,
            "char_classes": {k: v / self.chars if self.chars else 0.0 for k, v in self.classes.items()},
        }


@dataclass(frozen=True)
class ColumnProfile:
    """What one pass learned about one column.

    ``count`` counts rows, ``nulls`` the null ones; ``mean`` and ``m2`` (sum of squared
    deviations) are over the non-null values (for strings: over lengths, see ``text``); times
    are in epoch seconds. ``categories`` holds exact value counts (keys are strings for string
    columns, floats otherwise) while there are at most ``CATEGORY_LIMIT`` distinct values; the
    sketches are then left empty and made from the counts when needed (:meth:`sketches`).
    """

    name: str
    dtype: str
    kind: Kind
    count: int
    nulls: int
    min: float | None = None
    max: float | None = None
    mean: float | None = None
    m2: float = 0.0
    categories: dict[Any, int] | None = None
    text: TextStats | None = None
    quantiles: ds.kll_doubles_sketch | None = field(default=None, compare=False, repr=False)
    registers: np.ndarray | None = field(default=None, compare=False, repr=False)
    frequent: ds.frequent_strings_sketch | None = field(default=None, compare=False, repr=False)

    @property
    def values(self) -> int:
        """Non-null values."""
        return self.count - self.nulls

    @property
    def std(self) -> float | None:
        """Population standard deviation of the values (of lengths, for strings)."""
        return math.sqrt(self.m2 / self.values) if self.values and self.mean is not None else None

    @property
    def distinct(self) -> int:
        """Distinct non-null values: exact from ``categories``, else the HyperLogLog estimate."""
        if self.categories is not None:
            return len(self.categories)
        return sk.hll_estimate(self.registers) if self.registers is not None else 0

    def sketches(self) -> ColumnProfile:
        """This column with its sketches filled in (made from ``categories`` when they were left out)."""
        if self.categories is None or self.kind == "other" or self.registers is not None:
            return self
        keys = list(self.categories)
        counts = np.array(list(self.categories.values()), dtype=np.int64)
        if self.kind == "string":
            hashes = sk.hash_values(pl.Series(keys, dtype=pl.String))
            numeric = np.array([len(k) for k in keys], dtype=np.float64)
        else:
            numeric = np.array(keys, dtype=np.float64)
            hashes = sk.mix64(numeric)
        return replace(
            self,
            registers=sk.hll_registers(hashes),
            quantiles=sk.kll_of(np.repeat(numeric, counts)),
            frequent=sk.frequent_of({str(_key(k)): v for k, v in self.categories.items()}),
        )

    def values_sketch(self) -> ds.kll_doubles_sketch | sk.ExactQuantiles | None:
        """Quantiles of the values (of lengths, for strings): exact from ``categories``, else KLL."""
        if self.categories is not None and self.kind != "other":
            if self.kind == "string":
                lengths: dict[float, int] = {}
                for key, count in self.categories.items():
                    lengths[float(len(key))] = lengths.get(float(len(key)), 0) + count
                return sk.ExactQuantiles(lengths)
            return sk.ExactQuantiles({float(k): v for k, v in self.categories.items()})
        return self.quantiles

    def top(self, n: int = TOP) -> list[tuple[Any, int]]:
        """The ``n`` most frequent values and their counts (exact if ``categories`` is kept)."""
        if self.categories is not None:
            return sorted(self.categories.items(), key=lambda kv: (-kv[1], str(kv[0])))[:n]
        if self.frequent is None or self.frequent.is_empty():
            return []
        rows = self.frequent.get_frequent_items(ds.frequent_items_error_type.NO_FALSE_NEGATIVES)
        return [(str(r[0]), int(r[1])) for r in rows[:n]]

    def histogram(self, bins: int = 20) -> tuple[list[float], list[float]]:
        """Equal-width bins between min and max, with counts from the quantile sketch."""
        sketch = self.values_sketch()
        if sketch is None or sketch.is_empty():
            return [], []
        low, high = sketch.get_min_value(), sketch.get_max_value()
        if high <= low:
            return [low, low + 1.0], [float(sketch.n)]
        edges = np.linspace(low, high, bins + 1).tolist()
        pmf = sketch.get_pmf(edges[1:-1])
        return edges, [p * sketch.n for p in pmf]

    def to_dict(self) -> dict[str, Any]:
        """The stable JSON shape: ``count``, ``nulls``, and for numbers ``min``, ``max``, ``mean``."""
        out: dict[str, Any] = {
            "dtype": self.dtype,
            "kind": self.kind,
            "count": self.count,
            "nulls": self.nulls,
            "null_fraction": self.nulls / self.count if self.count else 0.0,
            "distinct": self.distinct,
        }
        if self.kind in ("number", "boolean", "datetime"):
            out.update(min=self.min, max=self.max, mean=self.mean, std=self.std)
            if self.kind == "datetime":
                out.update(min=_iso(self.min), max=_iso(self.max), mean=_iso(self.mean))
        sketch = self.values_sketch()
        if sketch is not None and not sketch.is_empty():
            qs = sketch.get_quantiles(list(QUANTILES))
            out["quantiles"] = {f"p{round(q * 100):02d}": v for q, v in zip(QUANTILES, qs, strict=True)}
            edges, counts = self.histogram()
            out["histogram"] = {"edges": edges, "counts": [round(c) for c in counts]}
        if self.text is not None:
            out["text"] = self.text.to_dict(self.values)
        show = _iso if self.kind == "datetime" else _key
        out["top"] = [{"value": show(v), "count": c} for v, c in self.top()]
        return out


@dataclass(frozen=True)
class Profile:
    """A profile of a table: rows, and a :class:`ColumnProfile` per column, in table order.

    ``label`` names the label column (its class balance is in :meth:`class_balance`);
    ``images`` is true when the table looks like a folder of images (``width``/``height``),
    ``audio`` when it looks like a folder of recordings (``duration``/``sample_rate``).
    """

    rows: int
    columns: dict[str, ColumnProfile]
    label: str | None = None
    batches: int = 1

    def merge(self, other: Profile) -> Profile:
        """The profile of both tables' rows (exact fields exact; sketches merged).

        Example:
            >>> a, b = profile(pl.DataFrame({"x": [1, 2]})), profile(pl.DataFrame({"x": [3, None]}))
            >>> both = a.merge(b)
            >>> both.rows, both.columns["x"].nulls, both.columns["x"].mean
            (4, 1, 2.0)
        """
        columns = dict(self.columns)
        for name, column in other.columns.items():
            columns[name] = _merge_columns(columns[name], column) if name in columns else column
        return Profile(
            self.rows + other.rows, columns, self.label or other.label, self.batches + other.batches
        )

    def class_balance(self) -> dict[str, float]:
        """Each label value's share of the labelled rows (empty without a label column)."""
        column = self.columns.get(self.label or "")
        if column is None or not column.categories:
            return {}
        total = sum(column.categories.values())
        return {k: v / total for k, v in sorted(column.categories.items(), key=lambda kv: -kv[1])}

    @property
    def images(self) -> bool:
        """Whether the table holds images (a folder's ``width`` and ``height``, not all null)."""
        return self._files_measured("width", "height")

    @property
    def audio(self) -> bool:
        """Whether the table holds audio (a folder's ``duration`` and ``sample_rate``, not all null)."""
        return self._files_measured("duration", "sample_rate")

    def _files_measured(self, *measures: str) -> bool:
        if not set(measures) <= set(self.columns) or not {"blob", "path"} & set(self.columns):
            return False
        first = self.columns[measures[0]]
        return first.nulls < first.count

    def to_dict(self) -> dict[str, Any]:
        """The stable ``--json`` shape: ``rows``, ``columns`` (an object per column), and more."""
        out: dict[str, Any] = {
            "rows": self.rows,
            "batches": self.batches,
            "columns": {name: c.to_dict() for name, c in self.columns.items()},
        }
        if self.label:
            out["label"] = {"column": self.label, "class_balance": self.class_balance()}
        for block, shown, measures in (
            ("images", self.images, ("width", "height", "size")),
            ("audio", self.audio, ("duration", "sample_rate", "channels", "size")),
        ):
            if shown:
                out[block] = {k: self.columns[k].to_dict() for k in measures if k in self.columns}
        return out

    def to_bytes(self) -> bytes:
        """The whole profile, sketches included, as one JSON document (see :func:`load_profile`)."""
        return json.dumps(
            {
                "format": FORMAT,
                "rows": self.rows,
                "label": self.label,
                "batches": self.batches,
                "columns": [_column_state(c) for c in self.columns.values()],
            },
            ensure_ascii=False,
        ).encode("utf-8")

    def save(self, path: Path) -> Path:
        """Write :meth:`to_bytes` to ``path``."""
        path.write_bytes(self.to_bytes())
        return path


def profile(
    data: pl.DataFrame | Iterable[pl.DataFrame],
    *,
    label: str | None = None,
    batch_rows: int = BATCH_ROWS,
) -> Profile:
    """Profile a frame, or a stream of frames in one pass, merging each batch's profile.

    Columns whose names start with ``_`` (row ids, provenance) are left out.

    Args:
        data: A frame (profiled in slices of ``batch_rows``) or an iterable of frames.
        label: The label column, whose class balance the profile reports exactly.
        batch_rows: Rows per slice of a frame.

    Returns:
        The :class:`Profile` of all the rows.

    Example:
        >>> p = profile(pl.DataFrame({"age": [20, 30, None], "city": ["Seoul", "Busan", "Seoul"]}))
        >>> p.rows, p.columns["age"].mean, p.columns["city"].top(1)
        (3, 25.0, [('Seoul', 2)])
    """
    if isinstance(data, pl.DataFrame):
        batches: Iterable[pl.DataFrame] = data.iter_slices(batch_rows) if data.height else [data]
    else:
        batches = data
    merged: Profile | None = None
    for batch in batches:
        if label is not None and label not in batch.columns:
            raise ValidationError(
                f"no label column '{label}' in the data (it has {', '.join(batch.columns)})",
                hint="check --label",
            )
        part = profile_batch(batch, label=label)
        merged = part if merged is None else merged.merge(part)
    if merged is None:
        raise ValidationError("nothing to profile: no batches", hint="give at least one batch of rows")
    return merged


def profile_batch(frame: pl.DataFrame, *, label: str | None = None) -> Profile:
    """The profile of one batch (see :func:`profile`, which streams and merges these)."""
    names = [c for c in frame.columns if not c.startswith("_")]
    kinds = {c: _kind(frame.schema[c]) for c in names}
    exact = frame.select([e for c in names for e in _exact_exprs(c, kinds[c])]) if names else pl.DataFrame()
    row = exact.row(0, named=True) if names else {}
    columns = {c: _column(frame[c], kinds[c], row, frame.height, force_counts=c == label) for c in names}
    return Profile(frame.height, columns, label)


def load_profile(source: Path | bytes) -> Profile:
    """A profile saved by :meth:`Profile.save` (a path) or :meth:`Profile.to_bytes` (bytes).

    Example:
        >>> p = profile(pl.DataFrame({"x": [1.0, 2.0, 4.0]}))
        >>> q = load_profile(p.to_bytes())
        >>> q == p, q.columns["x"].values_sketch().get_quantile(0.5)
        (True, 2.0)
    """
    try:
        raw = source.read_bytes() if isinstance(source, Path) else source
        state = json.loads(raw.decode("utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValidationError(
            f"cannot read a profile from {source if isinstance(source, Path) else 'bytes'}: {exc}",
            hint="give a file written by `datawheel profile` or Profile.save",
        ) from exc
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise ValidationError(
            "this is not a datawheel profile (no 'format': 'datawheel-profile/1')",
            hint="give a file written by `datawheel profile` or Profile.save",
        )
    columns = {c["name"]: _column_from_state(c) for c in state["columns"]}
    return Profile(state["rows"], columns, state.get("label"), state.get("batches", 1))


def _kind(dtype: pl.DataType) -> Kind:
    if dtype == pl.Boolean:
        return "boolean"
    if dtype.is_numeric():
        return "number"
    if dtype.is_temporal() and dtype != pl.Time and not isinstance(dtype, pl.Duration):
        return "datetime"
    if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum):
        return "string"
    return "other"


def _numeric_expr(name: str, kind: Kind) -> pl.Expr:
    col = pl.col(name)
    if kind == "datetime":
        return col.dt.epoch("ms").cast(pl.Float64) / 1000.0
    if kind == "string":
        return col.cast(pl.String).str.len_chars().cast(pl.Float64)
    return col.cast(pl.Float64)


def _exact_exprs(name: str, kind: Kind) -> list[pl.Expr]:
    out = [pl.col(name).null_count().alias(f"{name}\x00nulls")]
    if kind == "other":
        return out
    x = _numeric_expr(name, kind)
    out += [
        x.min().alias(f"{name}\x00min"),
        x.max().alias(f"{name}\x00max"),
        x.mean().alias(f"{name}\x00mean"),
        (x.var(ddof=0) * x.count()).alias(f"{name}\x00m2"),
        pl.col(name).approx_n_unique().alias(f"{name}\x00approx"),
    ]
    return out


def _column(
    series: pl.Series, kind: Kind, row: Mapping[str, Any], height: int, *, force_counts: bool
) -> ColumnProfile:
    name = series.name
    nulls = int(row[f"{name}\x00nulls"])
    base = ColumnProfile(name, str(series.dtype), kind, height, nulls)
    if kind == "other":
        return base
    if nulls == height:
        return replace(base, categories={})
    lo, hi, mean, m2 = (row[f"{name}\x00{k}"] for k in ("min", "max", "mean", "m2"))
    values = series.drop_nulls()
    counts = _counts(values, kind, int(row[f"{name}\x00approx"]), force=force_counts)
    if kind == "string":
        text = TextStats(int(lo), int(hi), float(mean), float(m2), *_text_sample(values))
        column = replace(base, text=text)
    else:
        column = replace(base, min=float(lo), max=float(hi), mean=float(mean), m2=float(m2))
    if counts is not None:
        return replace(column, categories=counts)
    numeric = (
        values.cast(pl.String).str.len_chars().cast(pl.Float64).to_numpy()
        if kind == "string"
        else sk.numbers(values)
    )
    return replace(
        column,
        registers=sk.hll_registers(sk.hash_values(values)),
        quantiles=sk.kll_of(numeric),
        frequent=sk.frequent_of(_heavy_hitters(values)),
    )


def _counts(values: pl.Series, kind: Kind, approx: int, *, force: bool) -> dict[Any, int] | None:
    if not force and approx > 2 * CATEGORY_LIMIT:
        return None
    view = values.cast(pl.String) if kind == "string" else pl.Series(values.name, sk.numbers(values))
    counted = view.value_counts(name="n")
    if not force and counted.height > CATEGORY_LIMIT:
        return None
    return dict(zip(counted[values.name].to_list(), counted["n"].to_list(), strict=True))


def _heavy_hitters(values: pl.Series) -> dict[str, int]:
    """Exact counts of the values frequent in an evenly spaced sample (≥ 0.5 % of it, seen twice)."""
    step = max(1, values.len() // TEXT_SAMPLE)
    sample = values.gather_every(step).cast(pl.String).value_counts(name="n")
    floor = max(2, (sample.height and values.len() // step) // 200)
    candidates = sample.filter(pl.col("n") >= floor)[values.name]
    if candidates.is_empty():
        return {}
    text = values.cast(pl.String)
    counted = text.filter(text.is_in(candidates.implode())).value_counts(name="n")
    return dict(zip(counted[values.name].to_list(), counted["n"].to_list(), strict=True))


def _text_sample(values: pl.Series) -> tuple[int, int, int, dict[str, int]]:
    step = max(1, values.len() // TEXT_SAMPLE)
    text = values.gather_every(step).cast(pl.String)
    frame = pl.DataFrame({"t": text})
    exprs = [
        pl.col("t").str.count_matches(r"\S+").sum().alias("tokens"),
        pl.col("t").str.len_chars().sum().alias("chars"),
    ]
    exprs += [pl.col("t").str.count_matches(p).sum().alias(k) for k, p in CHAR_CLASSES.items()]
    row = frame.select(exprs).row(0, named=True)
    classes = {k: int(row[k]) for k in CHAR_CLASSES}
    classes["other"] = int(row["chars"]) - sum(classes.values())
    return text.len(), int(row["tokens"]), int(row["chars"]), classes


def _merge_columns(a: ColumnProfile, b: ColumnProfile, *, keep_counts: bool = False) -> ColumnProfile:
    mean, m2 = _chan(a.values, a.mean, a.m2, b.values, b.mean, b.m2)
    categories = None
    if a.categories is not None and b.categories is not None:
        merged = dict(a.categories)
        for k, v in b.categories.items():
            merged[k] = merged.get(k, 0) + v
        categories = merged if len(merged) <= CATEGORY_LIMIT or keep_counts else None
    if categories is None:
        a, b = a.sketches(), b.sketches()
    else:
        a, b = (
            replace(a, quantiles=None, registers=None, frequent=None),
            replace(b, quantiles=None, registers=None, frequent=None),
        )
    return ColumnProfile(
        a.name,
        a.dtype if a.dtype == b.dtype else f"{a.dtype}|{b.dtype}",
        a.kind if a.kind == b.kind else "other",
        a.count + b.count,
        a.nulls + b.nulls,
        _pick(min, a.min, b.min),
        _pick(max, a.max, b.max),
        mean,
        m2,
        categories,
        _merge_text(a.text, b.text, a.values, b.values),
        _both(sk.kll_merged, a.quantiles, b.quantiles),
        _both(np.maximum, a.registers, b.registers),
        _both(sk.frequent_merged, a.frequent, b.frequent),
    )


def _chan(
    n_a: int, mean_a: float | None, m2_a: float, n_b: int, mean_b: float | None, m2_b: float
) -> tuple[float | None, float]:
    if mean_a is None or not n_a:
        return mean_b, m2_b
    if mean_b is None or not n_b:
        return mean_a, m2_a
    n = n_a + n_b
    delta = mean_b - mean_a
    return mean_a + delta * n_b / n, m2_a + m2_b + delta * delta * n_a * n_b / n


def _merge_text(a: TextStats | None, b: TextStats | None, n_a: int, n_b: int) -> TextStats | None:
    if a is None or b is None:
        return a or b
    mean, m2 = _chan(n_a, a.length_mean, a.length_m2, n_b, b.length_mean, b.length_m2)
    classes = {k: a.classes.get(k, 0) + b.classes.get(k, 0) for k in {*a.classes, *b.classes}}
    return TextStats(
        min(a.length_min, b.length_min),
        max(a.length_max, b.length_max),
        mean or 0.0,
        m2,
        a.sampled + b.sampled,
        a.tokens + b.tokens,
        a.chars + b.chars,
        dict(sorted(classes.items())),
    )


def _pick(fn: Any, a: float | None, b: float | None) -> float | None:
    if a is None:
        return b
    return a if b is None else fn(a, b)


def _both(fn: Any, a: Any, b: Any) -> Any:
    if a is None:
        return b
    return a if b is None else fn(a, b)


def _key(value: Any) -> Any:
    """A category key as shown: whole floats as integers."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _iso(seconds: float | None) -> str | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC).isoformat()


def _column_state(c: ColumnProfile) -> dict[str, Any]:
    return {
        "name": c.name,
        "dtype": c.dtype,
        "kind": c.kind,
        "count": c.count,
        "nulls": c.nulls,
        "min": c.min,
        "max": c.max,
        "mean": c.mean,
        "m2": c.m2,
        "categories": None if c.categories is None else [[k, v] for k, v in c.categories.items()],
        "text": None if c.text is None else vars(c.text),
        "kll": None if c.quantiles is None else sk.encode(c.quantiles.serialize()),
        "hll": None if c.registers is None else sk.encode(c.registers.tobytes()),
        "frequent": None if c.frequent is None else sk.encode(c.frequent.serialize()),
    }


def _column_from_state(s: dict[str, Any]) -> ColumnProfile:
    return ColumnProfile(
        s["name"],
        s["dtype"],
        s["kind"],
        s["count"],
        s["nulls"],
        s["min"],
        s["max"],
        s["mean"],
        s["m2"],
        None if s["categories"] is None else {k: v for k, v in s["categories"]},
        None if s["text"] is None else TextStats(**s["text"]),
        None if s["kll"] is None else ds.kll_doubles_sketch.deserialize(sk.decode(s["kll"])),
        None if s["hll"] is None else np.frombuffer(sk.decode(s["hll"]), dtype=np.uint8).copy(),
        None if s["frequent"] is None else ds.frequent_strings_sketch.deserialize(sk.decode(s["frequent"])),
    )
