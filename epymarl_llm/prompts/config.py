"""`PromptConfig`: the plugin keys that shape the prompt text."""

from __future__ import annotations

from typing import Annotated

from epymarl_llm.config_dataclass import Says, config_dataclass
from epymarl_llm.config_errors import ConfigError

NUMBER_FORMATS = ("compact", "percent", "decimal")


@config_dataclass(ConfigError, frozen=True)
class PromptConfig:
    """How observation rows become prompt text.

    Args:
        dynamic_prompt: True (default, paper section 4.2): dead and unseen units are left out.
            False: the paper's fixed-prompt ablation, every slot kept and marked dead or out of sight.
        number_format: "compact" (default): the numbers of "percent", and unit lines without what
            the prompt already says elsewhere: no commas between a unit's fields, no "out of range"
            (the fixed text says what "in range" marks), no "Can move" line (the available actions
            list the same moves: SMAC's move features are its move actions' avail bits). The same
            information in fewer tokens. "percent": each value rounded to two decimals and written
            as an integer percent (0.53 -> "53"), with the full punctuation (Qwen spends one token
            per digit and per comma). "decimal": the paper's two-decimal text (0.53 -> "0.53").
    """

    dynamic_prompt: Annotated[bool, Says("{key} must be True or False, got {value!r}")] = True
    # A str, checked below: the message gives the choices and what 'decimal' is.
    number_format: str = "compact"

    def __post_init__(self) -> None:
        if self.number_format not in NUMBER_FORMATS:
            raise ConfigError(
                f"number_format must be one of {NUMBER_FORMATS} ('decimal' is the paper's two-decimal text), "
                f"got {self.number_format!r}"
            )

    @property
    def compact(self) -> bool:
        return self.number_format == "compact"

    def number(self, hundredths: int) -> str:
        """The text of a value given in hundredths (already rounded to two decimals)."""
        if self.number_format in ("compact", "percent"):
            return str(hundredths)
        sign = "-" if hundredths < 0 else ""
        return f"{sign}{abs(hundredths) // 100}.{abs(hundredths) % 100:02d}"
