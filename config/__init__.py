"""EPyMARL algorithm configs of epymarl-llm (installed as `epymarl_llm.configs`)."""
