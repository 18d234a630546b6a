"""Prompts of plausible random observations (`examples.random_observations`): the tokenizer's
training corpus, the tests' prompts and the `layout` command's samples."""

from __future__ import annotations

from .config import PromptConfig
from .encoder import PromptEncoder
from .examples import random_observations
from .layout import load_map_layout
from .map_spec import EnvName


def example_prompts(
    map_name: str,
    n: int,
    seed: int = 0,
    env: EnvName = "sc2",
    config: PromptConfig | None = None,
    map_file: str | None = None,
) -> list[str]:
    """n prompts of `map_name` from plausible random observations (deterministic in `seed`)."""
    layout = load_map_layout(map_name, env=env, map_file=map_file)
    obs, avail, agent_ids = random_observations(layout, n, seed)
    return PromptEncoder(layout, None, config=config).texts(obs, avail, agent_ids)
