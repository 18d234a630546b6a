"""Demonstration generation speed: episodes/s and agent-steps/s per demonstrator, through EPyMARL's env.

    epymarl-llm bench leed-demos --epymarl DIR --map 2s3z --episodes 5 [--model DIR] [--checkpoint DIR]

The scripted demonstrator's figure is the env's own speed plus the heuristic; `lm` adds one batched
`generate` call per step over every live agent's prompt; the env's `time_limit` bounds an episode.
Nothing is written to disk; the validity rate and mean return are printed beside the speed.
"""

from __future__ import annotations

import argparse
import json

from epymarl_llm_tools.demonstrator_choice import build_demonstrator

HELP = __doc__.splitlines()[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--epymarl", default=None)
    parser.add_argument("--env", default="smaclite", choices=("smaclite", "sc2"))
    parser.add_argument("--map", default="2s3z")
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--time-limit", type=int, default=None, help="env_args.time_limit (default: the env yaml's)")
    parser.add_argument("--model", help="also time the generating LM demonstrator with this causal LM")
    parser.add_argument("--max-new-tokens", type=int, default=8)
    parser.add_argument(
        "--no-answer-instruction",
        action="store_true",
        help="the LM reads the policy's prompt as it is, without the line asking for an action's exact words",
    )
    parser.add_argument("--checkpoint", help="also time a lolm_mappo checkpoint demonstrator")
    parser.add_argument("--llm-model", help="the checkpoint's backbone folder")
    parser.add_argument("--json", action="store_true")


def run(args: argparse.Namespace) -> int:

    from epymarl_llm.leed.envs import env_args_for, epymarl_src, make_env
    from epymarl_llm.leed.generate import generate
    from epymarl_llm.prompts import load_map_layout

    overrides = {} if args.time_limit is None else {"time_limit": args.time_limit}
    env_args = env_args_for(epymarl_src(args.epymarl), args.env, args.map, 0, overrides)
    env = make_env(args.epymarl, args.env, env_args)
    layout = load_map_layout(args.map, env=args.env, env_args=env_args)
    kinds = ["scripted", "uniform"] + (["lm"] if args.model else []) + (["checkpoint"] if args.checkpoint else [])
    results = {}
    try:
        for kind in kinds:
            ns = argparse.Namespace(
                demonstrator=kind,
                model=args.model,
                max_new_tokens=args.max_new_tokens,
                sample=False,
                no_chat_template=False,
                no_answer_instruction=args.no_answer_instruction,
                checkpoint=args.checkpoint,
                llm_model=args.llm_model,
            )
            stats, _ = generate(env, build_demonstrator(ns, layout), args.episodes, None, seed=0)
            results[kind] = stats.as_dict()
    finally:
        env.close()
    if args.json:
        print(json.dumps({"map": args.map, "env": args.env, "results": results}))
        return 0
    print(f"demonstration generation on {args.env} {args.map}, {args.episodes} episodes each")
    print(
        f"{'demonstrator':<12} {'episodes/s':>10} {'agent-steps/s':>14} {'validity':>9} {'mean return':>12} {'win rate':>9}"
    )
    for kind, r in results.items():
        print(
            f"{kind:<12} {r['episodes_per_s']:>10.3f} {r['agent_steps_per_s']:>14.1f} {r['validity_rate']:>9.4f} "
            f"{r['mean_return']:>12.3f} {r['win_rate']:>9.3f}"
        )
    return 0
