"""Train/serve transforms: learn feature processing once from training data, replay it exactly.

A :class:`Transform` is an ordered chain of ops (scaling, buckets, vocabularies, null filling,
text normalisation…). ``fit`` learns each op's state from the training data, in order;
the :class:`FittedTransform` it returns applies that state to any later batch with plain Polars
expressions, and saves to one JSON file (with a digest) that any process can load and apply
with no workspace: ``Transform.load(path).apply(batch)``. :func:`skew` and
:func:`recompute_skew` check that features served in production match those trained on.

Example:
    >>> import polars as pl
    >>> train = pl.DataFrame({"age": [20, 30, None], "city": ["Oslo", "Rome", "Oslo"]})
    >>> fitted = Transform([FillNull("age"), Standardize("age"), Vocabulary("city")]).fit(train)
    >>> fitted.apply(pl.DataFrame({"age": [25], "city": ["Lima"]})).rows()
    [(0.0, 2)]
"""

from datawheel.transform._categorical import Category, OneHot, Vocabulary
from datawheel.transform._missing import FillNull, FillStrategy
from datawheel.transform._numeric import Bucketize, Clip, MinMax, Standardize
from datawheel.transform._op import OPS, Op, Scalar, op_from_dict
from datawheel.transform._skew import ColumnSkew, SkewMode, SkewReport, recompute_skew, skew
from datawheel.transform._text import NormalizeText
from datawheel.transform._transform import FORMAT, FORMAT_VERSION, FittedTransform, Transform

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "OPS",
    "Bucketize",
    "Category",
    "Clip",
    "ColumnSkew",
    "FillNull",
    "FillStrategy",
    "FittedTransform",
    "MinMax",
    "NormalizeText",
    "OneHot",
    "Op",
    "Scalar",
    "SkewMode",
    "SkewReport",
    "Standardize",
    "Transform",
    "Vocabulary",
    "op_from_dict",
    "recompute_skew",
    "skew",
]
