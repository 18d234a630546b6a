"""The `epymarl-llm` command (its one-line description is DESCRIPTION, shown by `--help`).

One subcommand per module in `epymarl_llm_tools.commands`: each command module defines `HELP` (one line),
`add_arguments(parser)` and `run(args) -> int`. A command module may also define `MODES` (mode word ->
(module, one-line help)): a first word naming a mode runs that module, which follows the same protocol
(`epymarl-llm bench dtype-error ...`); without one the command's own parser runs.
Modules are imported only when their subcommand (or mode) runs, so `epymarl-llm layout` never pays for
importing torch or transformers.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# subcommand -> module under epymarl_llm_tools.commands, with a one-line help kept here so that
# `epymarl-llm --help` does not import every command.
COMMANDS: dict[str, tuple[str, str]] = {
    "layout": ("layout", "print the observation/state layout of a map (and an example prompt)"),
    "make-tiny-model": ("make_tiny_model", "write a small random Qwen3-architecture model and tokenizer"),
    "install": ("install", "register the plugin's configs with an EPyMARL checkout"),
    "uninstall": ("uninstall", "remove what `install` added to an EPyMARL checkout"),
    "doctor": ("doctor", "check the environment a run needs and print the fix for each problem"),
    "bench": (
        "bench",
        "measure rollout and learner speed against a reference implementation (other benchmarks: modes)",
    ),
    "report": ("report", "win-rate curves, transfer tables and plots from Sacred runs"),
    "latest-checkpoint": ("latest_checkpoint", "print the newest checkpoint folder of EPyMARL's saved runs"),
    "demos": ("demos", "generate or show LEED demonstrations (scripted, generating LM, checkpoint)"),
    "learning-check": ("learning_check", "real EPyMARL runs: does lolm_mappo learn an easy map and transfer"),
    "configs": ("configs", "regenerate the ablation and LEED yamls from config/lolm_mappo.yaml"),
    "grid": ("grid", "the paper's grid or the learning check: train, transfer, report, locally or on Slurm"),
}
DESCRIPTION = (
    "LoLM-MARL for EPyMARL: LoRA-tuned LLM policies for SMAC and SMAClite. Run "
    "`epymarl-llm install EPYMARL_DIR`, then `python src/main.py --config=lolm_mappo` in that checkout."
)


def build_parser() -> argparse.ArgumentParser:
    from epymarl_llm import __version__

    parser = argparse.ArgumentParser(
        prog="epymarl-llm",
        description=DESCRIPTION,
        epilog="`epymarl-llm COMMAND --help` describes a command's options.",
    )
    parser.add_argument("--version", action="version", version=f"epymarl-llm {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (_module, help_text) in COMMANDS.items():
        sub.add_parser(name, help=help_text, add_help=False)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser()
    if argv and argv[0] == "--version":
        parser.parse_args(argv[:1])  # prints the version and exits 0
    if not argv or argv[0] in ("-h", "--help") or argv[0] not in COMMANDS:
        if argv and argv[0] not in ("-h", "--help"):
            parser.print_usage(sys.stderr)
            print(f"epymarl-llm: unknown command {argv[0]!r}; choose from {', '.join(COMMANDS)}", file=sys.stderr)
            return 2
        parser.print_help()
        return 0
    name, rest = argv[0], argv[1:]
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(f"epymarl_llm_tools.commands.{module_name}")
    modes: dict[str, tuple[str, str]] = getattr(module, "MODES", {})
    prog, epilog = f"epymarl-llm {name}", None
    if modes and rest and not rest[0].startswith("-"):
        if rest[0] not in modes:
            print(f"{prog}: unknown mode {rest[0]!r}; choose from {', '.join(modes)}", file=sys.stderr)
            return 2
        prog, (mode_module, help_text), rest = f"{prog} {rest[0]}", modes[rest[0]], rest[1:]
        module = importlib.import_module(mode_module)
    elif modes:
        width = max(map(len, modes))
        epilog = f"modes (a first word; `{prog} MODE --help` gives its options):\n" + "\n".join(
            f"  {mode:<{width}}  {mode_help}" for mode, (_, mode_help) in modes.items()
        )
    sub = argparse.ArgumentParser(
        prog=prog,
        description=getattr(module, "HELP", help_text),
        epilog=epilog,
        formatter_class=argparse.RawDescriptionHelpFormatter if epilog else argparse.HelpFormatter,
    )
    module.add_arguments(sub)
    args = sub.parse_args(rest)
    return int(module.run(args) or 0)
