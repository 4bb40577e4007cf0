"""Operation and service logs on disk, in the supervisor's layout.

A run directory holds stdout.log and stderr.log (each stream alone), output.log
(both, in arrival order) and output.idx (where output.log switches stream).
Readers resume by byte offset into output.log; excerpts are stream tails.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

OUTPUT = "output.log"
INDEX = "output.idx"
EXCERPT_BYTES = 4096
MAX_READ = 1 << 20


@dataclass(frozen=True)
class LogChunk:
    content: str
    next_offset: int


def read(run_dir: Path, offset: int = 0, limit: int = 65536) -> LogChunk:
    """Up to `limit` bytes of the combined output from `offset`.

    The chunk ends on a UTF-8 character boundary so text is never split; the
    offset after it is where the next read continues.
    """
    limit = max(1, min(limit, MAX_READ))
    path = run_dir / OUTPUT
    try:
        with path.open("rb") as handle:
            handle.seek(max(0, offset))
            data = handle.read(limit)
    except FileNotFoundError:
        return LogChunk("", max(0, offset))
    return chunk(data, offset)


def chunk(data: bytes, offset: int) -> LogChunk:
    """The chunk of `data` read at `offset`, cut back to whole UTF-8 characters."""
    data = whole_characters(data)
    return LogChunk(data.decode("utf-8", errors="replace"), max(0, offset) + len(data))


def size(run_dir: Path) -> int:
    try:
        return (run_dir / OUTPUT).stat().st_size
    except FileNotFoundError:
        return 0


def excerpt(run_dir: Path, stream: str) -> str:
    """The tail of one stream, starting at a line boundary when there is one."""
    path = run_dir / f"{stream}.log"
    try:
        with path.open("rb") as handle:
            handle.seek(0, os.SEEK_END)
            length = handle.tell()
            handle.seek(max(0, length - EXCERPT_BYTES))
            data = handle.read()
    except FileNotFoundError:
        return ""
    if length > EXCERPT_BYTES and b"\n" in data[:-1]:
        data = data[data.index(b"\n") + 1 :]
    return data.decode("utf-8", errors="replace").rstrip("\n")


def write_record(run_dir: Path, stdout: str = "", stderr: str = "") -> None:
    """Write the logs of an operation Worksite did itself (a git step, say).

    On a full disk the record is left out (with a warning): the operation's row
    still says how it ended.
    """
    try:
        _write_record(run_dir, stdout, stderr)
    except OSError as error:
        log.warning("could not write the log record in %s: %s", run_dir, error)


def _write_record(run_dir: Path, stdout: str, stderr: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    out, err = stdout.encode(), stderr.encode()
    (run_dir / "stdout.log").write_bytes(out)
    (run_dir / "stderr.log").write_bytes(err)
    index = []
    if out:
        index.append("0 stdout\n")
    if err:
        index.append(f"{len(out)} stderr\n")
    # The index first, as the supervisor writes it: a follower that sees bytes in
    # output.log must find their stream already recorded.
    (run_dir / INDEX).write_text("".join(index))
    (run_dir / OUTPUT).write_bytes(out + err)


def append_note(run_dir: Path, text: str) -> bool:
    """Add a line of Worksite's own to the stderr of a run whose writer has ended.

    On a full disk the note is left out, with a warning, and False returned.
    """
    try:
        _append_note(run_dir, text)
    except OSError as error:
        log.warning("could not add a note to %s (%s): %s", run_dir, error, text)
        return False
    return True


def _append_note(run_dir: Path, text: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    data = (text.rstrip("\n") + "\n").encode()
    with (run_dir / "stderr.log").open("ab") as stream:
        stream.write(data)
    # As the supervisor does: the index line goes in before the bytes it labels.
    if _last_stream(run_dir) != "stderr":
        with (run_dir / INDEX).open("a") as index:
            index.write(f"{size(run_dir)} stderr\n")
    with (run_dir / OUTPUT).open("ab") as output:
        output.write(data)


def _last_stream(run_dir: Path) -> str | None:
    try:
        lines = (run_dir / INDEX).read_text().splitlines()
    except FileNotFoundError:
        return None
    return lines[-1].split()[1] if lines else None


def whole_characters(data: bytes) -> bytes:
    """data without a trailing partial UTF-8 sequence (at most 3 bytes)."""
    for back in range(1, min(4, len(data)) + 1):
        byte = data[-back]
        if byte & 0xC0 == 0x80:
            continue
        if byte & 0x80 == 0:
            return data
        needed = 2 if byte & 0xE0 == 0xC0 else 3 if byte & 0xF0 == 0xE0 else 4
        return data if back >= needed else data[:-back]
    return data
