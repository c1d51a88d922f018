"""podpipe profiles: importing, listing and showing people, linking and merging them."""
import sys

import click

from ..output import output_options, print_rows
from .options import EXIT_FAILED, db_option, get_db


@click.group()
def profiles():
    """Role profiles: roles and the people who hold them."""


@profiles.command(name="import")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@db_option
def profiles_import(paths, db_path):
    """Import role pages (Markdown, text) or profile files (YAML, JSON)."""
    from ..profiles import ProfileError, import_profiles

    db = get_db(db_path, lock=True, create=True)
    failed = False
    for path in paths:
        try:
            counts = import_profiles(db, path)
        except ProfileError as exc:
            click.echo(f"failed: {exc}", err=True)
            failed = True
            continue
        click.echo(f"imported: {path}: {counts['roles']} roles, {counts['people']} people, "
                   f"{counts['items']} new quotes and tips")
    if failed:
        sys.exit(EXIT_FAILED)


@profiles.command(name="list")
@db_option
@output_options
def profiles_list(db_path, fmt):
    """List people with their role and how many items they have."""
    db = get_db(db_path)
    from ..profiles import list_people

    print_rows(list_people(db), fmt)


def _clock(seconds):
    seconds = int(seconds or 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60:02d}:{seconds % 60:02d}"


@profiles.command(name="show")
@click.argument("name")
@click.option("--limit", type=click.IntRange(1), default=5, show_default=True, help="Quotes and tips to show of each")
@db_option
def profiles_show(name, limit, db_path):
    """Show a person's profile, role, quotes and tips with citations."""
    import json as _json

    from ..profiles import profile

    db = get_db(db_path)
    found = profile(db, name, per_kind=limit)
    if not found:
        raise click.ClickException(f"no person named {name!r} (see 'podpipe profiles list')")
    person, role = found["person"], found["role"]
    click.echo(person["name"])
    for label, key in (("Title", "title"), ("Organization", "organization"),
                       ("About the organization", "organization_description"), ("Location", "location"),
                       ("Education", "education"), ("Background", "background")):
        if person[key]:
            click.echo(f"{label}: {person[key]}")
    past = [h for h in _json.loads(person.get("history") or "[]") if h["tense"] == "past"]
    if past:
        click.echo("Before: " + "; ".join(f"{h['title']} at {h['organization']}" if h["organization"]
                                          else h["title"] for h in past))
    if role:
        click.echo(f"\nRole: {role['name']}")
        if role["definition"]:
            click.echo(f"  {role['definition']}")
        for label, key in (("Works with", "works_with"), ("Responsibilities", "responsibilities"),
                           ("Adjacent roles", "adjacent_roles")):
            if role[key]:
                values = _json.loads(role[key])
                click.echo(f"  {label}: " + ("; ".join(values) if isinstance(values, list) else values))
    for kind, heading in (("quote", "Quotes"), ("tip", "Tips")):
        items = [i for i in found["items"] if i["kind"] == kind]
        if items:
            click.echo(f"\n{heading}:")
        for item in items:
            cite = ("profile page" if item["source"] == "profile page"
                    else f"{item['episode_title']} ({(item['published'] or '')[:10]}) [{_clock(item['start'])}]")
            click.echo(f'  "{item["text"]}"\n    — {cite}')
    if found["episodes"]:
        click.echo("\nEpisodes:")
        for ep in found["episodes"]:
            click.echo(f"  {ep['id']}: {ep['title']} ({ep['role']})")


@profiles.command(name="link")
@click.argument("label")
@click.argument("person")
@click.option("--episode", type=int, help="Only in this episode")
@db_option
def profiles_link(label, person, episode, db_path):
    """Confirm that a speaker LABEL is PERSON (kept as an alias)."""
    from ..profiles import link_person

    db = get_db(db_path)
    link_person(db, label, person, episode)
    click.echo(f"linked: {label} -> {person}")


@profiles.command(name="merge")
@click.argument("keep")
@click.argument("other")
@db_option
def profiles_merge(keep, other, db_path):
    """Merge person OTHER into KEEP (items, episodes and names move over)."""
    from ..profiles import merge_people

    db = get_db(db_path)
    merge_people(db, keep, other)
    click.echo(f"merged: {other} -> {keep}")


@profiles.command(name="matches")
@db_option
@output_options
def profiles_matches(db_path, fmt):
    """Uncertain speaker-to-person matches waiting for an editor."""
    db = get_db(db_path)
    from ..link import pending_matches

    print_rows(pending_matches(db), fmt)
