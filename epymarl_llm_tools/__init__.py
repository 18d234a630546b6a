"""epymarl-llm's tooling: the `epymarl-llm` command line, its subcommands, benchmarks and the report.

Nothing here is imported by a training run: EPyMARL's `main.py` loads only `epymarl_llm` (the
registration hook, controller, runners, policy, critic, learners, prompts), and `epymarl_llm` never
imports this package.
"""
