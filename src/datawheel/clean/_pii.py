"""PII detection and redaction over one text column of a Polars frame.

Detection runs compiled regular expressions over the whole column at once (the rows joined by a
NUL character, which no pattern matches), then validators (Luhn, IBAN mod-97, Korean RRN and BRN
check digits, IPv4 octets, IPv6 via :mod:`ipaddress`, real calendar dates) keep or drop each
candidate. Overlapping findings are resolved so that each character belongs to at most one
finding: the longer match wins; at equal length the type earlier in :data:`PII_TYPES` wins.

Findings record where PII is (row, type, character offsets, detector, score), never what it
was; errors name columns and types, never text from the data.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import ipaddress
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

import numpy as np
import polars as pl

from datawheel.errors import CleanError

__all__ = [
    "PII_TYPES",
    "Detector",
    "PiiFindings",
    "PiiType",
    "RedactMode",
    "RedactResult",
    "Span",
    "detect_pii",
    "luhn_valid",
    "redact",
    "valid_iban",
    "valid_kr_brn",
    "valid_kr_rrn",
]

PiiType = Literal[
    "KR_RRN",
    "KR_BRN",
    "US_SSN",
    "CREDIT_CARD",
    "IBAN",
    "EMAIL",
    "URL",
    "IP_ADDRESS",
    "PHONE",
    "DATE_OF_BIRTH",
]
PII_TYPES: tuple[str, ...] = get_args(PiiType)
"""The built-in entity types, in priority order (earlier wins a tie between equal-length matches)."""

RedactMode = Literal["mask", "tag", "hash", "pseudonym"]
MASK = "***"
_SEP = "\x00"
_CONTEXT_CHARS = 30
_FORMAT_VERSION = 1


@dataclass(frozen=True)
class Span:
    """One entity found by a :class:`Detector`: ``texts[row][start:end]`` is of type ``type``.

    Offsets count characters (code points), as Python's ``str`` indexing does.
    """

    row: int
    start: int
    end: int
    type: str
    score: float = 1.0


class Detector(Protocol):
    """A pluggable detector, e.g. an NER model finding ``PERSON`` or ``ADDRESS`` entities.

    It is called once with every text of the column (nulls as ``""``) and yields :class:`Span`
    objects. Its ``name`` attribute, else its ``__name__``, else its class name, is recorded as the
    finding's detector.

    Example:
        >>> def names(texts: list[str]) -> list[Span]:
        ...     return [Span(i, t.find("Kim"), t.find("Kim") + 3, "PERSON") for i, t in enumerate(texts)
        ...             if "Kim" in t]
        >>> detect_pii(pl.DataFrame({"t": ["Mr Kim called"]}), "t", extra=[names]).counts
        {'PERSON': 1}
    """

    def __call__(self, texts: list[str], /) -> Iterable[Span]:
        """Spans found in ``texts``."""
        ...


# ---------------------------------------------------------------- validators


def luhn_valid(number: str) -> bool:
    """Whether the digits of ``number`` pass the Luhn check (separators are ignored).

    Example:
        >>> luhn_valid("4111 1111 1111 1111"), luhn_valid("4111 1111 1111 1112")
        (True, False)
    """
    digits = [int(c) for c in number if c.isdigit()]
    if len(digits) < 2:
        return False
    total = 0
    for i, d in enumerate(reversed(digits)):
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _iban_remainder(compact: str) -> int:
    moved = compact[4:] + compact[:4]
    return int("".join(str(int(c, 36)) for c in moved)) % 97


def valid_iban(iban: str) -> bool:
    """Whether ``iban`` (spaces allowed) has the IBAN shape and passes the ISO 13616 mod-97 check.

    Example:
        >>> valid_iban("GB82 WEST 1234 5698 7654 32"), valid_iban("GB82 WEST 1234 5698 7654 33")
        (True, False)
    """
    compact = iban.replace(" ", "").upper()
    if not re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", compact):
        return False
    return _iban_remainder(compact) == 1


def _rrn_date(digits: str) -> dt.date | None:
    century = {"9": 1800, "0": 1800, "1": 1900, "2": 1900, "5": 1900, "6": 1900}.get(digits[6], 2000)
    try:
        return dt.date(century + int(digits[:2]), int(digits[2:4]), int(digits[4:6]))
    except ValueError:
        return None


def _rrn_check_digit(digits: str) -> int:
    weights = (2, 3, 4, 5, 6, 7, 8, 9, 2, 3, 4, 5)
    return (11 - sum(int(d) * w for d, w in zip(digits[:12], weights, strict=True)) % 11) % 10


def valid_kr_rrn(rrn: str) -> bool:
    """Whether a Korean resident registration number has a real birth date and a valid check digit.

    Numbers issued since October 2020 have random trailing digits and may fail the check;
    :func:`detect_pii` still reports those when a context word is near (see ``docs/pii.md``).

    Example:
        >>> valid_kr_rrn("900101-1234568"), valid_kr_rrn("900101-1234567"), valid_kr_rrn("901301-1234561")
        (True, False, False)
    """
    if not re.fullmatch(r"\d{6}-?\d{7}", rrn):
        return False
    digits = rrn.replace("-", "")
    if _rrn_date(digits) is None:
        return False
    return _rrn_check_digit(digits) == int(digits[12])


def _brn_check_digit(digits: str) -> int:
    weights = (1, 3, 7, 1, 3, 7, 1, 3, 5)
    total = sum(int(d) * w for d, w in zip(digits[:9], weights, strict=True))
    total += int(digits[8]) * 5 // 10
    return (10 - total % 10) % 10


def valid_kr_brn(brn: str) -> bool:
    """Whether a Korean business registration number (사업자등록번호) has a valid check digit.

    Example:
        >>> valid_kr_brn("220-81-62517"), valid_kr_brn("220-81-62518")
        (True, False)
    """
    digits = brn.replace("-", "")
    return bool(re.fullmatch(r"\d{3}-?\d{2}-?\d{5}", brn)) and _brn_check_digit(digits) == int(digits[9])


# ---------------------------------------------------------------- detectors

# A validator sees the whole joined text and the match; it returns (end, score) to keep the
# match (``end`` may be shortened) or None to drop it.
_Verdict = tuple[int, float] | None
_Validator = Callable[[str, re.Match[str]], _Verdict]


@dataclass(frozen=True)
class _Rule:
    type: str
    name: str
    pattern: re.Pattern[str]
    validate: _Validator | None = None


_NB = r"(?<![0-9A-Za-z_+\-.])"  # no number, word or joiner right before
_NA = r"(?![0-9A-Za-z_]|[-.]\d)"  # no number or word right after
_RRN_WORDS = re.compile(r"주민|RRN|resident\s+registration|registration\s+no", re.IGNORECASE)
_DOB_WORDS = re.compile(r"born|birth|\bDOB\b|D\.O\.B|생년월일|생일|출생|태어|\bb\.\s*$", re.IGNORECASE)
_VERSION_WORDS = re.compile(r"(?:version|ver\.?|release|build|버전|\bv)\s*$", re.IGNORECASE)
_MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]


def _before(text: str, start: int) -> str:
    window = text[max(0, start - _CONTEXT_CHARS) : start]
    return window.rsplit(_SEP, 1)[-1]


def _v_luhn(text: str, m: re.Match[str]) -> _Verdict:
    digits = re.sub(r"\D", "", m.group())
    return (m.end(), 1.0) if 13 <= len(digits) <= 19 and luhn_valid(digits) else None


def _v_iban(text: str, m: re.Match[str]) -> _Verdict:
    # Spaced IBANs may have swallowed a following 4-character word: drop trailing groups until valid.
    value = m.group()
    while True:
        if valid_iban(value):
            return m.start() + len(value), 1.0
        if " " not in value:
            return None
        value = value.rsplit(" ", 1)[0]


def _v_rrn(text: str, m: re.Match[str]) -> _Verdict:
    if valid_kr_rrn(m.group()):
        return m.end(), 1.0
    digits = re.sub(r"\D", "", m.group())
    if _rrn_date(digits) is not None and _RRN_WORDS.search(_before(text, m.start())):
        return m.end(), 0.6  # post-2020 number: random tail, trusted only with a context word
    return None


def _v_brn(text: str, m: re.Match[str]) -> _Verdict:
    return (m.end(), 1.0) if valid_kr_brn(m.group()) else None


def _v_ssn(text: str, m: re.Match[str]) -> _Verdict:
    area, group, serial = re.split(r"[- ]", m.group())
    if area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000":
        return None
    if m.group().replace(" ", "-") in ("078-05-1120", "219-09-9999"):
        return None  # numbers printed on sample cards, never real
    return m.end(), 1.0


def _v_ipv4(text: str, m: re.Match[str]) -> _Verdict:
    parts = m.group().split(".")
    if any(int(p) > 255 or (len(p) > 1 and p[0] == "0") for p in parts):
        return None
    if _VERSION_WORDS.search(_before(text, m.start())):
        return None
    return m.end(), 1.0


def _v_ipv6(text: str, m: re.Match[str]) -> _Verdict:
    try:
        ipaddress.IPv6Address(m.group())
    except ValueError:
        return None
    return (m.end(), 1.0) if m.group() != "::" else None


def _v_url(text: str, m: re.Match[str]) -> _Verdict:
    value = m.group().rstrip(".,;:!?'\")]}")
    return (m.start() + len(value), 1.0) if len(value) > len("http://x") - 1 else None


def _v_e164(text: str, m: re.Match[str]) -> _Verdict:
    return (m.end(), 1.0) if 8 <= sum(c.isdigit() for c in m.group()) <= 15 else None


def _parse_date(value: str) -> dt.date | None:
    nums = [int(x) for x in re.findall(r"\d+", value)]
    month_name = re.search(r"[A-Za-z]{3,}", value)
    candidates: list[tuple[int, int, int]] = []
    if month_name:
        month = _MONTHS.index(month_name.group()[:3].lower()) + 1
        day, year = (nums[0], nums[1]) if nums[0] < 100 else (nums[1], nums[0])
        candidates.append((year, month, day))
    elif nums[0] > 31:
        candidates.append((nums[0], nums[1], nums[2]))
    else:  # DD/MM/YYYY or MM/DD/YYYY: accept when either reading is a real date
        candidates += [(nums[2], nums[1], nums[0]), (nums[2], nums[0], nums[1])]
    for year, month, day in candidates:
        try:
            date = dt.date(year, month, day)
        except ValueError:
            continue
        if 1900 <= year <= dt.date.today().year:
            return date
    return None


def _v_dob(text: str, m: re.Match[str]) -> _Verdict:
    if _parse_date(m.group()) is None or not _DOB_WORDS.search(_before(text, m.start())):
        return None
    return m.end(), 1.0


_MONTH_RE = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\.?"
_RULES: tuple[_Rule, ...] = (
    _Rule("KR_RRN", "kr_rrn", re.compile(_NB + r"\d{2}[01]\d[0-3]\d-?[0-9]\d{6}" + _NA), _v_rrn),
    _Rule("KR_BRN", "kr_brn", re.compile(_NB + r"\d{3}-\d{2}-\d{5}" + _NA), _v_brn),
    _Rule("US_SSN", "us_ssn", re.compile(_NB + r"\d{3}([- ])\d{2}\1\d{4}" + _NA), _v_ssn),
    _Rule(
        "CREDIT_CARD",
        "luhn",
        re.compile(_NB + r"(?:[2-6]\d{3}([ -]?)\d{4}\1\d{4}\1\d{1,7}|3[47]\d{2}([ -]?)\d{6}\2\d{5})" + _NA),
        _v_luhn,
    ),
    _Rule(
        "IBAN",
        "iban_mod97",
        re.compile(
            r"(?<![A-Za-z0-9])[A-Z]{2}\d{2}(?:[A-Z0-9]{11,30}|(?: [A-Z0-9]{4}){2,7}(?: [A-Z0-9]{1,3})?)"
            r"(?![A-Za-z0-9])"
        ),
        _v_iban,
    ),
    _Rule(
        "EMAIL",
        "email",
        re.compile(
            r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9][A-Za-z0-9._%+\-]*@"
            r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
        ),
    ),
    _Rule("URL", "url", re.compile(r"(?<![A-Za-z0-9])(?:https?://|ftp://|www\.)[^\s<>\"'\x00]+"), _v_url),
    _Rule(
        "IP_ADDRESS",
        "ipv4",
        re.compile(r"(?<![0-9A-Za-z.])(?:\d{1,3}\.){3}\d{1,3}(?![0-9A-Za-z]|\.\d)"),
        _v_ipv4,
    ),
    _Rule(
        "IP_ADDRESS",
        "ipv6",
        re.compile(r"(?<![0-9A-Za-z:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![0-9A-Za-z:])"),
        _v_ipv6,
    ),
    _Rule(
        "PHONE",
        "kr_mobile",
        re.compile(r"(?<![0-9A-Za-z_+\-.])(?:\+82[ -]?|0)1[016789]([ .-]?)\d{3,4}\1\d{4}" + _NA),
    ),
    _Rule(
        "PHONE",
        "kr_landline",
        re.compile(
            r"(?<![0-9A-Za-z_+\-.(])(?:(?:\+82[ -]?|0)(?:2|[3-6][1-5]|70)[ .-]|\(0(?:2|[3-6][1-5]|70)\) ?)"
            r"\d{3,4}[ .-]\d{4}" + _NA
        ),
    ),
    _Rule(
        "PHONE",
        "us_phone",
        re.compile(
            r"(?<![0-9A-Za-z_+\-.(])(?:\+?1[ .-]?)?(?:\([2-9]\d{2}\) ?|[2-9]\d{2}[ .-])[2-9]\d{2}[ .-]\d{4}"
            + _NA
        ),
    ),
    _Rule(
        "PHONE",
        "e164",
        re.compile(r"(?<![0-9A-Za-z_+])\+[1-9]\d{0,3}(?:\d{4,12}|(?:[ -]\d{1,4}){2,5})" + _NA),
        _v_e164,
    ),
    _Rule(
        "DATE_OF_BIRTH",
        "dob_context",
        re.compile(
            _NB + r"(?:(?:19|20)\d{2}[-/.](?:0?[1-9]|1[0-2])[-/.](?:0?[1-9]|[12]\d|3[01])"
            r"|(?:0?[1-9]|[12]\d|3[01])[-/.](?:0?[1-9]|[12]\d|3[01])[-/.](?:19|20)\d{2}"
            r"|(?:19|20)\d{2}년 ?(?:0?[1-9]|1[0-2])월 ?(?:0?[1-9]|[12]\d|3[01])일"
            rf"|{_MONTH_RE} (?:0?[1-9]|[12]\d|3[01]),? (?:19|20)\d{{2}}"
            rf"|(?:0?[1-9]|[12]\d|3[01]) {_MONTH_RE},? (?:19|20)\d{{2}})" + _NA
        ),
        _v_dob,
    ),
)


# ---------------------------------------------------------------- results


@dataclass(frozen=True)
class PiiFindings:
    """Where PII was found in one column: a findings table and counts per type.

    ``table`` has one row per finding: ``row`` (the row's index), ``_row_id`` (when the frame has
    one), ``type``, ``start`` and ``end`` (character offsets), ``detector`` and ``score``. It
    never holds the matched text.
    """

    column: str
    rows: int
    table: pl.DataFrame
    counts: dict[str, int]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary: ``version`` (of this shape), column, rows, ``findings`` per type."""
        return {
            "format_version": _FORMAT_VERSION,
            "column": self.column,
            "rows": self.rows,
            "rows_with_findings": self.table["row"].n_unique(),
            "findings": dict(self.counts),
        }


