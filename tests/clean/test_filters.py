"""Quality filters: each check on hand-made examples, reason codes, Korean word lists, language id."""

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datawheel.clean._filters import (
    FilterResult,
    detect_language,
    quality_filter,
    special_ratio,
    word_list_pattern,
)
from datawheel.errors import CleanError

ROOT = Path(__file__).resolve().parents[2]
SMS = ROOT / "src" / "datawheel" / "demo" / "data" / "SMSSpamCollection"
KOREAN = ROOT / "tests" / "data" / "korean_hate_speech" / "labeled_train_head300.tsv"


def _filter(texts: list[str | None], **options: object) -> FilterResult:
    return quality_filter(pl.DataFrame({"text": texts}, schema={"text": pl.String}), "text", **options)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "ratio"),
    [
        ("안녕하세요", 0.0),  # Hangul counts as letters
        ("바보야!!", 0.4),
        ("東京タワー", 0.0),
        ("Ünïcödé 123", 0.0),
        ("#$%&", 1.0),
        ("a b !", 1 / 3),  # whitespace is in neither count
        ("   ", 0.0),
    ],
)
def test_special_ratio_counts_any_script_as_letters(text: str, ratio: float) -> None:
    got = pl.select(special_ratio(pl.lit(text))).item()
    assert got == pytest.approx(ratio)


@pytest.mark.parametrize(
    ("options", "text", "reason"),
    [
        ({}, "", "empty"),
        ({}, " \t\n ", "empty"),
        ({}, None, "empty"),
        ({"min_length": 5}, "  abc  ", "length<5"),
        ({"max_length": 60}, "x" * 61, "length>60"),
        ({"max_special_ratio": 0.5}, "ㅋㅋ!!!!!", "special_ratio>0.5"),
        ({"max_repeated_line_ratio": 0.3}, "hi\nhi\nhi\nbye", "repeated_lines>0.3"),
        (
            {"max_repeated_ngram_ratio": 0.2, "ngram_size": 2},
            "buy now buy now buy now",
            "repeated_ngrams>0.2",
        ),
        ({"languages": ["en"]}, "오늘 날씨가 좋네요", "language=ko"),
        ({"words": ["spam"]}, "this is SPAM!", "word_list"),
    ],
)
def test_each_check_drops_with_its_reason(options: dict[str, object], text: str | None, reason: str) -> None:
    result = _filter([text, "The weather is nice and the sun is out today"], **options)
    assert result.removed["reason"].to_list() == [reason]
    assert result.kept.height == 1
    assert result.counts == {reason: 1}


@pytest.mark.parametrize(
    ("options", "text"),
    [
        ({"min_length": 5}, "abcde"),
        ({"max_length": 5}, "  abcde  "),
        ({"max_special_ratio": 0.5}, "안녕!"),
        ({"max_repeated_line_ratio": 0.3}, "one\ntwo\n\n\nthree"),
        ({"max_repeated_ngram_ratio": 0.2, "ngram_size": 3}, "a b c a b d"),
        ({"languages": ["ko", "en"]}, "오늘 날씨가 좋네요"),
        ({"words": ["ass"]}, "a class of its own"),
        ({"drop_empty": False}, "   "),
    ],
)
def test_passing_texts_are_kept(options: dict[str, object], text: str) -> None:
    result = _filter([text], **options)
    assert result.kept.height == 1
    assert result.removed.height == 0


def test_first_reason_by_fixed_order_and_all_reasons_listed() -> None:
    result = _filter(["!!"], min_length=5, max_special_ratio=0.5)
    assert result.removed["reason"].to_list() == ["length<5"]
    assert result.removed["reasons"].to_list() == [["length<5", "special_ratio>0.5"]]
    assert result.to_dict() == {"rows": 1, "kept": 0, "removed": 1, "reasons": {"length<5": 1}}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ("바보", True),
        ("너 바보야", True),
        ("바보는 누구", True),
        ("바보들아!", True),
        ("바보한테는 안 줘", True),
        ("(바보)", True),
        ("바보ㅋㅋ", True),
        ("바보람", False),  # a longer word, not a particle
        ("왕바보", False),  # not at the start of the eojeol
        ("ass", True),
        ("What an ASS.", True),
        ("first class", False),
        ("assistant", False),
    ],
)
def test_word_list_whole_words_in_korean_and_english(text: str, matches: bool) -> None:
    assert pl.Series([text]).str.contains(word_list_pattern(["바보", "ass"])).item() is matches


