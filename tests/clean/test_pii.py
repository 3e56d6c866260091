"""PII detection and redaction: the hand-labelled fixture, validators, modes, and no raw value leaks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any, cast

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datawheel.clean._pii import (
    PII_TYPES,
    RedactMode,
    Span,
    detect_pii,
    luhn_valid,
    redact,
    valid_iban,
    valid_kr_brn,
    valid_kr_rrn,
)
from datawheel.errors import CleanError

FIXTURE = Path(__file__).parents[1] / "data" / "pii" / "fixture.jsonl"
SALT = "test-salt-not-secret"
MODES: list[RedactMode] = ["mask", "tag", "hash", "pseudonym"]


def _fixture() -> list[dict[str, Any]]:
    return [json.loads(line) for line in FIXTURE.read_text(encoding="utf-8").splitlines()]


@pytest.fixture(scope="module")
def labelled() -> list[dict[str, Any]]:
    return _fixture()


@pytest.fixture(scope="module")
def frame(labelled: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame({"id": [r["id"] for r in labelled], "text": [r["text"] for r in labelled]})


def _spans(table: pl.DataFrame) -> set[tuple[int, str, int, int]]:
    return {
        (int(r), str(t), int(s), int(e))
        for r, t, s, e in table.select("row", "type", "start", "end").iter_rows()
    }


def _raw_values(labelled: list[dict[str, Any]]) -> list[str]:
    return [r["text"][e["start"] : e["end"]] for r in labelled for e in r["entities"]]


# ---------------------------------------------------------------- the fixture


def test_fixture_is_big_enough_and_bilingual(labelled: list[dict[str, Any]]) -> None:
    assert len(labelled) >= 60
    assert {r["lang"] for r in labelled} == {"en", "ko"}
    assert {e["type"] for r in labelled for e in r["entities"]} == set(PII_TYPES)
    assert sum(not r["entities"] for r in labelled) >= 15  # the tricky negatives


@pytest.mark.parametrize("kind", PII_TYPES)
def test_precision_and_recall_are_one_per_type(
    labelled: list[dict[str, Any]], frame: pl.DataFrame, kind: str
) -> None:
    expected = {
        (i, e["type"], e["start"], e["end"])
        for i, r in enumerate(labelled)
        for e in r["entities"]
        if e["type"] == kind
    }
    found = {s for s in _spans(detect_pii(frame, "text").table) if s[1] == kind}
    assert expected, kind
    assert found - expected == set(), "false positives"
    assert expected - found == set(), "misses"


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("Order number 4000 1234 5678 9011 shipped", "fails Luhn"),
        ("접수번호 900101-1234567 처리 중", "RRN-shaped, fails the checksum, no context word"),
        ("We shipped version 10.0.0.1 last week", "a version number"),
        ("송장번호 INV-010-2345-6789", "an invoice number glued to its prefix"),
        ("The meeting is on 2024-03-14", "a date with no birth context"),
        ("문서번호 123-45-67890 보관", "BRN-shaped, fails the checksum"),
    ],
)
def test_tricky_negatives(text: str, why: str) -> None:
    assert detect_pii(pl.DataFrame({"t": [text]}), "t").counts == {}, why


def test_post_2020_rrn_needs_a_context_word_and_scores_lower() -> None:
    found = detect_pii(pl.DataFrame({"t": ["주민번호 210315-3847290", "코드 210315-3847290"]}), "t").table
    assert found.select("row", "type", "detector", "score").rows() == [(0, "KR_RRN", "kr_rrn", 0.6)]


def test_dob_needs_a_context_word() -> None:
    frame = pl.DataFrame({"t": ["born 1987-03-14", "due 1987-03-14", "생년월일 1990년 5월 17일"]})
    assert detect_pii(frame, "t").table.select("row", "type").rows() == [
        (0, "DATE_OF_BIRTH"),
        (2, "DATE_OF_BIRTH"),
    ]


def test_overlaps_longer_match_wins() -> None:
    found = detect_pii(pl.DataFrame({"t": ["see http://10.1.2.3/admin now"]}), "t")
    assert found.table.select("type", "start", "end").rows() == [("URL", 4, 25)]


def test_types_filter_and_unknown_type() -> None:
    frame = pl.DataFrame({"t": ["a@example.com 010-1234-5678"]})
    assert detect_pii(frame, "t", types=["PHONE"]).counts == {"PHONE": 1}
    with pytest.raises(CleanError, match="NAME"):
        detect_pii(frame, "t", types=["NAME"])


# ---------------------------------------------------------------- validators


@pytest.mark.parametrize(
    ("number", "valid"),
    [
        ("4111111111111111", True),
        ("5555 5555 5555 4444", True),
        ("378282246310005", True),
        ("6011-1111-1111-1117", True),
        ("4012888888881881", True),
        ("4111111111111112", False),
        ("4000123456789011", False),
        ("1234567812345678", False),
        ("0", False),
    ],
)
def test_luhn(number: str, valid: bool) -> None:
    assert luhn_valid(number) is valid


@pytest.mark.parametrize(
    ("iban", "valid"),
    [
        ("GB82WEST12345698765432", True),
        ("GB82 WEST 1234 5698 7654 32", True),
        ("DE89370400440532013000", True),
        ("FR1420041010050500013M02606", True),
        ("NL91ABNA0417164300", True),
        ("GB82WEST12345698765433", False),
        ("GB00WEST12345698765432", False),
        ("XX82", False),
        ("1234WEST12345698765432", False),
    ],
)
def test_iban(iban: str, valid: bool) -> None:
    assert valid_iban(iban) is valid


@pytest.mark.parametrize(
    ("rrn", "valid"),
    [
        ("850412-2345672", True),
        ("7709301543216", True),
        ("020715-3456784", True),
        ("850412-2345671", False),  # wrong check digit
        ("851312-2345672", False),  # month 13
        ("850230-2345672", False),  # 30 February
        ("85041-22345672", False),
        ("abcdef-1234567", False),
    ],
)
def test_kr_rrn(rrn: str, valid: bool) -> None:
    assert valid_kr_rrn(rrn) is valid


@pytest.mark.parametrize(
    ("brn", "valid"),
    [
        ("123-45-67891", True),
        ("314-15-92650", True),
        ("1058700121", True),
        ("123-45-67890", False),
        ("12-345", False),
    ],
)
def test_kr_brn(brn: str, valid: bool) -> None:
    assert valid_kr_brn(brn) is valid


@pytest.mark.parametrize(
    ("text", "found"),
    [
        ("ip 192.168.0.1", True),
        ("ip 256.1.1.1", False),
        ("ip 01.2.3.4", False),
        ("ip 1.2.3.4.5", False),
        ("ip fe80::1", True),
        ("ip 12:30:45", False),
        ("ip 1:2:3:4:5:6:7:8:9", False),
    ],
)
def test_ip_validation(text: str, found: bool) -> None:
    assert bool(detect_pii(pl.DataFrame({"t": [text]}), "t").counts) is found


# ---------------------------------------------------------------- modes


@pytest.mark.parametrize("mode", MODES)
def test_modes_leave_no_raw_value(
    labelled: list[dict[str, Any]], frame: pl.DataFrame, mode: RedactMode
) -> None:
    result = redact(frame, "text", mode=mode, salt=SALT)
    out = result.frame["text"].to_list()
    # Per row: some values (10.0.0.1, an RRN-shaped code) are also negatives on other lines.
    leaked = [
        (i, e)
        for i, r in enumerate(labelled)
        for e in r["entities"]
        if r["text"][e["start"] : e["end"]] in out[i]
    ]
    assert leaked == []
    assert result.frame["id"].equals(frame["id"])
    assert result.frame.columns == frame.columns
    assert result.counts == detect_pii(frame, "text").counts


def test_mask_and_tag() -> None:
    frame = pl.DataFrame({"t": ["mail a@example.com now", "no pii", None]})
    assert redact(frame, "t").frame["t"].to_list() == ["mail *** now", "no pii", None]
    assert redact(frame, "t", mode="tag").frame["t"].to_list() == ["mail <EMAIL> now", "no pii", None]


def test_hash_is_salted_truncated_and_consistent() -> None:
    frame = pl.DataFrame({"t": ["a@example.com", "A@example.com x", "b@example.com"]})
    one = redact(frame, "t", mode="hash", salt="one").frame["t"].to_list()
    two = redact(frame, "t", mode="hash", salt="two").frame["t"].to_list()
    assert re.fullmatch(r"<EMAIL:[0-9a-f]{16}>", one[0])
    assert one[1] == one[0] + " x"  # e-mails compare case-insensitively
    assert one[2] != one[0]
    assert two[0] != one[0]


def test_pseudonyms_are_consistent_plausible_and_salted() -> None:
    frame = pl.DataFrame(
        {
            "t": [
                "kim@example.com 4111 1111 1111 1111",
                "again kim@example.com and 4111-1111-1111-1111",
                "GB82WEST12345698765432 850412-2345672 123-45-67891 536-22-8731 010-1234-5678",
            ]
        }
    )
    out = redact(frame, "t", mode="pseudonym", salt=SALT).frame["t"].to_list()
    email, card = out[0].split(" ", 1)
    assert re.fullmatch(r"user\d{8}@example\.invalid", email)
    assert luhn_valid(card)
    assert out[1] == f"again {email} and {card}"
    iban, rrn, brn, ssn, phone = out[2].split(" ")
    assert valid_iban(iban)
    assert valid_kr_rrn(rrn)
    assert valid_kr_brn(brn)
    assert re.fullmatch(r"9\d\d-\d\d-\d{4}", ssn)
    assert re.fullmatch(r"010-\d{4}-\d{4}", phone)
    other = redact(frame, "t", mode="pseudonym", salt="other").frame["t"].to_list()
    assert other[0] != out[0]
    assert redact(frame, "t", mode="pseudonym", salt=SALT).frame["t"].to_list() == out


# ---------------------------------------------------------------- findings and errors


def test_findings_hold_no_raw_values(labelled: list[dict[str, Any]], frame: pl.DataFrame) -> None:
    result = redact(frame, "text", mode="pseudonym", salt=SALT)
    dumped = json.dumps(result.to_dict(), ensure_ascii=False) + repr(result.findings.table.rows())
    dumped += result.findings.table.write_csv() + repr(result.findings.counts)
    assert [v for v in _raw_values(labelled) if v in dumped] == []
    assert set(result.findings.table.columns) == {"row", "type", "start", "end", "detector", "score"}
    assert result.to_dict()["findings"] == result.counts
    assert result.to_dict()["mode"] == "pseudonym"


def test_row_id_is_carried_into_findings() -> None:
    frame = pl.DataFrame({"_row_id": ["r1", "r2"], "t": ["nothing", "a@example.com"]})
    assert detect_pii(frame, "t").table.select("row", "_row_id").rows() == [(1, "r2")]


SECRET = "secret.person@example.com 4111111111111111"


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda f: redact(f, "missing"), "no column 'missing'"),
        (lambda f: redact(f, "n"), "not text"),
        (lambda f: redact(f, "t", mode=cast(Any, "scramble")), "unknown redaction mode"),
        (lambda f: redact(f, "t", mode="hash"), "needs a salt"),
        (lambda f: redact(f, "t", mode="pseudonym", salt=""), "needs a salt"),
        (lambda f: detect_pii(f, "t", extra=[lambda texts: [Span(0, 0, 999, "PERSON")]]), "outside its text"),
    ],
)
def test_errors_have_hints_and_no_raw_text(call: Any, match: str) -> None:
    frame = pl.DataFrame({"t": [SECRET], "n": [1]})
    with pytest.raises(CleanError, match=match) as info:
        call(frame)
    assert info.value.hint
    message = str(info.value)
    assert "secret.person" not in message
    assert "4111" not in message


# ---------------------------------------------------------------- the NER hook


class Names:
    name = "toy_ner"

    def __call__(self, texts: list[str], /) -> Iterable[Span]:
        for row, text in enumerate(texts):
            for m in re.finditer(r"\b(?:Kim Minji|John Doe)\b", text):
                yield Span(row, m.start(), m.end(), "PERSON", 0.9)


def test_extra_detectors_are_redacted_and_recorded() -> None:
    frame = pl.DataFrame({"t": ["John Doe wrote from a@example.com", "Kim Minji 님", None]})
    result = redact(frame, "t", mode="tag", extra=[Names()])
    assert result.frame["t"].to_list() == ["<PERSON> wrote from <EMAIL>", "<PERSON> 님", None]
    assert result.counts == {"EMAIL": 1, "PERSON": 2}
    assert set(result.findings.table["detector"]) == {"toy_ner", "email"}
    pseudo = redact(frame, "t", mode="pseudonym", salt=SALT, extra=[Names()]).frame["t"][1]
    assert re.fullmatch(r"PERSON_[0-9a-f]{8} 님", pseudo)


# ---------------------------------------------------------------- invariants

_ENTITY_VALUES = [v for v in _raw_values(_fixture()) if len(v) > 4]
_FILLER = st.text(alphabet=st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.one_of(_FILLER, st.sampled_from(_ENTITY_VALUES)), max_size=5).map(" ".join),
        min_size=1,
        max_size=4,
    ),
    st.sampled_from(MODES),
)
def test_redaction_never_leaves_a_detected_value(texts: list[str], mode: RedactMode) -> None:
    frame = pl.DataFrame({"t": texts})
    found = detect_pii(frame, "t").table
    result = redact(frame, "t", mode=mode, salt=SALT)
    assert _spans(result.findings.table) == _spans(found)
    for row, _, start, end in _spans(found):
        assert texts[row][start:end] not in result.frame["t"][row]
