"""The model check of `epymarl-llm doctor`: is `llm_model` loadable here, and how big is it?

Reads only what is on disk: a folder's `config.json` and the JSON headers of its `.safetensors`
files (8-byte length, then the tensor table), or the same files in the Hugging Face cache for a
hub name. Nothing is downloaded; for a hub name that is not cached, one TCP connection tells
whether the hub can be reached at all. A named model (`smollm2-135m`) or a `.gguf` file is reported
with the GGUF it comes from and its converted folder, cached or not (it is not converted here).
"""

from __future__ import annotations

import json
import math
import os
import socket
import struct
from dataclasses import dataclass
from pathlib import Path

HUB_HOST = "huggingface.co"


@dataclass
class ModelFound:
    ok: bool
    detail: str
    fix: str = ""


def hub_offline() -> bool:
    """HF_HUB_OFFLINE as huggingface_hub reads it (its constants module parses the same variable)."""
    try:
        from huggingface_hub import constants

        return bool(constants.HF_HUB_OFFLINE)
    except ImportError:
        return os.environ.get("HF_HUB_OFFLINE", "").upper() in {"1", "ON", "YES", "TRUE"}


def hub_reachable(timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((HUB_HOST, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _looks_like_path(name: str) -> bool:
    """A folder, as transformers decides: it exists, or it cannot be a hub id (`org/name`)."""
    return Path(name).expanduser().exists() or name.startswith(("/", ".", "~")) or name.count("/") > 1


def safetensors_summary(folder: Path) -> tuple[int, int, set[str]]:
    """(parameters, bytes on disk, dtypes) over the folder's safetensors files, from their headers."""
    params, size, dtypes = 0, 0, set()
    for f in sorted(folder.glob("*.safetensors")):
        size += f.stat().st_size
        with f.open("rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        for key, t in header.items():
            if key != "__metadata__":
                params += math.prod(t["shape"])
                dtypes.add(t["dtype"])
    return params, size, dtypes


def inspect_folder(folder: Path, label: str) -> ModelFound:
    cfg_path = folder / "config.json"
    if not cfg_path.is_file():
        return ModelFound(
            False,
            f"{label}: {folder} has no config.json, so it is not a transformers model folder",
            "pass llm_model=<a folder written by save_pretrained or make-tiny-model>",
        )
    cfg = json.loads(cfg_path.read_text(encoding="utf-8"))
    params, size, dtypes = safetensors_summary(folder)
    dtype = cfg.get("dtype") or cfg.get("torch_dtype") or "unknown"
    if not params and not any(folder.glob("*.bin")):
        return ModelFound(
            False,
            f"{label}: {folder} has a config but no weights (*.safetensors or *.bin)",
            "download the full model, or use llm_init=random to start from random weights",
        )
    stored = f", stored as {'/'.join(sorted(dtypes))}" if dtypes else ""
    count = f"{params / 1e6:.1f}M parameters, " if params else ""
    return ModelFound(
        True,
        f"{label}: {cfg.get('model_type', '?')} model, {count}{size / 2**20:.1f} MiB on disk, dtype {dtype}{stored}",
    )


def inspect_gguf_model(name: str) -> ModelFound:
    """A named model or `.gguf` file: its package and file, and whether its converted folder is cached."""
    import importlib.util

    from epymarl_llm.policy.errors import ModelLoadError
    from epymarl_llm.policy.named_models import NAMED_MODELS, install_hint, locate

    named = NAMED_MODELS.get(name)
    try:
        source = locate(name)
    except ModelLoadError as err:
        return ModelFound(False, str(err), install_hint(named) or "pass llm_model=an existing .gguf file")
    what = f"{name} ({named.summary})" if named else name
    origin = f"from {source.gguf}" if source.gguf else "its package since removed"
    if source.cached:
        return inspect_folder(Path(source.folder), f"{what}, converted {origin} and cached in {source.folder}")
    if importlib.util.find_spec("gguf") is None:
        return ModelFound(False, f"{what}: reading {source.gguf} needs the gguf package", install_hint())
    size = source.gguf.stat().st_size / 2**20
    return ModelFound(
        True,
        f"{what}: GGUF {source.gguf} ({size:.0f} MiB), not converted yet: dequantised once on first use "
        f"(about half a minute on 2 cores) into {source.folder}",
    )


def inspect_model(name: str) -> ModelFound:
    """Whether `llm_model=name` loads here without a download, with its size and dtype."""
    from epymarl_llm.policy.named_models import NAMED_MODELS

    if name in NAMED_MODELS or name.endswith(".gguf"):
        return inspect_gguf_model(name)
    if _looks_like_path(name):
        folder = Path(name).expanduser()
        if not folder.is_dir():
            return ModelFound(
                False, f"llm_model={name}: no such folder", "pass llm_model=/path/to/an/existing/model/folder"
            )
        return inspect_folder(folder.resolve(), f"folder {folder}")
    offline = hub_offline()
    state = "HF_HUB_OFFLINE is set" if offline else "online"
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return ModelFound(False, f"{name}: huggingface_hub is not installed", 'pip install "transformers>=5.23"')
    cached = try_to_load_from_cache(name, "config.json")
    if isinstance(cached, str):
        return inspect_folder(Path(cached).parent, f"{name} (cached; {state})")
    if offline:
        return ModelFound(
            False,
            f"{name} is not in the Hugging Face cache and HF_HUB_OFFLINE is set",
            f"download it where there is network (`hf download {name}`), or "
            "epymarl-llm make-tiny-model /tmp/tiny-qwen3 and run with llm_model=/tmp/tiny-qwen3",
        )
    if not hub_reachable():
        return ModelFound(
            False,
            f"{name} is not cached and {HUB_HOST} cannot be reached",
            "epymarl-llm make-tiny-model /tmp/tiny-qwen3 and run with llm_model=/tmp/tiny-qwen3, "
            "or pass llm_model=/path/to/a/downloaded/model",
        )
    return ModelFound(True, f"{name}: not cached yet; downloaded from {HUB_HOST} on first use")
