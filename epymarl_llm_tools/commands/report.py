"""`epymarl-llm report RUN_DIRS... [--mongo URL] --out DIR`: figures and tables from Sacred runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "win-rate curves, transfer tables and plots from Sacred runs (folders and/or MongoDB)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    _add_source_arguments(parser)
    _add_output_arguments(parser)


def _add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the runs are: Sacred folders and MongoDB servers."""
    parser.add_argument(
        "run_dirs",
        nargs="*",
        metavar="RUN_DIRS",
        help="Sacred FileStorageObserver folders, searched recursively (e.g. EPyMARL's results/sacred)",
    )
    parser.add_argument(
        "--mongo",
        metavar="URL",
        action="append",
        default=[],
        help="also read the runs of a Sacred MongoDB: mongodb://[user:pass@]host:27017/db or host:27017:db "
        "(repeatable)",
    )
    parser.add_argument(
        "--mongo-db",
        metavar="NAME",
        default=None,
        help="database name when the URL names none (default: sacred, MongoObserver's default)",
    )
    parser.add_argument(
        "--mongo-prefix", metavar="PREFIX", default="", help="MongoObserver's collection_prefix, if the runs used one"
    )
    parser.add_argument(
        "--mongo-timeout",
        metavar="SECONDS",
        type=float,
        default=5.0,
        help="give up on a MongoDB server that does not answer within this time (default 5)",
    )


def _add_output_arguments(parser: argparse.ArgumentParser) -> None:
    """What is made of the runs: the folder, the metric and its transfer measures, figures, run filters."""
    from epymarl_llm_tools.report.metric_names import TEST_WIN_RATE
    from epymarl_llm_tools.report.transfer_metrics import (
        DEFAULT_FRACTION,
        DEFAULT_LAST_K,
        DEFAULT_SMOOTH,
    )

    parser.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for figures and tables")
    parser.add_argument(
        "--metric", default=TEST_WIN_RATE, help=f"metric for curves and tables (default {TEST_WIN_RATE})"
    )
    parser.add_argument(
        "--last-k",
        type=int,
        default=DEFAULT_LAST_K,
        help=f"asymptotic performance = mean of the last K evaluations (default {DEFAULT_LAST_K})",
    )
    parser.add_argument(
        "--fraction",
        type=float,
        default=DEFAULT_FRACTION,
        help=f"steps to asymptote = first step at FRACTION x asymptote (default {DEFAULT_FRACTION})",
    )
    parser.add_argument(
        "--smooth",
        type=int,
        default=DEFAULT_SMOOTH,
        help=f"trailing moving average over N evaluations before thresholding (default {DEFAULT_SMOOTH})",
    )
    parser.add_argument(
        "--format",
        dest="formats",
        action="append",
        choices=("png", "svg", "pdf"),
        help="figure formats (repeatable; default png and svg)",
    )
    parser.add_argument(
        "--completed-only",
        action="store_true",
        help="leave out runs whose Sacred status is not COMPLETED (default: use them, with a message)",
    )
    parser.add_argument(
        "--transferable",
        metavar="PREFIX",
        action="append",
        help="algorithm name prefixes whose policies fit any map (default: lolm)",
    )
    parser.add_argument(
        "--split-by",
        metavar="KEY",
        action="append",
        default=[],
        help="config key whose value names series apart (repeatable), e.g. llm_init: runs of one "
        "config with llm_init=pretrained and llm_init=random become two series",
    )


def run(args: argparse.Namespace) -> int:
    from epymarl_llm_tools.report.build import ReportOptions, write_report
    from epymarl_llm_tools.report.errors import ReportInputError
    from epymarl_llm_tools.report.file_runs import read_file_runs
    from epymarl_llm_tools.report.groups import DEFAULT_TRANSFERABLE_PREFIXES
    from epymarl_llm_tools.report.mongo_runs import read_mongo_runs
    from epymarl_llm_tools.report.runs import split_by
    from epymarl_llm_tools.report.transfer_metrics import TransferSettings

    if not args.run_dirs and not args.mongo:
        print("epymarl-llm report: give run folders (e.g. results/sacred) and/or --mongo URL", file=sys.stderr)
        return 2
    try:
        options = ReportOptions(
            metric=args.metric,
            settings=TransferSettings(last_k=args.last_k, fraction=args.fraction, smooth=args.smooth),
            formats=tuple(args.formats or ("png", "svg")),
            completed_only=args.completed_only,
            transferable_prefixes=tuple(args.transferable or DEFAULT_TRANSFERABLE_PREFIXES),
        )
        runs, messages = read_file_runs(args.run_dirs)
        for url in args.mongo:
            runs += read_mongo_runs(url, args.mongo_db, args.mongo_prefix, int(args.mongo_timeout * 1000))
        runs = [split_by(r, tuple(args.split_by)) for r in runs]
    except (ReportInputError, ValueError) as err:
        print(f"epymarl-llm report: {err}", file=sys.stderr)
        return 2
    if not runs:
        print("epymarl-llm report: no runs found; " + "; ".join(messages), file=sys.stderr)
        return 1
    if not any(args.metric in r.metrics for r in runs):
        logged = sorted({name for r in runs for name in r.metrics})
        print(
            f"epymarl-llm report: no run logged {args.metric!r}; pass --metric with one of: "
            f"{', '.join(logged) or '(no metrics at all)'}",
            file=sys.stderr,
        )
        return 1
    result = write_report(runs, args.out, options, messages)
    print(f"{result.n_runs} runs -> {args.out} ({len(result.files)} files)")
    for message in result.messages:
        print(f"  ! {message}")
    if result.broken:
        # One line per distinct cause, not per run: the table in report.md lists every run.
        causes: dict[tuple[str, str], int] = {}
        for b in result.broken:
            causes[(b.status, b.cause)] = causes.get((b.status, b.cause), 0) + 1
        n = len(result.broken)
        print(
            f'  ! {n} run{"" if n == 1 else "s"} did not complete, not averaged in (table "Broken runs" in '
            f"{args.out / 'report.md'}, tracebacks in {args.out / 'broken_runs.txt'}):"
        )
        for (status, cause), count in sorted(causes.items(), key=lambda kv: -kv[1]):
            print(f"      {count} x {status}: {cause}")
    return 0