def test_word_list_keeps_korean_starting_point_apart_from_the_swear_word() -> None:
    # 시발점 ("starting point") must not match the swear word 시발.
    result = _filter(["시발점에서 출발", "아 시발 진짜"], words=["시발"])
    assert result.kept["text"].to_list() == ["시발점에서 출발"]


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("오늘은 날씨가 정말 좋네요", "ko"),
        ("今日はとても良い天気ですね", "ja"),
        ("今天天气很好我们去公园", "zh"),
        ("The weather is nice and it is warm", "en"),
        ("El tiempo es muy bueno y los niños juegan", "es"),
        ("Le temps est beau et les enfants jouent dans le parc", "fr"),
        ("Das Wetter ist schön und die Kinder spielen", "de"),
        ("Сегодня хорошая погода", "ru"),
        ("اليوم الطقس جميل", "ar"),
        ("ok", "latin"),
        ("12345 !!!", "und"),
    ],
)
def test_language_id_by_script_and_stopwords(text: str, language: str) -> None:
    assert detect_language(pl.Series([text])).item() == language


def test_language_id_on_real_korean_and_english_samples() -> None:
    korean = pl.read_csv(KOREAN, separator="\t", quote_char=None)["comments"]
    english = pl.read_csv(
        SMS, separator="\t", has_header=False, new_columns=["label", "text"], quote_char=None
    )
    english_langs = detect_language(english["text"].head(500))
    assert (detect_language(korean) == "ko").mean() >= 0.95  # type: ignore[operator]
    # Short SMS often have too few function words: those say "latin", rarely a wrong language.
    assert (english_langs == "en").mean() >= 0.5  # type: ignore[operator]
    assert english_langs.is_in(["en", "latin"]).mean() >= 0.99  # type: ignore[operator]


def test_language_filter_on_real_korean_text() -> None:
    korean = pl.read_csv(KOREAN, separator="\t", quote_char=None)
    result = quality_filter(korean, "comments", languages=["ko"])
    assert result.kept.height >= 285
    assert result.kept.height + result.removed.height == korean.height


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (pl.DataFrame({"text": [1, 2]}), "not text"),
        (pl.DataFrame({"text": []}, schema={"text": pl.String}), "no rows"),
        (pl.DataFrame({"other": ["a"]}), "no column 'text'"),
        (pl.DataFrame({"text": ["a"], "reason": ["x"]}), "already has a column 'reason'"),
    ],
)
def test_bad_input_is_a_clear_error(frame: pl.DataFrame, message: str) -> None:
    with pytest.raises(CleanError, match=message) as caught:
        quality_filter(frame, "text")
    assert caught.value.hint


def test_bad_thresholds_are_errors() -> None:
    with pytest.raises(CleanError, match="between 0 and 1"):
        _filter(["a"], max_special_ratio=1.5)
    with pytest.raises(CleanError, match="word list is empty"):
        _filter(["a"], words=[" "])


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.text(max_size=30)), min_size=1, max_size=20),
    st.floats(0, 1),
    st.integers(0, 10),
)
def test_kept_plus_removed_is_every_row(texts: list[str | None], ratio: float, low: int) -> None:
    result = _filter(texts, max_special_ratio=ratio, min_length=low, max_repeated_ngram_ratio=ratio)
    assert result.kept.height + result.removed.height == len(texts)
    assert sum(result.counts.values()) == result.removed.height
    assert sorted(result.kept["text"].to_list() + result.removed["text"].to_list(), key=repr) == sorted(
        texts, key=repr
    )