@dataclass(frozen=True)
class RedactResult:
    """A frame with one column redacted, and where the PII was (never what it was)."""

    frame: pl.DataFrame
    findings: PiiFindings
    mode: RedactMode
    counts: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "counts", self.findings.counts)

    def to_dict(self) -> dict[str, Any]:
        """The findings summary plus the mode, JSON-ready."""
        return {**self.findings.to_dict(), "mode": self.mode}


# ---------------------------------------------------------------- detection

_Candidate = tuple[int, int, int, str, str, float]  # start, end, priority, type, detector, score


def _check_input(frame: pl.DataFrame, column: str) -> pl.Series:
    if column not in frame.columns:
        raise CleanError(
            f"no column {column!r} to scan for PII",
            hint=f"choose one of: {', '.join(frame.columns) or '(the frame has no columns)'}",
        )
    series = frame[column]
    if series.dtype not in (pl.String, pl.Categorical, pl.Enum):
        raise CleanError(
            f"column {column!r} is {series.dtype}, not text; PII detection reads text columns",
            hint=f"cast it first: frame.with_columns(pl.col({column!r}).cast(pl.String))",
        )
    return series.cast(pl.String)


def _select_rules(types: Iterable[str] | None) -> list[_Rule]:
    if types is None:
        return list(_RULES)
    wanted = set(types)
    unknown = sorted(wanted - set(PII_TYPES))
    if unknown:
        raise CleanError(
            f"unknown PII type(s): {', '.join(unknown)}", hint=f"use some of: {', '.join(PII_TYPES)}"
        )
    return [r for r in _RULES if r.type in wanted]


