"""`epymarl-llm report` on SMACv2 transfer runs (scenario names such as protoss_5_vs_5 -> protoss_10_vs_10)."""

import csv

from epymarl_llm_tools import cli
from epymarl_llm_tools.report.runs import source_map_from_checkpoint
from tests.report.sacred_fixtures import epymarl_config, ramp

SOURCE, TARGET = "protoss_5_vs_5", "protoss_10_vs_10"
CKPT = f"results/models/lolm_mappo_seed{{seed}}_{SOURCE}_2025-01-02 10:11:12.123456"


def test_checkpoint_folder_names_the_smacv2_scenario():
    assert source_map_from_checkpoint(CKPT.format(seed=3) + "/2000") == SOURCE


def test_report_pairs_smacv2_scenarios(tmp_path, file_run, capsys):
    results = tmp_path / "results"
    steps = ramp(11, 10_000)
    for map_name in (SOURCE, TARGET):
        for seed in (1, 2):
            file_run(
                results,
                epymarl_config("lolm_mappo", map_name, seed, env="sc2v2"),
                {"test_battle_won_mean": (steps, [i / 10 for i in range(11)])},
            )
    for seed, won in ((1, 0.4), (2, 0.2)):
        file_run(
            results,
            epymarl_config(
                "lolm_mappo", TARGET, seed, env="sc2v2", evaluate=True, checkpoint_path=CKPT.format(seed=seed)
            ),
            {"test_battle_won_mean": ([1_000_000], [won])},
        )
    out = tmp_path / "report"
    assert cli.main(["report", str(results / "sacred"), "--out", str(out)]) == 0, capsys.readouterr().out
    rows = [r for r in csv.DictReader((out / "transfer.csv").open()) if r["algorithm"] == "lolm_mappo"]
    assert [(r["source_map"], r["target_map"]) for r in rows] == [(SOURCE, TARGET)]
    assert abs(float(rows[0]["zero_shot_mean"]) - 0.3) < 1e-9
    assert (out / f"win_rate_{TARGET}.svg").is_file()
