"""Role pages and guest profiles: parsing them into plain dicts.

A role page describes one role ("Product Manager"): a one-sentence definition,
who they work with, responsibilities, adjacent roles, and "Learn from the pros"
profiles of people in the role with their quotes and tips. We read two shapes:

* Markdown, with ``#`` headings (see ``feeds/demo/product-manager.md``);
* plain text copied from a web page, where headings are bare lines
  ("Product management in one sentence", "Learn from the pros", ...).

Both become the same structure::

    {"role": {"name", "definition", "works_with", "responsibilities", "adjacent_roles"},
     "roles": [that role],
     "people": [{"name", "title", "role", "organization", "organization_description",
                 "location", "education", "background", "quotes", "tips"}]}

``parse_profiles`` reads a ``profiles.yaml`` (or JSON) list of people into the
same shape. Nothing here touches the database.
"""
import json
import re
from collections import Counter

import yaml

__all__ = [
    "parse_role_page",
    "parse_profiles",
    "parse_profiles_yaml",
    "parse_profiles_json",
    "parse_bio",
    "normalize_role_name",
]

# --- role names -------------------------------------------------------------

# Field of work -> the person doing it, for the last word of a role name.
_PERSON_NOUN = {
    "management": "Manager",
    "engineering": "Engineer",
    "design": "Designer",
    "science": "Scientist",
    "analytics": "Analyst",
    "analysis": "Analyst",
    "research": "Researcher",
    "development": "Developer",
    "leadership": "Lead",
    "consulting": "Consultant",
}
_PLURAL = re.compile(r"(?<=[a-z])(er|or|ist|yst|ant|ent|ect|ead)s$")


def normalize_role_name(name):
    """The singular person noun for a role: "Product Management" -> "Product Manager".

    Also drops a trailing "role(s)" and plurals ("Business Analysts roles" ->
    "Business Analyst"). Names already naming a person come back unchanged.
    """
    if not name:
        return name
    words = re.sub(r"\s+", " ", name).strip(" .,;:").split(" ")
    if len(words) > 1 and words[-1].lower() in ("role", "roles"):
        words = words[:-1]
    last = words[-1]
    if last.lower() in _PERSON_NOUN:
        words[-1] = _PERSON_NOUN[last.lower()]
    else:
        words[-1] = _PLURAL.sub(r"\1", last)
    return " ".join(words)


def _split_list(text):
    """ "Engineering, Marketing, and Sales." -> ["Engineering", "Marketing", "Sales"]"""
    text = text.strip().rstrip(".;:")
    parts = re.split(r",\s*(?:and|&)\s+|,\s*|\s+(?:and|&)\s+", text)
    return [p.strip() for p in parts if p.strip()]


# --- sections -----------------------------------------------------------------
# Both page shapes are first cut into sections: {"level", "title", "paragraphs",
# "bullets"}; each paragraph is a list of its lines. One interpreter then reads them.

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•‣◦▪]|\d+[.)])\s+(.*\S)\s*$")

_ONE_SENTENCE = re.compile(r"\bin one sentence\b", re.I)
_WORKS_WITH = re.compile(r"\bwork(?:s)? with\b", re.I)
_RESPONSIBILITIES = re.compile(r"^(?:key |main )?responsibilit|^what (?:do )?they do", re.I)
_ADJACENT = re.compile(r"\badjacent\b|\brelated roles\b", re.I)
_PROS = re.compile(r"^learn from the pros\b|^(?:the )?pros$|^profiles?$", re.I)
_END = re.compile(r"^(?:other|further|more) resources\b|^see also\b", re.I)
_QUOTES = re.compile(r"\bon the (?:role|job)\b|\bquotes?\b|\bin (?:her|his|their) own words\b", re.I)
_TIPS = re.compile(r"^tips?\b|\btips for\b|\badvice\b", re.I)


def _section(level, title):
    return {"level": level, "title": title, "paragraphs": [], "bullets": []}


def _blocks(lines):
    """Group lines into ("para", [lines]) and ("bullet", text) blocks."""
    para = []
    for line in lines:
        bullet = _BULLET.match(line)
        if not line.strip() or bullet:
            if para:
                yield "para", para
                para = []
            if bullet:
                yield "bullet", bullet.group(1)
        else:
            para.append(line.strip())
    if para:
        yield "para", para


def _markdown_sections(text):
    sections = [_section(0, None)]
    body = []

    def flush():
        for kind, value in _blocks(body):
            if kind == "bullet":
                sections[-1]["bullets"].append(_strip_md(value))
            else:
                sections[-1]["paragraphs"].append([_strip_md(re.sub(r"^>\s?", "", v)) for v in value])
        body.clear()

    for line in text.splitlines():
        m = _MD_HEADING.match(line)
        if m:
            flush()
            sections.append(_section(len(m.group(1)), _strip_md(m.group(2))))
        else:
            body.append(line)
    flush()
    return sections


