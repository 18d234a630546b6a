"""The KL-annealed MAPPO learner of LoLM-MARL behind EPyMARL's learner interface (METHOD section 6).

Returns, advantages and the critic update follow EPyMARL's `src/learners/ppo_learner.py` (n-step
returns, reward/return standardisation, a target critic, one critic step per epoch whose TD error is
that epoch's advantage), so that runs compare fairly with `--config=mappo`. The policy side differs
where a 0.6B-parameter policy demands it: no deepcopy old policy, all live agent-steps in large
length-sorted forwards, and the KL term to the adapter-off reference policy (eqs. 6-10).
"""

from __future__ import annotations

import copy
import dataclasses
import os
import time
from typing import Any

import torch

from epymarl_llm import metric_names as M
from epymarl_llm import run_summary
from epymarl_llm.learner import losses, random_states
from epymarl_llm.learner.chunk_memory import PromptsPerForward, memory_budget_bytes
from epymarl_llm.learner.config import LearnerConfig
from epymarl_llm.learner.critics import build_critic
from epymarl_llm.learner.kl_schedule import KlBetaSchedule
from epymarl_llm.learner.lower_cache import LowerStatesCache, RolloutLowerStates
from epymarl_llm.learner.policy_passes import old_and_reference, policy_gradient_step
from epymarl_llm.learner.returns import RunningMeanStd, nstep_returns
from epymarl_llm.learner.update_inputs import UpdateInputs, update_inputs
from epymarl_llm.learner.update_progress import UpdateProgress
from epymarl_llm.load_plan import KlAction, LoadKind, LoadPlan
from epymarl_llm.policy.checkpoint_files import read_checkpoint_file
from epymarl_llm.run_config import run_config

_STATE_FILE = "learner_state.th"


@dataclasses.dataclass
class _EpochResult:
    """What an update reports: the stats of its last epoch."""

    critic_stats: dict[str, float]
    policy_stats: Any  # None when the batch has no live agent-step
    grad_norm: torch.Tensor
    live_advantages: torch.Tensor
    beta: float


