"""Where operations keep their logs."""

from __future__ import annotations

from pathlib import Path
from uuid import uuid4

import pytest

from worksite.domain.errors import Conflict
from worksite.domain.operations import log_dir
from worksite.models import Operation
from worksite.settings import Settings


def settings_in(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url="sqlite://:memory:", operator_token="t")


def test_log_dir_is_under_the_data_directorys_logs(tmp_path: Path) -> None:
    operation = Operation(id=uuid4(), log_path="workspace/operation")

    assert (
        log_dir(settings_in(tmp_path), operation) == tmp_path / "logs" / "workspace" / "operation"
    )


@pytest.mark.parametrize("log_path", ["../elsewhere", "/etc", "", "link/run"])
def test_log_dir_never_leaves_the_logs_directory(tmp_path: Path, log_path: str) -> None:
    (tmp_path / "logs").mkdir()
    (tmp_path / "logs" / "link").symlink_to(tmp_path)
    operation = Operation(id=uuid4(), log_path=log_path)

    with pytest.raises(Conflict, match="is outside"):
        log_dir(settings_in(tmp_path), operation)
