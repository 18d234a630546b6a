"""One benchmark measurement (a variant's rollout or learner) in this process.

`epymarl-llm bench` runs each in a fresh subprocess (`python -m epymarl_llm_tools.bench.measure JSON`), so
peak memory belongs to that measurement: CPU: VmHWM from /proc/self/status after resetting it to the
current RSS through /proc/self/clear_refs (model loading counts as what is resident, not as its
transient peak); CUDA: `torch.cuda.max_memory_allocated` after a reset.

Variants: "fast" (PolicyConfig defaults) and "reference" (`bench.reference`), each optionally with
switches flipped: "fast:prefix_cache=off", "reference:vocab_projection=off", ...
"""

from __future__ import annotations

import ctypes
import dataclasses
import gc
import json
import os
import statistics
import sys
import time
from types import SimpleNamespace

import torch

# Shortcuts on by default: a variant turns one off. pi_old_from_rollout and lower_from_rollout are
# the learner's keys.
FAST_SWITCHES = ("prefix_cache", "length_buckets", "head_positions_only", "pi_old_from_rollout", "lower_from_rollout")
# Options off by default: a variant turns one on (bf16=on: a bfloat16 body, bf16=off: float32,
# whatever the bench's --llm-dtype says for the other variants; lower_layers_int8=on needs lora_layers=K).
FAST_OPTIONS = ("gradient_checkpointing", "bf16", "lower_layers_int8")
LEARNER_SWITCHES = ("pi_old_from_rollout", "lower_from_rollout")
# Keys a variant sets to a value: "fast:lora_layers=1" (LoRA on the top layer only, the lower
# layers run once per update), "fast:number_format=percent" (the longer text of earlier versions).
FAST_VALUES = {"lora_layers": lambda v: v if v == "all" else int(v), "number_format": str}
REFERENCE_SWITCHES = ("vocab_projection", "second_copy", "text_tokenization")


def parse_variant(name: str) -> tuple[str, dict[str, bool]]:
    """ "fast:prefix_cache=off,lora_layers=1" -> ("fast", {"prefix_cache": False, "lora_layers": 1})."""
    kind, _, rest = name.partition(":")
    allowed = {"fast": FAST_SWITCHES + FAST_OPTIONS, "reference": REFERENCE_SWITCHES}.get(kind)
    if allowed is None:
        raise ValueError(f"variant {name!r}: must start with 'fast' or 'reference'")
    valued = FAST_VALUES if kind == "fast" else {}
    flips: dict = {}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        if key in valued and value:
            try:
                flips[key] = valued[key](value)
            except ValueError:
                raise ValueError(f"variant {name!r}: {key}={value!r} is not a valid value") from None
            continue
        if key not in allowed or value not in ("on", "off"):
            raise ValueError(
                f"variant {name!r}: switches of {kind} are {', '.join(allowed)}, each =on or =off"
                + (f"; or {', '.join(valued)}=VALUE" if valued else "")
            )
        flips[key] = value == "on"
    return kind, flips


# --- memory ------------------------------------------------------------------------------------------
def _status_kib(field: str) -> int:
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def _reset_peak(device: torch.device) -> None:
    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # give freed setup memory back before the peak starts
    except OSError:
        pass
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # VmHWM := current RSS (Linux >= 4.0)
    except OSError:
        pass


def _peak_mib(device: torch.device) -> float:
    if device.type == "cuda":
        return torch.cuda.max_memory_allocated(device) / 2**20
    return _status_kib("VmHWM") / 1024


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# --- building a variant ---------------------------------------------------------------------------------
def variant_dtype(opts: dict, flips: dict) -> str:
    """The body dtype of a variant: bf16=on/off when it says so, else the bench's --llm-dtype."""
    if "bf16" in flips:
        return "bfloat16" if flips["bf16"] else "float32"
    return opts.get("llm_dtype", "auto")


