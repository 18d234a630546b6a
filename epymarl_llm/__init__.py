"""epymarl-llm: LoLM-MARL (LoRA-tuned language-model policies) as an EPyMARL plugin.

Heavy dependencies (torch, transformers, peft) are imported lazily by the modules that need
them, so that importing this package (e.g. from EPyMARL's registration hook) stays cheap.
"""

__version__ = "0.1.0"
