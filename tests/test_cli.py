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
