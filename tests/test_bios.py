"""Reading a guest's title, organization and history from episode descriptions."""
import pytest

from pipeline.bios import describe_guest, tidy_title


def _main(description, name):
    d = describe_guest(description, name)
    return d["title"], d["organization"]


@pytest.mark.parametrize("description, name, title, org", [
    ("Eeke de Milliano is the Head of Product at Retool and a former product lead at Stripe. In this episode, "
     "we discuss how any team can become an innovation machine.", "Eeke de Milliano", "Head of Product", "Retool"),
    ("Austin Hay is currently Head of Marketing Technology at Ramp and was previously the VP of Business "
     "Operations at Runway, the VP of Growth at mParticle, and the fourth employee at the unicorn...",
     "Austin Hay", "Head of Marketing Technology", "Ramp"),
    ("Mayur Kamat is the chief product officer at N26—a $9 billion neobank serving over 7 million customers in 25 "
     "countries—where he leads product, design, data, and research.", "Mayur Kamat", "Chief Product Officer", "N26"),
    ("Kunal Shah is one of the most well-known and admired product leaders in India. He is the CEO and founder of "
     "CRED, an Indian-based fintech startup valued at over $6 billion.", "Kunal Shah", "CEO and Founder", "CRED"),
    ("Matt MacInnis is the chief product officer and former longtime COO at Rippling, a unified workforce "
     "management platform valued at over $16 billion.", "Matt MacInnis", "Chief Product Officer", "Rippling"),
    ("Julia Schottenstein is a product lead at dbt Labs, a data transformation company, and an active angel "
     "investor.", "Julia Schottenstein", "Product Lead", "dbt Labs"),
    ("Varun Mohan is the co-founder and CEO of Windsurf (formerly Codeium), an AI-powered development "
     "environment.", "Varun Mohan", "Co-founder and CEO", "Windsurf"),
    ("Geoffrey Moore is an author, speaker, and advisor, widely known for his seminal book Crossing the Chasm.",
     "Geoffrey Moore", "Author, Speaker, and Advisor", None),
    ("Matt Dixon is one of the world’s foremost experts in sales and the author of The Challenger Sale, which sold "
     "over a million copies.", "Matt Dixon", "Author", None),
    ("Bob Baxley is a design leader who has shaped products used by billions at Apple, Pinterest, Yahoo, and "
     "ThoughtSpot.", "Bob Baxley", "Design Leader", None),
    # praise and vague descriptors are not titles
    ("Alex Komoroske is a strategic leader who merges the practice, theory, and mindset necessary to tackle complex "
     "problems. He spent 13 years at Google.", "Alex Komoroske", None, None),
    ("Sean Ellis is one of the earliest and most influential thinkers and operators in growth.", "Sean Ellis",
     None, None),
    # a past title is history, not the title
    ("Chris Hutchins recently left his position as Head of New Product Strategy at Wealthfront to focus full-time "
     "on his podcast, All the Hacks.", "Chris Hutchins", None, None),
])
def test_title_and_organization(description, name, title, org):
    assert _main(description, name) == (title, org)


def test_a_description_of_someone_else_says_nothing_about_the_guest():
    # archives do carry another episode's description
    text = "Bob Baxley is a design leader who has shaped products used by billions at Apple."
    assert describe_guest(text, "Gibson Biddle") == {
        "title": None, "organization": None, "organization_description": None, "location": None,
        "education": None, "background": None, "positions": [], "sentences": []}


def test_history_organization_description_and_background():
    text = ("Maggie Crowley is VP of product at Toast and previously vice president and head of product at Charlie "
            "Health, senior director of product management at Drift, and a PM at TripAdvisor. She’s...\n\n"
            "*We discuss:*\n1. Strategy")
    d = describe_guest(text, "Maggie Crowley")
    assert [(p["title"], p["organization"], p["tense"]) for p in d["positions"]] == [
        ("VP of Product", "Toast", "current"),
        ("Vice President and Head of Product", "Charlie Health", "past"),
        ("Senior Director of Product Management", "Drift", "past"),
        ("PM", "TripAdvisor", "past")]
    # verbatim, without the truncated sentence
    assert d["background"] == ("Maggie Crowley is VP of product at Toast and previously vice president and head of "
                               "product at Charlie Health, senior director of product management at Drift, and a "
                               "PM at TripAdvisor.")


def test_organization_description_location_and_education():
    text = ("Corie Miller is a Product Manager for #BUILTBYGIRLS, a mentorship platform helping young women find "
            "mentors in tech, based in New York. She graduated from Washington University with a degree in Physics.")
    d = describe_guest(text, "Corie Miller")
    assert (d["title"], d["organization"], d["organization_description"], d["location"], d["education"]) == (
        "Product Manager", "#BUILTBYGIRLS", "a mentorship platform helping young women find mentors in tech",
        "New York", "Washington University, Physics")


def test_tidy_title():
    assert tidy_title("chief product officer") == "Chief Product Officer"
    assert tidy_title("VP of product") == "VP of Product"
    assert tidy_title("GM of Enterprise") == "GM of Enterprise"
