"""Many files of one format read as one table: a folder's shards, or the files a glob matches.

Datasets are often published as shards (``train-00000-of-00004.parquet``, one ``.jsonl.gz``
a day, ``year=2024/part-0.csv``). Each shard is read by its format's own reader, one after
the other, and its rows carry its path as ``_file`` (so ``_source.file`` names the shard and
``_source.line`` the line within it). The first shard fixes the table's columns and types: a
later shard must have the same columns (in any order), and its values are made to fit the
first shard's types as a value of a declared type is, a misfit going to the quarantine, just
as a value that does not fit the type inferred from a file's first rows. A CSV or TSV shard is
read with those types declared, so its misfits keep their line's text, as in one file; other
formats' rows are fitted once read (see :func:`conform`), a misfit's ``raw`` being its row.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path

import polars as pl

from datawheel.errors import IngestError
from datawheel.ingest import _text as text
from datawheel.ingest._batch import FILE, LINE, Batch, Reading, SourceFormat
from datawheel.ingest._compressed import compression_of
from datawheel.ingest._conform import conform
from datawheel.ingest._folder import compile_pattern, list_files

_GLOB = re.compile(r"[*?\[]")


def is_glob(location: str | Path) -> bool:
    """Whether ``location`` is a pattern of file names (``data/*.parquet``) rather than a path.

    Example:
        >>> is_glob("data/train-*.parquet"), is_glob("data/train.parquet")
        (True, False)
    """
    text = str(location)
    return bool(_GLOB.search(text)) and not Path(text).exists()


def list_shards(
    location: Path, kind: SourceFormat | None, format_of: Callable[[Path], SourceFormat | None]
) -> tuple[Path, list[Path], SourceFormat]:
    r"""The folder (or a glob's fixed start) the shards are under, the shards in order, and their format.

    A folder's shards are its files (searched recursively) whose name says the format ``kind``
    (``format_of``, which reads only the name: ``a.csv.gz`` is CSV); other files (a README,
    ``dataset_info.json`` beside Arrow shards, Spark's ``_SUCCESS``) are left out. A glob's
    shards are the files it matches (``**`` matches any folders); without ``kind`` they must
    all be of one format, which is then theirs. Names starting with ``.`` are skipped, as in
    a folder of files. Shards come in order of their path.

    Example:
        >>> import tempfile
        >>> root = Path(tempfile.mkdtemp())
        >>> for name in ("b.csv", "a.csv", "notes.md"):
        ...     _ = (root / name).write_text("x\n1\n")
        >>> suffix = {".csv": "csv"}.get
        >>> _, files, kind = list_shards(root / "*.csv", None, lambda p: suffix(p.suffix))
        >>> [f.name for f in files], kind
        (['a.csv', 'b.csv'], 'csv')
        >>> [f.name for f in list_shards(root, "csv", lambda p: suffix(p.suffix))[1]]
        ['a.csv', 'b.csv']
    """
    if location.is_dir():
        assert kind is not None, "a folder's shards are its files of the format given"
        root = location.resolve()
        found = [f.path for f in list_files(root) if format_of(f.path) == kind]
        if not found:
            raise IngestError(
                f"{location} holds no {kind} files (by their names; names starting with '.' are skipped)",
                hint="check the folder and --format",
            )
        return root, found, kind
    root, pattern = _split_glob(location)
    matches = sorted(
        (p for p in root.glob(pattern) if p.is_file() and not _hidden(p.relative_to(root))),
        key=lambda p: p.relative_to(root).as_posix(),
    )
    if not matches:
        raise IngestError(f"no file matches {location}", hint="check the pattern (quote it in the shell)")
    if kind is None:
        kinds = {p: format_of(p) for p in matches}
        unknown = [p for p, k in kinds.items() if k is None]
        if unknown:
            raise IngestError(
                f"{unknown[0]} matches {location} but its name does not say its format",
                hint="pass --format, or narrow the pattern",
            )
        found_kinds = sorted({str(k) for k in kinds.values()})
        if len(found_kinds) > 1:
            raise IngestError(
                f"the files matching {location} are of several formats: {', '.join(found_kinds)}",
                hint="narrow the pattern to files of one format, or pass --format",
            )
        kind = next(iter(kinds.values()))
    assert kind is not None
    return root, matches, kind


def read_shards(
    root: Path,
    files: list[Path],
    *,
    kind: SourceFormat,
    location: str,
    pattern: str | None,
    open_one: Callable[[Path, Mapping[str, pl.DataType]], Reading],
    survey: Callable[[Path], Reading] | None = None,
) -> Reading:
    """The rows of ``files`` (shards of one table, in order) as one reading.

    Each shard is opened by ``open_one`` when the one before is read (the first at once, so
    that its errors come at once), given the types the shards before fixed (a reader that can
    fits the values to them itself, quarantining a misfit with its line's text), its rows given
    ``_file`` (its path) and, with ``pattern``
    (e.g. ``{split}/{name}.parquet``, as for a folder of files), one text column per field
    parsed from its path relative to ``root``. The first shard fixes the columns and types (see
    the module's notes); the reading's ``encoding`` lists the encodings of the shards read so
    far, comma-separated. A shard whose columns differ, or whose path does not match
    ``pattern``, is an error naming it.

    Given ``survey`` (which opens a CSV or TSV shard surveyed, whatever its size: see
    :func:`read_delimited`), plain (not compressed) shards that together reach
    ``STREAM_BYTES`` are all opened with it at once; the reading's ``digest`` is then
    :func:`shards_digest` of theirs, and when every one offers a scan, with the same columns
    and types in the same order, the reading offers their concatenation as one (``whole``).
    """
    fields = _fields(root, files, pattern)
    sizes = [p.stat().st_size for p in files]
    at_once = (
        survey is not None
        and sum(sizes) >= text.STREAM_BYTES
        and all(compression_of(f) is None for f in files)
    )
    opened = [survey(f) for f in files] if survey is not None and at_once else [open_one(files[0], {})]
    encodings = list(dict.fromkeys(r.encoding for r in opened if r.encoding))

    def constants(number: int) -> list[pl.Expr]:
        file = pl.lit(str(files[number]), pl.String).alias(FILE)
        return [file, *(pl.lit(v, pl.String).alias(f) for f, v in fields[number].items())]

    def batches() -> Iterator[Batch]:
        done, columns, types = 0, list[str](), dict[str, pl.DataType]()
        held: list[pl.DataFrame] = []  # quarantines of shards without rows, before any types
        blank: pl.DataFrame | None = None
        for number, (path, size) in enumerate(zip(files, sizes, strict=True)):
            if number < len(opened) and not (number and types):
                reading = opened[number]
            else:  # a surveyed shard is opened again to read it with the types fixed (none is read yet)
                reading = open_one(path, types)
            if reading.encoding and reading.encoding not in encodings:
                encodings.append(reading.encoding)
                shards.encoding = ", ".join(encodings)
            try:
                for batch in reading.batches:
                    frame, quarantine = batch.frame, batch.quarantine
                    data = [c for c in frame.columns if not c.startswith("_")]
                    if not columns:
                        columns = data
                        _check_fields(fields[0], columns, pattern)
                    else:
                        _check_columns(path, data, files[0], columns)
                    if not types and frame.height:
                        types = {c: t for c, t in frame.schema.items() if c in columns and t != pl.Null}
                    elif types:
                        frame, misfits = conform(frame, types, file=str(path))
                        quarantine = (
                            pl.concat([quarantine, misfits]).sort("line") if misfits.height else quarantine
                        )
                    frame = frame.select(*columns, LINE).with_columns(constants(number))
                    if not frame.height and not types:  # no types yet: wait for a shard with rows
                        blank = frame if blank is None else blank
                        held.append(quarantine)
                        continue
                    if held:
                        quarantine, held = pl.concat([*held, quarantine]), []
                    yield Batch(frame, quarantine, bytes_read=done + min(batch.bytes_read, size))
            finally:
                close = getattr(reading.batches, "close", None)
                if close is not None:
                    close()
            done += size
        if blank is not None and held:  # no shard had a row: the first's columns, every quarantined row
            yield Batch(blank, pl.concat(held), bytes_read=done)

    scan, digest = None, None
    if at_once and all(r.digest is not None for r in opened):  # none is missing, unless not UTF-8
        digest = shards_digest(root, zip(files, [str(r.digest) for r in opened], strict=True))
        scans = [r.whole for r in opened if r.whole is not None]
        if len(scans) == len(opened) and len({str(s.collect_schema()) for s in scans}) == 1:
            scan = pl.concat([s.with_columns(constants(n)) for n, s in enumerate(scans)])
    shards = Reading(
        format=kind,
        location=location,
        batches=batches(),
        encoding=", ".join(encodings) or None,
        total_bytes=sum(sizes),
        whole=scan,
        rows=sum(r.rows for r in opened) if scan is not None else 0,
        digest=digest,
        files=len(files),
    )
    return shards


def shards_digest(root: Path, digests: Iterable[tuple[Path, str]]) -> str:
    """One digest of many files: of each one's path under ``root`` and its own digest, in order.

    A file added, removed, renamed or changed changes it.

    Example:
        >>> one = shards_digest(Path("/d"), [(Path("/d/a.csv"), "0f")])
        >>> one == shards_digest(Path("/d"), [(Path("/d/b.csv"), "0f")])
        False
    """
    listing = "".join(f"{path.relative_to(root).as_posix()}\0{digest}\n" for path, digest in digests)
    return hashlib.sha256(listing.encode()).hexdigest()


def _split_glob(location: Path) -> tuple[Path, str]:
    """A glob's fixed start (the folders before its first wildcard) and the rest, the pattern."""
    parts = location.parts
    fixed = next(i for i, part in enumerate(parts) if _GLOB.search(part))
    root = Path(*parts[:fixed]) if fixed else Path()
    return root.resolve(), "/".join(parts[fixed:])


def _hidden(relative: Path) -> bool:
    return any(part.startswith(".") for part in relative.parts)


def _fields(root: Path, files: list[Path], pattern: str | None) -> list[dict[str, str]]:
    """Each file's ``pattern`` fields, in NFC as all text read is (``_file`` keeps the path as spelled)."""
    if pattern is None:
        return [{} for _ in files]
    regex, _ = compile_pattern(pattern)
    fields = []
    for path in files:
        relative = path.relative_to(root).as_posix()
        match = regex.fullmatch(relative)
        if match is None:
            raise IngestError(
                f"{path} does not match --pattern {pattern} (its path under {root} is {relative})",
                hint="fix the pattern, or move the file out of the files ingested",
            )
        fields.append({k: unicodedata.normalize("NFC", v) for k, v in match.groupdict().items()})
    return fields


def _check_fields(fields: dict[str, str], columns: list[str], pattern: str | None) -> None:
    clash = [f for f in fields if f in columns]
    if clash:
        raise IngestError(
            f"--pattern {pattern} names a field '{clash[0]}', a column the files already have",
            hint="rename the field in the pattern",
        )


def _check_columns(path: Path, columns: list[str], first: Path, expected: list[str]) -> None:
    missing = [c for c in expected if c not in columns]
    extra = [c for c in columns if c not in expected]
    if missing or extra:
        said = [f"lacks {_some(missing)}"] if missing else []
        said += [f"has {_some(extra)} too"] if extra else []
        raise IngestError(
            f"{path} does not have the columns of {first}: it {' and '.join(said)}",
            hint="make the files' columns agree, or ingest the odd file on its own "
            "with --append (which takes the union of the columns)",
        )


def _some(names: list[str], shown: int = 5) -> str:
    """Up to ``shown`` names, and how many more.

    Example:
        >>> _some(["a", "b"]), _some(list("abcdefg"))
        ('a, b', 'a, b, c, d, e and 2 more')
    """
    more = len(names) - shown
    return ", ".join(names[:shown]) + (f" and {more} more" if more > 0 else "")
