"""Prompt speed: build and tokenize one step of prompts (10 parallel envs x all agents) and print ms/step.

    epymarl-llm bench prompts [--map 3s5z_vs_3s6z] [--envs 10] [--tokenizer DIR]

Without --tokenizer a byte-level BPE with Qwen's pre-tokenizer (digits split one by one) is trained here
on example prompts, so token counts are Qwen-like and nothing is downloaded. Prints one figure per line.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np


def encoder_rows(layout, n_envs: int, seed: int):
    """`episodes.step_rows` as the encoder's rows: env-major, every agent of each env, and their agent ids."""
    from epymarl_llm_tools.bench.episodes import step_rows

    obs, avail = step_rows(layout, n_envs, seed)
    ids = np.tile(np.arange(layout.n_agents), n_envs)
    return obs.reshape(-1, layout.obs_size).numpy(), avail.reshape(-1, layout.n_actions).numpy(), ids


HELP = __doc__.splitlines()[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--map", default="3s5z_vs_3s6z")
    parser.add_argument("--env", default="sc2", choices=("sc2", "smaclite"))
    parser.add_argument("--envs", type=int, default=10, help="parallel envs (rows = envs x agents)")
    parser.add_argument("--steps", type=int, default=30, help="distinct steps timed")
    parser.add_argument("--tokenizer", default=None, help="a saved Hugging Face tokenizer directory (offline)")
    parser.add_argument("--number-format", default="compact", choices=("compact", "percent", "decimal"))
    parser.add_argument("--fixed-prompt", action="store_true")


def run(args: argparse.Namespace) -> int:
    from epymarl_llm.policy.tiny_model import train_tokenizer
    from epymarl_llm.prompts import PromptConfig, PromptEncoder, example_prompts, load_map_layout

    if args.tokenizer:
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(args.tokenizer, local_files_only=True)
        name = args.tokenizer
    else:
        corpus = [
            t
            for i, m in enumerate(("3s5z_vs_3s6z", "MMM2", "8m_vs_9m", "corridor"))
            for t in example_prompts(m, 100, seed=i)
        ]
        tokenizer = train_tokenizer(corpus, vocab_size=1200)
        name = "Qwen-like byte-level BPE (trained here, vocab 1200)"
    layout = load_map_layout(args.map, env=args.env)
    config = PromptConfig(dynamic_prompt=not args.fixed_prompt, number_format=args.number_format)
    t0 = time.perf_counter()
    encoder = PromptEncoder(layout, tokenizer, config=config)
    build_s = time.perf_counter() - t0
    steps = [encoder_rows(layout, args.envs, seed=s) for s in range(args.steps)]
    encoder.encode(*steps[0])  # warm-up (imports torch)
    times, whole, lengths = [], [], []
    for obs, avail, ids in steps:
        t = time.perf_counter()
        batch = encoder.encode(obs, avail, ids)
        times.append(time.perf_counter() - t)
        lengths += batch.lengths.tolist()
    for obs, avail, ids in steps[:5]:
        texts = encoder.texts(obs, avail, ids)
        t = time.perf_counter()
        tokenizer(texts, return_offsets_mapping=True)
        whole.append(time.perf_counter() - t)
    rows = len(steps[0][2])
    print(
        f"map {layout.map_name} ({layout.env}), {args.envs} envs x {layout.n_agents} agents = {rows} prompts per step"
    )
    print(
        f"tokenizer: {name}; joined-piece fast path: {encoder.fast}; "
        f"{'dynamic' if config.dynamic_prompt else 'fixed'} prompt, {config.number_format} numbers"
    )
    print(f"encoder build (piece table + check): {build_s * 1000:.0f} ms, once per map")
    print(
        f"build + tokenize one step: {statistics.median(times) * 1000:.2f} ms median "
        f"(min {min(times) * 1000:.2f}, max {max(times) * 1000:.2f}) over {len(times)} steps"
    )
    print(f"for comparison, tokenizer(texts) on whole prompts: {statistics.median(whole) * 1000:.2f} ms per step")
    print(
        f"prompt length in tokens: min {min(lengths)}, median {int(statistics.median(lengths))}, max {max(lengths)}; "
        f"shared prefix {encoder.prefix_len} tokens"
    )
    return 0
