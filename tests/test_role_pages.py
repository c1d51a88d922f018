import json
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pipeline.role_pages import (
    normalize_role_name,
    parse_bio,
    parse_profiles,
    parse_profiles_json,
    parse_profiles_yaml,
    parse_role_page,
)

PROJECT = Path(__file__).resolve().parents[1]
SHARED = Path(__file__).resolve().parents[2] / "shared"
SEED = SHARED / "seeds" / "000_e81e171a70aac021.txt"
DEMO_PAGE = PROJECT / "feeds" / "demo" / "product-manager.md"

SEED_RESPONSIBILITIES = [
    "Be a product evangelist & champion within the company",
    "Define the market and customer",
    "Determine launch timing and create sales and marketing materials about the product",
    "Define the problem the product is solving and product's value proposition",
    "Conduct competitive analysis on other products",
    "Define the product requirements and roadmap",
    "Be the internal and external stakeholder for product communication",
]
ADJACENT = ["Project Manager", "Software Engineer", "Business Analyst"]


@pytest.fixture
def seed_text():
    if not SEED.exists():
        pytest.skip(f"seed page not found at {SEED}")
    return SEED.read_text()


def test_seed_page_role(seed_text):
    page = parse_role_page(seed_text)
    assert page["role"] == {
        "name": "Product Manager",
        "definition": "Product management is a cross-functional role responsible for defining, "
                      "delivering, and improving a product.",
        "works_with": ["Engineering", "Marketing", "Sales"],
        "responsibilities": SEED_RESPONSIBILITIES,
        "adjacent_roles": ADJACENT,
    }
    assert page["roles"] == [page["role"]]


def test_seed_page_person(seed_text):
    people = parse_role_page(seed_text)["people"]
    assert len(people) == 1
    corie = people[0]
    quotes, tips = corie.pop("quotes"), corie.pop("tips")
    assert corie == {
        "name": "Corie Miller",
        "title": "Product Manager",
        "role": "Product Manager",
        "organization": "#BUILTBYGIRLS",
        "organization_description": "a mentorship platform helping young women find mentors in the tech space",
        "location": "New York",
        "education": "Washington University, Physics",
        "background": "Corie is a Product Manager for #BUILTBYGIRLS, a mentorship platform helping young "
                      "women find mentors in the tech space based in New York. Corie graduated from "
                      "Washington University with a degree in Physics before starting her career in "
                      "Product Management.",
    }
    assert len(quotes) == 3
    assert quotes[0].startswith("Product management is about customers. It's about the business.")
    assert quotes[1].endswith("do product research and strategic planning.")  # the stray space is gone
    assert quotes[2].startswith("As a one person Product Management team")
    assert not any(q.startswith('"') or q.endswith('"') for q in quotes + tips)
    # the seed's own wording, typo included: we quote, we do not correct
    assert tips == ["You don't need a computer science background to get into product management. "
                    "You should, however, by willing to learn some fundamental technical skills. "
                    "It will help understand the development process and make you a better PM."]


def test_demo_markdown_page():
    page = parse_role_page(DEMO_PAGE.read_text())
    assert page["role"] == {
        "name": "Product Manager",
        "definition": "A product manager works across teams to decide what a product should do, "
                      "get it built and shipped, and keep making it better.",
        "works_with": ["Engineering", "Marketing", "Sales"],
        "responsibilities": [
            "Speak up for the product inside the company and keep everyone excited about it",
            "Work out which market the product serves and who its customers are",
            "Choose when to launch and help prepare the sales and marketing story",
            "Say clearly which problem the product solves and why customers should care",
            "Study competing products and what they do better or worse",
            "Write the requirements and keep the roadmap up to date",
            "Be the point of contact for anyone, inside or outside, with questions about the product",
        ],
        "adjacent_roles": ADJACENT,
    }
    [corie] = page["people"]
    quotes, tips = corie.pop("quotes"), corie.pop("tips")
    assert corie == {
        "name": "Corie Miller",
        "title": "Product Manager",
        "role": "Product Manager",
        "organization": "#BUILTBYGIRLS",
        "organization_description": "a mentorship platform helping young women find mentors in tech",
        "location": "New York",
        "education": "Washington University, Physics",
        "background": "Corie is a Product Manager for #BUILTBYGIRLS, a mentorship platform helping young "
                      "women find mentors in tech, based in New York. She graduated from Washington "
                      "University with a degree in Physics and then moved into product management.",
    }
    assert len(quotes) == 3
    assert quotes[0].startswith("Product management is about customers. It's about the business.")
    assert tips == ["You don't need a computer science background to get into product management. "
                    "You should, however, be willing to learn some fundamental technical skills. "
                    "It will help you understand the development process and make you a better PM."]