def _detector_name(detector: Detector) -> str:
    name = getattr(detector, "name", None) or getattr(detector, "__name__", None)
    return str(name or type(detector).__name__)


def _builtin_candidates(text: str, rules: list[_Rule]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for rule in rules:
        prio = PII_TYPES.index(rule.type)
        for m in rule.pattern.finditer(text):
            verdict = rule.validate(text, m) if rule.validate else (m.end(), 1.0)
            if verdict is not None:
                out.append((m.start(), verdict[0], prio, rule.type, rule.name, verdict[1]))
    return out


def _extra_candidates(texts: list[str], starts: np.ndarray, extra: Sequence[Detector]) -> list[_Candidate]:
    out: list[_Candidate] = []
    for prio, detector in enumerate(extra, start=len(PII_TYPES)):
        name = _detector_name(detector)
        for span in detector(texts):
            if not (0 <= span.row < len(texts) and 0 <= span.start < span.end <= len(texts[span.row])):
                raise CleanError(
                    f"detector {name!r} returned a span outside its text (row {span.row})",
                    hint="spans must satisfy 0 <= start < end <= len(texts[row])",
                )
            base = int(starts[span.row])
            out.append((base + span.start, base + span.end, prio, span.type, name, span.score))
    return out


def _resolve(candidates: list[_Candidate]) -> list[_Candidate]:
    """Keep non-overlapping candidates: within each cluster of overlaps, longest first, then priority."""
    kept: list[_Candidate] = []
    candidates.sort()
    cluster: list[_Candidate] = []
    cluster_end = -1
    for cand in [*candidates, (1 << 62, 1 << 62, 0, "", "", 0.0)]:
        if cand[0] >= cluster_end and cluster:
            if len(cluster) == 1:
                kept.append(cluster[0])
            else:
                chosen: list[_Candidate] = []
                for c in sorted(cluster, key=lambda c: (c[0] - c[1], c[2], c[0])):
                    if all(c[1] <= o[0] or o[1] <= c[0] for o in chosen):
                        chosen.append(c)
                kept.extend(sorted(chosen))
            cluster = []
        cluster.append(cand)
        cluster_end = max(cluster_end, cand[1]) if len(cluster) > 1 else cand[1]
    return kept


def _scan(
    frame: pl.DataFrame, column: str, types: Iterable[str] | None, extra: Sequence[Detector]
) -> tuple[PiiFindings, str, np.ndarray]:
    series = _check_input(frame, column)
    rules = _select_rules(types)
    filled = series.fill_null("")
    lengths = filled.str.len_chars().to_numpy().astype(np.int64)
    starts = np.zeros(len(lengths) + 1, dtype=np.int64)
    np.cumsum(lengths + 1, out=starts[1:])
    text = filled.str.join(_SEP).item() if len(filled) else ""
    candidates = _builtin_candidates(text, rules)
    if extra:
        candidates += _extra_candidates(filled.to_list(), starts, extra)
    kept = _resolve(candidates)
    begin = np.array([c[0] for c in kept], dtype=np.int64)
    rows = np.searchsorted(starts, begin, side="right") - 1
    table = pl.DataFrame(
        {
            "row": pl.Series(rows, dtype=pl.UInt32),
            "type": [c[3] for c in kept],
            "start": pl.Series(begin - starts[rows], dtype=pl.Int64),
            "end": pl.Series(np.array([c[1] for c in kept], dtype=np.int64) - starts[rows], dtype=pl.Int64),
            "detector": [c[4] for c in kept],
            "score": pl.Series([c[5] for c in kept], dtype=pl.Float64),
        },
        schema_overrides={"type": pl.String, "detector": pl.String},
    )
    if "_row_id" in frame.columns:
        table = table.insert_column(1, frame["_row_id"].gather(table["row"]))
    counts = dict(sorted(table["type"].value_counts().iter_rows())) if table.height else {}
    return PiiFindings(column, frame.height, table, counts), text, starts


def detect_pii(
    frame: pl.DataFrame,
    column: str,
    *,
    types: Iterable[str] | None = None,
    extra: Sequence[Detector] = (),
) -> PiiFindings:
    """Find PII in a text column, without changing it.

    Args:
        frame: The data.
        column: The text column to scan.
        types: Only these built-in types (default: all of :data:`PII_TYPES`); ``extra`` detectors
            always run.
        extra: More detectors (e.g. an NER model), see :class:`Detector`.

    Returns:
        The findings: offsets, types and detectors, never the matched text.

    Raises:
        CleanError: The column is missing or not text, a type is unknown, or an extra detector
            returned a span outside its text.

    Example:
        >>> frame = pl.DataFrame({"t": ["mail kim@example.com or call 010-1234-5678", None]})
        >>> found = detect_pii(frame, "t")
        >>> found.counts
        {'EMAIL': 1, 'PHONE': 1}
        >>> found.table.select("row", "type", "start", "end").rows()
        [(0, 'EMAIL', 5, 20), (0, 'PHONE', 29, 42)]
    """
    return _scan(frame, column, types, extra)[0]


# ---------------------------------------------------------------- redaction


def _digest(salt: str, kind: str, value: str) -> bytes:
    return hmac.new(salt.encode(), f"{kind}\x00{value}".encode(), hashlib.sha256).digest()


def _normalise(kind: str, value: str) -> str:
    if kind in ("EMAIL", "URL", "IP_ADDRESS"):
        return value.lower()
    if kind in ("PHONE", "CREDIT_CARD", "KR_RRN", "KR_BRN", "US_SSN", "IBAN"):
        return re.sub(r"[^0-9A-Za-z]", "", value).upper()
    return value


def _digits(seed: bytes, n: int) -> str:
    return str(int.from_bytes(seed, "big")).zfill(n)[-n:]


def _fake_card(seed: bytes) -> str:
    body = "4000" + _digits(seed, 11)
    check = next(str(d) for d in range(10) if luhn_valid(body + str(d)))
    number = body + check
    return " ".join(number[i : i + 4] for i in range(0, 16, 4))


def _fake_iban(seed: bytes, value: str) -> str:
    compact = _normalise("IBAN", value)
    bban = _digits(seed, len(compact) - 4)
    check = 98 - _iban_remainder(compact[:2] + "00" + bban)
    return f"{compact[:2]}{check:02d}{bban}"


def _fake_rrn(seed: bytes) -> str:
    n = int.from_bytes(seed, "big")
    born = dt.date(1950, 1, 1) + dt.timedelta(days=n % 18000)
    head = f"{born:%y%m%d}{'12'[n % 2] if born.year < 2000 else '34'[n % 2]}{_digits(seed[8:], 5)}"
    return f"{head[:6]}-{head[6:]}{_rrn_check_digit(head + '0')}"


def _fake_brn(seed: bytes) -> str:
    head = "1" + _digits(seed, 8)
    return f"{head[:3]}-{head[3:5]}-{head[5:]}{_brn_check_digit(head)}"


def _pseudonym(kind: str, value: str, seed: bytes) -> str:
    n = int.from_bytes(seed[:8], "big")
    if kind == "EMAIL":
        return f"user{n % 10**8:08d}@example.invalid"
    if kind == "PHONE":
        tail = _digits(seed, 8)
        return (
            f"010-{tail[:4]}-{tail[4:]}"
            if "82" in value[:4] or value.startswith("0")
            else f"+1-555-{tail[:7]}"
        )
    if kind == "CREDIT_CARD":
        return _fake_card(seed)
    if kind == "IBAN":
        return _fake_iban(seed, value)
    if kind == "IP_ADDRESS":
        if ":" in value:
            return f"2001:db8::{n >> 48 & 0xFFFF:x}:{n >> 32 & 0xFFFF:x}:{n & 0xFFFF:x}"
        return f"10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"
    if kind == "URL":
        return f"https://example.invalid/{seed[:6].hex()}"
    if kind == "KR_RRN":
        return _fake_rrn(seed)
    if kind == "KR_BRN":
        return _fake_brn(seed)
    if kind == "US_SSN":
        d = _digits(seed, 8)
        return f"9{d[:2]}-{d[2:4]}-{d[4:]}"  # area 9xx is never issued
    if kind == "DATE_OF_BIRTH":
        return f"{dt.date(1950, 1, 1) + dt.timedelta(days=n % 18000):%Y-%m-%d}"
    return f"{kind}_{seed[:4].hex()}"


def _replacement(mode: RedactMode, salt: str | None) -> Callable[[str, str], str]:
    if mode == "mask":
        return lambda kind, value: MASK
    if mode == "tag":
        return lambda kind, value: f"<{kind}>"
    assert salt is not None
    cache: dict[tuple[str, str], str] = {}

    def salted(kind: str, value: str) -> str:
        key = (kind, _normalise(kind, value))
        if key not in cache:
            seed = _digest(salt, *key)
            cache[key] = f"<{kind}:{seed[:8].hex()}>" if mode == "hash" else _pseudonym(kind, value, seed)
        return cache[key]

    return salted


def _check_mode(mode: str, salt: str | None) -> None:
    if mode not in get_args(RedactMode):
        raise CleanError(
            f"unknown redaction mode {mode!r}", hint=f"use one of: {', '.join(get_args(RedactMode))}"
        )
    if mode in ("hash", "pseudonym") and not salt:
        raise CleanError(
            f"redaction mode {mode!r} needs a salt",
            hint="pass salt='a long secret kept out of the dataset' (the same salt gives the same output)",
        )


def redact(
    frame: pl.DataFrame,
    column: str,
    *,
    mode: RedactMode = "mask",
    salt: str | None = None,
    types: Iterable[str] | None = None,
    extra: Sequence[Detector] = (),
) -> RedactResult:
    """Replace the PII found in a text column; other columns are untouched.

    Modes: ``mask`` puts ``***``; ``tag`` puts ``<EMAIL>``; ``hash`` puts ``<EMAIL:`` + 16 hex
    digits of HMAC-SHA256 keyed by ``salt`` + ``>``; ``pseudonym`` puts a plausible fake of the
    same type (``user12345678@example.invalid``, a Luhn-valid test card…), the same for the same
    value and salt everywhere in the dataset.

    Args:
        frame: The data.
        column: The text column to redact.
        mode: How to replace each finding.
        salt: The secret for ``hash`` and ``pseudonym`` (required there).
        types: Only these built-in types (default: all).
        extra: More detectors (e.g. an NER model), see :class:`Detector`.

    Returns:
        The redacted frame, the findings (no raw values) and counts per type.

    Raises:
        CleanError: Bad mode, missing salt, column missing or not text, unknown type.

    Example:
        >>> frame = pl.DataFrame({"t": ["kim@example.com paid with 4111-1111-1111-1111"]})
        >>> redact(frame, "t", mode="tag").frame["t"][0]
        '<EMAIL> paid with <CREDIT_CARD>'
        >>> redact(frame, "t", mode="pseudonym", salt="s3cret").frame["t"][0].startswith("user")
        True
    """
    _check_mode(mode, salt)
    findings, text, starts = _scan(frame, column, types, extra)
    if not findings.table.height:
        return RedactResult(frame, findings, mode)
    replace = _replacement(mode, salt)
    rows: list[int] = []
    values: list[str] = []
    table = findings.table
    for (row,), group in table.select("row", "type", "start", "end").group_by("row", maintain_order=True):
        base = int(starts[row])
        original = text[base : int(starts[row + 1]) - 1]
        pieces, last = [], 0
        for _, kind, start, end in group.iter_rows():
            pieces += [original[last:start], replace(kind, original[start:end])]
            last = end
        pieces.append(original[last:])
        rows.append(int(row))
        values.append("".join(pieces))
    redacted = frame[column].cast(pl.String).scatter(rows, values)
    return RedactResult(frame.with_columns(redacted.alias(column)), findings, mode)
