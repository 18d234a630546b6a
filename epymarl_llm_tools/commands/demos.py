"""`epymarl-llm demos generate|show`: LEED's demonstrations, played through EPyMARL's env.

epymarl-llm demos generate --epymarl DIR --map 2s_vs_1sc --demonstrator scripted --episodes 50 --out demos/
epymarl-llm demos generate ... --demonstrator lm --model /tmp/tiny-qwen3
epymarl-llm demos generate ... --demonstrator checkpoint --checkpoint results/models/<token>/<step>
epymarl-llm demos show demos/
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

HELP = "generate LEED demonstrations through EPyMARL's env (scripted, generating LM, or checkpoint) or show a set"
DEMONSTRATORS = ("scripted", "uniform", "lm", "checkpoint")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    gen = sub.add_parser("generate", help="play episodes with a demonstrator and store them (npz + manifest.json)")
    gen.add_argument("--epymarl", default=None, help="EPyMARL checkout (default: $EPYMARL_PATH)")
    gen.add_argument(
        "--env", choices=("smaclite", "sc2"), default="smaclite", help="EPyMARL env config (default smaclite)"
    )
    gen.add_argument("--map", required=True, help="map name, as env_args.map_name")
    gen.add_argument(
        "--env-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra env_args (yaml values), as `with env_args.KEY=VALUE`",
    )
    gen.add_argument("--demonstrator", choices=DEMONSTRATORS, default="scripted")
    gen.add_argument(
        "--model",
        help="lm: folder, hub name, smollm2-135m or .gguf file of the causal LM that generates the actions",
    )
    gen.add_argument("--max-new-tokens", type=int, default=8, help="lm: tokens generated per answer")
    gen.add_argument("--no-chat-template", action="store_true", help="lm: feed the raw prompt, even to a chat model")
    gen.add_argument(
        "--no-answer-instruction",
        action="store_true",
        help="lm: the policy's prompt as it is, without the line asking for an action's exact words",
    )
    gen.add_argument("--checkpoint", help="checkpoint: a lolm_mappo model folder (results/models/<token>/<step>)")
    gen.add_argument("--llm-model", help="checkpoint: backbone folder, when lolm_run.json's is not reachable")
    gen.add_argument("--sample", action="store_true", help="lm/checkpoint: sample instead of acting greedily")
    gen.add_argument("--episodes", type=int, default=20)
    gen.add_argument("--batch-episodes", type=int, default=10, help="episodes per .npz file")
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--out", required=True, help="folder to write (must not hold a manifest yet)")
    gen.add_argument("--json", action="store_true", help="print the statistics as one JSON object")
    show = sub.add_parser("show", help="print a demonstration set's manifest statistics")
    show.add_argument("folder")


def _env_overrides(pairs: list[str]) -> dict:
    import yaml

    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--env-arg {pair!r} is not KEY=VALUE")
        out[key] = yaml.safe_load(value)
    return out


def summary_line(stats: dict) -> str:
    return (
        f"{stats['episodes']} episodes, {stats['agent_steps']} agent-steps: validity rate "
        f"{stats['validity_rate']:.4f} ({stats['invalid_answers']} replaced), mean return "
        f"{stats['mean_return']:.3f} (std {stats['std_return']:.3f}), win rate {stats['win_rate']:.3f}, "
        f"{stats['episodes_per_s']:.3f} episodes/s, {stats['agent_steps_per_s']:.1f} agent-steps/s"
    )


def _generate(args: argparse.Namespace) -> int:
    from epymarl_llm.leed.envs import env_args_for, epymarl_src, make_env
    from epymarl_llm.leed.generate import generate
    from epymarl_llm.prompts import load_map_layout
    from epymarl_llm_tools.demonstrator_choice import build_demonstrator

    if args.episodes < 1 or args.batch_episodes < 1:
        raise ValueError("--episodes and --batch-episodes must be >= 1")
    src = epymarl_src(args.epymarl)
    env_args = env_args_for(src, args.env, args.map, args.seed, _env_overrides(args.env_arg))
    env = make_env(args.epymarl, args.env, env_args)
    try:
        info = env.get_env_info()
        layout = load_map_layout(args.map, env=args.env, env_args=env_args, map_file=env_args.get("map_file"))
        layout.check_env(info["obs_shape"], info["state_shape"], info["n_actions"])
        demonstrator = build_demonstrator(args, layout)
        extra = {
            "env": args.env,
            "map_name": args.map,
            "env_args": env_args,
            "n_agents": info["n_agents"],
            "n_actions": info["n_actions"],
            "obs_shape": info["obs_shape"],
            "state_shape": info["state_shape"],
        }
        stats, _ = generate(env, demonstrator, args.episodes, Path(args.out), args.batch_episodes, args.seed, extra)
    finally:
        env.close()
    result = stats.as_dict()
    if args.json:
        print(json.dumps(result))
    else:
        print(f"demos: wrote {args.out}: {summary_line(result)}")
    return 0


def run(args: argparse.Namespace) -> int:
    try:
        if args.action == "show":
            from epymarl_llm.leed.store import read_manifest

            manifest = read_manifest(args.folder)
            print(
                f"{args.folder}: {manifest.get('map_name')} ({manifest.get('env')}), demonstrator "
                f"{json.dumps(manifest['demonstrator'])}\n  {summary_line(manifest['stats'])}"
            )
            return 0
        return _generate(args)
    except (ValueError, RuntimeError, FileExistsError) as err:
        print(f"epymarl-llm demos: {err}", file=sys.stderr)
        return 2