def build(opts: dict, variant: str):
    """(policy-like, encoder, layout) for the variant; the fast policy is an `LlmPolicy`."""
    from epymarl_llm.policy import LlmPolicy, PolicyConfig
    from epymarl_llm.prompts import PromptConfig, PromptEncoder, load_map_layout

    kind, flips = parse_variant(variant)
    layout = load_map_layout(opts["map"], env=opts["env"], env_args={"map_name": opts["map"]})
    fields = {
        "llm_model": opts["model_dir"],
        "llm_init": opts["llm_init"],
        "device": opts["device"],
        "max_prompts_per_forward": opts["max_prompts"],
    }
    fields["llm_dtype"] = variant_dtype(opts, flips)
    if kind == "fast":
        flips = dict(flips)
        flips.pop("bf16", None)
        prompt_config = PromptConfig(number_format=flips.pop("number_format", PromptConfig.number_format))
        fields.update({k: v for k, v in flips.items() if k not in LEARNER_SWITCHES})
    torch.manual_seed(0)
    policy = LlmPolicy(PolicyConfig(**fields)).eval()
    if kind == "fast":
        return policy, PromptEncoder(layout, policy.tokenizer, config=prompt_config), layout
    from epymarl_llm_tools.bench.reference import ReferencePolicy, ReferenceSwitches, reference_encoder

    switches = dataclasses.replace(ReferenceSwitches(), **flips)
    reference = ReferencePolicy(policy, switches).eval()
    encoder = reference_encoder(layout, reference.tokenizer, switches)
    del policy
    return reference, encoder, layout


# --- the two measurements -----------------------------------------------------------------------------
def measure_rollout(opts: dict, variant: str) -> dict:
    """Agent-steps per second of action selection from observation rows (prompts, tokens, backbone, head, sampling)."""
    from epymarl_llm.epymarl.controller import dead_agents, live_action_probabilities
    from epymarl_llm_tools.bench.episodes import step_rows

    policy, encoder, layout = build(opts, variant)
    device = policy.device
    logits_fn = policy.forward_chunked if parse_variant(variant)[0] == "fast" else policy.forward
    from epymarl_llm.prompts import PromptConfig

    number_format = parse_variant(variant)[1].get("number_format", PromptConfig.number_format)
    steps = [step_rows(layout, opts["envs"], seed=s) for s in range(opts["steps"] + 1)]
    _reset_peak(device)
    times, live, lengths = [], 0, []
    for k, (obs, avail) in enumerate(steps):
        _sync(device)
        start = time.perf_counter()
        probs = live_action_probabilities(logits_fn, encoder, obs, avail, device)
        torch.distributions.Categorical(probs=probs).sample()  # EPyMARL's soft_policies selector
        _sync(device)
        if k == 0:
            continue  # warm-up: allocator growth, kernel choice, the first prefix cache
        times.append(time.perf_counter() - start)
        alive = ~dead_agents(avail)
        live += int(alive.sum())
        lengths.append(_prompt_lengths(opts, layout, obs[alive], avail[alive], alive, number_format))
    seconds = sum(times)
    return {
        "part": "rollout",
        "variant": variant,
        "agent_steps": live,
        "seconds": seconds,
        "agent_steps_per_s": live / seconds,
        "step_ms_median": 1000 * statistics.median(times),
        "peak_mib": _peak_mib(device),
        "lengths": torch.cat(lengths).tolist(),
        "dtype": str(policy.backbone_dtype).removeprefix("torch."),
    }


def _prompt_lengths(opts, layout, obs, avail, alive, number_format: str) -> torch.Tensor:
    """Token lengths of the live prompts: the same for every variant of one prompt text (number format)."""
    global _LENGTH_ENCODER
    if _LENGTH_ENCODER is None or _LENGTH_ENCODER.config.number_format != number_format:
        from transformers import AutoTokenizer

        from epymarl_llm.prompts import PromptConfig, PromptEncoder

        tokenizer = AutoTokenizer.from_pretrained(opts["model_dir"])
        _LENGTH_ENCODER = PromptEncoder(layout, tokenizer, config=PromptConfig(number_format=number_format))
    ids = alive.nonzero()[:, 1]
    return _LENGTH_ENCODER.encode(obs, avail, ids, entity_spans=False).lengths


_LENGTH_ENCODER = None


