"""The demonstrator a command line names (`--demonstrator scripted|lm|checkpoint`), built for one map.

Shared by `epymarl-llm demos generate` and the generation benchmark (`epymarl-llm bench leed-demos`),
so it lives below both; a training run never builds a demonstrator from a command line, so it lives in the
tooling, not beside the demonstrators in `epymarl_llm.leed`.
"""

from __future__ import annotations

import argparse


def build_demonstrator(args: argparse.Namespace, layout):
    """`args` carries `demonstrator`, `model`, `max_new_tokens`, `sample`, `no_chat_template`,
    `no_answer_instruction`, `checkpoint` and `llm_model`, as `demos generate` parses them."""
    from epymarl_llm.leed import demonstrators as d

    if args.demonstrator == "scripted":
        return d.ScriptedDemonstrator(layout)
    if args.demonstrator == "uniform":
        return d.UniformDemonstrator(layout)
    if args.demonstrator == "lm":
        if not args.model:
            raise ValueError(
                "--demonstrator lm needs --model DIR (a causal LM; offline: `epymarl-llm make-tiny-model DIR`)"
            )
        return d.TextLmDemonstrator(
            layout,
            args.model,
            max_new_tokens=args.max_new_tokens,
            sample=args.sample,
            chat=not args.no_chat_template,
            answer_instruction=not args.no_answer_instruction,
        )
    if not args.checkpoint:
        raise ValueError("--demonstrator checkpoint needs --checkpoint results/models/<token>/<step>")
    return d.CheckpointDemonstrator(layout, args.checkpoint, llm_model=args.llm_model, sample=args.sample)
