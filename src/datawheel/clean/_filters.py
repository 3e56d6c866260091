r"""Quality filters over a text column, each dropped row with a reason code.

Every check is a vectorised Polars string expression (the Rust ``regex`` engine, Unicode-aware:
``\p{L}`` is any letter — Hangul, kana, Han, Cyrillic, accented Latin — and ``\p{N}`` any digit).
Checks run in a fixed order, and a dropped row's ``reason`` is the *first* check it fails::

    empty, length<N, length>N, special_ratio>R, repeated_lines>R, repeated_ngrams>R,
    language=xx, word_list

so ``counts`` (one entry per reason) add up to the rows removed. ``reasons`` on each removed row
lists every check it failed, in the same order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from datawheel.errors import CleanError

REASON_COLUMN = "reason"
REASONS_COLUMN = "reasons"

# Characters that are neither letters, combining marks, digits nor whitespace.
_SPECIAL = r"[^\p{L}\p{M}\p{N}\s]"

# Scripts told apart by the detector, in the order of ``_SCRIPT_LANGS``.
_SCRIPTS: tuple[tuple[str, str], ...] = (
    ("latin", r"\p{Latin}"),
    ("cjk", r"[\p{Hangul}\p{Hiragana}\p{Katakana}\p{Han}]"),
    ("ru", r"\p{Cyrillic}"),
    ("ar", r"\p{Arabic}"),
    ("el", r"\p{Greek}"),
    ("he", r"\p{Hebrew}"),
    ("th", r"\p{Thai}"),
    ("hi", r"\p{Devanagari}"),
)

# A few of the most frequent function words of each Latin-script language; words shared by
# two languages (e.g. "de", "la", "que") still count for both, so only the balance decides.
_STOPWORDS: dict[str, tuple[str, ...]] = {
    "en": ("the", "and", "is", "are", "you", "of", "to", "it", "that", "this", "with", "for", "have", "was"),
    "es": ("el", "los", "las", "y", "es", "que", "del", "por", "una", "con", "para", "está", "pero", "muy"),
    "fr": ("le", "les", "et", "est", "une", "des", "du", "pour", "dans", "pas", "que", "qui", "avec", "je"),
    "de": (
        "der",
        "die",
        "und",
        "ist",
        "nicht",
        "das",
        "ein",
        "eine",
        "ich",
        "mit",
        "auf",
        "den",
        "zu",
        "sie",
    ),
    "pt": ("o", "os", "e", "é", "não", "um", "uma", "do", "da", "que", "com", "para", "em", "você"),
    "it": ("il", "gli", "e", "è", "non", "che", "un", "una", "della", "per", "con", "sono", "di", "ma"),
    "nl": ("de", "het", "een", "en", "is", "niet", "van", "ik", "dat", "met", "voor", "zijn", "op", "je"),
}

# Korean particles and endings that may follow a listed word inside one eojeol.
_KOREAN_TAILS: tuple[str, ...] = (
    "이",
    "가",
    "은",
    "는",
    "을",
    "를",
    "의",
    "에",
    "에서",
    "에게",
    "한테",
    "께",
    "와",
    "과",
    "랑",
    "이랑",
    "하고",
    "도",
    "만",
    "야",
    "아",
    "이야",
    "여",
    "이여",
    "로",
    "으로",
    "까지",
    "부터",
    "처럼",
    "보다",
    "요",
    "이다",
    "다",
    "이네",
    "네",
    "들",
    "냐",
    "이냐",
    "라",
    "이라",
    "같은",
    "새끼",
)


@dataclass(frozen=True)
class FilterResult:
    """What :func:`quality_filter` kept and removed.

    Attributes:
        kept: The rows that passed every check, in their original order.
        removed: The dropped rows, with ``reason`` (the first check failed) and ``reasons``
            (every check failed).
        counts: Rows removed per reason; the values add up to ``removed.height``.
    """

    kept: pl.DataFrame
    removed: pl.DataFrame
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def rows(self) -> int:
        """Rows in the input: always ``kept.height + removed.height``."""
        return self.kept.height + self.removed.height

    def to_dict(self) -> dict[str, Any]:
        """The counts as plain data, for ``--json`` and reports."""
        return {
            "rows": self.rows,
            "kept": self.kept.height,
            "removed": self.removed.height,
            "reasons": dict(self.counts),
        }


def quality_filter(
    frame: pl.DataFrame,
    column: str,
    *,
    drop_empty: bool = True,
    min_length: int | None = None,
    max_length: int | None = None,
    max_special_ratio: float | None = None,
    max_repeated_line_ratio: float | None = None,
    max_repeated_ngram_ratio: float | None = None,
    ngram_size: int = 3,
    languages: Sequence[str] | None = None,
    words: Sequence[str] | None = None,
) -> FilterResult:
    """Drop the rows of ``frame`` whose ``column`` fails a quality check, with a reason code.

    Args:
        frame: The rows to check.
        column: A text column.
        drop_empty: Drop null, empty and whitespace-only texts (reason ``empty``).
        min_length: Drop texts shorter than this many characters (``length<N``), after
            stripping leading and trailing whitespace.
        max_length: Drop texts longer than this (``length>N``), measured the same way.
        max_special_ratio: Drop texts where more than this share of the non-whitespace
            characters are neither letters nor digits (``special_ratio>R``).
        max_repeated_line_ratio: Drop texts where more than this share of the non-blank lines
            repeat an earlier line (``repeated_lines>R``).
        max_repeated_ngram_ratio: Drop texts where more than this share of the word n-grams
            (``ngram_size`` words) repeat an earlier one (``repeated_ngrams>R``).
        ngram_size: Words per n-gram for ``max_repeated_ngram_ratio``.
        languages: Keep only texts whose detected language (see :func:`detect_language`) is
            one of these (``language=xx`` names the language found).
        words: Drop texts that contain one of these words as a whole word (``word_list``; see
            :func:`word_list_pattern`).

    Returns:
        The kept and removed rows and the count per reason.

    Raises:
        CleanError: The column is missing or not text, the frame is empty, the frame already
            has a ``reason``/``reasons`` column, or a threshold is out of range.

    Example:
        >>> frame = pl.DataFrame({"text": ["안녕하세요 반갑습니다", "!!!???", "  ", "ok"]})
        >>> result = quality_filter(frame, "text", max_special_ratio=0.5, min_length=3)
        >>> result.kept["text"].to_list()
        ['안녕하세요 반갑습니다']
        >>> result.removed["reason"].to_list()
        ['special_ratio>0.5', 'empty', 'length<3']
    """
    _check_input(frame, column)
    _check_ratios(max_special_ratio, max_repeated_line_ratio, max_repeated_ngram_ratio)
    if ngram_size < 1:
        raise CleanError(f"ngram_size must be at least 1, not {ngram_size}", hint="use 2 or more words")
    checks = _checks(
        pl.col(column),
        drop_empty=drop_empty,
        min_length=min_length,
        max_length=max_length,
        max_special_ratio=max_special_ratio,
        max_repeated_line_ratio=max_repeated_line_ratio,
        max_repeated_ngram_ratio=max_repeated_ngram_ratio,
        ngram_size=ngram_size,
        languages=languages,
        words=words,
    )
    return _split(frame, checks)


def _check_input(frame: pl.DataFrame, column: str) -> None:
    if column not in frame.columns:
        raise CleanError(
            f"no column '{column}' to filter", hint=f"choose one of: {', '.join(frame.columns) or '(none)'}"
        )
    dtype = frame.schema[column]
    if not isinstance(dtype, pl.String | pl.Categorical | pl.Enum):
        raise CleanError(
            f"column '{column}' is {dtype}, not text; quality filters read text",
            hint="choose a text column, or cast it to text first",
        )
    if frame.height == 0:
        raise CleanError("the dataset has no rows to filter", hint="check the ref or the input file")
    for name in (REASON_COLUMN, REASONS_COLUMN):
        if name in frame.columns:
            raise CleanError(
                f"the dataset already has a column '{name}', which the filter writes",
                hint="rename or drop that column first",
            )


def _check_ratios(*ratios: float | None) -> None:
    for ratio in ratios:
        if ratio is not None and not 0.0 <= ratio <= 1.0:
            raise CleanError(f"a ratio threshold must be between 0 and 1, not {ratio}", hint="e.g. use 0.5")


def _checks(text: pl.Expr, **options: Any) -> list[tuple[pl.Expr, pl.Expr]]:
    """(fails, reason) pairs in the fixed order; ``fails`` is null-safe (null means pass)."""
    text = text.cast(pl.String)
    stripped = text.str.strip_chars()
    checks: list[tuple[pl.Expr, pl.Expr]] = []
    if options["drop_empty"]:
        checks.append((stripped.fill_null("") == "", pl.lit("empty")))
    if (low := options["min_length"]) is not None:
        checks.append((stripped.str.len_chars() < low, pl.lit(f"length<{low}")))
    if (high := options["max_length"]) is not None:
        checks.append((stripped.str.len_chars() > high, pl.lit(f"length>{high}")))
    if (ratio := options["max_special_ratio"]) is not None:
        checks.append((special_ratio(text) > ratio, pl.lit(f"special_ratio>{ratio}")))
    if (ratio := options["max_repeated_line_ratio"]) is not None:
        checks.append((repeated_line_ratio(text) > ratio, pl.lit(f"repeated_lines>{ratio}")))
    if (ratio := options["max_repeated_ngram_ratio"]) is not None:
        repeated = repeated_ngram_ratio(text, n=options["ngram_size"])
        checks.append((repeated > ratio, pl.lit(f"repeated_ngrams>{ratio}")))
    if (languages := options["languages"]) is not None:
        language = language_expr(text)
        checks.append((~language.is_in(list(languages)), pl.lit("language=") + language))
    if options["words"]:
        checks.append((text.str.contains(word_list_pattern(options["words"])), pl.lit("word_list")))
    return checks


def _split(frame: pl.DataFrame, checks: list[tuple[pl.Expr, pl.Expr]]) -> FilterResult:
    codes = [pl.when(fails.fill_null(False)).then(reason) for fails, reason in checks]
    reasons = pl.concat_list(codes).list.drop_nulls() if codes else pl.lit([], pl.List(pl.String))
    marked = frame.with_columns(reasons.alias(REASONS_COLUMN))
    dropped = pl.col(REASONS_COLUMN).list.len() > 0
    kept = marked.filter(~dropped).drop(REASONS_COLUMN)
    removed = marked.filter(dropped).with_columns(pl.col(REASONS_COLUMN).list.first().alias(REASON_COLUMN))
    removed = removed.select([*frame.columns, REASON_COLUMN, REASONS_COLUMN])
    tally = removed.group_by(REASON_COLUMN, maintain_order=True).len()
    return FilterResult(kept, removed, dict(zip(tally[REASON_COLUMN], tally["len"], strict=True)))


def special_ratio(text: pl.Expr) -> pl.Expr:
    r"""The share of non-whitespace characters that are neither letters nor digits.

    Letters are any script's (``\p{L}``, with combining marks ``\p{M}``), so Hangul, kana,
    Han and accented Latin count as letters. Whitespace is left out of both counts; a text
    with no non-whitespace character has ratio 0.

    Example:
        >>> frame = pl.DataFrame({"t": ["바보야!!", "a-b", "   "]})
        >>> frame.select(special_ratio(pl.col("t")))["t"].round(2).to_list()
        [0.4, 0.33, 0.0]
    """
    visible = text.str.count_matches(r"\S")
    return pl.when(visible > 0).then(text.str.count_matches(_SPECIAL) / visible).otherwise(0.0)


def repeated_line_ratio(text: pl.Expr) -> pl.Expr:
    r"""The share of non-blank lines that repeat an earlier line (after stripping each line).

    Example:
        >>> frame = pl.DataFrame({"t": ["a\nb\na\na", "one line"]})
        >>> frame.select(repeated_line_ratio(pl.col("t")))["t"].to_list()
        [0.5, 0.0]
    """
    lines = text.str.split("\n").list.eval(pl.element().str.strip_chars().filter(pl.element() != ""))
    return _repeat_share(lines)


def repeated_ngram_ratio(text: pl.Expr, *, n: int = 3) -> pl.Expr:
    """The share of word n-grams (runs of ``n`` whitespace-separated words) that repeat an earlier one.

    Words are compared case-insensitively. A text shorter than ``n`` words has ratio 0.

    Example:
        >>> frame = pl.DataFrame({"t": ["buy now buy now buy now", "a b c d"]})
        >>> frame.select(repeated_ngram_ratio(pl.col("t"), n=2))["t"].to_list()
        [0.6, 0.0]
    """
    tokens = text.str.to_lowercase().str.extract_all(r"\S+")
    shifted = [pl.element().shift(-i) for i in range(n)]
    grams = tokens.list.eval(pl.concat_str(shifted, separator=" ").drop_nulls())
    return _repeat_share(grams)


def _repeat_share(items: pl.Expr) -> pl.Expr:
    total = items.list.len()
    return pl.when(total > 0).then((total - items.list.n_unique()) / total).otherwise(0.0)


def language_expr(text: pl.Expr) -> pl.Expr:
    """An expression naming each text's language by its script, and Latin ones by function words.

    Codes: ``ko`` (more Hangul than kana), ``ja`` (kana at least a tenth of the CJK letters),
    ``zh`` (Han with no or little kana), ``ru`` (Cyrillic), ``ar`` (Arabic), ``el``, ``he``,
    ``th``, ``hi`` (Devanagari); for Latin script ``en``, ``es``, ``fr``, ``de``, ``pt``, ``it``,
    ``nl`` when at least two function words of that language occur and more than of any other,
    else ``latin``; ``und`` when the text has no letters. The script decides among the scripts
    with the most letters. See ``docs/filters.md`` for its limits.

    Example:
        >>> texts = ["안녕하세요", "これは日本語です", "这是中文", "the cat is on the mat", "123"]
        >>> frame = pl.DataFrame({"t": texts})
        >>> frame.select(language_expr(pl.col("t"))).to_series().to_list()
        ['ko', 'ja', 'zh', 'en', 'und']
    """
    counts = [text.str.count_matches(pattern) for _, pattern in _SCRIPTS]
    letters = pl.sum_horizontal(counts)
    script = pl.concat_list(counts).list.arg_max()
    by_script = script.replace_strict(list(range(len(_SCRIPTS))), [name for name, _ in _SCRIPTS])
    return (
        pl.when(letters.fill_null(0) == 0)
        .then(pl.lit("und"))
        .when(by_script == "latin")
        .then(_latin_language(text))
        .when(by_script == "cjk")
        .then(_cjk_language(text))
        .otherwise(by_script)
    )


def _cjk_language(text: pl.Expr) -> pl.Expr:
    hangul = text.str.count_matches(r"\p{Hangul}")
    kana = text.str.count_matches(r"[\p{Hiragana}\p{Katakana}]")
    han = text.str.count_matches(r"\p{Han}")
    return (
        pl.when(hangul > kana)
        .then(pl.lit("ko"))
        .when(kana * 10 >= kana + han)
        .then(pl.lit("ja"))
        .otherwise(pl.lit("zh"))
    )


def _latin_language(text: pl.Expr) -> pl.Expr:
    lower = text.str.to_lowercase()
    hits = [
        lower.str.count_matches(r"\b(?:" + "|".join(map(re.escape, words)) + r")\b")
        for words in _STOPWORDS.values()
    ]
    ranked = pl.concat_list(hits)
    best = ranked.list.max()
    second = ranked.list.sort(descending=True).list.get(1)
    names = list(_STOPWORDS)
    language = ranked.list.arg_max().replace_strict(list(range(len(names))), names)
    return pl.when((best >= 2) & (best > second)).then(language).otherwise(pl.lit("latin"))


def detect_language(texts: pl.Series) -> pl.Series:
    """The language code of each text, by :func:`language_expr` (offline, no model).

    Example:
        >>> detect_language(pl.Series(["바보는 아니다", "el perro y los gatos"])).to_list()
        ['ko', 'es']
    """
    return pl.select(language_expr(pl.lit(texts.cast(pl.String)))).to_series().rename(texts.name)


def word_list_pattern(words: Sequence[str]) -> str:
    """A case-insensitive regular expression matching any of ``words`` as a whole word.

    - A word with Hangul matches at the start of an eojeol (a space-separated unit, also after
      punctuation or a digit), followed by nothing, by up to three common particles or endings
      (``바보`` matches ``바보``, ``바보야``, ``바보는``, ``바보들아``), or by bare jamo (``바보ㅋㅋ``);
      it does not match inside a longer word (``바보람``, ``왕바보``).
    - A word with Han or kana but no Hangul matches anywhere (these scripts have no spaces).
    - Any other word matches between word boundaries: ``ass`` matches ``Ass!`` but not ``class``.

    Example:
        >>> pattern = word_list_pattern(["바보", "ass"])
        >>> pl.Series(["너 바보야", "바보람", "first class", "ASS."]).str.contains(pattern).to_list()
        [True, False, False, True]
    """
    terms = [term.strip() for term in words if term.strip()]
    if not terms:
        raise CleanError("the word list is empty", hint="give at least one word")
    tails = "|".join(sorted(_KOREAN_TAILS, key=len, reverse=True))
    parts = []
    for term in terms:
        escaped = re.escape(term)
        if re.search(r"[\uac00-\ud7a3\u1100-\u11ff\u3130-\u318f]", term):
            parts.append(
                rf"(?:^|[^\p{{L}}\p{{N}}]){escaped}(?:{tails}){{0,3}}(?:$|[^\p{{L}}\p{{N}}]|[ㄱ-ㅣ])"
            )
        elif re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", term):
            parts.append(escaped)
        else:
            parts.append(rf"\b{escaped}\b")
    return "(?i)(?:" + "|".join(parts) + ")"
