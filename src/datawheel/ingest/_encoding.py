"""Text encodings: given or detected, and bytes that do not decode found line by line."""

from __future__ import annotations

import codecs
import re

from datawheel.errors import IngestError

_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))
_NON_ASCII = re.compile(rb"[\x80-\xff]")
UNDECODABLE = re.compile("[\udc80-\udcff]")
"""Lone surrogates that ``surrogateescape`` decoding leaves for bytes that did not decode."""


def codec_name(encoding: str) -> str:
    """The canonical Python name of an encoding, or an error naming it.

    Example:
        >>> codec_name("CP949"), codec_name("euc-kr"), codec_name("UTF8")
        ('cp949', 'euc_kr', 'utf-8')
    """
    try:
        return codecs.lookup(encoding).name
    except LookupError as exc:
        raise IngestError(
            f"unknown text encoding '{encoding}'",
            hint="use a Python codec name such as utf-8, utf-16, cp949, euc-kr or latin-1, or auto",
        ) from exc


def detect_encoding(sample: bytes) -> str:
    r"""The encoding of a file from its first bytes: a BOM, else UTF-8 if it fits, else a guess.

    UTF-8 is chosen when every line decodes, or when some lines hold valid multi-byte UTF-8
    (then the lines that do not decode are damaged, not in another encoding, and go to
    quarantine). Otherwise charset-normalizer guesses (CP949 and EUC-KR for Korean files saved
    by Excel, Latin-1 and its kin for Western ones).

    Example:
        >>> detect_encoding("이름,나이\n김,3\n".encode("cp949"))
        'cp949'
        >>> detect_encoding(b"caf\xc3\xa9\nbad \xff line\n")
        'utf-8'
    """
    for bom, name in _BOMS:
        if sample.startswith(bom):
            return name
    lines = sample.split(b"\n")
    if len(lines) > 1 and len(sample) >= 4096:
        lines = lines[:-1]  # the last line of a sample may be cut in the middle of a character
    good_non_ascii = bad = 0
    for line in lines:
        if not _NON_ASCII.search(line):
            continue
        try:
            line.decode("utf-8")
            good_non_ascii += 1
        except UnicodeDecodeError:
            bad += 1
    if bad == 0 or good_non_ascii > 0:
        return "utf-8"
    return _guess(sample)


_SINGLE_BYTE_FIRST = tuple(
    codecs.lookup(name).name
    for name in (
        "cp1252",
        "latin-1",
        "cp1251",
        "cp1250",
        "cp1253",
        "cp1254",
        "cp1257",
        "cp1255",
        "cp1256",
        "koi8-r",
    )
)
"""Single-byte encodings in the order a file is likely to be in one: Western (Latin-1's Windows
superset, then Latin-1) first, then Cyrillic, Central European, Greek, Turkish, Baltic, Hebrew,
Arabic."""
_EVEN = 0.01
"""Guesses whose chaos (charset-normalizer's measure of implausible text) is this close are even."""


def _guess(sample: bytes) -> str:
    """The likeliest encoding of bytes that are not UTF-8, by charset-normalizer.

    Its pick stands for an encoding of several bytes a character (CP949, Shift JIS, GB18030,
    Big5), where the bytes themselves tell. Between single-byte encodings a short sample often
    reads equally plausibly in many, and its pick can be a rare one (a Western file as the Baltic
    DOS page CP775, "São Paulo" as "S├Żo Paulo"); then the most common of the even guesses wins.
    """
    from charset_normalizer import from_bytes

    matches = list(from_bytes(sample))
    if not matches:
        raise IngestError(
            "cannot tell the text encoding of the file",
            hint="pass --encoding (e.g. utf-8, cp949, latin-1)",
        )
    name = codec_name(matches[0].encoding)
    if _single_byte(name):
        least = min(m.chaos for m in matches)
        even = {codec_name(e) for m in matches if m.chaos <= least + _EVEN for e in m.could_be_from_charset}
        name = next((common for common in _SINGLE_BYTE_FIRST if common in even), name)
    return "cp949" if name == "euc_kr" else name  # CP949 is EUC-KR's superset, as Excel writes it


def _single_byte(name: str) -> bool:
    """Whether an encoding gives one character for every byte.

    Example:
        >>> _single_byte("cp1252"), _single_byte("cp949")
        (True, False)
    """
    high = bytes(range(0x80, 0x100))
    return len(high.decode(name, errors="replace")) == len(high)


def escape_undecodable(text: str) -> str:
    r"""Show bytes that did not decode as ``\xNN``.

    Example:
        >>> escape_undecodable(b"bad \xff".decode("utf-8", "surrogateescape"))
        'bad \\xff'
    """
    return UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
