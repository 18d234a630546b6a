"""Custom SMAClite maps all run as `map_name: custom`: transfer rules and the report tell them apart
by the map file."""

from epymarl_llm.map_identity import map_identity
from epymarl_llm_tools.report.runs import RunMode, run_from_config


def test_custom_maps_go_by_their_file():
    assert map_identity({"map_name": "custom", "map_file": "/x/maps/2s_vs_1z.json"}) == "2s_vs_1z"
    assert map_identity({"map_name": "3s5z", "map_file": None}) == "3s5z"
    assert map_identity({"map_name": "custom"}) == "custom"
    assert map_identity(None) is None


def test_report_sees_a_checkpoint_of_one_custom_map_on_another_as_transfer():
    config = {
        "name": "lolm_mappo",
        "seed": 1,
        "checkpoint_path": "/r/models/lolm_mappo_seed1_custom_2026-12-02 03:10:00.1",
        "evaluate": True,
        "transfer_source_map": "2s_vs_1z",
        "env_args": {"map_name": "custom", "map_file": "/r/maps/3s_vs_1sc.json"},
    }
    run = run_from_config(config, origin="x", run_id="1", status="COMPLETED", metrics={})
    assert run.map_name == "3s_vs_1sc" and run.mode == RunMode.ZERO_SHOT and run.source_map == "2s_vs_1z"
