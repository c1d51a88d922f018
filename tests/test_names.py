"""One name per human: guest fields, speaker labels, hosts."""
import pytest

from pipeline.names import clean_name, expand_first_names, resolve, speaker_roles, split_guests


@pytest.mark.parametrize("field, names", [
    ("Aishwarya Naresh Reganti + Kiriti Badam", ["Aishwarya Naresh Reganti", "Kiriti Badam"]),
    ("Hamel+Shreya", ["Hamel", "Shreya"]),
    ("Elena Verna 2.0", ["Elena Verna"]),
    ("Madhavan Ramanujam 2.0", ["Madhavan Ramanujam"]),
    ("Jane Doe & John Roe", ["Jane Doe", "John Roe"]),
    ("Jane Doe and John Roe", ["Jane Doe", "John Roe"]),
    ("Andy Johns", ["Andy Johns"]),
    ("", []),
])
def test_split_guests(field, names):
    assert split_guests(field) == names


def test_clean_name():
    assert clean_name("KUNAL SHAH") == "Kunal Shah"
    assert clean_name("EOGHAN MCCABE") == "Eoghan McCabe"
    assert clean_name("  Eeke  de Milliano ") == "Eeke de Milliano"
    assert clean_name("Nan Yu") == "Nan Yu"


def test_first_names_expand_from_the_speakers():
    speakers = ["Lenny Rachitsky", "Hamel Husain", "Shreya Shankar"]
    assert expand_first_names(["Hamel", "Shreya"], speakers) == ["Hamel Husain", "Shreya Shankar"]
    # two people share the first name: we do not guess
    assert expand_first_names(["Ann"], ["Ann Lee", "Ann Ho"]) == ["Ann"]


def test_resolve():
    assert resolve("KUNAL SHAH", ["Kunal Shah"]) == ("Kunal Shah", "exact")
    assert resolve("Lenny", ["Lenny Rachitsky"]) == ("Lenny Rachitsky", "first name")
    assert resolve("Lenny Rachitsky", ["Lenny"]) == ("Lenny", "fuller")
    assert resolve("Ashley", ["Julian Shapiro", "Lenny Rachitsky"]) is None
    assert resolve("Matt", ["Matt Dixon", "Matt MacInnis"]) is None


def test_speaker_roles_hosts_guests_and_others():
    turns = {"Lenny": 49, "Julian Shapiro": 99, "John Cutler": 3, "Ashley": 3, "Speaker 1": 2}
    assert speaker_roles(turns, ["Julian Shapiro"], ["Lenny Rachitsky"]) == {
        "Lenny": ("host", "Lenny Rachitsky"), "Julian Shapiro": ("guest", "Julian Shapiro"),
        "John Cutler": ("other", None), "Ashley": ("other", None), "Speaker 1": ("other", None)}
    # the first episode of a feed: the host is whoever talks with the guest
    assert speaker_roles({"LENNY RACHITSKY": 270, "KUNAL SHAH": 523}, ["Kunal Shah"]) == {
        "LENNY RACHITSKY": ("host", "Lenny Rachitsky"), "KUNAL SHAH": ("guest", "Kunal Shah")}
    # a fuller name of a host known by first name is the better name
    assert speaker_roles({"Lenny Rachitsky": 40, "Nan Yu": 40}, ["Nan Yu"], ["Lenny"])["Lenny Rachitsky"] == (
        "host", "Lenny Rachitsky")