class LolmPPOLearner:
    """`__init__(mac, scheme, logger, args)`, `train(batch, t_env, episode_num)`, `cuda`,
    `save_models(path)`, `load_models(path)`, as EPyMARL's learners.

    Reads `mac.policy` (LlmPolicy), `mac.prompt_encoder` (PromptEncoder) and `mac.load_plan`, and
    trains the parameters of `mac.parameters()` that require gradients (LoRA and the action head).
    Its keys are the run's `LolmRunConfig.learner` (`run_config(args)`, read once per run).
    """

    def __init__(self, mac: Any, scheme: dict, logger: Any, args: Any, critic: torch.nn.Module | None = None):
        run = run_config(args)
        self.config: LearnerConfig = run.learner
        self.args, self.mac, self.logger = args, mac, logger
        self.n_agents = self.config.n_agents
        self.agent_params = [p for p in mac.parameters() if p.requires_grad]
        if not self.agent_params:
            raise ValueError("the controller has no trainable parameters: is the LoRA adapter attached?")
        self.agent_optimiser = torch.optim.Adam(self.agent_params, lr=self.config.lr)
        if critic is None:  # as EPyMARL's ppo_learner: critic_registry[args.critic_type](scheme, args)
            critic = build_critic(run.critic, scheme, args, layout=mac.prompt_encoder.layout)
        self.critic = critic
        self.target_critic = copy.deepcopy(critic)
        self.critic_params = list(self.critic.parameters())
        self.critic_optimiser = torch.optim.Adam(self.critic_params, lr=self.config.lr)
        self.kl_schedule = self.config.kl_schedule()
        self.critic_training_steps = 0
        self.policy_steps = 0  # the agent optimiser's steps in this run (lr warm-up)
        self.last_target_update_step = 0
        self.log_stats_t = -self.config.learner_log_interval - 1
        device = "cuda" if self.config.use_cuda else "cpu"
        self.ret_ms = RunningMeanStd(shape=(self.n_agents,), device=device)
        self.rew_ms = RunningMeanStd(shape=(1,), device=device)
        # Extra loss term hook: an object whose `accumulate(t_env)` adds its gradient to `.grad` once per
        # epoch, before the clip and optimiser step (LEED's expert loss: epymarl_llm.leed).
        self.extra_loss: Any = None
        self.pi_old_source = "pass"  # where the last update's pi_old came from: "pass" or "rollout"
        self.lower_chunks_from_rollout = 0  # the last update's chunks whose lower layers the rollout ran
        self.prompts_per_forward = self.config.max_prompts_per_forward  # the last update's (`update_memory_mb`)
        self.memory_budget: int | None = None  # bytes `update_memory_mb` allowed the last sizing
        self.chunk_sizer = PromptsPerForward()
        console = getattr(logger, "console_logger", None)
        self._console = console.info if console is not None else (lambda message: None)
        self._console(mac.policy.summary())  # which model, in which dtype and why: auto differs by machine
        self.update_progress = UpdateProgress(
            console.info if console is not None else None, run.integration.progress_interval_s
        )

    # --- the update -------------------------------------------------------------------------------
    def train(self, batch: Any, t_env: int, episode_num: int) -> None:
        started = time.perf_counter()
        policy = self.mac.policy
        rewards = self._team_rewards(batch)
        checkpointing = bool(policy.cfg.gradient_checkpointing)
        was_training = policy.training
        # Every dropout of the policy is off (`LlmPolicy`, TRL's rule), so training mode changes one
        # thing only: transformers checkpoints the layers in training mode, and only then.
        policy.train(checkpointing)
        try:
            inputs = self._update_inputs(batch, t_env)  # sizes its chunks in the epochs' mode
            with_reference = self._needs_reference(t_env)
            rollout_probs = self._rollout_pi_old(batch, inputs.steps, inputs.actions)
            # `lora_layers: K`: the frozen lower layers run once per agent-step, in the first pass, or
            # not at all when the rollout kept their output (`lower_from_rollout`).
            lower_cache = LowerStatesCache(policy, self.config.lower_cache_mb, self._rollout_lower(batch, inputs.steps))
            old = self._old_and_reference(inputs, with_reference, rollout_probs, checkpointing, lower_cache)
            self.lower_chunks_from_rollout = lower_cache.from_rollout
            last = self._epochs(batch, rewards, inputs, old, lower_cache, t_env)
        finally:
            policy.train(was_training)
        self._update_target_critic()
        self._report_update(t_env, len(inputs.steps), time.perf_counter() - started, old, last)

    def _update_inputs(self, batch: Any, t_env: int) -> UpdateInputs:
        """The batch's live agent-steps, prompts and forward chunks; starts the progress report."""
        inputs = update_inputs(
            batch, self.mac, self.n_agents, self.config.max_prompts_per_forward, self._policy_device()
        )
        rows = self._prompts_per_forward(inputs)
        if rows < self.config.max_prompts_per_forward:
            inputs.chunks = self.mac.policy.row_groups(inputs.tokens, rows, with_grad=True)
        self.update_progress.start(t_env, self.config.epochs, len(inputs.chunks), len(inputs.steps))
        return inputs

    def rows_within_memory(self, tokens: Any, avail: torch.Tensor) -> int:
        """`max_prompts_per_forward`, or fewer where a gradient forward of `tokens` would not fit `update_memory_mb`."""
        most = self.config.max_prompts_per_forward
        budget = memory_budget_bytes(self.config.update_memory_mb, self._policy_device())
        self.memory_budget = budget  # what the console message reports
        if budget is None or most == 1 or len(tokens) < 2:
            return most
        return self.chunk_sizer.within(self.mac.policy, tokens, avail, budget, most)

    def _prompts_per_forward(self, inputs: UpdateInputs) -> int:
        """The epochs' prompts per forward (`rows_within_memory`), said on the console when it changes."""
        most = self.config.max_prompts_per_forward
        rows = self.rows_within_memory(inputs.tokens, inputs.avail)
        sizer = self.chunk_sizer
        if rows < most and rows != self.prompts_per_forward:
            budget = self.memory_budget
            self._console(
                f"update: {rows} prompts per forward instead of max_prompts_per_forward {most}: a prompt of "
                f"{sizer.length} tokens keeps {sizer.per_prompt / 2**20:.0f} MiB of activations for the "
                f"backward, and update_memory_mb {self.config.update_memory_mb} allows {budget / 2**20:.0f} MiB"
            )
        self.prompts_per_forward = rows
        return rows

    def _needs_reference(self, t_env: int) -> bool:
        """Whether the adapter-off reference policy runs: for the KL term, or to log the KL alone."""
        schedule = self.kl_schedule
        kl_term = schedule.enabled and (schedule.needs_start or schedule.beta(t_env) > 0)
        return kl_term or self.config.log_kl_to_reference

    def _old_and_reference(self, inputs, with_reference, rollout_probs, checkpointing, lower_cache):
        """pi_old of every live step (from the rollout when it is usable) and, if asked, the reference."""
        return old_and_reference(
            self.mac.policy,
            inputs.tokens,
            inputs.avail,
            inputs.actions,
            inputs.chunks,
            with_reference,
            inputs.device,
            rollout_probs=rollout_probs,
            epochs_path=checkpointing,
            lower_cache=lower_cache,
            on_minibatch=self.update_progress.minibatch_done,
        )

    def _epochs(self, batch, rewards, inputs, old, lower_cache, t_env: int) -> _EpochResult:
        """The PPO epochs: each a critic step, whose TD error is its advantage, then a policy step."""
        target_values = self._target_values(batch)
        for epoch in range(self.config.epochs):
            self.update_progress.epoch(epoch)
            advantages, critic_stats = self._critic_step(batch, rewards, inputs.masks.mask, target_values)
            live_advantages = inputs.steps.take(advantages).to(inputs.device)
            if self.kl_schedule.needs_start:
                # Eq. 10 at the first update: at ratio 1, L_MAPPO = -mean[A + c_ent * H(pi_old)].
                mappo_at_start = -(float(live_advantages.mean()) + self.config.entropy_coef * old.entropy_mean)
                self.kl_schedule.start(mappo_at_start, old.kl_mean)
            beta = self.kl_schedule.beta(t_env)
            policy_stats, grad_norm = None, torch.zeros(())
            if len(inputs.steps):
                policy_stats, grad_norm = self._policy_step(inputs, live_advantages, old, beta, lower_cache, t_env)
            last = _EpochResult(critic_stats, policy_stats, grad_norm, live_advantages, beta)
        return last

    def _policy_step(self, inputs, live_advantages, old, beta: float, lower_cache, t_env: int):
        """One optimiser step of LoRA and the head on every live step; returns its stats and grad norm."""
        self.agent_optimiser.zero_grad()
        policy_stats = policy_gradient_step(
            self.mac.policy,
            inputs.tokens,
            inputs.avail,
            inputs.actions,
            live_advantages,
            old,
            inputs.chunks,
            beta,
            self.config.eps_clip,
            self.config.entropy_coef,
            inputs.device,
            lower_cache=lower_cache,
            on_minibatch=self.update_progress.minibatch_done,
        )
        if self.extra_loss is not None:
            self.extra_loss.accumulate(t_env)
        grad_norm = torch.nn.utils.clip_grad_norm_(self.agent_params, self.config.grad_norm_clip)
        for group in self.agent_optimiser.param_groups:
            group["lr"] = self.policy_lr()
        self.agent_optimiser.step()
        self.policy_steps += 1
        self.mac.policy.weights_changed()  # fused optimisers bump no tensor version counter
        return policy_stats, grad_norm

    def policy_lr(self) -> float:
        """The policy's lr for its next optimiser step: `lr`, ramped up over `lr_warmup_steps`."""
        warmup = self.config.lr_warmup_steps
        return self.config.lr * (min(1.0, (self.policy_steps + 1) / warmup) if warmup else 1.0)

    def _report_update(self, t_env: int, n_steps: int, seconds: float, old, last: _EpochResult) -> None:
        """The run summary's update record, and the logged stats every `learner_log_interval` steps."""
        summary = run_summary.for_run(self.args)
        if summary is not None:
            kl = last.policy_stats.kl if last.policy_stats is not None and old.ref_log_probs is not None else None
            summary.record_update(n_steps, seconds, last.beta, kl)
        if t_env - self.log_stats_t >= self.config.learner_log_interval:
            self._log(
                t_env,
                last.critic_stats,
                last.policy_stats,
                last.grad_norm,
                last.live_advantages,
                last.beta,
                old,
                n_steps / seconds,
            )
            self.log_stats_t = t_env

    def _rollout_pi_old(self, batch: Any, steps: Any, actions: torch.Tensor) -> torch.Tensor | None:
        """(M, A) the rollout's probabilities of the live steps when they are pi_old, else None.

        They are when `pi_old_from_rollout` is on, the controller recorded this very batch
        (`RolloutRecord`), the weights have not changed since, and every live step was recorded.
        An off-policy batch (a larger buffer, a replayed sample) fails one of those checks.
        """
        self.pi_old_source = "pass"
        record = self.mac.rollout_record
        if not self.config.pi_old_from_rollout or record is None or not len(steps):
            return None
        probs = record.lookup(batch, self.mac.policy.weights_version)
        if probs is None:
            return None
        live = steps.take(probs[:, :-1]).to(actions.device)
        taken = live.gather(-1, actions.unsqueeze(-1)).squeeze(-1)
        if not bool(torch.isfinite(live).all()) or not bool((taken > 0).all()):
            return None
        self.pi_old_source = "rollout"
        return live

    def _rollout_lower(self, batch: Any, steps: Any) -> RolloutLowerStates | None:
        """The frozen lower layers' output the rollout kept for `batch`, when it is the batch played."""
        record = self.mac.rollout_record
        if not self.config.lower_from_rollout or record is None or not len(steps):
            return None
        found = record.lower_lookup(batch)
        return RolloutLowerStates(found[0], found[1], steps.index) if found is not None else None

    def _team_rewards(self, batch: Any) -> torch.Tensor:
        """(B, T-1, N) rewards, standardised as EPyMARL's `standardise_rewards` does."""
        rewards = batch["reward"][:, :-1].float()
        if self.config.standardise_rewards:
            self.rew_ms.update(rewards)
            rewards = self.rew_ms.normalise(rewards)
        if rewards.shape[-1] != 1:
            raise ValueError(f"expected one common reward per step, got {rewards.shape[-1]}: set common_reward=True")
        return rewards.expand(-1, -1, self.n_agents)

    def _target_values(self, batch: Any) -> torch.Tensor:
        """(B, T, N) target-critic values; constant during an update, so computed once."""
        with torch.no_grad():
            return self.target_critic(batch).squeeze(-1)

    def _critic_step(
        self, batch: Any, rewards: torch.Tensor, mask: torch.Tensor, target_values: torch.Tensor
    ) -> tuple[torch.Tensor, dict[str, float]]:
        """One critic step; returns the masked TD error (the advantage, as EPyMARL) (B, T-1, N) and stats."""
        if self.config.standardise_returns:
            target_values = self.ret_ms.denormalise(target_values)
        returns = nstep_returns(
            rewards, mask, target_values, self.config.q_nstep, self.config.gamma, self.config.add_value_last_step
        )
        if self.config.standardise_returns:
            self.ret_ms.update(returns)
            returns = self.ret_ms.normalise(returns)
        values = self.critic(batch)[:, :-1].squeeze(-1)
        td_error = (returns.detach() - values) * mask
        loss = td_error.square().sum() / mask.sum().clamp(min=1.0)
        self.critic_optimiser.zero_grad()
        loss.backward()
        grad_norm = torch.nn.utils.clip_grad_norm_(self.critic_params, self.config.grad_norm_clip)
        self.critic_optimiser.step()
        stats = {
            "loss": float(loss.detach()),
            "grad_norm": float(grad_norm),
            "explained_variance": losses.explained_variance(values.detach(), returns, mask),
        }
        return td_error.detach(), stats

    def _update_target_critic(self) -> None:
        """Hard copy every `target_update_interval_or_tau` updates (> 1), else Polyak with tau (as EPyMARL)."""
        self.critic_training_steps += 1
        every = self.config.target_update_interval_or_tau
        if every > 1:
            if (self.critic_training_steps - self.last_target_update_step) / every >= 1.0:
                self.target_critic.load_state_dict(self.critic.state_dict())
                self.last_target_update_step = self.critic_training_steps
            return
        with torch.no_grad():
            for target, source in zip(self.target_critic.parameters(), self.critic.parameters(), strict=True):
                target.mul_(1.0 - every).add_(source, alpha=every)

    def _log(self, t_env, critic_stats, policy_stats, grad_norm, advantages, beta, old, samples_per_s) -> None:
        log = self.logger.log_stat
        log(M.VALUE_LOSS, critic_stats["loss"], t_env)
        log(M.CRITIC_GRAD_NORM, critic_stats["grad_norm"], t_env)
        log(M.EXPLAINED_VARIANCE, critic_stats["explained_variance"], t_env)
        log(M.KL_BETA, beta, t_env)
        log(M.LEARNER_SAMPLES_PER_S, samples_per_s, t_env)
        log(M.POLICY_LR, self.agent_optimiser.param_groups[0]["lr"], t_env)
        if policy_stats is None:  # no live agent-step in the batch
            return
        log(M.POLICY_LOSS, policy_stats.mappo_loss, t_env)
        log(M.ENTROPY, policy_stats.entropy, t_env)
        log(M.CLIP_FRACTION, policy_stats.clip_fraction, t_env)
        log(M.APPROX_KL_OLD, policy_stats.approx_kl_old, t_env)
        log(M.AGENT_GRAD_NORM, float(grad_norm), t_env)
        log(M.ADVANTAGE_MEAN, float(advantages.mean()), t_env)
        if old.ref_log_probs is not None:
            log(M.KL_TO_REFERENCE, policy_stats.kl, t_env)

    def _policy_device(self) -> torch.device:
        return self.agent_params[0].device

    # --- EPyMARL's housekeeping -------------------------------------------------------------------
    def cuda(self) -> None:
        self.mac.cuda()
        self.critic.cuda()
        self.target_critic.cuda()
        self.ret_ms.to("cuda")
        self.rew_ms.to("cuda")

    def save_models(self, path: str) -> None:
        """Trainable policy weights (through the mac), critic, target critic, optimisers, schedule."""
        self.mac.save_models(path)
        torch.save(self.critic.state_dict(), os.path.join(path, "critic.th"))
        torch.save(self.target_critic.state_dict(), os.path.join(path, "target_critic.th"))
        torch.save(self.agent_optimiser.state_dict(), os.path.join(path, "agent_opt.th"))
        torch.save(self.critic_optimiser.state_dict(), os.path.join(path, "critic_opt.th"))
        torch.save(
            {
                "kl_schedule": self.kl_schedule.state_dict(),
                "rew_ms": self.rew_ms.state_dict(),
                "ret_ms": self.ret_ms.state_dict(),
                "critic_training_steps": self.critic_training_steps,
                "policy_steps": self.policy_steps,
                "kl_t_offset": getattr(self.kl_schedule, "t_offset", 0),
                "last_target_update_step": self.last_target_update_step,
                # A resume continues these streams (action sampling, LEED's draws) where this run is.
                "random_states": random_states.capture(),
                "extra_loss": self.extra_loss.state_dict() if hasattr(self.extra_loss, "state_dict") else None,
            },
            os.path.join(path, _STATE_FILE),
        )
        summary = run_summary.for_run(self.args)
        if summary is not None:
            summary.record_checkpoint(path)

    def load_models(self, path: str) -> None:
        """Load what `save_models` wrote into this run, which may be on another map (transfer).

        The controller loads the policy and works out the load plan (`epymarl_llm.load_plan`: the
        run's kind, the KL action, the step); this applies it. Nothing saved depends on the source
        map's sizes except the per-agent return statistics, so a checkpoint of map A loads on map B
        (paper section 5.4, zero- and few-shot transfer):
        - policy (LoRA + head), critic, target critic, Adam states: loaded as saved (no per-map shapes);
          the optimisers then take this run's `lr` (torch's `load_state_dict` would restore the old one);
        - reward statistics (shape (1,)): loaded; return statistics (shape (n_agents,)): with the
          common reward every entry is the same team statistic, so another agent count gets it repeated;
        - KL schedule, as the plan says: continued (same map), off (another map, `kl_in_transfer:
          False`, the paper's few-shot setting) or restarted (`kl_in_transfer: True`: eq. 10 at the
          first update, eq. 9 counted from the checkpoint's step, where EPyMARL resumes `t_env`).
        Every decision is logged and recorded in Sacred's run info as `lolm_transfer`.
        """
        self.mac.load_models(path)
        plan = self.mac.load_plan
        load = _checkpoint_reader(path)
        notes = self._load_critics_and_optimisers(path, load)
        state = load(_STATE_FILE) if os.path.exists(os.path.join(path, _STATE_FILE)) else None
        if state is not None:
            notes.extend(self._load_learner_state(state, plan))
        self._apply_kl_plan(plan, state)
        self._record_load(plan.record(notes, beta_0=self.kl_schedule.beta_0))

    def _load_critics_and_optimisers(self, path: str, load) -> list[str]:
        """Critic, target critic (the critic where none was saved) and Adam states, at this run's lr."""
        notes: list[str] = []
        self.critic.load_state_dict(load("critic.th"))
        target_file = "target_critic.th" if os.path.exists(os.path.join(path, "target_critic.th")) else "critic.th"
        self.target_critic.load_state_dict(load(target_file))
        for name, optimiser in (("agent_opt.th", self.agent_optimiser), ("critic_opt.th", self.critic_optimiser)):
            optimiser.load_state_dict(load(name))
            saved_lrs = {group["lr"] for group in optimiser.param_groups}
            for group in optimiser.param_groups:
                group["lr"] = self.config.lr
            if saved_lrs != {self.config.lr}:
                notes.append(
                    f"{name}: lr {sorted(saved_lrs)} of the checkpoint replaced by this run's lr {self.config.lr}"
                )
        return notes

    def _load_learner_state(self, state: dict, plan: LoadPlan) -> list[str]:
        """Reward and return statistics, update counters and, when resumed, the random streams."""
        notes: list[str] = []
        self.rew_ms.load_state_dict(state["rew_ms"])
        ret = _team_statistics(state["ret_ms"], self.n_agents)
        if ret is not state["ret_ms"]:
            notes.append(
                f"return statistics: the team statistic of {tuple(state['ret_ms']['mean'].shape)[0]} "
                f"agents repeated for {self.n_agents} (common reward: identical per agent)"
            )
        self.ret_ms.load_state_dict(ret)
        self.critic_training_steps = state["critic_training_steps"]
        self.last_target_update_step = state["last_target_update_step"]
        if plan.kind is LoadKind.RESUMED:
            # A resumed run continues its lr warm-up; a transfer (a new run) warms up again.
            self.policy_steps = state.get("policy_steps", 0)  # absent in checkpoints of earlier versions
            notes.extend(self._restore_random_states(state))
        return notes

    def _apply_kl_plan(self, plan: LoadPlan, state: dict | None) -> None:
        """The KL schedule as the load plan says: off, restarted from the checkpoint's step, or continued."""
        if plan.kl is KlAction.OFF:
            self.kl_schedule = dataclasses.replace(self.kl_schedule, mode="none", beta_0=None)
        elif plan.kl is KlAction.RESTART:
            self.kl_schedule = _ShiftedKlSchedule(
                **dataclasses.asdict(self.config.kl_schedule()), t_offset=plan.kl_t_offset
            )
        elif plan.kl is KlAction.CONTINUE:
            offset = int((state or {}).get("kl_t_offset", 0))
            if offset and self.kl_schedule.enabled:  # a resumed transfer run that kept the KL term
                self.kl_schedule = _ShiftedKlSchedule(**dataclasses.asdict(self.kl_schedule), t_offset=offset)
            if state is not None:
                self.kl_schedule.load_state_dict(state["kl_schedule"])

    def _restore_random_states(self, state: dict) -> list[str]:
        """Resumed training: the global random streams and LEED's draws continue from the save."""
        if "random_states" not in state:
            return ["the checkpoint holds no random states (saved by an older version): the streams restart from seed"]
        notes = random_states.restore(state["random_states"])
        if state.get("extra_loss") is not None and hasattr(self.extra_loss, "load_state_dict"):
            self.extra_loss.load_state_dict(state["extra_loss"])
        return notes

    def _record_load(self, record: dict) -> None:
        """Console log + Sacred run info `lolm_transfer`: what was loaded, kept and reset."""
        console = getattr(self.logger, "console_logger", None)
        if console is not None:
            console.info(LoadPlan.console_line(record))
        info = getattr(self.logger, "sacred_info", None)
        if info is not None:
            info["lolm_transfer"] = record