def test_seed_and_markdown_agree_on_the_facts(seed_text):
    seed, demo = parse_role_page(seed_text), parse_role_page(DEMO_PAGE.read_text())
    keys = ["name", "title", "organization", "location", "education"]
    assert [{k: p[k] for k in keys} for p in seed["people"]] == [{k: p[k] for k in keys} for p in demo["people"]]
    for key in ("name", "works_with", "adjacent_roles"):
        assert seed["role"][key] == demo["role"][key]
    assert len(seed["role"]["responsibilities"]) == len(demo["role"]["responsibilities"]) == 7


MARKDOWN_TWO_PEOPLE = """\
# Data Science

## In one sentence
Data scientists turn data into decisions.

## Who they work with
Product, Engineering & Finance

## Adjacent roles
Such roles include several related roles, such as Data Engineering and Business Analysis roles.

## Learn from the pros

### Ana Lopez
*Senior Data Scientist*

Ana is a Senior Data Scientist at Acme Maps, a mapping startup headquartered in Lisbon.
She holds a master's degree in Statistics from the University of Porto.

#### On the role
> "Most of the job is asking a better question."

#### Tips
- "Learn SQL before anything else."
- "Show your work."

### Ben Ito
Data Scientist

Ben studied Mathematics at Kyoto University.

#### Quotes
"Models are opinions with error bars."

## Other resources
- [A link](https://example.com)
"""


def test_markdown_with_two_people_and_no_responsibilities():
    page = parse_role_page(MARKDOWN_TWO_PEOPLE)
    assert page["role"] == {
        "name": "Data Scientist",
        "definition": "Data scientists turn data into decisions.",
        "works_with": ["Product", "Engineering", "Finance"],
        "responsibilities": [],
        "adjacent_roles": ["Data Engineer", "Business Analyst"],
    }
    assert page["people"] == [
        {
            "name": "Ana Lopez", "title": "Senior Data Scientist", "role": "Data Scientist",
            "organization": "Acme Maps", "organization_description": "a mapping startup",
            "location": "Lisbon", "education": "the University of Porto, Statistics",
            "background": "Ana is a Senior Data Scientist at Acme Maps, a mapping startup headquartered "
                          "in Lisbon. She holds a master's degree in Statistics from the University of Porto.",
            "quotes": ["Most of the job is asking a better question."],
            "tips": ["Learn SQL before anything else.", "Show your work."],
        },
        {
            "name": "Ben Ito", "title": "Data Scientist", "role": "Data Scientist",
            "organization": None, "organization_description": None, "location": None,
            "education": "Kyoto University, Mathematics",
            "background": "Ben studied Mathematics at Kyoto University.",
            "quotes": ["Models are opinions with error bars."],
            "tips": [],
        },
    ]


def test_plain_page_without_pros():
    page = parse_role_page("UX Design\n\nUX design in one sentence\nDesigners shape how a product feels.\n")
    assert page["role"]["name"] == "UX Designer"
    assert page["role"]["definition"] == "Designers shape how a product feels."
    assert page["people"] == []


@pytest.mark.parametrize("name,expected", [
    ("Product Management", "Product Manager"),
    ("Product Manager", "Product Manager"),
    ("Software Engineering", "Software Engineer"),
    ("Business Analyst roles", "Business Analyst"),
    ("Project Managers", "Project Manager"),
    ("Technical Product Manager", "Technical Product Manager"),
    ("Data Science", "Data Scientist"),
    (None, None),
])
def test_normalize_role_name(name, expected):
    assert normalize_role_name(name) == expected


