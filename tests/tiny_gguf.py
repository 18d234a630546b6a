"""Write a small Llama model folder as a GGUF file (float32 tensors), as llama.cpp's converter lays it out.

The tests of the GGUF path then need no download: the file is read by transformers exactly as
SmolLM2's is (same architecture name, metadata keys, tensor names and GPT-2-style BPE tokenizer).
"""

from __future__ import annotations

from pathlib import Path


def _llama_cpp_permute(weights, n_head: int):
    """llama.cpp stores q/k rows interleaved per rotary pair; transformers undoes this on reading."""
    return (
        weights.reshape(n_head, 2, weights.shape[0] // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def write_llama_gguf(model_dir: Path, out: Path, pre_tokenizer: str | None = "smollm") -> Path:
    """`model_dir` (a LlamaForCausalLM folder with a byte-level BPE tokenizer) -> the GGUF file `out`.

    `pre_tokenizer` is the `tokenizer.ggml.pre` name (SmolLM2's by default; None writes none).
    """
    import json

    import gguf
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    writer = gguf.GGUFWriter(str(out), "llama")
    writer.add_name("tiny llama")
    writer.add_context_length(config.max_position_embeddings)
    writer.add_embedding_length(config.hidden_size)
    writer.add_block_count(config.num_hidden_layers)
    writer.add_feed_forward_length(config.intermediate_size)
    writer.add_head_count(config.num_attention_heads)
    writer.add_head_count_kv(config.num_key_value_heads)
    writer.add_rope_dimension_count(config.head_dim)
    writer.add_rope_freq_base(float(config.rope_parameters["rope_theta"]))
    writer.add_layer_norm_rms_eps(config.rms_norm_eps)
    writer.add_vocab_size(config.vocab_size)

    bpe = json.loads((model_dir / "tokenizer.json").read_text())
    vocab = bpe["model"]["vocab"]
    tokens = sorted(vocab, key=vocab.get)
    for added in bpe["added_tokens"]:
        tokens[added["id"]] = added["content"]
    # A GGUF tokenizer lists one token per embedding row: rows the trained BPE left unused get placeholders.
    unused = range(len(tokens), config.vocab_size)
    tokens += [f"<|unused{i}|>" for i in unused]
    special = {a["id"] for a in bpe["added_tokens"]} | set(unused)
    writer.add_tokenizer_model("gpt2")
    if pre_tokenizer is not None:
        writer.add_tokenizer_pre(pre_tokenizer)
    writer.add_token_list(tokens)
    writer.add_token_types(
        [gguf.TokenType.CONTROL if i in special else gguf.TokenType.NORMAL for i in range(len(tokens))]
    )
    writer.add_token_merges([m if isinstance(m, str) else " ".join(m) for m in bpe["model"]["merges"]])
    writer.add_bos_token_id(config.bos_token_id)
    writer.add_eos_token_id(config.eos_token_id)
    writer.add_pad_token_id(config.pad_token_id)
    writer.add_add_bos_token(False)

    names = gguf.get_tensor_name_map(gguf.MODEL_ARCH.LLAMA, config.num_hidden_layers)
    for name, tensor in model.state_dict().items():
        if name == "lm_head.weight" and config.tie_word_embeddings:
            continue  # no output.weight: transformers then ties the head to the embedding
        array = tensor.float().numpy()
        if name.endswith("q_proj.weight"):
            array = _llama_cpp_permute(array, config.num_attention_heads)
        elif name.endswith("k_proj.weight"):
            array = _llama_cpp_permute(array, config.num_key_value_heads)
        writer.add_tensor(names.get_name(name, try_suffixes=(".weight", ".bias")), array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return out
