"""podpipe transcripts (import, show) and podpipe speakers."""
import sys

import click

from ..output import output_options, print_rows
from .options import EXIT_FAILED, db_option, get_db, transcripts_dir_option


@click.group()
def transcripts():
    """Import and show transcripts."""


@transcripts.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@transcripts_dir_option
@db_option
def transcripts_import(paths, transcripts_dir, db_path):
    """Import transcript files (VTT, SRT, JSON, HTML, text, Markdown).

    \b
    Each is matched to an episode by guid, then title and date; an episode
    is created when none matches.
    """
    from ..transcript_import import import_transcripts

    db = get_db(db_path, lock=True, create=True)
    failed = 0
    for path, episode_id, created, error in import_transcripts(db, paths, transcripts_dir=transcripts_dir):
        if error:
            failed += 1
            click.echo(f"failed: {path}: {error}", err=True)
            continue
        click.echo(f"imported: {path} -> episode {episode_id}{' (new)' if created else ''}")
    if failed:
        sys.exit(EXIT_FAILED)


@transcripts.command(name="show")
@click.argument("episode", type=int)
@click.option("--format", "fmt", type=click.Choice(["txt", "vtt", "srt", "json"]), default="txt",
              show_default=True)
@db_option
def transcripts_show(episode, fmt, db_path):
    """Print an episode's transcript."""
    from ..transcript_formats import write
    from ..transcripts import segments_of, transcript_of

    db = get_db(db_path)
    transcript = transcript_of(db, episode)
    if not transcript:
        raise click.ClickException(f"episode {episode} has no transcript (run 'podpipe transcribe')")
    click.echo(write(segments_of(db, transcript["id"]), fmt), nl=False)


@click.command()
@click.argument("episode", type=int)
@click.option("--set", "corrections", multiple=True, metavar="LABEL=NAME",
              help='Name a voice, e.g. --set "SPEAKER_1=Corie Miller" (or =unknown); kept when re-run')
@db_option
@output_options
def speakers(episode, corrections, db_path, fmt):
    """Show who speaks in an episode (a sample line each), or correct it.

    \b
    Examples:
        podpipe speakers 3
        podpipe speakers 3 --set "SPEAKER_1=Corie Miller"
    """
    from ..speakers import set_speaker, speaker_summary

    db = get_db(db_path, lock=bool(corrections))
    for correction in corrections:
        label, sep, name = correction.partition("=")
        if not sep:
            raise click.BadParameter(f"{correction!r} is not LABEL=NAME", param_hint="--set")
        set_speaker(db, episode, label.strip().upper(), name)
    rows = speaker_summary(db, episode)
    print_rows(rows, fmt)
