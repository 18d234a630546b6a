"""`python -m epymarl_llm_tools ...` is the same as the `epymarl-llm` command."""

from epymarl_llm_tools.cli import main

raise SystemExit(main())
