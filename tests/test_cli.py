"""The `epymarl-llm` entry point: help, unknown commands, lazy subcommand imports."""

import subprocess
import sys

from epymarl_llm_tools import cli


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
    code = "import sys; from epymarl_llm_tools import cli; cli.main(['--help']); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "False"


def test_help_speaks_to_users_and_version_prints(capsys):
    assert cli.main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "epymarl_llm_tools.commands" not in out and "module" not in out  # no developer text
    assert "epymarl-llm install EPYMARL_DIR" in out
    try:
        cli.main(["--version"])
    except SystemExit as stop:
        assert stop.code == 0
    from epymarl_llm import __version__

    assert capsys.readouterr().out.strip() == f"epymarl-llm {__version__}"


def test_latest_checkpoint_prints_the_newest_token_folder_quoted(tmp_path, capsys):
    import os
    import shlex

    models = tmp_path / "results" / "models"
    old = models / "lolm_mappo_seed1_3s5z_2026-01-01 10:00:00.000001"
    resumed = models / "lolm_mappo_seed1_3s5z_2026-01-02 11:30:00.000002"  # a resumed run: a new token
    other = models / "mappo_seed1_3m_2026-01-03 09:00:00.000003"
    for folder, steps, mtime in ((old, (100, 200), 1000), (resumed, (200, 300, 450), 2000), (other, (50,), 3000)):
        for step in steps:
            (folder / str(step)).mkdir(parents=True)
            os.utime(folder / str(step), (mtime, mtime))
    assert cli.main(["latest-checkpoint", str(tmp_path), "--name", "lolm_mappo", "--map", "3s5z"]) == 0
    line = capsys.readouterr().out.strip()
    assert shlex.split(line) == [f"checkpoint_path={resumed}", "load_step=450"]
    assert cli.main(["latest-checkpoint", str(models), "--path-only"]) == 0
    assert capsys.readouterr().out.strip() == str(other)
    assert cli.main(["latest-checkpoint", str(resumed), "--path-only"]) == 0  # one token folder
    assert capsys.readouterr().out.strip() == str(resumed)
    assert cli.main(["latest-checkpoint", str(tmp_path), "--map", "corridor"]) == 2
    assert "no checkpoint under" in capsys.readouterr().err


def test_bench_help_lists_its_modes(capsys):
    from epymarl_llm_tools.commands.bench import MODES

    try:
        cli.main(["bench", "--help"])
    except SystemExit as stop:
        assert stop.code == 0
    out = capsys.readouterr().out
    assert "--variants" in out and "--switches" in out  # the rollout/learner bench without a mode
    for mode in MODES:
        assert mode in out


def test_every_bench_mode_has_its_own_help(capsys):
    from epymarl_llm_tools.commands.bench import MODES

    assert set(MODES) == {"dtype-error", "policy-size", "prompts", "leed-demos", "epymarl"}
    options = {
        "dtype-error": "--rows",
        "policy-size": "--shapes",
        "prompts": "--number-format",
        "leed-demos": "--checkpoint",
        "epymarl": "--variant",
    }
    for mode, option in options.items():
        try:
            cli.main(["bench", mode, "--help"])
        except SystemExit as stop:
            assert stop.code == 0, mode
        out = capsys.readouterr().out
        assert out.startswith(f"usage: epymarl-llm bench {mode}"), out
        assert option in out and "--variants" not in out, (mode, out)


def test_an_unknown_bench_mode_is_an_error_that_lists_the_modes(capsys):
    assert cli.main(["bench", "dtype_error"]) == 2
    err = capsys.readouterr().err
    assert "unknown mode 'dtype_error'" in err and "dtype-error" in err and "leed-demos" in err
