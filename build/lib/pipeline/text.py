"""Small text helpers shared by the stages."""
import re
import unicodedata


def slugify(text, max_length=60):
    """ASCII, lower-case, hyphenated: safe in file names and URLs."""
    text = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug[:max_length].rstrip("-")