def _strip_md(text):
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)  # [label](url) -> label
    text = re.sub(r"(\*\*|__|\*|_)(\S(?:.*?\S)?)\1", r"\2", text).strip()
    return re.sub(r"\\([\\`*_\[\]<>#!|~&+=.)-])", r"\1", text)  # what our exports escape


def _looks_like_heading(line):
    return len(line) <= 80 and not re.search(r"[.!\"”:]$", line)


def _plain_heading(line, in_pros):
    """The level of a bare heading line of a plain-text role page, or None."""
    if not _looks_like_heading(line):
        return None
    if (_ONE_SENTENCE.search(line) or re.match(r"^who do they work with\b", line, re.I)
            or _RESPONSIBILITIES.search(line) or (_ADJACENT.search(line) and len(line.split()) <= 3)
            or _PROS.search(line) or _END.search(line)):
        return 2
    if in_pros and (_QUOTES.search(line) or _TIPS.search(line)):
        return 4
    return None


def _plain_sections(text):
    """Recognise the bare heading lines of a role page copied as plain text.

    A heading may sit on its own or directly above its text with no blank line
    between ("Product management in one sentence" / the sentence).
    """
    sections = [_section(0, None)]
    in_pros = False
    for kind, value in _blocks(text.splitlines()):
        if kind == "bullet":
            sections[-1]["bullets"].append(value)
            continue
        lines = value
        if sections[0]["title"] is None and len(sections) == 1 and not sections[0]["paragraphs"]:
            sections[0] = _section(1, lines[0])  # the page title
            rest = lines[1:]
        elif (level := _plain_heading(lines[0], in_pros)):
            sections.append(_section(level, lines[0]))
            if level == 2:
                in_pros = bool(_PROS.search(lines[0]))
            rest = lines[1:]
        elif in_pros and _is_name(lines[0]) and (
                (len(lines) > 1 and _looks_like_heading(lines[1])) or _ends_person_section(sections)):
            # "Corie Miller" / "Product Manager" (the title line is optional)
            sections.append(_section(3, lines[0]))
            if len(lines) > 1 and _looks_like_heading(lines[1]):
                sections[-1]["paragraphs"].append([lines[1]])
                rest = lines[2:]
            else:
                rest = lines[1:]
        else:
            rest = lines
        if rest:
            sections[-1]["paragraphs"].append(rest)
    return sections


def _is_name(line):
    """Two to four capitalised words and nothing else, as in "Corie Miller"."""
    words = line.split()
    return (2 <= len(words) <= 4 and len(line) <= 60 and not any(c.isdigit() for c in line)
            and all(w[0].isupper() and re.fullmatch(r"[\w'’.-]+", w) for w in words))


def _ends_person_section(sections):
    # a lone name line starts a new person only right after the pros heading or a quotes/tips block
    return sections[-1]["level"] in (2, 4)


def _is_markdown(text):
    return any(_MD_HEADING.match(line) for line in text.splitlines())


# --- interpretation -----------------------------------------------------------

def _join(paragraph):
    return " ".join(paragraph).strip()


def _unquote(text):
    text = text.strip()
    pairs = {'"': '"', "“": "”", "'": "'", "‘": "’"}
    if len(text) > 1 and text[0] in pairs and text[-1] == pairs[text[0]]:
        text = text[1:-1].strip()
    return text


def _works_with(paragraphs):
    for para in paragraphs:
        text = _join(para)
        m = re.search(r"\bwith\s+(.+)$", text)
        if m:
            return _split_list(m.group(1))
    return _split_list(_join(paragraphs[0])) if paragraphs else []


_SUCH_AS = re.compile(r"\bsuch as\s+(.+?)(?:\s+roles?)?\s*(?:[.;]|$)", re.I)


def _adjacent_from_text(paragraphs):
    for para in paragraphs:
        text = _join(para)
        if not re.search(r"adjacent|related|roles", text, re.I):
            continue
        m = _SUCH_AS.search(text)
        if m:
            return [normalize_role_name(r) for r in _split_list(m.group(1))]
    return []


