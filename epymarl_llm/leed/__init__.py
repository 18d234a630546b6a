from epymarl_llm.leed.config import LeedConfig, LeedConfigError  # noqa: F401
