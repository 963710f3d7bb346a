"""``heldout serve``: the dashboard over the run store, on 127.0.0.1 unless given a token."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from heldout._errors import HeldoutError
from heldout.cli._app import StoreOpt, _err, _user_errors, app

__all__ = ["check_bind", "serve"]

TOKEN_ENV = "HELDOUT_TOKEN"


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without a token.

    Raises:
        HeldoutError: ``host`` is not a loopback address and ``token`` is empty.
    """
    from heldout.server._security import is_loopback

    if not is_loopback(host) and not (token and token.strip()):
        raise HeldoutError(
            f"--host {host} lets other machines reach the dashboard, so it needs a token: "
            f"pass --token or set {TOKEN_ENV}, or keep the default --host 127.0.0.1"
        )


@app.command()
def serve(
    store: StoreOpt = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port")] = 8765,
    token: Annotated[
        str | None,
        typer.Option(
            "--token",
            help=f"Require this token on every request (default: ${TOKEN_ENV}); "
            "needed for any --host other than 127.0.0.1",
        ),
    ] = None,
) -> None:
    """Browse the stored runs in a dashboard: runs, comparisons, examples, history, notes."""
    token = token if token is not None else (os.environ.get(TOKEN_ENV) or None)
    with _user_errors():
        check_bind(host, token)
        import uvicorn

        from heldout.server import create_app

        dashboard = create_app(store, token=token)
        shown = f"[{host}]" if ":" in host else host
        _err().print(f"heldout dashboard on http://{shown}:{port}/ (Ctrl+C to stop)")
        if token is not None:
            _err().print("every request needs the token: open the address once with ?token=…")
    uvicorn.run(dashboard, host=host, port=port, log_level="warning")
