"""Follow a run's combined output live, from any byte offset.

A follower reads output.log of a run directory (see logs.py) from an offset and
yields it in chunks, each from one stream, labelled by output.idx and carrying
the offset after it: a reader that reconnects with that offset continues
exactly where it stopped. It reads from disk and holds one chunk at a time, so
a consumer that reads slowly only falls behind in the file.

When a follower has read everything on disk, it waits for the file to grow. One
task per event loop polls the size of every followed file and wakes their
followers, so many followers of one log cost one stat per tick, not one each.
The follower ends once told that the producer has ended and the file is drained.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from worksite.runtime.logs import INDEX, OUTPUT, whole_characters

log = logging.getLogger(__name__)

CHUNK_BYTES = 64 * 1024
POLL_INTERVAL = 0.01
STREAMS = ("stdout", "stderr")


@dataclass(frozen=True)
class OutputChunk:
    """Bytes offset..next_offset of output.log, all from one stream."""

    stream: str
    content: str
    offset: int
    next_offset: int


class LogFollower:
    """Yields a run directory's output from `offset` on, as it is written.

    Content is decoded as UTF-8, invalid bytes replaced; offsets always count
    bytes. A chunk ends on a character boundary, unless a character is split
    by a change of stream or by the end of the output.
    """

    def __init__(self, run_dir: Path, offset: int = 0, chunk_bytes: int = CHUNK_BYTES):
        if offset < 0:
            raise ValueError(f"Expected an offset of 0 or more, got {offset}.")
        self.path = run_dir / OUTPUT
        self.offset = offset
        self.chunk_bytes = chunk_bytes
        self._index = StreamIndex(run_dir / INDEX)
        self._fd: int | None = None
        self._ended = False
        self._failure: BaseException | None = None
        self._wake = asyncio.Event()

    def finish(self) -> None:
        """The producer has ended: deliver what is on disk, then stop."""
        self._ended = True
        self._wake.set()

    def fail(self, error: BaseException) -> None:
        """Whoever watches the producer failed: raise `error` from chunks()."""
        self._failure = error
        self._wake.set()

    async def chunks(self) -> AsyncIterator[OutputChunk]:
        watcher = _watcher()
        try:
            while True:
                if self._failure is not None:
                    raise self._failure
                # Read after noting the end, so bytes written before it are not missed.
                ended = self._ended
                chunk, size = self._read(ended)
                if chunk is not None:
                    yield chunk
                    continue
                if ended:
                    return
                self._wake.clear()
                watcher.watch(self.path, size, self._wake)
                await self._wake.wait()
        finally:
            watcher.forget(self.path, self._wake)
            self.close()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._index.close()

    def _read(self, ended: bool) -> tuple[OutputChunk | None, int]:
        """The next chunk on disk, if any, and the size of output.log."""
        size = self._size()
        if size <= self.offset:
            return None, size
        # output.idx labels every byte written before we looked at the size.
        stream, switch = self._index.stream_at(self.offset)
        end = min(size, self.offset + self.chunk_bytes)
        if switch is not None and switch < end:
            end = switch

        assert self._fd is not None
        data = os.pread(self._fd, end - self.offset, self.offset)
        if end != switch and not (ended and end == size):
            # More bytes follow in this stream: leave a split character for them.
            data = whole_characters(data)
        if not data:
            return None, size

        start, self.offset = self.offset, self.offset + len(data)
        content = data.decode("utf-8", errors="replace")
        return OutputChunk(stream, content, start, self.offset), size

    def _size(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_CLOEXEC)
            except FileNotFoundError:
                return 0
        return os.fstat(self._fd).st_size


class StreamIndex:
    """Reads output.idx forward: which stream a byte is from, and where that changes.

    Offsets asked about never decrease, so only the current entry and the next
    one are held, however long the index grows.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._file: IO[bytes] | None = None
        self._partial = b""
        self._stream = STREAMS[0]
        self._next: tuple[int, str] | None = None

    def stream_at(self, offset: int) -> tuple[str, int | None]:
        """The stream of the byte at offset, and the offset of the next switch if known."""
        while True:
            if self._next is None:
                self._next = self._read_entry()
            if self._next is None or self._next[0] > offset:
                break
            self._stream = self._next[1]
            self._next = None
        return self._stream, (self._next[0] if self._next else None)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def _read_entry(self) -> tuple[int, str] | None:
        if self._file is None:
            try:
                self._file = self.path.open("rb")
            except FileNotFoundError:
                return None
        while True:
            line = self._file.readline()
            if not line.endswith(b"\n"):
                # The writer is in the middle of this line: finish it next time.
                self._partial += line
                return None
            line, self._partial = self._partial + line, b""
            entry = _parse_entry(line)
            if entry is not None:
                return entry


def _parse_entry(line: bytes) -> tuple[int, str] | None:
    try:
        offset, stream = line.decode().split()
        if stream in STREAMS:
            return int(offset), stream
    except ValueError:
        pass
    log.warning("ignored a malformed output.idx line: %.100r", line)
    return None


class GrowthWatcher:
    """Polls the size of followed files; wakes each follower once its file changed."""

    def __init__(self, interval: float = POLL_INTERVAL) -> None:
        self.interval = interval
        self._waiting: dict[Path, dict[asyncio.Event, int]] = {}
        self._task: asyncio.Task[None] | None = None

    def watch(self, path: Path, size: int, wake: asyncio.Event) -> None:
        """Set `wake` once `path` is no longer `size` bytes long."""
        self._waiting.setdefault(path, {})[wake] = size
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._poll(), name="worksite-log-watcher")

    def forget(self, path: Path, wake: asyncio.Event) -> None:
        waiters = self._waiting.get(path)
        if waiters is not None:
            waiters.pop(wake, None)
            if not waiters:
                del self._waiting[path]

    async def _poll(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.interval)
            for path, waiters in list(self._waiting.items()):
                size = _size_of(path)
                for wake, known in list(waiters.items()):
                    if size != known:
                        wake.set()
                        del waiters[wake]
                if not waiters:
                    self._waiting.pop(path, None)


def _size_of(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, GrowthWatcher] = (
    weakref.WeakKeyDictionary()
)


def _watcher() -> GrowthWatcher:
    loop = asyncio.get_running_loop()
    watcher = _watchers.get(loop)
    if watcher is None:
        watcher = _watchers[loop] = GrowthWatcher()
    return watcher
