"""`epymarl-llm configs [CONFIG_DIR]`: regenerate the algorithm yamls made from `lolm_mappo.yaml`.

EPyMARL loads one algorithm yaml with no inheritance, so the ablations (`ablation_yamls`) and the
LEED configs (`leed_yamls`) are complete files generated from `config/lolm_mappo.yaml`, the one
place their shared defaults live. Run this after changing `lolm_mappo.yaml`, an ablation or the
LEED block; `tests/integration/test_configs.py` and `tests/leed/test_store_and_configs.py` fail while
the files are stale.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .ablation_yamls import BASE
from .ablation_yamls import write_all as write_ablations
from .leed_yamls import write_all as write_leed

HELP = "regenerate the ablation and LEED yamls from config/lolm_mappo.yaml"
# This clone's config/ folder (an editable install); a wheel ships the yamls, not this folder.
DEFAULT_DIR = Path(__file__).resolve().parents[2] / "config"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "config_dir",
        metavar="CONFIG_DIR",
        nargs="?",
        type=Path,
        default=DEFAULT_DIR,
        help=f"the folder holding {BASE}.yaml, where the generated yamls are written (default: this clone's config/)",
    )


def run(args: argparse.Namespace) -> int:
    folder: Path = args.config_dir
    if not (folder / f"{BASE}.yaml").is_file():
        print(f"epymarl-llm configs: no {BASE}.yaml in {folder}; name the config folder of a clone", file=sys.stderr)
        return 2
    for path in write_ablations(folder) + write_leed(folder):
        print(f"wrote {path}")
    return 0