def _interpret(sections):
    title = next((s["title"] for s in sections if s["level"] == 1), None)
    role = {"name": normalize_role_name(title), "definition": None, "works_with": [],
            "responsibilities": [], "adjacent_roles": []}

    pros_at = next((i for i, s in enumerate(sections) if s["level"] == 2 and _PROS.search(s["title"])),
                   len(sections))
    role_sections = sections[:pros_at]
    loose_bullets, loose_paragraphs = [], []
    for s in role_sections:
        t = s["title"] or ""
        if _ONE_SENTENCE.search(t) and s["paragraphs"]:
            role["definition"] = _join(s["paragraphs"][0])
        elif _WORKS_WITH.search(t) and s["paragraphs"] and not role["works_with"]:
            role["works_with"] = _works_with(s["paragraphs"][:1])
            loose_paragraphs += s["paragraphs"][1:]
            loose_bullets += s["bullets"]
            continue
        elif _RESPONSIBILITIES.search(t) and s["bullets"]:
            role["responsibilities"] = list(s["bullets"])
            continue
        elif _ADJACENT.search(t):
            role["adjacent_roles"] = ([normalize_role_name(b) for b in s["bullets"]]
                                      or _adjacent_from_text(s["paragraphs"]))
            continue
        loose_paragraphs += s["paragraphs"]
        loose_bullets += s["bullets"]
    # plain-text pages have no headings for these, so we take what is left
    if not role["responsibilities"]:
        role["responsibilities"] = loose_bullets
    if not role["adjacent_roles"]:
        role["adjacent_roles"] = _adjacent_from_text(loose_paragraphs)

    people = []
    for s in sections[pros_at + 1:]:
        if s["level"] <= 2:
            break  # "Other resources" or any next top section ends the profiles
        if s["level"] == 3:
            people.append(_person(s, role["name"]))
        elif people and s["level"] >= 4:
            key = "quotes" if _QUOTES.search(s["title"]) else "tips" if _TIPS.search(s["title"]) else None
            if key:
                # "— Episode, date, [mm:ss]" under an item is its citation, not another item
                people[-1][key] += [_unquote(_join(p)) for p in s["paragraphs"] if not _join(p).startswith("— ")]
                people[-1][key] += [_unquote(b) for b in s["bullets"]]
    return {"role": role, "roles": [role], "people": people}


_FACT = re.compile(r"^(Organization|Location|Education): (.+)$")


def _person(section, role_name):
    paragraphs = [_join(p) for p in section["paragraphs"]]
    # "Organization: ..." lines that our role page export writes when the background does not say it
    stated = {m[1].lower(): m[2] for m in map(_FACT.match, paragraphs) if m}
    paragraphs = [p for p in paragraphs if not _FACT.match(p)]
    title = None
    if paragraphs and _looks_like_heading(paragraphs[0]) and not paragraphs[0].startswith(('"', "“")):
        title = paragraphs.pop(0)
    bio = "\n\n".join(paragraphs) or None
    facts = parse_bio(bio or "")
    if "organization" in stated:
        org, _, desc = stated["organization"].partition(", ")
        facts.update(organization=org, organization_description=desc or None)
    facts.update({k: v for k, v in stated.items() if k != "organization"})
    return {
        "name": section["title"],
        "title": title or facts["title"],
        "role": role_name,
        "organization": facts["organization"],
        "organization_description": facts["organization_description"],
        "location": facts["location"],
        "education": facts["education"],
        "background": bio,
        "quotes": [],
        "tips": [],
    }


# --- biographies --------------------------------------------------------------

_SENTENCE_END = r"(?=\.\s|\.?$)"
_JOB = re.compile(r"\b(?:is|was|works as|serves as) (?:a|an|the) (?P<title>[^,.]+?) (?:for|at|with) "
                  r"(?P<org>[^,.]+?)(?:,\s*(?P<desc>[^.]+?))?" + _SENTENCE_END)
_LOCATION = re.compile(r",?\s*\b(?:based|headquartered|located) in (?P<loc>[^,.;]+?)\s*$")
_STOP = r"(?=\s+(?:before|and|then|after|where|while|to)\b|[,;.]|$)"
_EDUCATION = [
    re.compile(r"\bgraduat(?:ed|ing) from (?P<school>.+?) with (?:a|an) (?:[\w.'-]+ )*?degree in "
               r"(?P<field>.+?)" + _STOP),
    re.compile(r"\bholds? (?:a|an) (?:[\w.'-]+ )*?degree in (?P<field>.+?) from (?P<school>.+?)" + _STOP),
    re.compile(r"\b(?:studied|majored in) (?P<field>.+?) at (?P<school>.+?)" + _STOP),
    re.compile(r"\bgraduat(?:ed|ing) from (?P<school>.+?)" + _STOP),
]


def split_location(description):
    """ "a platform ... based in New York" -> ("a platform ...", "New York")."""
    if not description:
        return description, None
    m = _LOCATION.search(description)
    if not m:
        return description.strip() or None, None
    return description[:m.start()].strip(" ,") or None, m.group("loc").strip()


