"""Workspaces on an SSH environment, end to end through the API and a real sshd.

The "host" is this machine behind the test's OpenSSH server, so the tests look at
what happened there by reading its files; everything Worksite did went over SSH.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.api.test_close import CLOSE, DONE, READINESS
from tests.conftest import git
from tests.support.api import Api
from tests.support.postgres import free_port
from tests.support.sshd import SshServer

CREATE_ENVIRONMENT = """
mutation($input: CreateEnvironmentInput!) { createEnvironment(input: $input) {
  __typename ... on Environment { id } ... on Error { message } } }
"""
LOG = """
query($id: ID!, $offset: Int!) { operation(id: $id) { status exitCode
  log(offset: $offset, limit: 65536) { content nextOffset complete } } }
"""


class SshProject:
    """A project whose primary project workspace lives on an SSH environment."""

    def __init__(self, api: Api, server: SshServer, root: Path) -> None:
        self.api, self.server, self.root = api, server, root

    async def create(self, repo: Path, port: int | None = None, **fields: Any) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        environment = await self.api.ok(
            CREATE_ENVIRONMENT,
            {
                "input": {
                    "name": "build-1",
                    "host": "127.0.0.1",
                    "port": port or self.server.port,
                    "user": self.server.user,
                    "privateKey": self.server.user_private_key,
                    "hostKey": fields.pop("hostKey", self.server.host_public_key),
                    "rootDir": str(self.root),
                }
            },
        )
        self.project = await self.api.project()
        await self.api.project_workspace(
            self.project["id"],
            repoUrl=f"file://{repo}",
            baseRef="main",
            environmentId=environment["id"],
            **fields,
        )
        self.agent_id, self.token = await self.api.agent()

    async def checkout(self, title: str = "Fix the login form") -> dict[str, Any]:
        issue = await self.api.issue(self.project["id"], title, assigneeId=self.agent_id)
        result = await self.api.checkout(issue["id"], self.token)
        result["issue"] = issue
        return result

    def clone(self) -> Path:
        (clone,) = (self.root / ".worksite" / "repos").iterdir()
        return clone


async def ssh_project(
    api: Api, server: SshServer, tmp_path: Path, repo: Path, **fields: Any
) -> SshProject:
    # Under the data directory, so the fixtures' teardown ends what runs "there" too.
    project = SshProject(api, server, api.settings.data_dir / "host-root")
    await project.create(repo, **fields)
    return project


async def test_checkout_clones_once_and_makes_the_worktree_on_the_host(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    project = await ssh_project(
        api,
        sshd,
        tmp_path,
        git_repo,
        provisionCommand='pwd > provisioned.txt; echo "provisioned $WORKSITE_BRANCH"',
    )

    first = await project.checkout()
    second = await project.checkout("Second issue")

    assert first["__typename"] == "CheckoutIssueSuccess", first
    workspace = first["workspace"]
    cwd = Path(workspace["cwd"])
    assert cwd == project.root / "PAP" / "PAP-1-fix-the-login-form"
    assert (cwd / "provisioned.txt").read_text().strip() == str(cwd)
    assert len(git(project.clone(), "worktree", "list").splitlines()) == 3  # clone + 2
    assert Path(second["workspace"]["cwd"]).parent == cwd.parent
    provision = workspace["operations"][0]
    assert (provision["phase"], provision["status"]) == ("provision", "SUCCEEDED")
    assert provision["stdoutExcerpt"] == "provisioned PAP-1-fix-the-login-form"
    runs = project.root / ".worksite" / "runs" / workspace["id"] / provision["id"]
    assert (runs / "state.json").exists()


async def test_the_provision_log_is_read_back_by_offset(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    project = await ssh_project(
        api, sshd, tmp_path, git_repo, provisionCommand="echo one; echo two; echo three"
    )
    workspace = (await project.checkout())["workspace"]
    provision = workspace["operations"][0]

    whole = (await api.gql(LOG, {"id": provision["id"], "offset": 0}))["operation"]
    tail = (await api.gql(LOG, {"id": provision["id"], "offset": 4}))["operation"]

    assert whole["log"] == {"content": "one\ntwo\nthree\n", "nextOffset": 14, "complete": True}
    assert tail["log"]["content"] == "two\nthree\n"


async def test_a_failing_provision_on_the_host_reports_its_exit_code(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    project = await ssh_project(
        api, sshd, tmp_path, git_repo, provisionCommand="echo broken >&2; exit 7"
    )

    result = await project.checkout()

    assert result["__typename"] == "ProvisionFailedError"
    assert result["operation"]["exitCode"] == 7
    assert result["operation"]["stderrExcerpt"] == "broken"
    assert "exit code 7" in result["message"]


async def test_close_saves_dirty_work_in_the_hosts_repository_for_restore(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    project = await ssh_project(
        api,
        sshd,
        tmp_path,
        git_repo,
        cleanupCommand="echo cleaned > ../cleanup-ran",
        teardownCommand="echo torn down",
    )
    result = await project.checkout()
    workspace, issue = result["workspace"], result["issue"]
    cwd = Path(workspace["cwd"])
    (cwd / "committed.txt").write_text("committed\n")
    git(cwd, "add", "committed.txt")
    git(cwd, "commit", "-q", "-m", "unmerged work")
    (cwd / "app.py").write_text("print('changed')\n")
    (cwd / "notes.txt").write_text("untracked\n")
    await api.ok(DONE, {"id": issue["id"]})

    blocked = await api.mutate(CLOSE, {"id": workspace["id"]})
    closed = await api.ok(CLOSE, {"id": workspace["id"], "force": True})

    assert blocked["__typename"] == "ConflictError"
    assert "Uncommitted work: 1 modified and 1 untracked files." in blocked["reasons"]
    assert closed["status"] == "ARCHIVED"
    ref = closed["savedWorkRef"]
    assert ref == f"refs/worksite/archive/{workspace['id']}"
    assert not cwd.exists()
    assert (cwd.parent / "cleanup-ran").read_text() == "cleaned\n"
    phases = [op["phase"] for op in reversed(closed["operations"])]
    assert phases[-5:] == [
        "save_work",
        "cleanup",
        "teardown",
        "remove_worktree",
        "delete_branch",
    ]

    # Restore on the host, from the saved ref in its repository.
    clone = project.clone()
    restored = tmp_path / "restored"
    git(clone, "worktree", "add", "-q", "-b", "restored", str(restored), ref)
    assert (restored / "app.py").read_text() == "print('changed')\n"
    assert (restored / "notes.txt").read_text() == "untracked\n"
    assert (restored / "committed.txt").read_text() == "committed\n"


async def test_close_with_the_host_down_fails_with_the_reason_and_retry_archives(
    api: Api, own_sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    project = await ssh_project(api, own_sshd, tmp_path, git_repo)
    result = await project.checkout()
    workspace = result["workspace"]
    await api.ok(DONE, {"id": result["issue"]["id"]})

    own_sshd.stop()
    readiness = (await api.gql(READINESS, {"id": workspace["id"]}))["executionWorkspace"]
    failed = await api.ok(CLOSE, {"id": workspace["id"], "force": True})
    assert Path(workspace["cwd"]).is_dir()

    own_sshd.start()
    retried = await api.ok(CLOSE, {"id": workspace["id"]})

    assert readiness["closeReadiness"]["state"] == "BLOCKED"
    assert failed["status"] == "CLEANUP_FAILED"
    assert failed["cleanupReason"].startswith("save work failed: Cannot look at the worktree")
    assert "connection refused" in failed["cleanupReason"]
    assert retried["status"] == "ARCHIVED"
    assert not Path(workspace["cwd"]).exists()


async def test_checkout_on_an_unreachable_host_fails_at_once_with_the_reason(
    api: Api, sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    project = await ssh_project(api, sshd, tmp_path, git_repo, port=free_port())

    result = await project.checkout()

    assert result["__typename"] == "ConflictError"
    assert "Cannot reach" in result["message"]
    assert "connection refused" in result["message"]
    workspaces = await api.gql("{ executionWorkspaces { id } }")
    assert workspaces["executionWorkspaces"] == []


async def test_checkout_refuses_a_host_whose_key_changed(
    api: Api, own_sshd: SshServer, tmp_path: Path, git_repo: Path
) -> None:
    project = await ssh_project(api, own_sshd, tmp_path, git_repo)
    assert (await project.checkout())["__typename"] == "CheckoutIssueSuccess"

    own_sshd.rotate_host_key()
    result = await project.checkout("After the key changed")

    assert result["__typename"] == "ConflictError"
    assert "not the one on record" in result["message"]
