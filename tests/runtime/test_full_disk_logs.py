"""The supervisor's logs on a disk that fills up and frees again, with files that
refuse bytes past a room the test sets (as a full filesystem does: a short write, then
ENOSPC)."""

from __future__ import annotations

import errno
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from worksite.runtime import supervisor
from worksite.runtime.supervisor import RESUMED, TRUNCATED, Logs

NAMES = ("stdout.log", "stderr.log", "output.log", "output.idx")


class Disk:
    def __init__(self, room: int) -> None:
        self.room = room


class File:
    """A real file whose writes stop at the disk's room."""

    def __init__(self, disk: Disk, path: Path) -> None:
        self.disk = disk
        self.path = path
        self.file = path.open("wb", buffering=0)

    def write(self, data: bytes | memoryview) -> int:
        if not self.disk.room:
            raise OSError(errno.ENOSPC, "No space left on device")
        written = self.file.write(bytes(data[: self.disk.room]))
        self.disk.room -= written
        return written

    def fileno(self) -> int:
        return self.file.fileno()


class Reserve:
    """Gives its room back to the disk when deleted, as the supervisor's reserve file does."""

    def __init__(self, disk: Disk, size: int) -> None:
        self.disk = disk
        self.size = size

    def unlink(self) -> None:
        self.disk.room += self.size


@pytest.fixture
def make_logs(tmp_path: Path) -> Iterator[Callable[[Disk, int], Logs]]:
    opened: list[File] = []

    def make(disk: Disk, resume_at: int) -> Logs:
        files = [File(disk, tmp_path / name) for name in NAMES]
        opened.extend(files)
        return Logs(*files, free_bytes=lambda: disk.room, resume_free_bytes=resume_at)  # type: ignore[arg-type]

    yield make
    for file in opened:
        file.file.close()


@pytest.fixture(autouse=True)
def look_at_every_write(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "RESUME_CHECK_INTERVAL", 0.0)


def read(tmp_path: Path, name: str) -> bytes:
    return (tmp_path / name).read_bytes()


def test_output_dropped_on_a_full_disk_is_counted_and_logging_resumes(
    make_logs: Callable[[Disk, int], Logs], tmp_path: Path
) -> None:
    disk = Disk(room=10**6)
    logs = make_logs(disk, 1000)
    logs.write("stdout", b"before\n")

    disk.room = 0
    logs.write("stdout", b"lost 1\n")
    logs.write("stderr", b"lost 22\n")
    disk.room = 999  # not yet enough room to go on
    logs.write("stdout", b"lost 333\n")
    assert read(tmp_path, "output.log") == b"before\n"

    disk.room = 10**6
    logs.write("stdout", b"after\n")

    resumed = RESUMED.format(7 + 8 + 9).encode()
    assert read(tmp_path, "output.log") == b"before\n" + resumed + b"after\n"
    assert read(tmp_path, "stdout.log") == b"before\nafter\n"
    assert read(tmp_path, "stderr.log") == resumed
    # Every switch of stream is indexed at the offset where its bytes begin.
    assert read(tmp_path, "output.idx").decode() == (
        f"0 stdout\n7 stderr\n{7 + len(resumed)} stdout\n"
    )


def test_a_short_write_counts_only_the_bytes_that_missed_the_log(
    make_logs: Callable[[Disk, int], Logs], tmp_path: Path
) -> None:
    disk = Disk(room=10**6)
    logs = make_logs(disk, 10**5)
    logs.write("stdout", b"one\n")
    # Room for stdout.log's copy of the chunk and 3 bytes of output.log's.
    disk.room = len(b"0123456789\n") + 3
    logs.write("stdout", b"0123456789\n")
    assert read(tmp_path, "output.log") == b"one\n012"

    disk.room = 10**6
    logs.write("stdout", b"two\n")

    # The resume line starts a line of its own.
    assert read(tmp_path, "output.log") == b"one\n012\n" + RESUMED.format(8).encode() + b"two\n"


def test_the_reserve_makes_room_for_the_marker_and_a_full_disk_stays_quiet(
    make_logs: Callable[[Disk, int], Logs], tmp_path: Path
) -> None:
    disk = Disk(room=10**6)
    logs = make_logs(disk, 10**9)
    logs.write("stdout", b"a partial line")
    logs.reserve = Reserve(disk, 2 * len(TRUNCATED) + 64)  # type: ignore[assignment]
    disk.room = 0

    logs.write("stdout", b"dropped\n")
    assert read(tmp_path, "output.log") == b"a partial line\n" + TRUNCATED
    assert read(tmp_path, "stderr.log") == b"\n" + TRUNCATED

    logs.write("stdout", b"dropped as well\n")
    assert read(tmp_path, "output.log") == b"a partial line\n" + TRUNCATED
    assert logs.dropped == len(b"dropped\n") + len(b"dropped as well\n")
