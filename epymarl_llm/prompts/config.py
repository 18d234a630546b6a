"""`PromptConfig`: the plugin keys that shape the prompt text."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

NUMBER_FORMATS = ("percent", "decimal")


@dataclass(frozen=True)
class PromptConfig:
    """How observation rows become prompt text.

    Args:
        dynamic_prompt: True (default, paper section 4.2): dead and unseen units are left out.
            False: the paper's fixed-prompt ablation, every slot kept and marked dead or out of sight.
        number_format: "percent" (default): each value rounded to two decimals and written as an
            integer percent (0.53 -> "53"), the same information in fewer tokens (Qwen spends one token
            per digit, PERF_NOTES.md). "decimal": the paper's two-decimal text (0.53 -> "0.53").
    """

    dynamic_prompt: bool = True
    number_format: Literal["percent", "decimal"] = "percent"

    def __post_init__(self) -> None:
        if not isinstance(self.dynamic_prompt, bool):
            raise ValueError(f"dynamic_prompt must be True or False, got {self.dynamic_prompt!r}")
        if self.number_format not in NUMBER_FORMATS:
            raise ValueError(
                f"number_format must be one of {NUMBER_FORMATS} ('decimal' is the paper's two-decimal text), "
                f"got {self.number_format!r}"
            )

    def number(self, hundredths: int) -> str:
        """The text of a value given in hundredths (already rounded to two decimals)."""
        if self.number_format == "percent":
            return str(hundredths)
        sign = "-" if hundredths < 0 else ""
        return f"{sign}{abs(hundredths) // 100}.{abs(hundredths) % 100:02d}"
