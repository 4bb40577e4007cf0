"""Bad input for every mutation, many examples: `scripts/harden input [--examples N]`.

Runs the properties of tests/support/bad_input.py (the pytest suite runs the same
ones with a few examples each) against the real app on SQLite, or on PostgreSQL with
`--postgres`, in a temporary directory. Prints, per mutation, how many cases were
tried and how they were answered, the total, and every failure with Hypothesis's
smallest example. Exits 1 when any mutation failed.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.conftest import OPERATOR_TOKEN  # importing it also sets a git identity
from tests.support.bad_input import WorldRunner, cases, make_repo, run_case
from tests.support.postgres import PostgresCluster
from tests.support.supervisors import stop_supervisors
from worksite import db
from worksite.settings import Settings


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--examples", type=int, default=200, help="examples per mutation")
    parser.add_argument(
        "--seed",
        type=int,
        default=None,
        help="random seed; without one the examples are derandomized",
    )
    parser.add_argument("--only", nargs="*", default=None, help="mutation names to run")
    parser.add_argument(
        "--postgres",
        action="store_true",
        help="run on a throwaway PostgreSQL cluster instead of SQLite",
    )
    options = parser.parse_args()

    # Every case is refused on purpose and the app would log each refusal; internal
    # errors, the ones this run looks for, are logged at ERROR and still shown.
    logging.getLogger("worksite").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="worksite-input-") as tmp_name:
        tmp = Path(tmp_name)
        cluster = PostgresCluster() if options.postgres else None
        try:
            if cluster is not None:
                cluster.start()
                cluster.psql("CREATE DATABASE bad_input")
                url = cluster.url("bad_input")
            else:
                url = f"sqlite://{tmp / 'worksite.sqlite3'}"
            asyncio.run(db.migrate(url))
            return run(options, tmp, url)
        finally:
            stop_supervisors(tmp)
            if cluster is not None:
                cluster.stop()


def run(options: argparse.Namespace, tmp: Path, url: str) -> int:
    data_dir = tmp / "data"
    data_dir.mkdir()
    settings = Settings(data_dir=data_dir, database_url=url, operator_token=OPERATOR_TOKEN)
    selected = [c for c in cases() if options.only is None or c.name in options.only]
    total: Counter[str] = Counter()
    failures: list[tuple[str, str]] = []
    backend = "PostgreSQL" if options.postgres else "SQLite"
    print(
        f"bad input: {options.examples} examples per mutation on {backend}, "
        f"seed {options.seed if options.seed is not None else 'derandomized'}"
    )
    print(f"{'mutation':34} {'cases':>6} {'seconds':>8}  answers")
    runner = WorldRunner()
    with runner.running(settings, OPERATOR_TOKEN, make_repo(tmp / "repo"), tmp / "outside"):
        for case in selected:
            started = time.monotonic()
            counts: Counter[str] = Counter()
            try:
                counts = run_case(runner, case, options.examples, options.seed)
            except Exception as error:  # reported and counted; the run goes on
                failures.append((case.name, "".join(traceback.format_exception_only(error))))
                counts["FAILED"] += 1
            total.update(counts)
            answers = ", ".join(f"{kind} {n}" for kind, n in counts.most_common())
            print(
                f"{case.name:34} {sum(counts.values()):6} "
                f"{time.monotonic() - started:8.1f}  {answers}",
                flush=True,
            )
    print(
        f"{'total':34} {sum(total.values()):6}           "
        + ", ".join(f"{kind} {n}" for kind, n in total.most_common())
    )
    for name, text in failures:
        print(f"\nFAILED {name}:\n{text}")
    print(f"\n{len(failures)} of {len(selected)} mutations failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
