import pytest
from click.testing import CliRunner

from items_fixture import make_db
from pipeline.cli import cli
from pipeline.review import ReviewError, edit_item, pending_items, set_status

LEGEND = "[a] approve  [r] reject  [e] edit text  [k] change kind  [s] skip  [q] quit\nAction: "


@pytest.fixture
def fixture_db(db_path):
    return make_db(db_path)


def run(db_path, *args, input=None):
    return CliRunner().invoke(cli, [*args, "--db", str(db_path)], input=input, catch_exceptions=False)


def state(db):
    return [(r["id"], r["kind"], r["status"], r["text"], r["edited_text"])
            for r in db.query("select * from items order by id")]


ITEM_1 = ("[1/3] tip #1 · pending · score 0.90\n"
          "Corie Miller (Product Manager, Senior Product Manager, Acme)\n"
          "Customers first · 2024-03-01 · 01:05\n"
          "Topics: customers\n"
          "\n"
          "    Talk to customers every week.\n")


def test_interactive_review(fixture_db, db_path):
    # item 1: edit, then approve; item 3: change kind, then reject; item 5: quit
    result = run(db_path, "review", input="e\nTalk to customers weekly.\na\nk\nr\nq\n")
    assert result.exit_code == 0
    assert result.output == (
        ITEM_1 + LEGEND + "e\n"
        "New text [Talk to customers every week.]: Talk to customers weekly.\n"
        "[1/3] tip #1 · pending · score 0.90\n"
        "Corie Miller (Product Manager, Senior Product Manager, Acme)\n"
        "Customers first · 2024-03-01 · 01:05\n"
        "Topics: customers\n"
        "\n"
        "    Talk to customers weekly.\n"
        "\n"
        "  verbatim: Talk to customers every week.\n"
        + LEGEND + "a\n"
        "\n"
        "[2/3] tip #3 · pending · score 0.70\n"
        "Dana Lee (Designer, Design Lead, Studio)\n"
        "Customers first · 2024-03-01 · 02:10\n"
        "Topics: design and prototyping\n"
        "\n"
        "    Prototype before you write the spec.\n"
        + LEGEND + "k\n"
        "[2/3] quote #3 · pending · score 0.70\n"
        "Dana Lee (Designer, Design Lead, Studio)\n"
        "Customers first · 2024-03-01 · 02:10\n"
        "Topics: design and prototyping\n"
        "\n"
        "    Prototype before you write the spec.\n"
        + LEGEND + "r\n"
        "\n"
        "[3/3] quote #5 · pending · score 0.50\n"
        "Corie Miller (Product Manager, Senior Product Manager, Acme)\n"
        "Customers first · 2024-03-01 · 03:20\n"
        "Topics: customers\n"
        "\n"
        '    Tricky "quotes", commas,\n'
        "    newlines and <script>alert(1)</script> — naïve café 日本 & more\n"
        + LEGEND + "q\n"
        "\n"
        "1 approved, 1 rejected, 1 edited, 0 skipped; 1 pending left.\n"
    )
    rows = state(fixture_db)
    assert rows[0] == (1, "tip", "approved", "Talk to customers every week.", "Talk to customers weekly.")
    assert rows[2] == (3, "quote", "rejected", "Prototype before you write the spec.", None)
    assert rows[4][2] == "pending"
    assert fixture_db["items"].get(1)["reviewed"] is not None


def test_review_resumes_where_it_stopped(fixture_db, db_path):
    run(db_path, "review", input="s\na\nq\n")  # skip 1, approve 3, quit at 5
    result = run(db_path, "review", input="q\n")
    assert result.output.startswith("[1/2] quote #5 · pending")  # never seen before: first
    assert [r["id"] for r in pending_items(fixture_db)] == [5, 1]  # the skipped one comes last
    run(db_path, "review", input="a\na\n")
    assert run(db_path, "review").output == "No pending items.\n"
    assert [r[2] for r in state(fixture_db)] == ["approved", "approved", "approved", "rejected", "approved"]


