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


def _guess(sample: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(sample).best()
    if best is None:
        raise IngestError(
            "cannot tell the text encoding of the file",
            hint="pass --encoding (e.g. utf-8, cp949, latin-1)",
        )
    name = codec_name(best.encoding)
    return "cp949" if name == "euc_kr" else name  # CP949 is EUC-KR's superset, as Excel writes it


def escape_undecodable(text: str) -> str:
    r"""Show bytes that did not decode as ``\xNN``.

    Example:
        >>> escape_undecodable(b"bad \xff".decode("utf-8", "surrogateescape"))
        'bad \\xff'
    """
    return UNDECODABLE.sub(lambda m: f"\\x{ord(m.group()) - 0xDC00:02x}", text)
