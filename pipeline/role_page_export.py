"""Role pages out of the database, in the seed page's structure: the role in one
sentence, who they work with, responsibilities, adjacent roles, then "Learn
from the pros": each person's profile with their quotes "On the role" and
their "Tips for would-be ...", cited to the second.

``role_page`` gathers the page as a plain dict; ``render_markdown`` and
``render_html`` write it. The Markdown reads back through
``role_pages.parse_role_page`` into the same fields, so a role page survives
``profiles import`` and this export unchanged.
"""
import json

from .citations import date_of, format_timestamp, timestamp_url
from .errors import PodpipeError
from .export import HTML_STYLE, _h, md_escape

__all__ = ["RolePageError", "role_page", "render_markdown", "render_html", "PER_PERSON"]

PER_PERSON = 5  # quotes, and tips, shown per person


class RolePageError(PodpipeError, ValueError):
    """A role page that cannot be made (no such role)."""


def _list(value):
    return json.loads(value) if value else []


def _plural(name):
    return name if name.endswith("s") else name + "s"


def _items(db, person_id, statuses):
    """A person's quotes and tips for the page: an editor's profile page always
    (unless rejected), transcript items in the chosen statuses; approved first,
    then by the extractor's score."""
    marks = ",".join("?" * len(statuses))
    rows = db.query(
        "select i.id, i.kind, coalesce(i.edited_text, i.text) as text, i.source, i.status, i.start, i.score, "
        "e.title as episode_title, e.published, e.link, e.enclosure_url from items i "
        "left join episodes e on e.id = i.episode_id where i.person_id = ? and ("
        f"(i.source = 'profile page' and i.status != 'rejected') or i.status in ({marks})) "
        "order by i.source = 'profile page' desc, i.status = 'approved' desc, i.score desc, i.id",
        [person_id, *statuses])
    out = {"quotes": [], "tips": []}
    for row in rows:
        key = "quotes" if row["kind"] == "quote" else "tips"
        if len(out[key]) >= PER_PERSON:
            continue
        cite = None
        if row["source"] != "profile page":
            cite = {"episode_title": row["episode_title"], "published": date_of(row["published"]),
                    "timestamp": format_timestamp(row["start"]),
                    "url": timestamp_url(row["link"], row["enclosure_url"], row["start"])}
        out[key].append({"id": row["id"], "text": row["text"], "status": row["status"], "citation": cite})
    return out


def role_page(db, role_name, *, statuses=("approved",)):
    """The page for a role as a dict: {"role": {...}, "people": [...]}.

    People are everyone filed under the role: those from an editor's profile
    page first, then those with the most items on the page.
    """
    role = db.execute("select * from roles where lower(name) = lower(?)", [role_name]).fetchone()
    if role is None:
        from .role_pages import normalize_role_name

        role = db.execute("select * from roles where lower(name) = lower(?)",
                          [normalize_role_name(role_name)]).fetchone()
    if role is None:
        known = ", ".join(r[0] for r in db.execute("select name from roles order by name"))
        raise RolePageError(f"no role named {role_name!r} (known: {known or 'none'})")
    role = dict(zip([d[0] for d in db.execute("select * from roles limit 0").description], role))
    people = []
    for person in db.query("select * from people where role_id = ? order by name", [role["id"]]):
        items = _items(db, person["id"], statuses)
        from_page = any(i["citation"] is None for i in items["quotes"] + items["tips"])
        people.append({**{k: person[k] for k in ("name", "title", "organization", "organization_description",
                                                  "location", "education", "background")}, **items,
                       "_order": (not from_page, -len(items["quotes"]) - len(items["tips"]), person["name"])})
    people.sort(key=lambda p: p.pop("_order"))
    return {"role": {"name": role["name"], "definition": role["definition"],
                     "works_with": _list(role["works_with"]), "responsibilities": _list(role["responsibilities"]),
                     "adjacent_roles": _list(role["adjacent_roles"])},
            "people": people}


def _and(values):
    values = list(values)
    return values[0] if len(values) == 1 else ", ".join(values[:-1]) + ", and " + values[-1]


def _facts(person):
    """What the background does not already say: organization, location, education."""
    background = person["background"] or ""
    facts = []
    if person["organization"] and person["organization"] not in background:
        org = person["organization"]
        if person["organization_description"]:
            org += f", {person['organization_description']}"
        facts.append(("Organization", org))
    for label, key in (("Location", "location"), ("Education", "education")):
        if person[key] and person[key] not in background:
            facts.append((label, person[key]))
    return facts