def test_review_one_episode_and_end_of_input(fixture_db, db_path):
    result = run(db_path, "review", "--episode", "2")
    assert result.output == "No pending items.\n"  # item 2 approved, 4 rejected
    result = run(db_path, "review", "--episode", "1", input="")  # no input: like quit
    assert result.exit_code == 0
    assert result.output.endswith("0 approved, 0 rejected, 0 edited, 0 skipped; 3 pending left.\n")


def test_review_refuses_unknown_keys(fixture_db, db_path):
    result = run(db_path, "review", input="x\nq\n")
    assert "Error: 'x' is not one of 'a', 'r', 'e', 'k', 's', 'q'." in result.output
    assert [r[2] for r in state(fixture_db)][0] == "pending"


def test_items_approve_reject_edit(fixture_db, db_path):
    assert run(db_path, "items", "approve", "1", "3").output == "approved 2 items\n"
    assert run(db_path, "items", "reject", "5").output == "rejected 1 item\n"
    result = run(db_path, "items", "edit", "2", "--text", "A roadmap is a promise.", "--kind", "tip")
    assert result.output == "item 2: tip, edited text\n"
    rows = state(fixture_db)
    assert rows[1] == (2, "tip", "approved", "A roadmap is a promise, so we make fewer of them.",
                       "A roadmap is a promise.")
    assert [r[2] for r in rows] == ["approved", "approved", "approved", "rejected", "rejected"]
    assert run(db_path, "items", "edit", "2", "--revert").output == "item 2: tip, verbatim text\n"
    assert fixture_db["items"].get(2)["edited_text"] is None


def test_items_unknown_id_changes_nothing(fixture_db, db_path):
    before = state(fixture_db)
    result = run(db_path, "items", "approve", "1", "99")
    assert result.exit_code == 1
    assert result.output == "Error: no item with id 99 (see 'podpipe search')\n"
    assert run(db_path, "items", "edit", "99", "--text", "x").output == \
        "Error: no item with id 99 (see 'podpipe search')\n"
    assert state(fixture_db) == before
    assert run(db_path, "items", "approve").exit_code == 2
    assert run(db_path, "items", "edit", "1").exit_code == 2


def test_items_approve_a_collection(fixture_db, db_path):
    run(db_path, "collections", "create", "best")
    run(db_path, "collections", "add", "best", "3", "5")
    assert run(db_path, "items", "approve", "--collection", "best").output == "approved 2 items\n"
    assert [r[2] for r in state(fixture_db)] == ["pending", "approved", "approved", "rejected", "approved"]


def test_edit_keeps_the_verbatim_text(fixture_db):
    row = edit_item(fixture_db, 1, text="Talk to customers weekly.")
    assert (row["text"], row["edited_text"]) == ("Talk to customers every week.", "Talk to customers weekly.")
    row = edit_item(fixture_db, 1, text="Talk to customers every week.")  # back to the original
    assert row["edited_text"] is None
    with pytest.raises(ReviewError, match="the edited text is empty"):
        edit_item(fixture_db, 1, text="  ")
    with pytest.raises(ReviewError, match="unknown kind 'rant'"):
        edit_item(fixture_db, 1, kind="rant")
    with pytest.raises(ReviewError, match="unknown status 'maybe'"):
        set_status(fixture_db, [1], "maybe")


def test_items_show(fixture_db, db_path):
    edit_item(fixture_db, 5, text="Tricky quotes.")
    result = run(db_path, "items", "show", "5", "--nl")
    assert result.exit_code == 0
    assert '"text": "Tricky quotes.", "original_text": "Tricky \\"quotes\\", commas,\\nnewlines' in result.output
    table = run(db_path, "items", "show", "5", "-t").output
    assert "topics             customers\n" in table
