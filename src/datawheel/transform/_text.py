"""Text normalisation: a stateless op, so the same cleaning runs at training and at serving."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

import polars as pl

from datawheel.transform._op import Kind, OneColumnOp


@dataclass(frozen=True)
class NormalizeText(OneColumnOp):
    r"""Normalise text, as String: Unicode NFKC, lower case, runs of white space to one space, strip.

    The steps run in that order, each one only when its flag is on. White space is any Unicode
    white space (tabs, newlines, no-break spaces…). It learns nothing, so ``fit`` returns it as it
    is; it is part of the chain so that serving cleans text exactly as training did.

    Example:
        >>> frame = pl.DataFrame({"text": ["  \uff26\uff52\uff45\uff45\tENTRY\n now ", None]})
        >>> NormalizeText("text").apply(frame)["text"].to_list()
        ['free entry now', None]
    """

    lowercase: bool = field(default=True, kw_only=True)
    nfkc: bool = field(default=True, kw_only=True)
    strip: bool = field(default=True, kw_only=True)
    collapse_spaces: bool = field(default=True, kw_only=True)

    kind: ClassVar[str] = "normalize_text"
    reads_kind: ClassVar[Kind] = "text"

    def _learn(self, frame: pl.DataFrame | pl.LazyFrame, dtype: pl.DataType) -> dict[str, Any]:
        return {}

    def _expr(self, x: pl.Expr) -> pl.Expr:
        x = x.cast(pl.String)
        if self.nfkc:
            x = x.str.normalize("NFKC")
        if self.lowercase:
            x = x.str.to_lowercase()
        if self.collapse_spaces:
            x = x.str.replace_all(r"\s+", " ")
        if self.strip:
            x = x.str.strip_chars()
        return x
