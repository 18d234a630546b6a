"""`epymarl-llm make-tiny-model DIR`: a small random Qwen3 (or Llama) model for tests and offline runs."""

from __future__ import annotations

import argparse

HELP = "write a small random Qwen3-architecture model and a tokenizer trained on SMAC prompts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from epymarl_llm.policy.tiny_model import SHAPES  # no torch import: tiny_model imports it lazily

    parser.add_argument("directory", metavar="DIR", help="folder to write (created if needed)")
    parser.add_argument(
        "--shape",
        choices=sorted(SHAPES),
        default="tiny",
        help="tiny: hidden 64, 2 layers; small: hidden 256, 4 layers; qwen3-0.6b: Qwen3-0.6B's shape; "
        "llama-tiny: tiny with Llama layers (SmolLM2's family)",
    )
    parser.add_argument("--tokenizer-vocab-size", type=int, default=1024, help="BPE vocabulary size (default 1024)")
    parser.add_argument(
        "--no-weights",
        action="store_true",
        help="write only config and tokenizer; load it with llm_init=random (no gigabytes on disk)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the random weights")


def run(args: argparse.Namespace) -> int:
    from transformers.utils import logging

    from epymarl_llm.policy.tiny_model import SHAPES, make_tiny_model

    logging.disable_progress_bar()
    shape = SHAPES[args.shape]
    if not 256 + 3 < args.tokenizer_vocab_size <= shape.vocab_size:
        print(f"make-tiny-model: --tokenizer-vocab-size must be in [260, {shape.vocab_size}] for shape {args.shape}")
        return 2
    directory = make_tiny_model(
        args.directory,
        args.shape,
        tokenizer_vocab_size=args.tokenizer_vocab_size,
        with_weights=not args.no_weights,
        seed=args.seed,
    )
    what = "config and tokenizer (use llm_init=random)" if args.no_weights else "model and tokenizer"
    print(
        f"wrote a {args.shape} {shape.family} {what} to {directory}: hidden {shape.hidden_size}, "
        f"{shape.num_hidden_layers} layers; use it with `with llm_model={directory}`"
    )
    return 0
