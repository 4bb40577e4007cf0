"""Secrets at rest: sealed with Fernet (AES-CBC and HMAC) before they reach the database.

The key is WORKSITE_SECRET_KEY when set, else the `secret-key` file in the data
directory, created on first use and readable by the server's user only. A database
copied without that key holds nothing usable; a server started with another key
cannot open what it holds, and says so rather than using garbage.
"""

from __future__ import annotations

import functools
import logging
import os
import re
import traceback
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from worksite.settings import Settings

KEY_FILE = "secret-key"
# A private key block, also cut short or with its newlines escaped (as in a repr).
_PRIVATE_KEY = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY-----|$)",
    re.DOTALL,
)
MASK = "[private key removed]"
# The margin of graphql-core's excerpt of a document ("1 | ", "  | "), which wraps long
# lines and can cut a key's header in two.
_EXCERPT_MARGIN = re.compile(r"\n *\d* \| ")


class SecretKeyError(Exception):
    """The sealing key is malformed, or is not the one a secret was sealed with."""


def seal(settings: Settings, plaintext: str) -> str:
    return _fernet(settings).encrypt(plaintext.encode()).decode()


def unseal(settings: Settings, sealed: str) -> str:
    try:
        return _fernet(settings).decrypt(sealed.encode()).decode()
    except InvalidToken:
        raise SecretKeyError(
            "A stored secret cannot be opened with this server's key: it was sealed "
            "with another WORKSITE_SECRET_KEY or secret-key file."
        ) from None


@functools.lru_cache(maxsize=8)
def _fernet(settings: Settings) -> Fernet:
    key = settings.secret_key or _stored_key(settings.data_dir)
    try:
        return Fernet(key.encode())
    except ValueError:
        source = "WORKSITE_SECRET_KEY" if settings.secret_key else str(settings.data_dir / KEY_FILE)
        raise SecretKeyError(
            f"{source}: expected a Fernet key (32 bytes in url-safe base64, as "
            "`python3 -c 'from cryptography.fernet import Fernet; "
            "print(Fernet.generate_key().decode())'` prints), got something else."
        ) from None


def _stored_key(data_dir: Path) -> str:
    path = data_dir / KEY_FILE
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(Fernet.generate_key().decode() + "\n")
    return path.read_text().strip()


def mask(text: str) -> str:
    """text with every private key block (whole or partial) replaced by MASK."""
    text = _PRIVATE_KEY.sub(MASK, text)
    joined = _EXCERPT_MARGIN.sub("", text)
    if _PRIVATE_KEY.search(joined):
        # A key the excerpt wrapped: its lines only join up without the margin.
        text = _PRIVATE_KEY.sub(MASK, joined)
    return text


class MaskSecrets(logging.Filter):
    """Removes private keys from log records (GraphQL errors may quote client input)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[0] is not None:
            # The traceback repeats the exception's message: render it here, masked.
            trace = "".join(traceback.format_exception(*record.exc_info))
            masked = mask(trace)
            if masked != trace:
                record.exc_text, record.exc_info = masked.rstrip("\n"), None
        return True


_TOKEN_QUERY = re.compile(r"([?&]token=)[^&\s\"]*")


class MaskTokenQuery(logging.Filter):
    """Removes `token=` values from the paths in uvicorn's access log (sign-in links)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any("token=" in str(a) for a in record.args):
            # The access formatter unpacks the arguments: keep their number and order.
            record.args = tuple(
                _TOKEN_QUERY.sub(r"\1[removed]", a) if isinstance(a, str) else a
                for a in record.args
            )
        return True
