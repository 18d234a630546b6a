"""Fail CI when a test layer that CI installed was skipped anyway.

Usage: python3 .ci/check_ran.py JUNIT_XML --layers "epymarl smaclite smac smacv2"

For each installed layer: every skip whose reason names the layer is a failure (a skip reason that
should not apply once CI installed it), and the layer's own test files must have run at least one
test each. Skips for what no CI machine has (the StarCraft II binary, a real MongoDB server) stay
allowed. Prints one line per layer with its counts.
"""

from __future__ import annotations

import argparse
import re
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Layer:
    """A test layer: what its skip reasons say, and the test files that must run when it is installed."""

    skip_reason: re.Pattern
    files: tuple[str, ...] = field(default=())


LAYERS = {
    "epymarl": Layer(re.compile(r"EPYMARL_PATH|EPyMARL", re.I), ("tests/learner/test_returns.py",)),
    "smaclite": Layer(
        re.compile(r"smaclite", re.I),
        (
            "tests/integration/test_epymarl_e2e.py",
            "tests/transfer/test_transfer_e2e.py",
            "tests/report/test_report_on_epymarl_runs.py",
        ),
    ),
    "smac": Layer(re.compile(r"\bSMAC\b(?!v2)|oxwhirl/smac\b|pysc2", re.I), ("tests/prompts/test_map_table.py",)),
    "smacv2": Layer(re.compile(r"smacv2", re.I), ("tests/prompts/test_sc2v2_layout.py",)),
}
# Skips no CI machine can avoid: SMAC's and SMACv2's episodes need the StarCraft II game itself, a
# real MongoDB server is not there, and a SMAC wheel carries none of its repository's docs.
ALLOWED = re.compile(r"StarCraft II (binary|game)|SC2PATH|MongoDB|EPYMARL_LLM_MONGO_URL|source checkout only", re.I)
# An end-to-end run needs both EPyMARL and SMAClite: its files are checked only when both are in.
NEEDS_BOTH = {"smaclite": "epymarl"}


def _module(test_file: str) -> str:
    return Path(test_file).with_suffix("").as_posix().replace("/", ".")


def _skip_message(case: ET.Element) -> str | None:
    skipped = case.find("skipped")
    return None if skipped is None else skipped.get("message", "")


def check(junit: str, layers: list[str]) -> list[str]:
    """The failures (empty when every installed layer ran), printing one summary line per layer."""
    cases = list(ET.parse(junit).iter("testcase"))
    failures = []
    for name in layers:
        layer = LAYERS[name]
        bad = [
            f"{c.get('classname')}::{c.get('name')}: {msg}"
            for c in cases
            if (msg := _skip_message(c)) is not None and layer.skip_reason.search(msg) and not ALLOWED.search(msg)
        ]
        files = layer.files if NEEDS_BOTH.get(name, name) in layers else ()
        for test_file in files:
            mine = [c for c in cases if c.get("classname", "").startswith(_module(test_file))]
            ran = sum(_skip_message(c) is None for c in mine)
            if ran == 0:
                bad.append(f"{test_file}: none of its {len(mine)} tests ran")
        print(f"CI: layer {name}: {len(bad)} problem(s)")
        failures += [f"layer {name}: {b}" for b in bad]
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("junit")
    parser.add_argument("--layers", default="", help="space-separated installed layers: " + ", ".join(LAYERS))
    args = parser.parse_args(argv)
    layers = args.layers.split()
    unknown = sorted(set(layers) - LAYERS.keys())
    if unknown:
        parser.error(f"unknown layer(s) {unknown}: choose from {sorted(LAYERS)}")
    failures = check(args.junit, layers)
    for line in failures:
        print(f"CI: FAILED: {line}", file=sys.stderr)
    if failures:
        print(f"CI: FAILED: {len(failures)} test(s) of installed layers were skipped; see above", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
