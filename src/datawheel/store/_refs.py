"""Refs: how a user names a dataset version (``sms``, ``sms@3``, ``sms@v1-release``)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from datawheel.errors import RefError

_NAME = r"[A-Za-z0-9][A-Za-z0-9_.\-]*"
_NAME_RE = re.compile(rf"^{_NAME}$")
_REF_RE = re.compile(rf"^(?P<name>{_NAME})(?:@(?P<at>[A-Za-z0-9][A-Za-z0-9_.\-]*))?$")
_TAG_RE = re.compile(r"^(?=.*[A-Za-z_.\-])[A-Za-z0-9][A-Za-z0-9_.\-]*$")


@dataclass(frozen=True)
class Ref:
    """A parsed ref: a dataset name and at most one of a version number or a tag.

    Example:
        >>> parse_ref("sms@3")
        Ref(name='sms', version=3, tag=None)
        >>> parse_ref("sms@v1-release").tag
        'v1-release'
        >>> str(parse_ref("sms"))
        'sms'
    """

    name: str
    version: int | None = None
    tag: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@{self.version}"
        if self.tag is not None:
            return f"{self.name}@{self.tag}"
        return self.name


def parse_ref(text: str) -> Ref:
    """Parse ``NAME``, ``NAME@N`` or ``NAME@TAG``; raise :class:`RefError` on anything else."""
    match = _REF_RE.match(text.strip())
    if match is None:
        raise RefError(
            f"'{text}' is not a ref",
            hint="write NAME, NAME@N (a version number) or NAME@TAG, e.g. sms@2",
        )
    at = match["at"]
    if at is None:
        return Ref(match["name"])
    if at.isdigit():
        return Ref(match["name"], version=int(at))
    return Ref(match["name"], tag=at)


def check_dataset_name(name: str) -> str:
    """Return ``name`` if it can name a dataset, else raise :class:`RefError`."""
    if not _NAME_RE.match(name):
        raise RefError(
            f"'{name}' cannot name a dataset",
            hint="use letters, digits, '_', '-' and '.', starting with a letter or digit",
        )
    return name


def check_tag(tag: str) -> str:
    """Return ``tag`` if it can name a version, else raise :class:`RefError`.

    A tag must hold at least one character that is not a digit, so that it never reads as a
    version number.
    """
    if not _TAG_RE.match(tag):
        raise RefError(
            f"'{tag}' cannot be a tag",
            hint="use letters, digits, '_', '-' and '.', with at least one non-digit (e.g. v1-release)",
        )
    return tag
