"""The role taxonomy: rules from titles and descriptions to roles, and loading it."""
import json

import pytest
from sqlite_utils import Database

from pipeline.taxonomy import UNKNOWN, TaxonomyError, classify, load_taxonomy, save_roles


@pytest.mark.parametrize("title, role", [
    ("Chief Product Officer", "Product Leader"),
    ("VP of Product", "Product Leader"),
    ("Head of Product", "Product Leader"),
    ("President of Product and Technology", "Product Leader"),
    ("Senior Director of Product Management", "Product Leader"),
    ("Product Manager", "Product Manager"),
    ("Product Lead", "Product Manager"),
    ("Senior Product Manager", "Product Manager"),
    ("CEO and Founder", "Founder"),
    ("Co-founder and CEO", "Founder"),
    ("General Partner", "Investor"),
    ("Partner", "Advisor"),
    ("Senior Partner", "Advisor"),
    ("Design Leader", "Designer"),
    ("Head of Design", "Designer"),
    ("Staff Software Engineer", "Software Engineer"),
    ("CTO", "Software Engineer"),
    ("Head of Marketing Technology", "Growth Marketer"),
    ("SVP of Growth", "Growth Marketer"),
    ("GM of Enterprise", "Sales Leader"),
    ("Head of Data Science", "Data Scientist"),
    ("UX Researcher", "Designer"),
    ("User Researcher", "Researcher"),
    ("Technical Program Manager", "Project Manager"),
    ("Business Analyst", "Business Analyst"),
    ("COO", "Executive"),
    ("Author, Speaker, and Advisor", "Author"),
    ("Executive Coach", "Advisor"),
])
def test_title_to_role(title, role):
    assert classify(title)[0] == role


def test_past_title_then_description_then_unknown():
    assert classify(None, ["Head of New Product Strategy"])[0] == "Product Leader"
    assert classify(None, [], ["His book, The Pathless Path, chronicles..."])[0] == "Author"
    assert classify(None, [], ["They teach the most popular course on AI evals and trained 2,000 PMs."])[0] == "Advisor"
    assert classify(None, [], ["He spent 13 years at Google."]) == (UNKNOWN, "no title and no cue")


def test_the_seed_roles_are_in_the_taxonomy():
    roles = {r["name"]: r for r in load_taxonomy()}
    assert roles["Product Manager"]["adjacent_roles"] == ["Project Manager", "Software Engineer", "Business Analyst"]
    assert {"Project Manager", "Software Engineer", "Business Analyst"} <= set(roles)


def test_save_roles_fills_but_never_overwrites():
    db = Database(memory=True)
    db["roles"].insert({"id": 1, "name": "Product Manager", "definition": "An editor's words.", "works_with": None,
                        "responsibilities": None, "adjacent_roles": None}, pk="id")
    added = save_roles(db)
    assert added == len(load_taxonomy())  # every role but Product Manager, plus Unknown
    pm = db["roles"].get(1)
    assert pm["definition"] == "An editor's words."
    assert json.loads(pm["works_with"]) == ["Engineering", "Marketing", "Sales"]
    assert save_roles(db) == 0


def test_a_broken_taxonomy_is_an_error(tmp_path):
    path = tmp_path / "roles.yaml"
    path.write_text("roles:\n  - name: X\n    titles: ['(']\n")
    with pytest.raises(TaxonomyError, match="bad pattern"):
        load_taxonomy(path)
