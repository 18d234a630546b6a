"""`epymarl-llm layout MAP`: print a map's observation and state layouts (and an example prompt)."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "print the observation/state layout of a map (and an example prompt)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "map", nargs="?", default=None, help="map name (SMAC registry or SMAClite preset); optional with --map-file"
    )
    parser.add_argument(
        "--env",
        choices=("sc2", "sc2v2", "smaclite"),
        default=None,
        help="SMAClite (the default, as everywhere in epymarl-llm), SMAC (sc2) or SMACv2 (sc2v2: MAP "
        "is an EPyMARL scenario, e.g. protoss_5_vs_5); without --env a map that SMAClite lacks is "
        "looked up in SMAC's registry, with a note",
    )
    parser.add_argument("--map-file", default=None, help="a SMAClite JSON map file (implies --env smaclite)")
    parser.add_argument(
        "--env-arg",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="an env arg that changes the layout, e.g. obs_last_action=True (repeatable)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument(
        "--example-prompt", action="store_true", help="also print the prompt of a generated observation"
    )
    parser.add_argument(
        "--model",
        default=None,
        help="count the example prompt's tokens with this model's tokenizer: a folder, a hub name, "
        "smollm2-135m or a .gguf file (implies --example-prompt)",
    )
    parser.add_argument("--agent", type=int, default=0, help="observer agent id (ally slots depend on it)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the example observation")
    parser.add_argument("--fixed-prompt", action="store_true", help="example in the fixed-prompt ablation")
    parser.add_argument(
        "--number-format",
        choices=("compact", "percent", "decimal"),
        default="compact",
        help="example numbers: compact (default), percent, or the paper's decimals",
    )


def _env_args(pairs: list[str]) -> dict[str, str]:
    from dataclasses import fields

    from epymarl_llm.prompts.env_flags import EnvFlags

    known = [f.name for f in fields(EnvFlags)]
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--env-arg takes KEY=VALUE, got {pair!r} (e.g. --env-arg obs_last_action=True)")
        if key not in known:
            raise ValueError(f"--env-arg {key} does not change the layout; layout env args are {', '.join(known)}")
        out[key] = value.strip()
    return out


def _prompt_config(args):
    from epymarl_llm.prompts import PromptConfig

    return PromptConfig(dynamic_prompt=not args.fixed_prompt, number_format=args.number_format)


def _example(layout, args) -> str:
    from epymarl_llm.prompts import PromptEncoder, random_observations

    config = _prompt_config(args)
    obs, avail, ids = random_observations(layout, 16, seed=args.seed, agent_id=args.agent)
    r = next((r for r in range(16) if avail[r, 1]), 0)  # a live observer says more
    return PromptEncoder(layout, config=config).texts(obs[r : r + 1], avail[r : r + 1], ids[r : r + 1])[0]


def _token_counts(layout, args, example: str) -> dict:
    """The example's tokens with `args.model`'s tokenizer, and the shared prefix the prefix cache runs once."""
    from transformers import AutoTokenizer

    from epymarl_llm.policy.named_models import resolve_model
    from epymarl_llm.prompts import PromptEncoder

    tokenizer = AutoTokenizer.from_pretrained(resolve_model(args.model))
    encoder = PromptEncoder(layout, tokenizer, config=_prompt_config(args))
    return {"model": args.model, "tokens": len(tokenizer(example)["input_ids"]), "prefix_tokens": encoder.prefix_len}


def _entity_line(e) -> str:
    name = e.unit_name or ("(from type bits)" if e.side in ("enemy", "ally", "self") else "")
    unit = f"{e.side} {e.slot}" + (f" = unit {e.unit_id}" if e.unit_id is not None and e.unit_id != e.slot else "")
    head = f"  {unit:<18} {name:<17} offset {e.offset:>4}, size {e.size:>3}"
    feats = " ".join(f"{f}@{e.offset + i}" for i, f in enumerate(e.features))
    return f"{head}: {feats}"


def run(args: argparse.Namespace) -> int:
    from epymarl_llm.prompts import UnknownMapError

    try:
        layout, example, tokens = _layout_and_example(args)
    except (UnknownMapError, ValueError, OSError) as err:
        print(f"epymarl-llm layout: {err}", file=sys.stderr)
        return 2
    if args.json:
        _print_json(layout, args, example, tokens)
        return 0
    _print_units(layout)
    _print_columns(layout, args.agent)
    _print_example(args, example, tokens)
    return 0


def _layout_and_example(args: argparse.Namespace):
    """The layout the arguments name, and the example prompt and its token counts when asked for."""
    if args.map is None and args.map_file is None:
        raise ValueError("give a MAP name or --map-file FILE")
    layout = _load_layout(args)
    if not 0 <= args.agent < layout.n_agents:
        raise ValueError(f"--agent must be in 0..{layout.n_agents - 1} for {layout.map_name}")
    example = _example(layout, args) if args.example_prompt or args.model else None
    tokens = _token_counts(layout, args, example) if args.model else None
    return layout, example, tokens


def _load_layout(args: argparse.Namespace):
    """SMAClite's layout of the map unless --env says otherwise; SMAC's when SMAClite has no such map."""
    from epymarl_llm.prompts import UnknownMapError, load_map_layout

    env = "smaclite" if args.map_file else args.env
    env_args = _env_args(args.env_arg)
    try:
        return load_map_layout(args.map, env=env or "smaclite", env_args=env_args, map_file=args.map_file)
    except UnknownMapError:
        if env is not None:
            raise
        layout = load_map_layout(args.map, env="sc2", env_args=env_args)
        print(f"note: {args.map} is not a SMAClite map; this is SMAC's (sc2) layout", file=sys.stderr)
        return layout


def _print_json(layout, args: argparse.Namespace, example: str | None, tokens: dict | None) -> None:
    data = layout.as_dict(agent_id=args.agent)
    if example is not None:
        data["example_prompt"] = example
    if tokens is not None:
        data["example_prompt_tokens"] = tokens
    print(json.dumps(data, indent=1))


def _print_units(layout) -> None:
    """Sizes, the teams, type bits, healers and the env args that shape the observation."""
    spec = layout.spec
    print(
        f"map {layout.map_name} ({layout.env}): {layout.n_agents} agents, {layout.n_enemies} enemies, "
        f"{layout.n_actions} actions ({layout.n_base_actions} base + {layout.n_targets} target slots)"
    )
    if layout.composition_varies:
        print(
            f"allies and enemies: drawn every episode from {', '.join(spec.ally_type_names)}; "
            "prompts name each unit from its type bits"
        )
    else:
        print(f"allies (agent id order): {', '.join(layout.ally_unit_names)}")
    order = "" if spec.enemy_order_known else " (SMAC's enemy order is the game's: the type bits name each enemy)"
    if not layout.composition_varies:
        print(f"enemies: {', '.join(layout.enemy_unit_names)}{order}")
    if spec.unit_type_bits:
        print(f"type bits: allies {list(spec.ally_type_names)}, enemies {list(spec.enemy_type_names)}")
    healers = [a for a in range(layout.n_agents) if spec.is_healer(a)]
    if healers:
        print(f"healers (target slots are allies to heal): agents {healers}")
    if layout.env != "smaclite":
        print("env args: " + layout._flags_text())


def _print_columns(layout, agent: int) -> None:
    """Every entity's columns in the observation of `agent` and in the state."""
    print(f"\nobservation: {layout.obs_size} values, as agent {agent} sees it")
    for e in layout.obs_for_agent(agent).entities:
        print(_entity_line(e))
    print(f"\nstate: {layout.state_size} values")
    for e in layout.state.entities:
        print(_entity_line(e))


def _print_example(args: argparse.Namespace, example: str | None, tokens: dict | None) -> None:
    if example is not None:
        print(f"\nexample prompt (agent {args.agent}, seed {args.seed}):\n{example}")
    if tokens is not None:
        print(
            f"\n{tokens['tokens']} tokens with {args.model}'s tokenizer, of which the shared prefix "
            f"(instruction and goal, run once by the prefix cache) is {tokens['prefix_tokens']}"
        )
