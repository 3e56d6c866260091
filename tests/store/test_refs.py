import pytest

from datawheel.errors import RefError
from datawheel.store import Ref, check_dataset_name, check_tag, parse_ref


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sms", Ref("sms")),
        ("sms@3", Ref("sms", version=3)),
        ("sms@v1-release", Ref("sms", tag="v1-release")),
        ("sms.quarantine@2", Ref("sms.quarantine", version=2)),
        ("  adult_2024@best ", Ref("adult_2024", tag="best")),
    ],
)
def test_parse_ref(text: str, expected: Ref) -> None:
    assert parse_ref(text) == expected
    assert parse_ref(str(expected)) == expected


@pytest.mark.parametrize("text", ["", "@3", "sms@", "sms@@2", "sms@1@2", "s ms", "_private", "a/b"])
def test_parse_ref_rejects(text: str) -> None:
    with pytest.raises(RefError, match="is not a ref") as info:
        parse_ref(text)
    assert "NAME@N" in str(info.value)


@pytest.mark.parametrize("tag", ["123", "", "-x", "a b", "v1@2"])
def test_bad_tags(tag: str) -> None:
    with pytest.raises(RefError, match="cannot be a tag"):
        check_tag(tag)


def test_good_names_and_tags() -> None:
    assert check_tag("v1-release") == "v1-release"
    assert check_tag("2024.01") == "2024.01"
    assert check_dataset_name("sms.quarantine") == "sms.quarantine"
    with pytest.raises(RefError, match="cannot name a dataset"):
        check_dataset_name("sms@1")
