"""Files over HTTP(S): downloaded as they stream into a scratch folder, hashed on the way.

A URL is read as the file it serves: saved to a local copy (its name from the URL's path, so
``…/train.csv.gz`` is a compressed CSV), then read as any file is. The digest is taken as the
bytes arrive, so an ingest can tell, before reading a row, whether it saw these bytes before.
"""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import blake3

from datawheel._version import __version__
from datawheel.errors import IngestError

_BLOCK = 8 << 20
_TIMEOUT_SECONDS = 60
_KEPT_HEADERS = ("content-type", "etag", "last-modified")


def is_url(location: str | Path) -> bool:
    """Whether ``location`` is an HTTP or HTTPS URL (a :class:`~pathlib.Path` never is).

    Example:
        >>> is_url("https://example.org/a.csv"), is_url("data/a.csv"), is_url(Path("http:/x"))
        (True, False, False)
    """
    return isinstance(location, str) and location.lower().startswith(("http://", "https://"))


def shown_url(url: str) -> str:
    """The URL as records and messages show it: a password in it hidden.

    Example:
        >>> shown_url("https://ann:secret@example.org/a.csv?x=1")
        'https://ann:***@example.org/a.csv?x=1'
    """
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


@dataclass(frozen=True)
class Download:
    """A URL's bytes saved at ``path``: their BLAKE3 ``digest``, ``size`` and a few response headers."""

    path: Path
    digest: str
    size: int
    headers: dict[str, str] = field(default_factory=dict)


def download(url: str, folder: Path) -> Download:
    """Save what ``url`` serves in ``folder``, a block at a time, hashing it on the way.

    An HTTP error, a network failure or a response cut short (fewer bytes than it announced)
    is an :class:`~datawheel.errors.IngestError` naming the URL (its password hidden).
    """
    shown = shown_url(url)
    name = re.sub(r"[^\w.\-]", "_", Path(urllib.parse.unquote(urllib.parse.urlsplit(url).path)).name)
    path = folder / (name or "download")
    request = urllib.request.Request(url, headers={"User-Agent": f"datawheel/{__version__}"})
    hasher, size = blake3.blake3(), 0
    try:
        with urllib.request.urlopen(request, timeout=_TIMEOUT_SECONDS) as response, path.open("wb") as out:
            announced = response.headers.get("Content-Length")
            headers = {k: response.headers[k] for k in _KEPT_HEADERS if response.headers.get(k)}
            while block := response.read(_BLOCK):
                hasher.update(block)
                out.write(block)
                size += len(block)
    except urllib.error.HTTPError as exc:
        exc.close()  # the error holds the response, and its socket, open
        raise IngestError(
            f"{shown}: HTTP {exc.code} {exc.reason}", hint="check the URL, and that it needs no login"
        ) from exc
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise IngestError(f"cannot download {shown}: {reason}", hint="check the URL and the network") from exc
    if announced is not None and announced.isdigit() and int(announced) != size:
        raise IngestError(
            f"the download of {shown} stopped after {size:,} of {int(announced):,} bytes",
            hint="try again; nothing was committed",
        )
    if size == 0:
        raise IngestError(f"{shown} served no bytes", hint="check the URL")
    return Download(path, hasher.hexdigest(), size, headers)
