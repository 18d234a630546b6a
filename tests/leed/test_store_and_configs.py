"""Demonstration folders round-trip and are checked; the LEED yamls are generated and typed."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
import yaml

from epymarl_llm import registry_names
from epymarl_llm import run_config as rc
from epymarl_llm.leed.config import LeedConfig
from epymarl_llm.leed.store import (
    DemoFormatError,
    concat,
    load_demos,
    write_batch,
    write_manifest,
)
from epymarl_llm_tools.commands import leed_yamls as configs

sys.path.insert(0, str(Path(__file__).parent))
from helpers import MAP, demo_episodes

CONFIG_DIR = Path(__file__).resolve().parents[2] / "config"


def test_batches_round_trip_padded_to_the_longest(tmp_path):
    a, b = demo_episodes(2, length=3, won=[1, 0]), demo_episodes(1, length=5, seed=1)
    names_ = [write_batch(tmp_path, 0, a), write_batch(tmp_path, 1, b)]
    write_manifest(tmp_path, {"batches": names_, "map_name": MAP})
    demos, manifest = load_demos(tmp_path, n_agents=5, n_actions=11)
    assert len(demos) == 3 and demos.obs.shape[1] == 5 and manifest["map_name"] == MAP
    assert demos.filled.sum(1).tolist() == [3, 3, 5]
    np.testing.assert_array_equal(demos.actions[2], b.actions[0])
    np.testing.assert_array_equal(concat([a, b]).obs, demos.obs)
    won, _ = load_demos(tmp_path, only_won=True)
    assert len(won) == 1 and won.obs.shape[1] == 3


def test_size_mismatch_and_missing_batch_are_clear_errors(tmp_path):
    write_manifest(tmp_path, {"batches": [write_batch(tmp_path, 0, demo_episodes(1, 2))], "map_name": MAP})
    with pytest.raises(DemoFormatError, match="have 5 agents but this run has 8"):
        load_demos(tmp_path, n_agents=8)
    (tmp_path / "batch_00000.npz").unlink()
    with pytest.raises(DemoFormatError, match="missing"):
        load_demos(tmp_path)


@pytest.mark.parametrize("stem", configs.STEMS)
def test_leed_yamls_are_generated_and_current(stem):
    base = (CONFIG_DIR / "lolm_mappo.yaml").read_text()
    assert (CONFIG_DIR / f"{stem}.yaml").read_text() == configs.render(stem, base), (
        "stale LEED yaml: run `epymarl-llm configs`"
    )


@pytest.mark.parametrize("stem", configs.STEMS)
def test_leed_yamls_declare_every_leed_key_with_the_dataclass_default(stem):
    data = yaml.safe_load((CONFIG_DIR / f"{stem}.yaml").read_text())
    expected = {f: getattr(LeedConfig(), f) for f in LeedConfig.__dataclass_fields__}
    if stem in configs.NO_DEMO:
        expected["demo_coef"] = 0.0
    assert {k: data[k] for k in expected} == expected
    assert data["name"] == stem
    known = rc.EPYMARL_KEYS | set(expected) | (set(rc.field_defaults()) if stem.startswith("lolm") else set())
    assert not sorted(set(data) - known)
    learner = registry_names.LEED_LEARNER if stem.startswith("lolm") else registry_names.MAPPO_LEED_LEARNER
    assert data["learner"] == learner


def test_lolm_leed_is_lolm_mappo_plus_the_leed_keys():
    base = yaml.safe_load((CONFIG_DIR / "lolm_mappo.yaml").read_text())
    leed = yaml.safe_load((CONFIG_DIR / "lolm_leed.yaml").read_text())
    changed = {k for k in base if base[k] != leed[k]}
    assert changed == {"name", "learner"} and set(leed) - set(base) == set(LeedConfig.__dataclass_fields__)