def test_parse_bio_leaves_unknowns_empty():
    assert parse_bio("Priya loves hiking.") == {
        "title": None, "organization": None, "organization_description": None,
        "location": None, "education": None,
    }
    assert parse_bio("Sam is the Head of Product at Ledgerline. Sam graduated from MIT.") == {
        "title": "Head of Product", "organization": "Ledgerline", "organization_description": None,
        "location": None, "education": "MIT",
    }


# profiles.yaml as the evaluation corpus's build.py writes it (one entry per guest)
PROFILES_YAML = """\
people:
- name: Corie Miller
  title: Product Manager
  role: Product Manager
  organization: '#BUILTBYGIRLS'
  org_description: a mentorship platform helping young women find mentors in the tech space, based in New York
  location: New York
  education: Washington University, Physics
- name: Dana Reyes
  title: Product Marketing Manager
  role: Product Manager
  organization: Quillcast
  org_description: a maker of transcription tools, based in Austin
  location: Austin
  education: University of Texas, Journalism
- name: Lee Park
  title: Staff Engineer
  role: Software Engineering
  organization: Quillcast
"""

PROFILES_EXPECTED = {
    "role": {"name": "Product Manager", "definition": None, "works_with": [],
             "responsibilities": [], "adjacent_roles": []},
    "roles": [
        {"name": "Product Manager", "definition": None, "works_with": [],
         "responsibilities": [], "adjacent_roles": []},
        {"name": "Software Engineer", "definition": None, "works_with": [],
         "responsibilities": [], "adjacent_roles": []},
    ],
    "people": [
        {"name": "Corie Miller", "title": "Product Manager", "role": "Product Manager",
         "organization": "#BUILTBYGIRLS",
         "organization_description": "a mentorship platform helping young women find mentors in the tech space",
         "location": "New York", "education": "Washington University, Physics",
         "background": None, "quotes": [], "tips": []},
        {"name": "Dana Reyes", "title": "Product Marketing Manager", "role": "Product Manager",
         "organization": "Quillcast", "organization_description": "a maker of transcription tools",
         "location": "Austin", "education": "University of Texas, Journalism",
         "background": None, "quotes": [], "tips": []},
        {"name": "Lee Park", "title": "Staff Engineer", "role": "Software Engineer",
         "organization": "Quillcast", "organization_description": None,
         "location": None, "education": None,
         "background": None, "quotes": [], "tips": []},
    ],
}


def test_parse_profiles_yaml():
    assert parse_profiles_yaml(PROFILES_YAML) == PROFILES_EXPECTED


def test_parse_profiles_json_and_bare_list():
    data = yaml.safe_load(PROFILES_YAML)
    assert parse_profiles_json(json.dumps(data)) == PROFILES_EXPECTED
    assert parse_profiles(json.dumps(data["people"])) == PROFILES_EXPECTED
    assert parse_profiles(data) == PROFILES_EXPECTED


def test_parse_profiles_empty_and_bad_input():
    assert parse_profiles("people: []") == {"role": None, "roles": [], "people": []}
    with pytest.raises(ValueError, match="list of people"):
        parse_profiles("just a string")
    with pytest.raises(ValueError, match="profile 1 has no name"):
        parse_profiles("people: [{title: PM}]")
    with pytest.raises(ValueError, match="not valid JSON"):
        parse_profiles_json("{nope")


def test_profiles_written_by_corpus_build(tmp_path):
    build = SHARED / "corpus" / "build.py"
    if not build.exists():
        pytest.skip("evaluation corpus not found")
    subprocess.run([sys.executable, str(build), str(build.parent / "interviews"), str(tmp_path), "--no-audio"],
                   check=True, capture_output=True)
    parsed = parse_profiles_yaml((tmp_path / "profiles.yaml").read_text())
    corie = next(p for p in parsed["people"] if p["name"] == "Corie Miller")
    assert corie == {
        "name": "Corie Miller", "title": "Product Manager", "role": "Product Manager",
        "organization": "#BUILTBYGIRLS",
        "organization_description": "a mentorship platform helping young women find mentors in the tech space",
        "location": "New York", "education": "Washington University, Physics",
        "background": None, "quotes": [], "tips": [],
    }
    assert all(p["role"] for p in parsed["people"])
