"""`epymarl-llm report` on run folders written by real Sacred experiments: a source map, a target
map, from-scratch, few-shot and zero-shot runs, built-in algorithms, and broken runs."""

import csv

import pytest

from epymarl_llm_tools import cli
from tests.report.sacred_fixtures import epymarl_config, ramp

SOURCE, TARGET = "3s_vs_4z", "3s_vs_5z"
LOAD_STEP = 2_000_000  # EPyMARL sets t_env to the checkpoint's step: few-shot curves start there
CKPT = f"results/models/lolm_mappo_seed{{seed}}_{SOURCE}_2025-01-02 10:11:12.123456"


def _populate(results, file_run):
    steps = ramp(11, 10_000)
    learner = {
        "policy_entropy": (steps, [2.0 - 0.15 * i for i in range(11)]),
        "kl_to_reference": (steps, [0.01 * i for i in range(11)]),
        "kl_beta": (steps, [max(0.0, 0.5 - 0.05 * i) for i in range(11)]),
    }
    # From scratch on both maps, two seeds: 0.0, 0.1, ..., 1.0 (seed 2 lags by 0.02).
    for map_name in (SOURCE, TARGET):
        for seed, lag in ((1, 0.0), (2, 0.02)):
            won = [max(0.0, i / 10 - lag) for i in range(11)]
            file_run(
                results, epymarl_config("lolm_mappo", map_name, seed), {"test_battle_won_mean": (steps, won), **learner}
            )
    # Few-shot on the target: seed 1 names its source in the plugin's key, seed 2 only in the path.
    few = {1: [0.5, 0.7, 0.9, 0.9, 0.9, 0.9], 2: [0.3, 0.5, 0.7, 0.7, 0.7, 0.7]}
    for seed, won in few.items():
        extra = {"transfer_source_map": SOURCE} if seed == 1 else {}
        file_run(
            results,
            epymarl_config("lolm_mappo", TARGET, seed, checkpoint_path=CKPT.format(seed=seed), kl_mode="none", **extra),
            {"test_battle_won_mean": (ramp(6, 10_000, LOAD_STEP), won)},
        )
    # Zero-shot: one evaluation at the checkpoint's step.
    for seed, won in ((1, 0.35), (2, 0.25)):
        file_run(
            results,
            epymarl_config("lolm_mappo", TARGET, seed, checkpoint_path=CKPT.format(seed=seed), evaluate=True),
            {"test_battle_won_mean": ([LOAD_STEP], [won])},
        )
    # Built-in MAPPO: trains on both maps, cannot load its source checkpoint on the target.
    for map_name in (SOURCE, TARGET):
        file_run(
            results,
            epymarl_config("mappo", map_name, 1),
            {"test_battle_won_mean": (steps, [i / 20 for i in range(11)]), "pg_loss": (steps, [0.1] * 11)},
        )
    file_run(
        results,
        epymarl_config("mappo", TARGET, 1, checkpoint_path="results/models/mappo_seed1_3s_vs_4z_2025-01-02 1:2:3.4"),
        {},
        fail_with="Error(s) in loading state_dict for RNNAgent: size mismatch for fc1.weight: "
        "copying a param with shape torch.Size([64, 60]) from checkpoint, the shape in current model is torch.Size([64, 66]).",
    )
    # QMIX on a non-SMAC-like config: no win rate logged.
    file_run(results, epymarl_config("qmix", TARGET, 1), {"test_return_mean": (steps, [float(i) for i in range(11)])})
    # A third target seed crashed half-way: listed apart, never averaged into the target's series.
    file_run(
        results,
        epymarl_config("lolm_mappo", TARGET, 3),
        {"test_battle_won_mean": (ramp(3, 10_000), [0.9, 0.9, 0.9])},
        fail_with="CUDA out of memory.\nTried to allocate 2.00 GiB",
    )
    # A run whose checkpoint folder names no map and that failed before its first log: it never
    # loaded the checkpoint, so it is no "few-shot from unknown source" and not in the transfer table.
    file_run(
        results,
        epymarl_config("lolm_mappo", TARGET, 4, checkpoint_path="/data/ckpt/best"),
        {},
        fail_with="/data/ckpt/best/100 is not a lolm_mappo checkpoint\nA lolm_mappo checkpoint is ...",
    )
    # A third source-map seed still RUNNING (or killed): used, with a message.
    file_run(
        results,
        epymarl_config("lolm_mappo", SOURCE, 3),
        {"test_battle_won_mean": (ramp(4, 10_000), [0.0, 0.1, 0.2, 0.3])},
        status="RUNNING",
    )


