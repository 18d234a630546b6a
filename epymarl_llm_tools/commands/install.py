"""`epymarl-llm install EPYMARL_DIR`: make `--config=lolm_mappo` and the ablations available there."""

from __future__ import annotations

import argparse
import sys

HELP = "register the plugin's configs with an EPyMARL checkout (idempotent; `uninstall` reverses it)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("epymarl_dir", metavar="EPYMARL_DIR", help="root of an EPyMARL clone (holds src/main.py)")
    parser.add_argument(
        "--site-dir",
        default=None,
        help="site-packages folder for the import hook's .pth file (default: this Python's purelib; "
        "tests and user installs point it elsewhere, e.g. `python -m site --user-site`)",
    )
    parser.add_argument(
        "--no-doctor", action="store_true", help="skip the `epymarl-llm doctor` checks that run after the install"
    )


def run(args: argparse.Namespace) -> int:
    from epymarl_llm.epymarl.checkout import NotAnEpymarlCheckoutError
    from epymarl_llm.epymarl.install import InstallError, install

    try:
        report = install(args.epymarl_dir, site_dir=args.site_dir)
    except (NotAnEpymarlCheckoutError, InstallError) as err:
        print(f"epymarl-llm install: {err}", file=sys.stderr)
        return 2
    except OSError as err:  # the checks above passed, yet a write failed (disk full, a race)
        print(
            f"epymarl-llm install: cannot write {err.filename}: {err.strerror}; run install again once it "
            "is writable (install is idempotent)",
            file=sys.stderr,
        )
        return 2
    print("\n".join(report.lines()))
    if not args.no_doctor:
        from epymarl_llm_tools.commands.doctor import FAIL, print_checks, run_checks

        print("\nChecking what a run needs (`epymarl-llm doctor`):")
        checks = run_checks(report.root, model_required=False)
        print_checks(checks)
        if any(c.status == FAIL for c in checks):  # installed, but a run would fail: say so in the status
            print("Installed, but a run would fail until the problems above are fixed.", file=sys.stderr)
            return 1
    print(
        f"Ready: cd {report.root} && python src/main.py --config=lolm_mappo --env-config=smaclite "
        "with env_args.map_name=3s5z"
    )
    return 0
