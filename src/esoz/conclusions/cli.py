"""`esoz sim pfu`: the stand-in ПФУ e-sick-leave registry (the top-level cli adds it to the `esoz sim` group)."""

from typing import Annotated

import typer


def sim_pfu(
    host: Annotated[str, typer.Option(help="bind address")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 9200,
    mode: Annotated[str, typer.Option(help="ok, error, slow, reject")] = "ok",
) -> None:
    """Run the stand-in ПФУ registry (POST /erln/records; GET /erln/records lists sick leaves; POST /control)."""
    from esoz.conclusions.sim import serve

    typer.echo(
        f"stand-in ПФУ e-sick-leave registry on http://{host}:{port} (mode {mode}); ESOZ_PFU_URL=http://{host}:{port}"
    )
    serve(host, port, mode)
