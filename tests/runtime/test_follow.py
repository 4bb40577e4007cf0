"""LogFollower: a run's output from any offset, labelled by stream, live to its end."""

from __future__ import annotations

import asyncio
import sys
from contextlib import ExitStack
from pathlib import Path

from tests.runtime.conftest import Reaper
from worksite.runtime.follow import LogFollower, OutputChunk
from worksite.runtime.processes import wait_ended
from worksite.runtime.supervisor import Logs, open_logs

DEADLINE = 30.0


async def read_all(follower: LogFollower) -> list[OutputChunk]:
    async def gather() -> list[OutputChunk]:
        return [chunk async for chunk in follower.chunks()]

    return await asyncio.wait_for(gather(), DEADLINE)


def assert_contiguous(chunks: list[OutputChunk], start: int = 0) -> None:
    offset = start
    for chunk in chunks:
        assert chunk.offset == offset
        assert chunk.next_offset == offset + len(chunk.content.encode())
        offset = chunk.next_offset


def by_stream(chunks: list[OutputChunk]) -> dict[str, str]:
    streams = {"stdout": "", "stderr": ""}
    for chunk in chunks:
        streams[chunk.stream] += chunk.content
    return streams


def write_interleaved(logs: Logs, pieces: list[tuple[str, str]]) -> None:
    for stream, text in pieces:
        logs.write(stream, text.encode())


async def test_chunks_each_hold_one_stream_and_follow_each_other_without_gaps(
    tmp_path: Path,
) -> None:
    pieces = [
        ("stdout", "out 1\n"),
        ("stderr", "err 1\n"),
        ("stderr", "err 2\n"),
        ("stdout", "out 2\nout 3\n"),
        ("stderr", "err 3\n"),
    ]
    with open_logs(tmp_path) as logs:
        write_interleaved(logs, pieces)
    follower = LogFollower(tmp_path)
    follower.finish()

    chunks = await read_all(follower)

    assert_contiguous(chunks)
    assert [c.stream for c in chunks] == ["stdout", "stderr", "stdout", "stderr"]
    assert by_stream(chunks) == {
        "stdout": (tmp_path / "stdout.log").read_text(),
        "stderr": (tmp_path / "stderr.log").read_text(),
    }


async def test_following_from_an_offset_gives_exactly_the_bytes_after_it(
    tmp_path: Path,
) -> None:
    with open_logs(tmp_path) as logs:
        write_interleaved(logs, [("stdout", "abc\n" * 100), ("stderr", "xyz\n" * 100)] * 5)
    whole = (tmp_path / "output.log").read_bytes()

    for offset in (0, 1, 399, 400, 401, 1999, len(whole)):
        follower = LogFollower(tmp_path, offset)
        follower.finish()
        chunks = await read_all(follower)
        assert_contiguous(chunks, start=offset)
        assert "".join(c.content for c in chunks).encode() == whole[offset:]
        for chunk in chunks:
            assert set(chunk.content) <= set("abc\n" if chunk.stream == "stdout" else "xyz\n")


async def test_large_output_comes_in_bounded_chunks(tmp_path: Path) -> None:
    with open_logs(tmp_path) as logs:
        logs.write("stdout", b"x" * 1_000_000)
    follower = LogFollower(tmp_path, chunk_bytes=4096)
    follower.finish()

    chunks = await read_all(follower)

    assert max(len(c.content) for c in chunks) == 4096
    assert sum(len(c.content) for c in chunks) == 1_000_000


async def test_a_follower_waits_for_output_and_ends_once_finished_and_drained(
    tmp_path: Path,
) -> None:
    follower = LogFollower(tmp_path)  # nothing written yet, not even the files
    received: list[OutputChunk] = []

    async def follow() -> None:
        async for chunk in follower.chunks():
            received.append(chunk)

    task = asyncio.create_task(follow())
    with ExitStack() as stack:
        logs = stack.enter_context(open_logs(tmp_path))
        for i in range(5):
            logs.write("stdout" if i % 2 == 0 else "stderr", f"piece {i}\n".encode())
            await wait_until(lambda count=i + 1: len(received) == count)
        logs.write("stdout", b"last words\n")
    follower.finish()
    await asyncio.wait_for(task, DEADLINE)

    assert_contiguous(received)
    assert "".join(c.content for c in received) == (tmp_path / "output.log").read_text()
    assert received[-1].content.endswith("last words\n")


async def test_a_character_split_between_writes_arrives_whole(tmp_path: Path) -> None:
    follower = LogFollower(tmp_path)
    chunks_seen: list[OutputChunk] = []

    async def follow() -> None:
        async for chunk in follower.chunks():
            chunks_seen.append(chunk)

    task = asyncio.create_task(follow())
    snowman = "\u2603".encode()
    with open_logs(tmp_path) as logs:
        logs.write("stdout", b"a" + snowman[:1])
        await wait_until(lambda: len(chunks_seen) == 1)
        logs.write("stdout", snowman[1:] + b"b\n")
    follower.finish()
    await asyncio.wait_for(task, DEADLINE)

    assert [c.content for c in chunks_seen] == ["a", "\u2603b\n"]


async def test_a_failure_of_whoever_watches_the_producer_ends_the_follower(
    tmp_path: Path,
) -> None:
    follower = LogFollower(tmp_path)
    task = asyncio.create_task(read_all(follower))
    await asyncio.sleep(0)
    follower.fail(RuntimeError("database gone"))

    try:
        await task
    except RuntimeError as error:
        assert str(error) == "database gone"
    else:
        raise AssertionError("expected the failure to reach the reader")


async def test_a_supervised_command_is_followed_live_with_both_streams(
    tmp_path: Path, reaper: Reaper
) -> None:
    run_dir = tmp_path / "run"
    script = (
        "import sys, time\n"
        "for i in range(200):\n"
        "    stream = sys.stdout if i % 3 else sys.stderr\n"
        "    stream.write(f'{stream.name} {i}\\n'); stream.flush()\n"
        "    if i % 50 == 0: time.sleep(0.05)\n"
    )
    await reaper.spawn(run_dir, [sys.executable, "-c", script], tmp_path)
    follower = LogFollower(run_dir)
    reading = asyncio.create_task(read_all(follower))
    await wait_ended(run_dir, DEADLINE)
    follower.finish()
    chunks = await reading

    assert_contiguous(chunks)
    assert by_stream(chunks) == {
        "stdout": (run_dir / "stdout.log").read_text(),
        "stderr": (run_dir / "stderr.log").read_text(),
    }
    for chunk in chunks:
        assert all(line.startswith(f"<{chunk.stream}>") for line in chunk.content.splitlines())


async def wait_until(condition: object, timeout: float = DEADLINE) -> None:
    assert callable(condition)
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)
