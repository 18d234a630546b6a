"""`epymarl-llm uninstall EPYMARL_DIR`: remove what `epymarl-llm install` wrote."""

from __future__ import annotations

import argparse
import sys

HELP = "remove the plugin's configs, marker and (when no checkout uses it) import hook"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("epymarl_dir", metavar="EPYMARL_DIR", help="root of the EPyMARL clone given to install")
    parser.add_argument("--site-dir", default=None, help="the --site-dir given to install, if any")


def run(args: argparse.Namespace) -> int:
    from epymarl_llm.epymarl.checkout import NotAnEpymarlCheckoutError
    from epymarl_llm.epymarl.install import uninstall

    try:
        report = uninstall(args.epymarl_dir, site_dir=args.site_dir)
    except NotAnEpymarlCheckoutError as err:
        print(f"epymarl-llm uninstall: {err}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    if not report.removed:
        print("  nothing to remove: epymarl-llm was not installed here")
    return 0