@dataclasses.dataclass
class _ShiftedKlSchedule(KlBetaSchedule):
    """The beta schedule of eq. 9 counted from `t_offset`: a transfer run that keeps the KL term
    anneals it over `kl_anneal_steps` of training on the target, not from the source run's step 0."""

    t_offset: int = 0

    def beta(self, t_env: int) -> float:
        return super().beta(max(0, t_env - self.t_offset))


def _checkpoint_reader(path: str):
    """name -> the object saved as `path/name`, read on the CPU (`read_checkpoint_file` names a bad file)."""

    def load(name: str):
        return read_checkpoint_file(
            os.path.join(path, name), lambda file: torch.load(file, map_location="cpu", weights_only=False)
        )

    return load


def _team_statistics(state: dict, n_agents: int) -> dict:
    """Saved RunningMeanStd of returns -> one for `n_agents` agents (the same dict if it fits).

    The learner requires the common reward: returns, and so their statistics, are identical for
    every agent, and the mean over the saved entries is the team statistic.
    """
    mean, var = state["mean"], state["var"]
    if mean.shape == (n_agents,):
        return state
    return {
        "mean": mean.float().mean().expand(n_agents).clone(),
        "var": var.float().mean().expand(n_agents).clone(),
        "count": state["count"],
    }
