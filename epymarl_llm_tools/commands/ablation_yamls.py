"""The ablation yamls, generated from `config/lolm_mappo.yaml`.

EPyMARL's `main.py` loads one algorithm yaml with no inheritance, so each ablation must be a complete
file. To keep every default in one place, the ablations are `lolm_mappo.yaml` with only the ablated
keys (and `name`) rewritten; `epymarl-llm configs` regenerates them (`commands/configs.py`) and
`tests/integration/test_configs.py` checks the files are up to date. A training run reads only the
yamls, never this module: it is tooling.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path

BASE = "lolm_mappo"
# file stem -> (what it ablates, {key: yaml value}); paper section 5.4 and METHOD sections 3-4.
ABLATIONS: dict[str, tuple[str, dict[str, str]]] = {
    "lolm_mappo_no_kl": (
        "no KL regularisation to the pre-trained policy (paper fig. 9)",
        {"kl_mode": '"none"', "log_kl_to_reference": "True"},
    ),
    "lolm_mappo_fixed_prompt": (
        "fixed prompt: every unit slot kept, dead / not visible marked (paper fig. 8)",
        {"dynamic_prompt": "False"},
    ),
    "lolm_mappo_random_init": (
        "randomly initialised backbone of the same architecture (paper fig. 10)",
        {"llm_init": '"random"'},
    ),
    "lolm_mappo_shared_keys": (
        "the paper's replicated attack key instead of per-target keys",
        {"attack_keys": '"shared"'},
    ),
}


def rewrite(text: str, overrides: dict[str, str]) -> str:
    """`text` with the value of each top-level key of `overrides` rewritten (comments and order kept)."""
    for key, value in overrides.items():
        pattern = re.compile(rf"^{re.escape(key)}:[ \t]*[^#\n]*?(?=[ \t]*(#|$))", re.MULTILINE)
        text, count = pattern.subn(f"{key}: {value}", text)
        if count != 1:
            raise KeyError(f"the base yaml must declare {key!r} exactly once at top level (found {count})")
    return text


def render(base_text: str, stem: str) -> str:
    """`base_text` (lolm_mappo.yaml) with `name` and the ablated keys rewritten."""
    what, overrides = ABLATIONS[stem]
    header = f"# Ablation {stem}: {what}.\n# Generated from {BASE}.yaml by `epymarl-llm configs`; do not edit.\n"
    return header + rewrite(base_text, {"name": f'"{stem}"', **overrides})


def write_configs(config_dir: Path, stems: Iterable[str], render_stem: Callable[[str, str], str]) -> list[Path]:
    """Write `<stem>.yaml` = `render_stem(base_text, stem)` for each stem, from `config_dir/lolm_mappo.yaml`."""
    base_text = (config_dir / f"{BASE}.yaml").read_text(encoding="utf-8")
    written = []
    for stem in stems:
        path = config_dir / f"{stem}.yaml"
        path.write_text(render_stem(base_text, stem), encoding="utf-8")
        written.append(path)
    return written


def write_all(config_dir: Path) -> list[Path]:
    return write_configs(config_dir, ABLATIONS, render)