def _md_cite(cite):
    parts = []
    if cite["episode_title"]:
        parts.append(f"*{md_escape(cite['episode_title'])}*")
    if cite["published"]:
        parts.append(cite["published"])
    if cite["timestamp"]:
        stamp = f"\\[{cite['timestamp']}\\]"
        parts.append(f"[{stamp}](<{cite['url']}>)" if cite["url"] else stamp)
    return "— " + ", ".join(parts)


def render_markdown(page):
    """The page as Markdown in the seed's structure."""
    role, name = page["role"], page["role"]["name"]
    out = [f"# {md_escape(name)}", ""]
    if role["definition"]:
        out += [f"## {md_escape(name)} in one sentence", "", md_escape(role["definition"]), ""]
    if role["works_with"]:
        out += ["## Who do they work with?", "",
                f"{md_escape(_plural(name))} work closely with {md_escape(_and(role['works_with']))}.", ""]
    if role["responsibilities"]:
        out += ["## Responsibilities", ""] + [f"- {md_escape(r)}" for r in role["responsibilities"]] + [""]
    if role["adjacent_roles"]:
        out += ["## Adjacent roles", ""] + [f"- {md_escape(r)}" for r in role["adjacent_roles"]] + [""]
    out += ["## Learn from the pros", ""]
    if not page["people"]:
        out += ["Nobody in this role yet.", ""]
    for person in page["people"]:
        out += [f"### {md_escape(person['name'])}", ""]
        if person["title"]:
            out += [md_escape(person["title"]), ""]
        if person["background"]:
            out += [md_escape(person["background"]), ""]
        for label, value in _facts(person):
            out += [f"*{label}:* {md_escape(value)}", ""]
        for key, heading in (("quotes", "On the role"), ("tips", f"Tips for would-be {_plural(name).lower()}")):
            if person[key]:
                out += [f"#### {heading}", ""]
            for item in person[key]:
                out += [f'"{md_escape(item["text"])}"', ""]
                if item["citation"]:
                    out += [_md_cite(item["citation"]), ""]
    return "\n".join(out).rstrip("\n") + "\n"


def _html_cite(cite):
    parts = []
    if cite["episode_title"]:
        parts.append(f"<cite>{_h(cite['episode_title'])}</cite>")
    if cite["published"]:
        parts.append(f"<time datetime=\"{_h(cite['published'])}\">{_h(cite['published'])}</time>")
    if cite["timestamp"]:
        stamp = f"[{_h(cite['timestamp'])}]"
        parts.append(f"<a href=\"{_h(cite['url'])}\">{stamp}</a>" if cite["url"] else stamp)
    return "<figcaption>— " + ", ".join(parts) + "</figcaption>"


def render_html(page):
    """The page as one self-contained HTML file (inline CSS, no script allowed, every field escaped)."""
    role, name = page["role"], page["role"]["name"]
    out = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
           "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'\">",
           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">",
           f"<title>{_h(name)}</title>", f"<style>{HTML_STYLE}</style>", "</head>", "<body>", f"<h1>{_h(name)}</h1>"]
    if role["definition"]:
        out += [f"<h2>{_h(name)} in one sentence</h2>", f"<p>{_h(role['definition'])}</p>"]
    if role["works_with"]:
        out += ["<h2>Who do they work with?</h2>",
                f"<p>{_h(_plural(name))} work closely with {_h(_and(role['works_with']))}.</p>"]
    for heading, key in (("Responsibilities", "responsibilities"), ("Adjacent roles", "adjacent_roles")):
        if role[key]:
            out += [f"<h2>{heading}</h2>", "<ul>"] + [f"<li>{_h(v)}</li>" for v in role[key]] + ["</ul>"]
    out.append("<h2>Learn from the pros</h2>")
    for person in page["people"]:
        out += ["<section>", f"<h3>{_h(person['name'])}</h3>"]
        if person["title"]:
            out.append(f"<p><strong>{_h(person['title'])}</strong></p>")
        if person["background"]:
            out.append(f"<p>{_h(person['background'])}</p>")
        for label, value in _facts(person):
            out.append(f"<p class=\"meta\">{label}: {_h(value)}</p>")
        for key, heading in (("quotes", "On the role"), ("tips", f"Tips for would-be {_plural(name).lower()}")):
            if person[key]:
                out.append(f"<h4>{_h(heading)}</h4>")
            for item in person[key]:
                out.append(f"<figure><blockquote>“{_h(item['text'])}”</blockquote>")
                if item["citation"]:
                    out.append(_html_cite(item["citation"]))
                out.append("</figure>")
        out.append("</section>")
    out += ["</body>", "</html>"]
    return "\n".join(out) + "\n"
