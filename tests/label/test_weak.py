from pathlib import Path
from typing import Any

import polars as pl
import pytest

from datawheel.errors import LabelError
from datawheel.label import (
    LabelingFunction,
    analyse_functions,
    apply_functions,
    keyword_function,
    labeling_function,
    load_functions,
    weak_labels,
)


@labeling_function
def shouting(row: dict[str, Any]) -> str | None:
    letters = [c for c in row["text"] if c.isalpha()]
    upper = sum(c.isupper() for c in letters)
    return "spam" if len(letters) > 20 and upper / len(letters) > 0.5 else None


@labeling_function(name="short")
def short_message(row: dict[str, Any]) -> str | None:
    return "ham" if len(row["text"]) < 40 else None


SMS_RULES = """
[[lf]]
name = "money"
column = "text"
label = "spam"
keywords = ["cash", "prize", "won", "win", "winner", "claim", "award", "guaranteed"]

[[lf]]
name = "free"
column = "text"
label = "spam"
keywords = ["free", "txt", "text", "mobile", "reply", "stop", "urgent"]

[[lf]]
name = "phone"
column = "text"
label = "spam"
regex = '\\b0\\d{9,}\\b|\\b\\d{5}\\b'

[[lf]]
name = "url"
column = "text"
label = "spam"
regex = 'https?://|www\\.|\\.com\\b'

[[lf]]
name = "chat"
column = "text"
label = "ham"
keywords = ["i", "me", "my", "you", "lol", "ok", "home", "love", "sorry", "later"]

[[lf]]
name = "first_person"
column = "text"
label = "ham"
regex = "\\\\bI'm\\\\b|\\\\bI'll\\\\b"
"""


def sms_functions(tmp_path: Path) -> list[LabelingFunction]:
    path = tmp_path / "rules.toml"
    path.write_text(SMS_RULES, encoding="utf-8")
    return [*load_functions(path), shouting, short_message]


def test_label_model_is_at_least_as_accurate_as_majority_vote_on_sms(
    sms: pl.DataFrame, tmp_path: Path
) -> None:
    result = weak_labels(sms, sms_functions(tmp_path), gold="label")
    compared = result.comparison
    assert compared["gold_rows"] == sms.height
    assert compared["label_model_accuracy"] >= compared["majority_accuracy"]
    assert compared["label_model_accuracy_covered"] >= compared["majority_accuracy_covered"]
    assert compared["label_model_accuracy"] > 0.9
    assert result.class_balance[1] == pytest.approx(747 / 5574, abs=0.05)  # spam share, estimated
    assert result.analysis["function"].to_list()[-2:] == ["shouting", "short"]


def test_fixed_class_balance_is_kept(sms: pl.DataFrame, tmp_path: Path) -> None:
    result = weak_labels(sms.head(500), sms_functions(tmp_path), class_balance=[0.5, 0.5])
    assert result.class_balance.tolist() == [0.5, 0.5]
    assert result.comparison == {}


def test_analysis_counts_coverage_overlaps_conflicts_and_accuracy() -> None:
    votes = pl.DataFrame({"a": ["spam", None, "ham", "spam"], "b": ["spam", "ham", "spam", None]})
    gold = pl.Series(["spam", "ham", "ham", None])
    table = analyse_functions(votes, gold=gold)
    assert table.rows() == [
        ("a", "ham, spam", 0.75, 0.5, 0.25, 2, 0, 1.0),
        ("b", "ham, spam", 0.75, 0.5, 0.25, 2, 1, 2 / 3),
    ]


def test_python_functions_and_keyword_rules_vote_or_abstain() -> None:
    frame = pl.DataFrame({"text": ["WIN A BRAND NEW CAR TODAY NOW", "ok see you", "Cash prize!"]})
    rule = keyword_function("cash", column="text", label="spam", keywords=["cash"])
    votes = apply_functions(frame, [shouting, short_message, rule])
    assert votes.rows() == [("spam", "ham", None), (None, "ham", None), (None, "ham", "spam")]
    assert short_message.name == "short"
    with pytest.raises(LabelError, match="distinct names"):
        apply_functions(frame, [rule, rule])


def test_yaml_and_python_files(tmp_path: Path) -> None:
    yaml_file = tmp_path / "rules.yaml"
    yaml_file.write_text(
        "lf:\n  - {name: cash, column: text, label: spam, keywords: [cash]}\n", encoding="utf-8"
    )
    assert [f.name for f in load_functions(yaml_file)] == ["cash"]
    module = tmp_path / "rules.py"
    module.write_text(
        "from datawheel.label import labeling_function\n\n"
        "@labeling_function\ndef hello(row):\n    return 'ham' if 'hello' in row['text'] else None\n",
        encoding="utf-8",
    )
    (hello,) = load_functions(module)
    assert hello({"text": "hello"}) == "ham"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[lf]]\nname = 'x'\ncolumn = 'text'\n", "needs name, column and label"),
        ("[[lf]]\nname = 'x'\ncolumn = 'text'\nlabel = 'a'\n", "neither keywords nor regex"),
        ("[[lf]]\nname = 'x'\ncolumn = 'text'\nlabel = 'a'\nregex = '('\n", "bad regex"),
        ("[[lf]]\nname = 'x'\ncolumn = 'text'\nlabel = 'a'\nwords = ['b']\n", "unknown keys"),
        ("[rules]\n", "no list of rules"),
        ("[[lf]\n", "not valid"),
    ],
)
def test_bad_rule_files_are_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "rules.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(LabelError, match=message):
        load_functions(path)


def test_votes_outside_the_label_set_are_an_error() -> None:
    frame = pl.DataFrame({"text": ["cash", "hi"]})
    rule = keyword_function("cash", column="text", label="spam", keywords=["cash"])
    with pytest.raises(LabelError, match="outside the label set"):
        weak_labels(frame, [rule], labels=["ham", "other"])
