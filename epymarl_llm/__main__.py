"""`python -m epymarl_llm ...` is the same as the `epymarl-llm` command."""

from epymarl_llm.cli import main

raise SystemExit(main())
