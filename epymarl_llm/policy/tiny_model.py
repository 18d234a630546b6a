"""Small random Qwen3- (or Llama-) architecture models and a locally trained tokenizer, for tests and offline runs.

The tokenizer is a byte-level BPE trained with `tokenizers` on SMAC prompts, with Qwen's
pre-tokenizer rule (every digit its own token), so prompt lengths are Qwen-like (docs/PERFORMANCE.md
"Tiny models offline"). The folder loads with `AutoTokenizer/AutoModel(ForCausalLM).from_pretrained`.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from pathlib import Path


# Shapes of the models this project builds. "qwen3-0.6b" copies Qwen/Qwen3-0.6B's config.json
# (hidden 1024, 28 layers, 16/8 heads, head_dim 128, MLP 3072, vocab 151,936, tied embeddings).
# "llama-tiny" is "tiny" with Llama layers (no q/k norms), the family of SmolLM2: the speed
# switches are tested on both families without a download.
@dataclass(frozen=True)
class ModelShape:
    hidden_size: int
    num_hidden_layers: int
    num_attention_heads: int
    num_key_value_heads: int
    head_dim: int
    intermediate_size: int
    vocab_size: int  # the embedding table; the trained tokenizer may use fewer ids
    family: str = "qwen3"  # the transformers model_type: "qwen3" or "llama"

    def dims(self) -> dict[str, int]:
        """The config keys of the shape (every field but the family)."""
        return {k: v for k, v in asdict(self).items() if k != "family"}


SHAPES: dict[str, ModelShape] = {
    "tiny": ModelShape(64, 2, 4, 2, 16, 128, 1024),
    "small": ModelShape(256, 4, 4, 2, 64, 768, 4096),
    "qwen3-0.6b": ModelShape(1024, 28, 16, 8, 128, 3072, 151_936),
    "llama-tiny": ModelShape(64, 2, 4, 2, 16, 128, 1024, family="llama"),
}
FAMILIES = ("qwen3", "llama")
SPECIAL_TOKENS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")
# Qwen2/Qwen3's pre-tokenizer split: letters runs, single digits, punctuation runs, whitespace.
QWEN_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)
CORPUS_MAPS = ("3m", "3s5z", "3s5z_vs_3s6z", "MMM2", "8m_vs_9m", "3s_vs_5z", "2s3z", "10m_vs_11m")


def make_tiny_model(
    directory: str | Path,
    shape: str | ModelShape = "tiny",
    texts: Iterable[str] | None = None,
    tokenizer_vocab_size: int = 1024,
    with_weights: bool = True,
    seed: int = 0,
) -> Path:
    """Write a random model of the shape's family (Qwen3 or Llama) and its tokenizer to `directory`.

    Args:
        shape: a name in `SHAPES` or a `ModelShape`.
        texts: the tokenizer's training corpus; default `smac_corpus()`, prompts of 8 SMAC maps.
        tokenizer_vocab_size: BPE vocabulary size (at most the shape's `vocab_size`).
        with_weights: False writes only config and tokenizer (load with llm_init=random), which is
            how the benchmark builds the 0.6B shape without writing gigabytes.
        seed: seeds the weights.
    Returns:
        The folder, loadable by `from_pretrained`.
    """
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM, Qwen3Config, Qwen3ForCausalLM

    dims = SHAPES[shape] if isinstance(shape, str) else shape
    if dims.family not in FAMILIES:
        raise ValueError(f"family={dims.family!r}: the tiny-model maker writes {' or '.join(FAMILIES)} models")
    if tokenizer_vocab_size > dims.vocab_size:
        raise ValueError(
            f"tokenizer_vocab_size={tokenizer_vocab_size} exceeds the model's vocab_size={dims.vocab_size}"
        )
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = train_tokenizer(smac_corpus() if texts is None else texts, tokenizer_vocab_size)
    tokenizer.save_pretrained(directory)
    config_class, model_class = (
        (LlamaConfig, LlamaForCausalLM) if dims.family == "llama" else (Qwen3Config, Qwen3ForCausalLM)
    )
    config = config_class(
        **dims.dims(),
        max_position_embeddings=8192,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    if not with_weights:
        config.save_pretrained(directory)
        return directory
    torch.manual_seed(seed)
    model_class(config).save_pretrained(directory)
    return directory


def train_tokenizer(texts: Iterable[str], vocab_size: int = 1024):
    """A byte-level BPE trained on `texts`, as a `PreTrainedTokenizerFast` (pad = eos = <|endoftext|>)."""
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(QWEN_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),  # every byte encodes: no unknown token
        show_progress=False,
    )
    tokenizer.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tokenizer, eos_token=SPECIAL_TOKENS[0], pad_token=SPECIAL_TOKENS[0], padding_side="right"
    )


def smac_corpus(n_per_map: int = 40, seed: int = 0) -> list[str]:
    """Dynamic SMAC prompts of several maps from random observations (`epymarl_llm.prompts`)."""
    from epymarl_llm.prompts import example_prompts

    return [text for map_name in CORPUS_MAPS for text in example_prompts(map_name, n_per_map, seed)]


def describe(directory: str | Path) -> dict:
    """The architecture facts of a folder written by `make_tiny_model` (from its config.json)."""
    config = json.loads((Path(directory) / "config.json").read_text())
    return {k: config[k] for k in ("model_type", *ModelShape.__dataclass_fields__) if k != "family"}
