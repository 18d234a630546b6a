"""How every config dataclass is declared, checked and read from EPyMARL's flat args.

`config_dataclass(error)` makes a pydantic dataclass that is strict and refuses unknown keys: a bool
is no int and an int never becomes a bool (a yaml `lora_rank: true` is a mistake, not 1), while an
int is accepted where a float is meant (`lr: 1` has always worked). A value that fails its field's
type or bounds raises `error` with the field's own message (`Says`), so the user reads the key and
the fix rather than pydantic's report; checks a type cannot express (a choice with its meaning, two
fields together) stay in the class and raise `error` themselves.

`read_config` is the one reader of EPyMARL's args into such a class: missing keys mean an installed
yaml older than the plugin, and keys of the class's own prefix that it lacks are typos.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping
from typing import Any

from pydantic import ConfigDict, ValidationError
from pydantic.dataclasses import dataclass as pydantic_dataclass

from epymarl_llm.config_errors import ConfigError, did_you_mean

# strict: no bool for int, no int for bool, no str for numbers; an int still passes as a float.
_STRICT = ConfigDict(strict=True, extra="forbid", arbitrary_types_allowed=False)
_ERROR_ATTR = "__config_error__"


@dataclasses.dataclass(frozen=True)
class Says:
    """`Annotated` metadata: the message of a field whose value fails its type or bounds.

    `{key}` and `{value!r}` are filled in, e.g. "{key} must be a positive integer; got {value!r}".
    """

    template: str


def config_dataclass(error: type[ConfigError] = ConfigError, frozen: bool = False):
    """Class decorator: a strict pydantic dataclass whose construction raises only `error`."""

    def decorate(cls: type) -> type:
        klass = pydantic_dataclass(cls, frozen=frozen, config=_STRICT)
        validated_init = klass.__init__

        @functools.wraps(validated_init)
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            problem = None
            try:
                validated_init(self, *args, **kwargs)
            except ValidationError as err:
                problem = _problem(klass, err)
            if problem is not None:
                # Raised outside the `except`: the message is complete, a chained report would repeat it.
                raise problem

        klass.__init__ = __init__
        setattr(klass, _ERROR_ATTR, error)
        return klass

    return decorate


def _problem(klass: type, err: ValidationError) -> ConfigError:
    """The first failure as the class's error, in the words of the field's `Says` where it has one."""
    error: type[ConfigError] = getattr(klass, _ERROR_ATTR)
    first = err.errors()[0]
    original = (first.get("ctx") or {}).get("error")
    if isinstance(original, ConfigError):
        return original  # a check of the class's own, already in its words
    key = str(first["loc"][0]) if first["loc"] else ""
    if original is not None:
        return error(str(original))
    if first["type"] == "unexpected_keyword_argument":
        return error(unknown_keys_message(klass.__name__, [key], field_names(klass)))
    if first["type"] == "missing_argument":
        return error(f"{key} has no value: {klass.__name__} needs it")
    for meta in klass.__pydantic_fields__[key].metadata:
        if isinstance(meta, Says):
            return error(meta.template.format(key=key, value=first["input"]))
    return error(f"{key}: {first['msg'].lower()}; got {first['input']!r}")


def field_names(klass: type) -> list[str]:
    return [f.name for f in dataclasses.fields(klass)]


def unknown_keys_message(owner: str, unknown: list[str], names: list[str]) -> str:
    hints = [hint for key in unknown if (hint := did_you_mean(key, names))]
    return (
        f"unknown {owner} key(s) {', '.join(unknown)}"
        + "".join(f" ({h})" for h in hints)
        + (f"; the keys are {', '.join(names)}")
    )


def yaml_value(value: Any) -> Any:
    """yaml gives lists where the dataclasses hold tuples (immutable, hashable)."""
    return tuple(value) if isinstance(value, list) else value


def read_config(
    klass: type,
    args: Any,
    *,
    owner: str,
    missing_ok: bool = False,
    prefix: str | None = None,
    error: type[ConfigError] | None = None,
) -> Any:
    """`klass` built from EPyMARL's args (a namespace or a mapping), one field per key of its name.

    Args:
        owner: who the keys belong to, in messages ("LoLM-MARL", "LEED").
        missing_ok: absent keys take the field's default (a yaml that does not declare them by design);
            otherwise an absent key means the installed algorithm yaml is older than the plugin.
        prefix: keys with this prefix that are not fields are refused as typos, with the nearest field.
        error: the error of a wrong key set (default: the class's own error).
    """
    values = args if isinstance(args, Mapping) else vars(args)
    names = field_names(klass)
    error = error or getattr(klass, _ERROR_ATTR)
    absent = [n for n in names if n not in values]
    if absent and not missing_ok:
        raise error(
            f"missing {owner} config key(s) {', '.join(absent)} ({klass.__name__}): your algorithm yaml is "
            "older than the plugin; run `epymarl-llm install EPYMARL_DIR` to refresh it"
        )
    if prefix is not None:
        unknown = sorted(k for k in values if k.startswith(prefix) and k not in names)
        if unknown:
            raise error(unknown_keys_message(owner, unknown, names))
    return klass(**{n: yaml_value(values[n]) for n in names if n in values})
