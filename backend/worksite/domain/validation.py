"""Checks on names, refs and paths that clients send.

Whatever passes here is still passed to git and shells as a separate argument or
quoted; these rules exist so that odd input gets a clear answer early.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import PurePosixPath
from uuid import UUID

from worksite.domain.errors import InvalidInput

MAX_REF_LENGTH = 200
BRANCH_SLUG_LENGTH = 60
# `\Z`, not `$`, in these patterns: `$` also matches before a final newline.
_REF_CHARS = re.compile(r"^[A-Za-z0-9._/+-]+\Z")
_PROJECT_KEY = re.compile(r"^[A-Z][A-Z0-9]{1,9}\Z")


def git_ref(field: str, value: str) -> str:
    """A branch or ref name that git accepts and no tool mistakes for an option."""
    if not value:
        raise InvalidInput(field, "expected a git ref name, got an empty string")
    if len(value) > MAX_REF_LENGTH:
        raise InvalidInput(field, f"expected at most {MAX_REF_LENGTH} characters, got {len(value)}")
    if not _REF_CHARS.match(value):
        bad = sorted({c for c in value if not _REF_CHARS.match(c)})
        raise InvalidInput(
            field,
            "expected letters, digits and . _ / + - only, got " + ", ".join(repr(c) for c in bad),
        )
    problem = _ref_shape_problem(value)
    if problem:
        raise InvalidInput(field, f"expected a git ref name that {problem}, got {value!r}")
    return value


def branch_name(field: str, value: str) -> str:
    """A git ref name that git also accepts as a branch: `HEAD` names no branch."""
    git_ref(field, value)
    if value == "HEAD":
        raise InvalidInput(field, "expected a branch name, got 'HEAD'")
    return value


def _ref_shape_problem(value: str) -> str | None:
    if value.startswith("-"):
        return "does not start with '-'"
    if ".." in value or "//" in value:
        return "has no '..' or '//'"
    if value.startswith("/") or value.endswith("/") or value.endswith("."):
        return "does not start with '/' or end with '/' or '.'"
    if any(part.startswith(".") or part.endswith(".lock") for part in value.split("/")):
        return "has no part starting with '.' or ending with '.lock'"
    return None


def branch_slug(identifier: str, title: str) -> str:
    """`PAP-946` and "Fix the login form" give `PAP-946-fix-the-login-form`."""
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    slug = f"{identifier}-{words}" if words else identifier
    return slug[:BRANCH_SLUG_LENGTH].rstrip("-.")


def project_key(value: str) -> str:
    if not _PROJECT_KEY.match(value):
        raise InvalidInput(
            "key",
            "expected 2 to 10 capital letters or digits starting with a letter "
            f"(like 'PAP'), got {value!r}",
        )
    return value


def absolute_path(field: str, value: str) -> str:
    """A normalised absolute POSIX path with no '..' and no control characters."""
    if not value.startswith("/"):
        raise InvalidInput(field, f"expected an absolute path, got {value!r}")
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InvalidInput(field, "expected a path without control characters")
    if ".." in PurePosixPath(value).parts:
        raise InvalidInput(field, f"expected a path without '..', got {value!r}")
    return str(PurePosixPath(value))


def path_inside(field: str, value: str, root: str) -> str:
    """An absolute path that stays inside `root` (not a symlink check: see runtime)."""
    path = PurePosixPath(absolute_path(field, value))
    if path != PurePosixPath(root) and PurePosixPath(root) not in path.parents:
        raise InvalidInput(field, f"expected a path inside {root}, got {value!r}")
    return str(path)


def relative_path(field: str, value: str) -> str:
    """A relative path that cannot climb out of the directory it is joined to."""
    if value.startswith("/"):
        raise InvalidInput(field, f"expected a path relative to the workspace, got {value!r}")
    if any(ord(c) < 32 or c == "\x7f" for c in value):
        raise InvalidInput(field, "expected a path without control characters")
    if ".." in PurePosixPath(value).parts:
        raise InvalidInput(field, f"expected a path that stays inside the workspace, got {value!r}")
    return str(PurePosixPath(value))


def text(field: str, value: str, max_length: int, required: bool = False) -> str:
    value = value.strip() if required else value
    if required and not value:
        raise InvalidInput(field, "expected a non-empty value")
    if len(value) > max_length:
        raise InvalidInput(field, f"expected at most {max_length} characters, got {len(value)}")
    if "\x00" in value:
        raise InvalidInput(field, "expected text without NUL characters")
    return value


def parse_id(field: str, value: UUID | str) -> UUID:
    if isinstance(value, UUID):
        return value
    try:
        return UUID(str(value))
    except ValueError:
        raise InvalidInput(field, f"expected an id, got {str(value)[:80]!r}") from None


def camel(name: str) -> str:
    """The API's name for a snake_case field: `base_ref` is `baseRef`."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
