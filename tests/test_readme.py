"""The README's agent walk-through works against a real server, as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.conftest import git
from tests.support.server import ServerProcess

README = Path(__file__).parents[1] / "README.md"


def walkthrough() -> str:
    text = README.read_text()
    section = text.split("## An agent's first calls", 1)[1]
    match = re.search(r"```sh\n(.*?)```", section, re.S)
    assert match, "the README lost its agent walk-through"
    return match.group(1)


def last_json(text: str) -> dict:
    decoder, position, document = json.JSONDecoder(), 0, {}
    while position < len(text.rstrip()):
        document, position = decoder.raw_decode(text, position)
        position += len(text[position:]) - len(text[position:].lstrip())
    return document


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_readme_walkthrough_checks_an_issue_out(
    tmp_path: Path, git_repo: Path, database_url: str
) -> None:
    server = ServerProcess(tmp_path / "data", database_url, "readme-operator-token")
    server.start()
    try:
        env = {
            **os.environ,
            "API": f"{server.url}/graphql",
            "WORKSITE_DATA_DIR": str(tmp_path / "data"),
        }
        (tmp_path / "data" / "operator-token").write_text("readme-operator-token\n")
        result = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", walkthrough()],
            cwd=git_repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        server.stop()

    assert result.returncode == 0, result.stderr
    workspace = last_json(result.stdout)["data"]["executionWorkspace"]
    assert workspace["branchName"] == "DEMO-1-say-hello"
    assert workspace["mode"] == "ISOLATED" and workspace["status"] == "ACTIVE"
    assert workspace["runtimeConfigSource"] == "PROJECT_WORKSPACE_DEFAULT"
    provision = next(op for op in workspace["operations"] if op["phase"] == "provision")
    assert provision["status"] == "SUCCEEDED" and provision["stdoutExcerpt"].endswith("second")
    assert git(Path(workspace["cwd"]), "rev-parse", "--abbrev-ref", "HEAD") == "DEMO-1-say-hello"
