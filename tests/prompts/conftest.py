"""Fixtures of the prompt tests: SMAC import setup and small offline tokenizers."""

from __future__ import annotations

import os

# pysc2's generated protobuf modules need the pure-Python protobuf with a current protobuf.
os.environ.setdefault("PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python")

import pytest  # noqa: E402


def _corpus() -> list[str]:
    from epymarl_llm.prompts import PromptConfig, example_prompts

    texts = []
    for i, name in enumerate(("3s5z_vs_3s6z", "MMM2", "3m", "corridor", "2s_vs_1sc", "bane_vs_bane")):
        texts += example_prompts(name, 40, seed=i)
        texts += example_prompts(name, 10, seed=i, config=PromptConfig(dynamic_prompt=False, number_format="decimal"))
    return texts


def _wrap(tok):
    from transformers import PreTrainedTokenizerFast

    return PreTrainedTokenizerFast(tokenizer_object=tok, pad_token="<pad>", eos_token="<eos>", unk_token="<unk>")


@pytest.fixture(scope="session")
def corpus() -> list[str]:
    return _corpus()


@pytest.fixture(scope="session")
def qwen_like_tokenizer(corpus):
    """A small byte-level BPE trained here with Qwen's pre-tokenizer (no download)."""
    from epymarl_llm.policy.tiny_model import train_tokenizer

    return train_tokenizer(corpus, vocab_size=1200)


@pytest.fixture(scope="session")
def gpt2_like_tokenizer(corpus):
    """Byte-level BPE with GPT-2's own regex (multi-digit numbers, ' ?\\p{N}+')."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.train_from_iterator(
        corpus,
        trainers.BpeTrainer(
            vocab_size=900,
            special_tokens=["<pad>", "<eos>", "<unk>"],
            show_progress=False,
            initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        ),
    )
    return _wrap(tok)


@pytest.fixture(scope="session")
def word_level_tokenizer(corpus):
    """A WordLevel tokenizer that drops whitespace and adds a BOS token (like many encoder models)."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.WordLevel(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.train_from_iterator(
        corpus, trainers.WordLevelTrainer(special_tokens=["<pad>", "<eos>", "<unk>", "<s>"], show_progress=False)
    )
    tok.post_processor = processors.TemplateProcessing(
        single="<s> $A", special_tokens=[("<s>", tok.token_to_id("<s>"))]
    )
    return _wrap(tok)


@pytest.fixture(scope="session")
def metaspace_tokenizer(corpus):
    """SentencePiece-style (Metaspace) BPE: pieces do not join, so the encoder must fall back."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tok = Tokenizer(models.BPE(unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(prepend_scheme="first")
    tok.decoder = decoders.Metaspace(prepend_scheme="first")
    tok.train_from_iterator(
        corpus, trainers.BpeTrainer(vocab_size=600, special_tokens=["<pad>", "<eos>", "<unk>"], show_progress=False)
    )
    return _wrap(tok)
