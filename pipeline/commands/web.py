"""The web front ends: Datasette (podpipe serve) and the editor's desk (podpipe desk)."""

import click

from .options import ConfigProblem, db_option, db_path_of, get_db


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8001, show_default=True)
@click.option("-o", "--open", "open_browser", is_flag=True, help="Open a browser")
@click.option("--print-metadata", is_flag=True,
              help="Print the Datasette metadata JSON and exit (for 'datasette DB -m metadata.json')")
@db_option
def serve(host, port, open_browser, print_metadata, db_path):
    """Browse, search and facet the database in Datasette (pip install 'podpipe[datasette]')."""
    import json

    from ..datasette_metadata import metadata_for

    path = db_path_of(db_path)
    meta = metadata_for(path)
    if print_metadata:
        click.echo(json.dumps(meta, indent=2))
        return
    try:
        import uvicorn
        from datasette.app import Datasette
    except ImportError:
        raise ConfigProblem("Datasette is not installed: pip install 'podpipe[datasette]'") from None
    get_db(db_path)  # migrations and views first, so Datasette sees the whole schema
    url = f"http://{host}:{port}/"
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, [url]).start()
    click.echo(f"Datasette on {url} (Ctrl-C to stop)", err=True)
    # in this process, as 'datasette serve' does it: no child left behind on Ctrl-C
    uvicorn.run(Datasette([str(path)], metadata=meta).app(), host=host, port=port, log_level="warning")


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on; anything but loopback needs --token")
@click.option("-p", "--port", type=click.IntRange(0, 65535), default=8002, show_default=True)
@click.option("--token", envvar="PODPIPE_DESK_TOKEN",
              help="Require this token (open the printed address once; env PODPIPE_DESK_TOKEN)")
@click.option("-o", "--open", "open_browser", is_flag=True, help="Open a browser")
@db_option
def desk(host, port, token, open_browser, db_path):
    """Review, edit and collect quotes in a web page, with the audio at the second (pip install 'podpipe[desk]')."""
    from urllib.parse import quote

    try:
        import uvicorn

        from ..desk import create_app
    except ImportError:
        raise ConfigProblem("the desk is not installed: pip install 'podpipe[desk]'") from None
    from ..desk.guard import is_loopback

    if not is_loopback(host) and not token:
        raise ConfigProblem(f"--host {host} lets other machines in: give --token (or $PODPIPE_DESK_TOKEN) too")
    get_db(db_path)  # a missing database is an error; migrations run once, here
    url = f"http://{host if ':' not in host else f'[{host}]'}:{port}/queue" + (f"?token={quote(token)}" if token else "")
    if open_browser:
        import threading
        import webbrowser

        threading.Timer(1.0, webbrowser.open, [url]).start()
    click.echo(f"The desk on {url} (Ctrl-C to stop)", err=True)
    uvicorn.run(create_app(db_path_of(db_path), host=host, token=token), host=host, port=port, log_level="warning")
