"""Import transformers' model classes, or say which installed package breaks them.

transformers imports torchvision whenever it is installed. A torchvision built for another torch
fails at import ("operator torchvision::nms does not exist"), and transformers then reports only
`Could not import module 'PreTrainedModel'`, with torchvision deep in the chained traceback. This
module runs that import once, before the policy's own imports of transformers and peft, and turns
that failure into one message whose last line is the fix (what `epymarl-llm doctor` says too).
"""

from __future__ import annotations

import importlib.util


class BrokenTorchvisionError(ImportError):
    """transformers cannot load its model classes because the installed torchvision is broken."""


def torchvision_error() -> str | None:
    """Why the installed torchvision fails at import; None when it imports or is not installed."""
    if importlib.util.find_spec("torchvision") is None:
        return None
    try:
        import torchvision  # noqa: F401
    except Exception as err:  # any failure at import breaks transformers the same way
        return f"{type(err).__name__}: {err}"
    return None


def import_model_classes() -> None:
    """Import transformers' `PreTrainedModel` (what every model load needs)."""
    try:
        from transformers import PreTrainedModel  # noqa: F401
    except Exception:
        broken = torchvision_error()
        if broken is None:
            raise
    else:
        return
    # Raised outside the `except`: the chained transformers traceback would bury the fix.
    raise BrokenTorchvisionError(
        f"transformers cannot import its model classes because the installed torchvision is broken "
        f"({broken}); transformers imports torchvision whenever it is installed, and a run does not "
        "need it.\nFix: pip uninstall -y torchvision (or install the torchvision built for this torch)"
    )


import_model_classes()
