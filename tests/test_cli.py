"""The `epymarl-llm` entry point: help, unknown commands, lazy subcommand imports."""
import subprocess
import sys

from epymarl_llm import cli


def test_help_lists_every_command(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    for name in cli.COMMANDS:
        assert name in out


def test_unknown_command_is_an_error_that_lists_the_choices(capsys):
    assert cli.main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert "unknown command 'no-such-command'" in err
    assert "layout" in err


def test_help_does_not_import_torch():
    # The CLI must stay cheap: torch loads only when a subcommand needs it.
    code = "import sys; from epymarl_llm import cli; cli.main(['--help']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"
