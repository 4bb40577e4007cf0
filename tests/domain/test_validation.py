"""Names, refs and paths from clients: odd input gets a clear answer."""

from __future__ import annotations

import pytest

from worksite.domain import validation
from worksite.domain.errors import InvalidInput


@pytest.mark.parametrize(
    "name",
    [
        "has space",
        "a..b",
        "-rf",
        "--upload-pack=evil",
        "x;rm -rf /",
        "line\nbreak",
        "a" * 300,
        "",
        "ends/",
        "/starts",
        "dot.",
        "a//b",
        ".hidden",
        "x.lock",
        "tab\there",
        "quote'd",
        "back`tick`",
        "$(whoami)",
        "caret^1",
        "a:b",
        "ä",
    ],
)
def test_git_ref_refuses_odd_names(name: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        validation.git_ref("branchName", name)
    assert caught.value.field == "branchName"
    assert caught.value.message.startswith("branchName: expected")


@pytest.mark.parametrize("name", ["main", "origin/main", "PAP-946-fix", "feature/a.b_c+d"])
def test_git_ref_accepts_ordinary_names(name: str) -> None:
    assert validation.git_ref("baseRef", name) == name


@pytest.mark.parametrize(
    ("identifier", "title", "expected"),
    [
        ("PAP-946", "Fix the login form!", "PAP-946-fix-the-login-form"),
        ("PAP-1", "--upload-pack=x; rm -rf / ..", "PAP-1-upload-pack-x-rm-rf"),
        ("PAP-2", "Ünïcödé ✨ title", "PAP-2-unicode-title"),
        ("PAP-3", "", "PAP-3"),
        ("PAP-4", "word " * 100, "PAP-4-" + "-".join(["word"] * 11)),
    ],
)
def test_branch_slug_is_sanitised_and_capped(identifier: str, title: str, expected: str) -> None:
    slug = validation.branch_slug(identifier, title)
    assert slug == expected
    assert validation.git_ref("branchName", slug) == slug


def test_paths_must_stay_inside_their_root() -> None:
    assert validation.path_inside("cwd", "/data/ws/PAP/x", "/data/ws") == "/data/ws/PAP/x"
    for bad in ("/data/ws/../etc", "/etc/passwd", "relative/path", "/data/wsx/a"):
        with pytest.raises(InvalidInput):
            validation.path_inside("cwd", bad, "/data/ws")


@pytest.mark.parametrize("key", ["pap", "P", "TOOLONGKEY1", "1AB", "PA P", "PAP-1"])
def test_project_keys_are_short_capitals(key: str) -> None:
    with pytest.raises(InvalidInput):
        validation.project_key(key)


# `$` in a Python pattern also matches before a final newline; these names once
# passed with one.
@pytest.mark.parametrize("name", ["main\n", "feature/x\n"])
def test_git_ref_refuses_a_trailing_newline(name: str) -> None:
    with pytest.raises(InvalidInput, match="'\\\\n'"):
        validation.git_ref("branchName", name)


def test_project_key_refuses_a_trailing_newline() -> None:
    with pytest.raises(InvalidInput) as caught:
        validation.project_key("PAP\n")
    assert caught.value.field == "key"


def test_branch_name_refuses_head_which_git_refuses_as_a_branch() -> None:
    with pytest.raises(InvalidInput, match="expected a branch name, got 'HEAD'"):
        validation.branch_name("branchName", "HEAD")
    assert validation.git_ref("baseRef", "HEAD") == "HEAD"