def test_report_end_to_end(tmp_path, file_run, capsys):
    results = tmp_path / "results"
    _populate(results, file_run)
    out = tmp_path / "report"
    code = cli.main(["report", str(results / "sacred"), "--out", str(out), "--last-k", "3", "--smooth", "1"])
    printed = capsys.readouterr().out
    assert code == 0, printed

    # Figures: one per map with every algorithm, entropy and KL for the plugin runs, PNG + SVG.
    for name in ("win_rate", "entropy", "kl"):
        for map_name in (SOURCE, TARGET):
            for ext in ("png", "svg"):
                path = out / f"{name}_{map_name}.{ext}"
                assert path.stat().st_size > 5000, path
    assert (out / f"win_rate_{TARGET}.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    svg = (out / f"win_rate_{TARGET}.svg").read_text()
    for legend in ("lolm_mappo (n=2)", f"lolm_mappo few-shot from {SOURCE} (n=2)", "mappo (n=1)"):
        assert legend in svg

    # Zero-shot box plot (paper figure 6): one box for the pair, labelled with its seeds.
    zero_svg = (out / "zero_shot.svg").read_text()
    assert f"{SOURCE} \u2192 {TARGET}" in zero_svg and "lolm_mappo (n=2)" in zero_svg
    assert (out / "zero_shot.png").stat().st_size > 5000

    rows = {row["algorithm"]: row for row in csv.DictReader((out / "transfer.csv").open())}
    lolm = rows["lolm_mappo"]
    assert (lolm["source_map"], lolm["target_map"]) == (SOURCE, TARGET)
    # zero-shot 0.35 / 0.25; jumpstart 0.5 / 0.3; asymptote (last 3) 0.9 / 0.7
    assert float(lolm["zero_shot_mean"]) == pytest.approx(0.30) and float(lolm["zero_shot_std"]) == pytest.approx(0.05)
    assert float(lolm["jumpstart_mean"]) == pytest.approx(0.4) and float(lolm["jumpstart_std"]) == pytest.approx(0.1)
    assert float(lolm["asymptote_mean"]) == pytest.approx(0.8) and float(lolm["asymptote_std"]) == pytest.approx(0.1)
    # Both seeds reach 0.95 x their asymptote at the third evaluation: 20k steps on the target
    # (their logged steps start at 2M, the checkpoint's step).
    assert float(lolm["steps_to_asymptote_mean"]) == pytest.approx(20_000)
    # Mean few-shot curve reaches 0.95 x 0.8 = 0.76 at 20k; the mean scratch curve
    # (i/10 - 0.01) at 80k: speed-up 4.
    assert float(lolm["speed_up"]) == pytest.approx(4.0) and lolm["speed_up_is_lower_bound"] == "False"
    assert "not transferable (fixed input size)" in rows["mappo"]["notes"]
    # QMIX ran only on the target, from scratch: it is no transfer run, so it has no row.
    assert "qmix" not in rows

    table = (out / "transfer.md").read_text()
    assert f"| {SOURCE} -> {TARGET} | lolm_mappo | 30.0 ± 5.0 | 40.0 ± 10.0 | 80.0 ± 10.0 | 20k ± 0 | 4.0x |" in table

    # Problems are reported, and the other runs are still used.
    report = (out / "report.md").read_text()
    for expected in (
        "lacks metric 'test_battle_won_mean'",
        "incomplete (status RUNNING",
        "entropy curve missing for mappo",
    ):
        assert expected in report and expected in printed
    assert f"| {SOURCE} | lolm_mappo | 1, 2, 3 | - | COMPLETED, RUNNING |" in report
    # Broken runs: one table row each (the cause's first line), the full traceback in a file, and
    # one printed line per distinct cause.
    cause = (
        "not transferable (fixed input size): RuntimeError: Error(s) in loading state_dict for RNNAgent: "
        "size mismatch for fc1.weight"
    )
    assert f"| mappo {TARGET} seed 1 (run " in report and f"| few-shot from {SOURCE} | FAILED | {cause}" in report
    assert "size mismatch for fc1.weight" in (out / "broken_runs.txt").read_text()
    assert "4 runs did not complete" in printed and f"1 x FAILED: {cause}" in printed
    assert "crashed" not in printed
    assert f"| {TARGET} | lolm_mappo | 1, 2 | 3 | COMPLETED, FAILED |" in report
    assert (
        f"| lolm_mappo {TARGET} seed 3 (run " in report
        and "| single-task | FAILED | RuntimeError: CUDA out of memory. |" in report
    )
    assert f"| {TARGET} | lolm_mappo | 2 | " in (out / "single_task.md").read_text()  # seeds 1, 2: not the crashed 3
    assert (
        "| checkpoint not loaded | FAILED | RuntimeError: /data/ckpt/best/100 is not a lolm_mappo checkpoint |"
        in report
    )
    assert "unknown source" not in report + table


def test_report_without_inputs_is_an_error(tmp_path, capsys):
    assert cli.main(["report", "--out", str(tmp_path)]) == 2
    assert "give run folders" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path / "missing"), "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    assert "no runs found" in capsys.readouterr().err


def test_bad_options_and_unknown_metric_are_clear_errors(tmp_path, file_run, capsys):
    file_run(tmp_path, epymarl_config("mappo", "3s5z", 1), {"test_return_mean": ([0, 10], [1.0, 2.0])})
    assert cli.main(["report", str(tmp_path), "--out", str(tmp_path / "o"), "--last-k", "0"]) == 2
    assert "last_k must be >= 1" in capsys.readouterr().err
    assert cli.main(["report", str(tmp_path), "--out", str(tmp_path / "o")]) == 1
    assert (
        "no run logged 'test_battle_won_mean'; pass --metric with one of: test_return_mean" in capsys.readouterr().err
    )
    assert cli.main(["report", str(tmp_path), "--out", str(tmp_path / "o"), "--metric", "test_return_mean"]) == 0
    assert (tmp_path / "o" / "test_return_mean_3s5z.png").exists()


def test_split_by_gives_each_setting_its_own_series(tmp_path, file_run, capsys):
    results = tmp_path / "results"
    for init, seeds in (("pretrained", (1, 2)), ("random", (1,))):
        for seed in seeds:
            file_run(
                results,
                epymarl_config("lolm_mappo", SOURCE, seed, llm_init=init),
                {"test_battle_won_mean": (ramp(4, 10_000), [0.0, 0.2, 0.4, 0.6])},
            )
    out = tmp_path / "report"
    assert cli.main(["report", str(results / "sacred"), "--out", str(out), "--split-by", "llm_init"]) == 0
    svg = (out / f"win_rate_{SOURCE}.svg").read_text()
    assert "lolm_mappo [llm_init=pretrained] (n=2)" in svg and "lolm_mappo [llm_init=random] (n=1)" in svg
