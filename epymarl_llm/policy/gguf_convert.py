"""A GGUF file -> a normal transformers folder (float32 weights, config, tokenizer), written atomically.

transformers reads GGUF files with the `gguf` package and dequantises them, but refuses to
`save_pretrained` the result (it counts as a quantised model). Copying its weights into a fresh
`from_config` model and saving that gives an ordinary folder, which then loads in seconds instead
of being dequantised on every run.

The folder is written under a temporary name beside its destination and renamed into place when
complete, so an interrupted conversion never leaves a folder that looks finished.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

from epymarl_llm.policy.errors import ModelLoadError
from epymarl_llm.policy.named_models import SOURCE_FILE, is_converted, source_record


def convert_gguf(gguf: Path, folder: Path) -> Path:
    """Dequantise `gguf` into `folder` (replacing an outdated conversion there); returns `folder`.

    Raises:
        ModelLoadError: transformers cannot read the file (e.g. an architecture it has no GGUF support for).
    """
    folder.parent.mkdir(parents=True, exist_ok=True)
    # Said before the wait (SmolLM2: about half a minute on 2 cores), once per model and machine.
    print(f"epymarl-llm: converting {gguf} once into {folder}", file=sys.stderr, flush=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{folder.name}.partial-", dir=folder.parent))
    partial.chmod(0o755)  # mkdtemp's 0700 would keep a shared EPYMARL_LLM_MODEL_CACHE from other users
    try:
        _write_folder(gguf, partial)
        # Written last: its presence is what marks a folder as finished (`is_converted`).
        (partial / SOURCE_FILE).write_text(json.dumps(source_record(gguf), indent=1) + "\n")
        _move_into_place(partial, folder, gguf)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    return folder


def _write_folder(gguf: Path, out: Path) -> None:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    where, name = str(gguf.parent), gguf.name
    problem = None
    try:
        loaded = AutoModelForCausalLM.from_pretrained(where, gguf_file=name, dtype=torch.float32, local_files_only=True)
        config = AutoConfig.from_pretrained(where, gguf_file=name, local_files_only=True)
        tokenizer = AutoTokenizer.from_pretrained(where, gguf_file=name, local_files_only=True)
    except (OSError, ValueError, KeyError, ImportError) as err:
        problem = f"{type(err).__name__}: {err}"
    if problem is not None:
        # Raised outside the `except`: the message, not transformers' traceback, is what is read.
        raise ModelLoadError(
            f"cannot convert {gguf} to a transformers folder ({problem}). transformers reads GGUF files of the "
            "architectures it lists in GGUF_SUPPORTED_ARCHITECTURES (llama, mistral, qwen2, qwen3, ...); use one "
            "of those, or a folder written by save_pretrained"
        )
    _restore_pre_tokenizer(tokenizer, gguf)
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    model.load_state_dict(loaded.state_dict())
    del loaded
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _restore_pre_tokenizer(tokenizer, gguf: Path) -> None:
    """GGUF names its pre-tokenizer (`tokenizer.ggml.pre`); transformers rebuilds only some of them
    and falls back to GPT-2's split for the rest. SmolLM2's ("smollm", as StarCoder's) first splits
    every digit apart: restored here, so prompts tokenize as with the original tokenizer."""
    from gguf import GGUFReader
    from tokenizers import pre_tokenizers

    field = GGUFReader(str(gguf)).fields.get("tokenizer.ggml.pre")
    if field is None or field.contents() not in _DIGITS_FIRST:
        return
    tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)]
    )


# llama.cpp's pre-tokenizer names whose first rule is "each digit apart", then GPT-2's split.
_DIGITS_FIRST = ("smollm", "starcoder", "refact")


def _move_into_place(partial: Path, folder: Path, gguf: Path) -> None:
    """Rename the finished `partial` to `folder`; an outdated `folder` is set aside first, then removed."""
    old = None
    if folder.exists():
        if is_converted(folder, gguf):
            return  # another process finished the same conversion meanwhile: keep theirs
        old = folder.with_name(f".{folder.name}.old-{os.getpid()}")
        os.replace(folder, old)
    try:
        os.replace(partial, folder)
    except OSError:
        if not is_converted(folder, gguf):  # not a finished conversion of a concurrent process
            raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
