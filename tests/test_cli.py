import click
from click.testing import CliRunner

from conftest import ROOT
from pipeline import __version__
from pipeline.cli import cli


def all_commands(group, prefix="podpipe"):
    for name, command in sorted(group.commands.items()):
        path = f"{prefix} {name}"
        yield path, command
        if isinstance(command, click.Group):
            yield from all_commands(command, path)


def test_every_command_has_help_and_is_in_the_readme():
    readme = (ROOT / "README.md").read_text()
    runner = CliRunner()
    for path, command in all_commands(cli):
        assert command.help and command.help.strip(), f"{path} has no help text"
        result = runner.invoke(cli, path.split()[1:] + ["--help"])
        assert result.exit_code == 0, (path, result.output)
        assert path in readme, f"{path} is not in the README"


def test_version():
    result = CliRunner().invoke(cli, ["--version"])
    assert result.output == f"podpipe, version {__version__}\n"


def test_usage_error_exit_status():
    result = CliRunner().invoke(cli, ["run", "--stages", "ingest,dance"])
    assert result.exit_code == 2 and "unknown stage 'dance'" in result.output


def test_the_short_help_podpipe_lists_is_each_commands_own():
    from pipeline.cli import COMMANDS

    assert sorted(COMMANDS) == sorted(cli.commands)
    for name, (_, _, short) in COMMANDS.items():
        assert " ".join(cli.commands[name].help.partition("\n\n")[0].split()) == short, name


def test_help_and_a_search_import_only_the_commands_they_run(tmp_path):
    import subprocess
    import sys

    code = ("import sys; from pipeline.cli import cli\n"
            "try:\n    cli(sys.argv[1:], prog_name='podpipe')\nexcept SystemExit:\n    pass\n"
            "print(' '.join(sorted(m for m in sys.modules if m.startswith('pipeline.commands.'))))\n"
            "print(' '.join(sorted(m for m in ('numpy', 'sqlite_utils', 'jinja2', 'starlette', 'dask', 'tomllib') "
            "if m in sys.modules)))")
    env = {**__import__("os").environ, "PYTHONPATH": str(ROOT)}

    def loaded(*args):
        out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, cwd=tmp_path,
                             env=env, check=True).stdout
        return out.splitlines()[-2:]

    from items_fixture import make_db

    make_db(tmp_path / "x.db").conn.close()
    assert loaded("--help") == ["pipeline.commands.options", ""]
    for kind in ("quote", "segment"):
        assert loaded("search", "customers", "--kind", kind, "--db", str(tmp_path / "x.db")) == [
            "pipeline.commands.options pipeline.commands.search", ""]


def test_a_writing_command_opens_the_database_without_importing_numpy(tmp_path):
    import subprocess
    import sys

    # open_db imports sqlite-utils with numpy hidden; numpy must still import afterwards
    code = ("import sys; from pipeline.db import open_db\n"
            f"open_db({str(tmp_path / 'w.db')!r})\n"
            "print('numpy' in sys.modules, 'sqlite_utils' in sys.modules)\n"
            "import numpy; print(numpy.zeros(1).shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env={**__import__("os").environ, "PYTHONPATH": str(ROOT)}).stdout
    assert out.splitlines() == ["False True", "(1,)"]
