"""A word-level diff of the verbatim words and an editor's version, as HTML."""
import difflib
import re

from markupsafe import Markup, escape

_TOKENS = re.compile(r"\s+|\w+|[^\w\s]")


def diff_html(verbatim, edited):
    """<del> for words the edit dropped, <ins> for words it added; everything escaped."""
    a, b = _TOKENS.findall(verbatim or ""), _TOKENS.findall(edited or "")
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append(escape("".join(a[i1:i2])))
            continue
        if i2 > i1:
            out.append(Markup("<del>{}</del>").format("".join(a[i1:i2])))
        if j2 > j1:
            out.append(Markup("<ins>{}</ins>").format("".join(b[j1:j2])))
    return Markup("").join(out)
