"""A bfloat16 body, or int8 frozen layers, against a float32 body with the same weights: action-probability error and time.

    epymarl-llm bench dtype-error                     # small shape, 16 prompts of 3s5z_vs_3s6z
    epymarl-llm bench dtype-error --model tiny --rows 8 --repeats 1 --json
    epymarl-llm bench dtype-error --candidate int8 --model smollm2-135m --lora-layers 2

`llm_dtype: bfloat16` runs the Qwen3 body in bf16 and keeps LoRA, the head and the log-softmax in
float32: this is what `llm_dtype: auto` picks on CUDA and on CPUs with AMX-BF16 or AVX512-BF16.
Both policies get the same body, adapter and head weights (the adapter's B matrices are set
non-zero, as after training, so the adapter's path counts in the error). Printed: the largest
|p_bf16 - p_fp32| over every available action, the mean and largest KL(p_fp32 || p_bf16) over the
prompts, how often the most likely action is the same, and the median forward time of each dtype.
On a CPU without native bf16 instructions the bf16 time is the emulation's, not a GPU's or an AMX
CPU's (docs/PERFORMANCE.md, "CPUs with and without native bf16").

`--candidate int8` compares `lower_layers_int8: True` (the frozen layers below `lora_layers: K`
with int8 linear maps, `epymarl_llm.policy.int8_layers`) with the same policy in float32.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import torch

from epymarl_llm_tools.bench.combined import prepare_model
from epymarl_llm_tools.bench.policy_speed import MAP, _timed, bench_batch

CANDIDATES = {"bf16": {"llm_dtype": "bfloat16"}, "int8": {"llm_dtype": "float32", "lower_layers_int8": True}}


def _policy(model_dir: str, llm_init: str, device: str, lora_layers, **fields):
    from epymarl_llm.policy import LlmPolicy, PolicyConfig

    torch.manual_seed(0)
    cfg = PolicyConfig(llm_model=model_dir, llm_init=llm_init, device=device, lora_layers=lora_layers, **fields)
    return LlmPolicy(cfg).eval()


def _copy_weights(src, dst, seed: int = 1) -> None:
    """Give both policies one trained-looking adapter and head (random B), and the fp32 body's weights."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in src.model.named_parameters():
            if "lora_B" in name:
                p.copy_(torch.randn(p.shape, generator=g) * 0.3)
        dst_params = dict(dst.model.named_parameters())
        for name, p in src.model.named_parameters():
            if name in dst_params:  # int8 layers hold packed weights, quantized from the same float32 ones
                dst_params[name].copy_(p.to(dst_params[name].dtype))
        dst.head.load_state_dict(src.head.state_dict())


def measure(
    model: str = "small",
    rows: int = 16,
    repeats: int = 3,
    device: str = "cpu",
    map_name: str = MAP,
    candidate: str = "bf16",
    lora_layers: int | str = "all",
) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        model_dir, llm_init = prepare_model(model, Path(tmp))
        fp32 = _policy(model_dir, llm_init, device, lora_layers, llm_dtype="float32")
        other = _policy(model_dir, llm_init, device, lora_layers, **CANDIDATES[candidate])
        _copy_weights(fp32, other)
        batch, avail = bench_batch(fp32.tokenizer, rows, map_name=map_name)
        batch, avail = batch.to(fp32.device), avail.to(fp32.device)
        with torch.no_grad():
            # policy_speed's timer: a warm-up call, then the median of `repeats`, synchronised on CUDA.
            t32, logits32 = _timed(lambda: fp32.forward_chunked(batch, avail), fp32.device, repeats)
            t16, logits16 = _timed(lambda: other.forward_chunked(batch, avail), other.device, repeats)
    if logits16.dtype != torch.float32:
        raise AssertionError(f"the {candidate} policy's logits are {logits16.dtype}: the head must stay float32")
    # float64 for the statistics: the KL of two close distributions is below float32's resolution.
    logp32, logp16 = logits32.double().log_softmax(-1), logits16.double().log_softmax(-1)
    p32, p16 = logp32.exp(), logp16.exp()
    # Masked actions have probability 0 in both; KL over the available ones.
    kl = (p32 * (logp32 - logp16)).where(avail, torch.zeros(())).sum(-1)
    return {
        "model": model,
        "map": map_name,
        "rows": rows,
        "device": device,
        "candidate": candidate,
        "lora_layers": lora_layers,
        "max_abs_prob_error": float((p16 - p32).abs().where(avail, torch.zeros(())).max()),
        "mean_kl_fp32_to_candidate": float(kl.mean()),
        "max_kl_fp32_to_candidate": float(kl.max()),
        "argmax_agreement": float((p16.argmax(-1) == p32.argmax(-1)).float().mean()),
        "fp32_forward_s": t32,
        "candidate_forward_s": t16,
        "speedup": t32 / t16,
        "repeats": repeats,
    }


def format_result(r: dict) -> str:
    c = r["candidate"]
    return (
        f"{r['model']} on {r['rows']} prompts of {r['map']} ({r['device']}, lora_layers {r['lora_layers']}): "
        f"max |p_{c} - p_fp32| {r['max_abs_prob_error']:.2e}, KL(fp32 || {c}) mean "
        f"{r['mean_kl_fp32_to_candidate']:.2e} max {r['max_kl_fp32_to_candidate']:.2e}, same most likely action "
        f"{100 * r['argmax_agreement']:.1f}%; forward fp32 {r['fp32_forward_s']:.3f} s, {c} "
        f"{r['candidate_forward_s']:.3f} s ({r['speedup']:.2f}x; medians of {r['repeats']})"
    )


HELP = __doc__.splitlines()[0]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", default="small", help="a shape (tiny, small, qwen3-0.6b) or a local model folder")
    parser.add_argument("--rows", type=int, default=16, help="prompts in the forward")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--map", default=MAP)
    parser.add_argument(
        "--candidate",
        choices=sorted(CANDIDATES),
        default="bf16",
        help="bf16: a bfloat16 body; int8: lower_layers_int8 (needs --lora-layers K)",
    )
    parser.add_argument("--lora-layers", default="all", help="lora_layers of both policies: all, or K (default all)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args: argparse.Namespace) -> int:
    lora_layers = args.lora_layers if args.lora_layers == "all" else int(args.lora_layers)
    result = measure(args.model, args.rows, args.repeats, args.device, args.map, args.candidate, lora_layers)
    print(json.dumps(result) if args.json else format_result(result))
    return 0