def measure_learner(opts: dict, variant: str) -> dict:
    """Agent-steps per second of one full `train()`: old log-probs, reference KL, PPO epochs, critic."""
    from epymarl_llm.learner.agent_steps import gather_live_steps, team_masks
    from epymarl_llm.learner.episode_tensors import EpisodeTensors

    policy, encoder, layout = build(opts, variant)
    device = policy.device
    learner, mac = _bench_learner(opts, policy, encoder, layout)
    batch = EpisodeTensors(torch.load(opts["data"])).to(device)
    masks = team_masks(batch, layout.n_agents)
    steps = gather_live_steps(batch, masks.live)
    lengths = encoder.encode(steps.obs.cpu(), steps.avail.cpu(), steps.agent_ids.cpu(), entity_spans=False).lengths
    kind, flips = parse_variant(variant)
    lower_seen = _count_lower_passes(policy)
    _set_rollout_sources(learner, mac, batch, kind, flips)
    lower_seen.clear()  # the rollout's own lower passes (if it was replayed) are the rollout's work
    if kind == "reference":
        from epymarl_llm_tools.bench.reference import StockStyleLearner

        learner = StockStyleLearner(learner)
    _reset_peak(device)
    start = time.perf_counter()
    learner.train(batch, 0, 0)
    _sync(device)
    seconds = time.perf_counter() - start
    return {
        "part": "learner",
        "variant": variant,
        "agent_steps": len(steps),
        "seconds": seconds,
        "agent_steps_per_s": len(steps) / seconds,
        "peak_mib": _peak_mib(device),
        "lengths": lengths.tolist(),
        "with_reference": True,
        "old_pass": learner.pi_old_source == "pass",
        "checkpointing": bool(policy.cfg.gradient_checkpointing),
        # `lora_layers: K`: the fraction of the layers every pass after the first runs, and how
        # many agent-steps ran their lower layers apart.
        "top_layer_fraction": (policy.n_layers - policy.first_adapted_layer) / policy.n_layers
        if policy.splits_layers
        else 1.0,
        "lower_pass_fraction": sum(lower_seen) / max(len(steps), 1),
        "dtype": str(policy.backbone_dtype).removeprefix("torch."),
    }


def _bench_learner(opts: dict, policy, encoder, layout):
    """(learner, mac): a `LolmPPOLearner` over `policy` with the benchmark's settings, critics on its device."""
    from epymarl_llm.learner import LolmPPOLearner
    from epymarl_llm.run_config import complete_args

    device = policy.device
    # No rollout played the stored batch: `_set_rollout_sources` gives the mac the record it replays.
    mac = SimpleNamespace(policy=policy, prompt_encoder=encoder, parameters=policy.parameters, rollout_record=None)
    args = complete_args(
        n_agents=layout.n_agents,
        n_actions=layout.n_actions,
        epochs=opts["epochs"],
        max_prompts_per_forward=opts["max_prompts"],
        use_cuda=device.type == "cuda",
        lolm_layout=layout,
        env=opts["env"],
        env_args={"map_name": opts["map"]},
    )
    logger = SimpleNamespace(log_stat=lambda *a, **k: None)
    learner = LolmPPOLearner(mac, {}, logger, args)
    learner.critic.to(device)
    learner.target_critic.to(device)
    return learner, mac


def _count_lower_passes(policy) -> list[int]:
    """The row count of every pass of the frozen lower layers from now on (`lora_layers: K`; else none)."""
    seen: list[int] = []
    if policy.splits_layers:
        original_lower = policy.lower_states
        policy.lower_states = lambda rows: seen.append(len(rows)) or original_lower(rows)
    return seen


def _set_rollout_sources(learner, mac, batch, kind: str, flips: dict[str, bool]) -> None:
    """Whether pi_old and the lower layers' output come from the rollout, as the variant says.

    When they do, this is the on-policy case: the rollout that played this batch already has its
    probabilities (`lolm_mac` records them); computing them here is the rollout's work, not timed.
    """
    from_rollout = kind == "fast" and flips.get("pi_old_from_rollout", True)
    learner.config.pi_old_from_rollout = from_rollout
    learner.config.lower_from_rollout = from_rollout and flips.get("lower_from_rollout", True)
    if from_rollout:
        from epymarl_llm.learner.rollout_record import RolloutRecord
        from epymarl_llm_tools.bench.episodes import replay_rollout

        mac.rollout_record = RolloutRecord.for_learner(learner.config)
        replay_rollout(mac.rollout_record, mac.policy, mac.prompt_encoder, batch)


def measure_gemm(opts: dict, dtype_name: str) -> dict:
    """The matmul peak of this device and dtype on the model's MLP shape (`flops.gemm_peak`)."""
    from epymarl_llm_tools.bench import flops

    device = torch.device(opts["device"])
    flop_s = flops.gemm_peak(flops.model_shape(opts["model_dir"]), device, getattr(torch, dtype_name))
    return {"part": "gemm", "dtype": dtype_name, "flops_per_s": flop_s}


def main(argv: list[str] | None = None) -> int:
    opts = json.loads((argv or sys.argv[1:])[0])
    torch.set_num_threads(opts["threads"] or os.cpu_count() or 1)
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
    if opts["part"] == "gemm":
        print(json.dumps(measure_gemm(opts, opts["dtype"])))
        return 0
    run = measure_rollout if opts["part"] == "rollout" else measure_learner
    print(json.dumps(run(opts, opts["variant"])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
