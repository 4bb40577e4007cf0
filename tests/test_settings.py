"""Settings read from the environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from worksite.settings import load_settings, port_range


def test_service_ports_default_below_the_ephemeral_range(tmp_path: Path) -> None:
    settings = load_settings({"WORKSITE_DATA_DIR": str(tmp_path), "WORKSITE_TOKEN": "t"})

    assert settings.service_ports == range(20000, 32000)


def test_service_ports_come_from_the_environment(tmp_path: Path) -> None:
    settings = load_settings(
        {
            "WORKSITE_DATA_DIR": str(tmp_path),
            "WORKSITE_TOKEN": "t",
            "WORKSITE_SERVICE_PORTS": "41000-41099",
        }
    )

    assert settings.service_ports == range(41000, 41100)


@pytest.mark.parametrize("text", ["41000", "41000-40000", "0-10", "60000-70000", "a-b"])
def test_a_port_range_that_makes_no_sense_is_refused_with_the_value(text: str) -> None:
    with pytest.raises(ValueError, match=f"WORKSITE_SERVICE_PORTS: .* got '{text}'"):
        port_range(text)
