"""Packaging for epymarl-llm: LoLM-MARL (LoRA-tuned LLM policies) as an EPyMARL plugin."""
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent

setup(
    name="epymarl-llm",
    version="0.1.0",
    description="LoLM-MARL for EPyMARL: LoRA-tuned language-model policies with cross-scenario transfer",
    long_description=(HERE / "README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    # The EPyMARL algorithm yamls live in the top-level `config/` folder and ship inside the
    # package as `epymarl_llm.configs`, so `epymarl-llm install` finds them after any install.
    packages=find_packages(include=["epymarl_llm", "epymarl_llm.*"]) + ["epymarl_llm.configs"],
    package_dir={"epymarl_llm.configs": "config"},
    package_data={"epymarl_llm.configs": ["*.yaml", "envs/*.yaml"]},
    install_requires=[
        # torch is a range, not a pin: CPU and CUDA builds alike satisfy it.
        "torch>=2.4",
        "transformers>=4.51",  # Qwen3 support starts at 4.51
        "peft>=0.13",
        "tokenizers>=0.20",
        "numpy>=1.24",
        "pyyaml>=6",
        "sacred>=0.8.5",
        # sacred 0.8.x imports pkg_resources at top level; setuptools 82 removed it.
        "setuptools<82",
        "pymongo>=4",
        "matplotlib>=3.7",
    ],
    extras_require={
        "test": ["pytest>=7", "mongomock>=4.1"],
        # SMAC's StarCraft II env needs pysc2 (PyPI) and SMAC itself (from its repository);
        # pysc2's generated protobuf code needs protobuf < 3.21.
        "sc2": ["pysc2>=3.0", "protobuf<3.21"],
    },
    entry_points={"console_scripts": ["epymarl-llm=epymarl_llm.cli:main"]},
    classifiers=[
        "Programming Language :: Python :: 3",
        "Topic :: Scientific/Engineering :: Artificial Intelligence",
    ],
)