def parse_bio(bio):
    """Title, organization, its description, location and education from a short bio.

    Simple patterns only ("is a TITLE for ORG, DESCRIPTION based in LOCATION.",
    "graduated from SCHOOL with a degree in FIELD"); fields we cannot find are None.
    """
    facts = dict.fromkeys(["title", "organization", "organization_description", "location", "education"])
    m = _JOB.search(bio)
    if m:
        facts["title"] = m.group("title").strip()
        org, org_loc = split_location(m.group("org"))
        desc, desc_loc = split_location(m.group("desc"))
        facts.update(organization=org, organization_description=desc, location=desc_loc or org_loc)
    for pattern in _EDUCATION:
        m = pattern.search(bio)
        if m:
            field = m.groupdict().get("field")
            facts["education"] = f"{m.group('school').strip()}, {field.strip()}" if field else m.group("school").strip()
            break
    return facts


# --- public entry points --------------------------------------------------------

def parse_role_page(text):
    """Parse a role page (Markdown or plain text) into {"role", "roles", "people"}."""
    sections = _markdown_sections(text) if _is_markdown(text) else _plain_sections(text)
    return _interpret(sections)


def parse_profiles(data):
    """Role profiles ({"people": [...]}, or a bare list) from YAML or JSON text, or parsed data.

    Each person's "role" names their role; the result has the shape of
    ``parse_role_page``: "roles" lists every distinct role and "role" is the
    most common one (None when there are no people).
    """
    if isinstance(data, (str, bytes)):
        try:
            data = yaml.safe_load(data)  # JSON is (for our purposes) YAML too
        except yaml.YAMLError as e:
            raise ValueError(f"profiles are neither YAML nor JSON: {e}") from None
    people_in = data.get("people") if isinstance(data, dict) else data
    if not isinstance(people_in, list):
        raise ValueError('profiles must be a list of people or a mapping with a "people" list')
    people, roles = [], {}
    for n, p in enumerate(people_in, 1):
        if not isinstance(p, dict) or not p.get("name"):
            raise ValueError(f"profile {n} has no name")
        p = checked_profile(p, n)
        role = normalize_role_name(p.get("role") or p.get("title"))
        desc, desc_loc = split_location(p.get("org_description") or p.get("organization_description"))
        location = p.get("location") or desc_loc
        if desc_loc and location and desc_loc != location:
            desc = p.get("org_description") or p.get("organization_description")  # keep what it said
        people.append({
            "name": p["name"],
            "title": p.get("title"),
            "role": role,
            "organization": p.get("organization"),
            "organization_description": desc,
            "location": location,
            "education": p.get("education"),
            "background": p.get("background"),
            "quotes": list(p.get("quotes") or []),
            "tips": list(p.get("tips") or []),
        })
        if role and role not in roles:
            roles[role] = {"name": role, "definition": None, "works_with": [],
                           "responsibilities": [], "adjacent_roles": []}
    counts = Counter(p["role"] for p in people if p["role"])
    main = roles[counts.most_common(1)[0][0]] if counts else None
    return {"role": main, "roles": list(roles.values()), "people": people}


PROFILE_TEXT_FIELDS = ("name", "title", "role", "organization", "org_description", "organization_description",
                       "location", "education", "background")
PROFILE_LIST_FIELDS = ("quotes", "tips")


def _kind(value):
    return {str: "a string", bool: "true/false", int: "a number", float: "a number", list: "a list",
            dict: "a mapping"}.get(type(value), type(value).__name__)


def checked_profile(p, n):
    """p with its fields checked: text fields are text (numbers become text),
    quotes and tips are lists of text. Raises ValueError naming the field."""
    where = f"profile {n} ({p['name']})" if isinstance(p.get("name"), str) else f"profile {n}"
    p = dict(p)
    for key in PROFILE_TEXT_FIELDS:
        value = p.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            p[key] = str(value)
        elif value is not None and not isinstance(value, str):
            raise ValueError(f'{where}: "{key}" must be text, not {_kind(value)}')
    for key in PROFILE_LIST_FIELDS:
        value = p.get(key)
        if value is None:
            continue
        if not isinstance(value, list):
            raise ValueError(f'{where}: "{key}" must be a list of text, not {_kind(value)}')
        for i, line in enumerate(value, 1):
            if not isinstance(line, str) or not line.strip():
                raise ValueError(f'{where}: "{key}" item {i} must be text, not {_kind(line)}'
                                 if not isinstance(line, str) else f'{where}: "{key}" item {i} is empty')
    return p


def parse_profiles_yaml(text):
    """Parse the ``profiles.yaml`` that the evaluation corpus's build.py writes."""
    return parse_profiles(text)


def parse_profiles_json(text):
    """Parse profiles given as JSON (same fields as profiles.yaml)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(f"profiles are not valid JSON: {e}") from None
    return parse_profiles(data)
