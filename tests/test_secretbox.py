"""Sealing secrets at rest, and keeping private keys out of log records."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

from worksite import secretbox
from worksite.settings import Settings, load_settings

KEY_TEXT = (
    "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAAsecretmaterial\n-----END OPENSSH PRIVATE KEY-----\n"
)


def settings_in(data_dir: Path, secret_key: str | None = None) -> Settings:
    data_dir.mkdir(exist_ok=True)
    return Settings(data_dir=data_dir, database_url="", operator_token="t", secret_key=secret_key)


def test_a_key_file_is_made_once_and_opens_what_it_sealed(tmp_path: Path) -> None:
    first = settings_in(tmp_path / "data")
    sealed = secretbox.seal(first, "hello")
    key = (tmp_path / "data" / secretbox.KEY_FILE).read_text()

    restarted = settings_in(tmp_path / "data")

    assert "hello" not in sealed
    assert secretbox.unseal(restarted, sealed) == "hello"
    assert (tmp_path / "data" / secretbox.KEY_FILE).read_text() == key


def test_the_key_from_the_environment_is_used_and_no_file_is_made(tmp_path: Path) -> None:
    key = Fernet.generate_key().decode()
    settings = load_settings(
        {
            "WORKSITE_DATA_DIR": str(tmp_path / "data"),
            "WORKSITE_SECRET_KEY": key,
            "WORKSITE_TOKEN": "t",
        }
    )

    sealed = secretbox.seal(settings, "hello")

    assert Fernet(key.encode()).decrypt(sealed.encode()) == b"hello"
    assert not (tmp_path / "data" / secretbox.KEY_FILE).exists()
    assert key not in repr(settings)


def test_another_key_cannot_open_a_secret_and_says_so(tmp_path: Path) -> None:
    sealed = secretbox.seal(settings_in(tmp_path / "a"), "hello")

    with pytest.raises(secretbox.SecretKeyError, match="sealed with another"):
        secretbox.unseal(settings_in(tmp_path / "b"), sealed)


def test_a_malformed_key_is_refused_clearly(tmp_path: Path) -> None:
    settings = settings_in(tmp_path / "data", secret_key="not-a-fernet-key")

    with pytest.raises(
        secretbox.SecretKeyError, match="WORKSITE_SECRET_KEY: expected a Fernet key"
    ):
        secretbox.seal(settings, "hello")


@pytest.mark.parametrize(
    "text",
    [KEY_TEXT, KEY_TEXT[:60], repr(KEY_TEXT), "before " + KEY_TEXT + " after"],
)
def test_private_keys_whole_cut_or_escaped_are_masked(text: str) -> None:
    masked = secretbox.mask(text)

    assert "secretmaterial" not in masked
    assert secretbox.MASK in masked


def test_the_log_filter_masks_messages_and_tracebacks() -> None:
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "got %s", (KEY_TEXT,), None)
    try:
        raise ValueError(KEY_TEXT)
    except ValueError as error:
        record.exc_info = (type(error), error, error.__traceback__)

    secretbox.MaskSecrets().filter(record)
    shown = logging.Formatter().format(record)

    assert "secretmaterial" not in shown
    assert "ValueError" in shown
