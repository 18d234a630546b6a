"""The text-prompt wrapper: SMAC/SMAClite observation rows -> dynamic prompts -> token ids.

Layouts need neither SMAC nor SMAClite; torch is imported only when a TokenBatch is built.

    layout = load_map_layout("3s5z", env="sc2", env_args=run_env_args)
    encoder = PromptEncoder(layout, tokenizer)              # dynamic prompts, percent numbers
    batch = encoder.encode(obs, avail, agent_ids)            # TokenBatch
"""

from .config import PromptConfig
from .encoder import PromptEncoder
from .errors import LayoutMismatchError, UnknownMapError
from .examples import random_observations
from .layout import EntitySlot, MapLayout, RowLayout, load_map_layout, map_names
from .samples import example_prompts
from .semantic import SemanticObservation, UnitView, semantic_observation

__all__ = [
    "EntitySlot",
    "LayoutMismatchError",
    "MapLayout",
    "PromptConfig",
    "PromptEncoder",
    "RowLayout",
    "SemanticObservation",
    "UnitView",
    "UnknownMapError",
    "example_prompts",
    "load_map_layout",
    "map_names",
    "random_observations",
    "semantic_observation",
]
