"""What `lolm_episode` and `lolm_parallel` add to EPyMARL's own runners (`LolmRunnerMixin`).

The runner classes (`runner_classes.LolmEpisodeRunner` / `LolmParallelRunner`) subclass EPyMARL's
`EpisodeRunner` / `ParallelRunner` from the user's checkout (never copied), so they keep EPyMARL's
stepping, logging and env handling. The mixin adds:
- checks of the map name, `map_file` and env args before any env worker starts (`env_checks`):
  EPyMARL's parallel runner would start workers that die and leave it waiting;
- env workers that exit when the run's process dies, and a run that stops with a clear error
  when a worker dies (`workers`);
- the map layout (`prompts.load_map_layout`) checked against the live env's `obs_shape`,
  `state_shape` and `n_actions`, published as `args.lolm_layout` for the controller and critic
  (as EPyMARL's run.py publishes `args.n_agents`); a mismatch stops the run before any training;
- a few sample prompts of the run, recorded once as Sacred artifact `sample_prompts.txt` and as
  run info `lolm_sample_prompts` (bounded by `log_sample_prompts` x `log_sample_prompt_chars`);
- `transfer_source_map` in run info when the run starts from a checkpoint (zero/few-shot transfer);
- what the run has done on the console (`run_summary`): a line after each test (win rate and return,
  KL to the reference and beta, agent-steps/s of rollout and update, wall time) and a summary when
  EPyMARL closes the envs (also where the Sacred run and the checkpoint are); progress lines during
  the rollouts (`progress`), reported by the controller, timed by a clock that runs in `run()` only;
- with `evaluate=True`, `test_nepisode` episodes and one test log over all of them. EPyMARL's
  `evaluate_sequential` (run.py) calls `run(test_mode=True)` `test_nepisode` times, and a parallel
  runner plays `batch_size_run` episodes per call and logs after every `test_nepisode` of them: its
  evaluation would play `test_nepisode x batch_size_run` episodes and log `batch_size_run` values at
  one and the same `t_env`, of which a step-indexed reader (Sacred's metrics, the report's curves)
  keeps one. Here the calls after the first `test_nepisode` episodes return at once, and the
  test logs are held and written together when run.py closes the envs.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from epymarl_llm.epymarl.progress import RolloutClock, RolloutProgress
from epymarl_llm.map_identity import map_identity
from epymarl_llm.run_config import run_config
from epymarl_llm.run_summary import ARGS_ATTR, RunSummary, sacred_run_locations

SAMPLE_PROMPTS_ARTIFACT = "sample_prompts.txt"


class LolmRunnerMixin:
    """Goes before an EPyMARL runner class in the bases."""

    def __init__(self, args: Any, logger: Any):
        from epymarl_llm.epymarl.env_checks import check_env_config
        from epymarl_llm.epymarl.workers import WorkerWatch, exit_children_with_parent

        layout = check_env_config(args.env, args.env_args)  # before EPyMARL starts any env worker
        # Created first, so the wall time counts the env and model start-up too.
        self.run_summary = RunSummary()
        setattr(args, ARGS_ATTR, self.run_summary)  # the learner records its updates into it
        self.rollout_clock = RolloutClock()
        self.rollout_progress: RolloutProgress | None = None
        self._fork_hook = exit_children_with_parent()
        self._worker_watch = WorkerWatch(self)  # idle for the episode runner: it has no workers
        super().__init__(args=args, logger=logger)
        info = self.get_env_info()
        layout.check_env(info["obs_shape"], info["state_shape"], info["n_actions"])
        self.layout = layout
        args.lolm_layout = self.layout
        self._prompts_recorded = False
        self._transfer_recorded = False
        self._held_test_returns: list = []  # evaluate=True: test episodes not yet logged
        self._held_test_stats: dict[str, float] = {}
        _put_info(
            logger,
            "lolm_map",
            {
                "map_name": self.layout_map_name,
                "n_agents": self.layout.n_agents,
                "n_enemies": self.layout.n_enemies,
                "ally_units": list(self.layout.ally_unit_names),
                "enemy_units": list(self.layout.enemy_unit_names),
            },
        )

    @property
    def layout_map_name(self) -> str:
        return map_identity(self.args.env_args)

    def setup(self, scheme, groups, preprocess, mac) -> None:
        """EPyMARL's setup, then the controller gets the run's `RolloutProgress` to report its steps to."""
        super().setup(scheme, groups, preprocess, mac)
        console = getattr(self.logger, "console_logger", None)
        self.rollout_progress = RolloutProgress(
            console.info if console is not None else None,
            int(self.batch_size),
            int(self.args.n_agents),
            run_config(self.args).integration.progress_interval_s,
            clock=self.rollout_clock,
        )
        if hasattr(mac, "rollout_progress"):
            mac.rollout_progress = self.rollout_progress

    def run(self, test_mode: bool = False):
        if not self._transfer_recorded:
            self._record_transfer_source()
        if (
            test_mode
            and getattr(self.args, "evaluate", False)
            and len(self._held_test_returns) >= self.args.test_nepisode
        ):
            return self.batch  # the evaluation has its test_nepisode episodes; evaluate_sequential ignores this
        self.rollout_clock.start()
        try:
            batch = super().run(test_mode=test_mode)
        finally:
            self.rollout_clock.stop()
        self._record_rollouts()
        if not self._prompts_recorded and not test_mode:
            self._record_sample_prompts(batch)
        return batch

    def _log(self, returns: list, stats: dict, prefix: str) -> None:
        """EPyMARL's `_log`, except that an evaluation's test logs are held for `close_env`."""
        if prefix == "test_" and getattr(self.args, "evaluate", False):
            self._held_test_returns.extend(returns)
            for key, value in stats.items():
                self._held_test_stats[key] = self._held_test_stats.get(key, 0) + value
            returns.clear()  # as EPyMARL's _log leaves them
            stats.clear()
            return
        if prefix == "test_":
            self.run_summary.record_test(self.t_env, list(returns), dict(stats))  # EPyMARL's _log clears them
        super()._log(returns, stats, prefix)
        if prefix == "test_":
            self._record_rollouts()  # the test's own rollout, still running, included
            self._console(self.run_summary.test_line())

    def _record_rollouts(self) -> None:
        if self.rollout_progress is not None:
            self.run_summary.record_rollouts(self.rollout_clock(), self.rollout_progress.agent_steps)

    def close_env(self) -> None:
        """Log the held evaluation (means over all its episodes), then close EPyMARL's envs."""
        if self._held_test_returns:
            returns, stats = self._held_test_returns, self._held_test_stats
            self._held_test_returns, self._held_test_stats = [], {}
            self.run_summary.record_test(self.t_env, list(returns), dict(stats))
            super()._log(returns, stats, "test_")
        watch = self._worker_watch
        if watch is not None:
            watch.stop()  # the workers now exit on purpose
        super().close_env()
        self._console(self.final_summary())

    def final_summary(self) -> str:
        """The end-of-run summary (`RunSummary.final_lines`), as one console message."""
        lines = self.run_summary.final_lines(
            self.t_env,
            sacred_run_locations(getattr(self.logger, "_run_obj", None)),
            bool(getattr(self.args, "save_model", False)),
        )
        return "\n".join(lines)

    def _console(self, text: str) -> None:
        console = getattr(self.logger, "console_logger", None)
        if console is not None:
            console.info(text)

    def _record_transfer_source(self) -> None:
        """Run info of a run that loaded a checkpoint: its source map and folder (the controller's load plan)."""
        self._transfer_recorded = True
        plan = self.mac.load_plan
        if plan is not None:
            _put_info(self.logger, "transfer_source_map", plan.source_map)
            _put_info(self.logger, "transfer_checkpoint", plan.checkpoint)

    def _record_sample_prompts(self, batch) -> None:
        """Prompts of env 0 at its first step and at the middle of its episode (dynamic prompts shrink)."""
        from epymarl_llm.actions import dead_agents

        self._prompts_recorded = True
        cfg = self.mac.config.integration
        if cfg.log_sample_prompts == 0:
            return
        steps = max(1, int(batch["filled"][0].sum()))
        picks = [(0, (cfg.log_sample_prompts + 1) // 2), (steps // 2, cfg.log_sample_prompts // 2)]
        records = []
        for t, k in picks:
            if k == 0:
                continue
            texts = self.mac.sample_prompts(
                batch["obs"][0, t], batch["avail_actions"][0, t], k, cfg.log_sample_prompt_chars
            )
            # The first k live agents, as sample_prompts picks them: one per text.
            agents = (~dead_agents(batch["avail_actions"][0, t])).nonzero().flatten().tolist()[:k]
            records += [{"t": t, "agent": a, "text": text} for a, text in zip(agents, texts, strict=True)]
        _put_info(self.logger, "lolm_sample_prompts", records)
        run = getattr(self.logger, "_run_obj", None)
        if run is not None and records:
            with tempfile.TemporaryDirectory() as tmp:
                path = os.path.join(tmp, SAMPLE_PROMPTS_ARTIFACT)
                with open(path, "w", encoding="utf-8") as f:
                    for r in records:
                        f.write(
                            f"===== map {self.layout_map_name}, env 0, step {r['t']}, agent {r['agent']} =====\n{r['text']}\n\n"
                        )
                run.add_artifact(path, name=SAMPLE_PROMPTS_ARTIFACT)


def _put_info(logger: Any, key: str, value: Any) -> None:
    """Into Sacred's run info (saved in info.json / the Mongo run document), when Sacred is on."""
    info = getattr(logger, "sacred_info", None)
    if info is not None:
        info[key] = value
