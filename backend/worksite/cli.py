"""`worksite serve`, `worksite migrate`, `worksite export-schema`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path
from urllib.parse import quote

from worksite.settings import load_settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="worksite", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the server (API, GraphiQL and the web app)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    commands.add_parser("migrate", help="apply pending database migrations")
    export = commands.add_parser("export-schema", help="print or write schema.graphql")
    export.add_argument("--output", type=Path, help="write here instead of stdout")
    args = parser.parse_args(argv)

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.command == "export-schema":
        return _export_schema(args.output)
    settings = load_settings()
    if args.command == "migrate":
        from worksite import db

        asyncio.run(db.migrate(settings.database_url))
        return 0
    return _serve(settings, args.host, args.port)


def _serve(settings, host: str, port: int) -> int:  # type: ignore[no-untyped-def]
    import uvicorn

    from worksite.api.limits import MAX_WS_MESSAGE_BYTES
    from worksite.app import create_app

    shown_host = f"[{host}]" if ":" in host else host
    # A token the server made is printed in the link, as a notebook server does; one
    # the operator set in WORKSITE_TOKEN they know, and it stays out of the output.
    token = (
        "<WORKSITE_TOKEN>" if os.environ.get("WORKSITE_TOKEN") else quote(settings.operator_token)
    )
    print(
        f"\nWorksite is starting on http://{shown_host}:{port}\n"
        f"Sign in as operator: http://{shown_host}:{port}/?token={token}\n"
        f"GraphiQL: http://{shown_host}:{port}/graphql  (data in {settings.data_dir})\n",
        flush=True,
    )
    # A bigger WebSocket frame closes the connection (1009) before it is read whole.
    uvicorn.run(
        create_app(settings),
        host=host,
        port=port,
        log_level="info",
        ws_max_size=MAX_WS_MESSAGE_BYTES,
    )
    return 0


def _export_schema(output: Path | None) -> int:
    from worksite.api.schema import schema

    text = schema.as_str() + "\n"
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
