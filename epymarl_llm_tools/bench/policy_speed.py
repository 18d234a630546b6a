"""Policy benchmark: trained vs total parameters, checkpoint size, memory of policy + reference
against the backbone alone, and forward time for 80 prompts of 3s5z_vs_3s6z.

    epymarl-llm bench policy-size                       # small and qwen3-0.6b shapes
    epymarl-llm bench policy-size --shapes small --rows 80 --repeats 3

Models are random (`llm_init=random`) with the named shape, so no weights are downloaded. Each
measurement runs in its own subprocess so that peak memory (VmHWM on CPU, max_memory_allocated on
CUDA) belongs to that measurement alone; "delta" subtracts the process's memory after imports.
On CPU the 0.6B shape runs `--large-cpu-rows` prompts (a forward of 80 would take minutes on a
small CPU) and the 80-prompt time is extrapolated linearly, and says so. On a CUDA GPU every shape
runs 80 prompts in bfloat16 (llm_dtype=auto).

Memory: the policy holds no second backbone, but peft's unmerged LoRA forward adds one temporary
the size of each adapted layer's output; where activations outweigh weights (the small shape, many
long prompts) that shows in the ratio. `max_prompts_per_forward` chunks bound it.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

MAP = "3s5z_vs_3s6z"  # 8 agents (3 Stalkers, 5 Zealots) vs 9 enemies (3 Stalkers, 6 Zealots)


def bench_batch(tokenizer, rows: int, seed: int = 0, map_name: str = MAP):
    """(TokenBatch, avail (rows, 6 + n_targets) bool): dynamic prompts of `map_name` built by
    `epymarl_llm.prompts` from plausible random observations (80 rows = 10 steps x 8 agents)."""
    import torch

    from epymarl_llm.prompts import PromptEncoder, load_map_layout, random_observations

    layout = load_map_layout(map_name, env="sc2")
    obs, avail, agent_ids = random_observations(layout, rows, seed)
    batch = PromptEncoder(layout, tokenizer).encode(obs, avail, agent_ids)
    return batch, torch.as_tensor(avail) != 0


# ---------------------------------------------------------------- workers (one per subprocess)
def _rss_kib(field: str) -> int:
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux


def _timed(fn, device, repeats: int) -> tuple[float, object]:
    import torch

    times, out = [], None
    fn()  # warm-up (allocator growth, page faults, kernel selection): not timed
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def worker(kind: str, model_dir: str, rows: int, repeats: int, prefix_cache: bool, device_name: str) -> dict:
    """Measure one configuration in this (fresh) process; returns a JSON-able dict."""
    import peft  # noqa: F401  (imports count in the baseline, not in the measurement)
    import torch
    import transformers
    from transformers import AutoConfig, AutoModel

    from epymarl_llm.policy import LlmPolicy, PolicyConfig
    from epymarl_llm.policy.backbone import body_hidden, resolve_device, resolve_dtype

    transformers.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    device = resolve_device(device_name)
    dtype = resolve_dtype("auto", device)
    base_kib = _rss_kib("VmRSS")
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    result: dict = {"device": str(device), "dtype": str(dtype).removeprefix("torch."), "rows": rows}
    if kind == "backbone":
        from transformers import AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        model = AutoModel.from_config(AutoConfig.from_pretrained(model_dir), dtype=dtype).to(device).eval()
        model.requires_grad_(False)
        batch, _ = bench_batch(tokenizer, rows)
        batch = batch.to(device)
        with torch.no_grad():
            result["forward_s"], _ = _timed(
                lambda: body_hidden(model, batch.input_ids, batch.attention_mask), device, repeats
            )
        result["total_params"] = sum(p.numel() for p in model.parameters())
    else:
        cfg = PolicyConfig(llm_model=model_dir, llm_init="random", prefix_cache=prefix_cache, device=device_name)
        policy = LlmPolicy(cfg).eval()
        batch, avail = bench_batch(policy.tokenizer, rows)
        with torch.no_grad():
            result["forward_s"], logits = _timed(lambda: policy(batch, avail), device, repeats)
        result["reference_s"], _ = _timed(lambda: policy.reference_logits(batch, avail), device, repeats)
        result["trained_params"], result["total_params"] = policy.parameter_counts()
        with tempfile.TemporaryDirectory() as tmp:
            folder = policy.save_trainable(Path(tmp) / "ckpt")
            result["checkpoint_bytes"] = sum(p.stat().st_size for p in folder.iterdir())
        result["finite"] = bool(torch.isfinite(logits).all())
    result["tokens_mean"] = float(batch.lengths.float().mean())
    result["tokens_max"] = int(batch.lengths.max())
    result["prefix_len"] = batch.prefix_len
    if device.type == "cuda":
        result["peak_mib"] = torch.cuda.max_memory_allocated() / 2**20
        result["delta_mib"] = result["peak_mib"]
    else:
        result["peak_mib"] = _rss_kib("VmHWM") / 1024
        result["delta_mib"] = result["peak_mib"] - base_kib / 1024
    return result


def _run_worker(kind: str, model_dir: Path, rows: int, repeats: int, prefix_cache: bool, device: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "epymarl_llm_tools",
        "bench",
        "policy-size",
        "--worker",
        kind,
        "--model",
        str(model_dir),
        "--rows",
        str(rows),
        "--repeats",
        str(repeats),
        "--device",
        device,
    ]
    if prefix_cache:
        cmd.append("--prefix-cache")
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"benchmark worker {kind} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------- report
def measure_shape(shape: str, root: Path, args: argparse.Namespace, cuda: bool) -> None:
    from epymarl_llm.policy.tiny_model import make_tiny_model

    model_dir = make_tiny_model(root / shape, shape, with_weights=False)
    large_on_cpu = shape == "qwen3-0.6b" and not cuda
    rows = args.large_cpu_rows if large_on_cpu else args.rows
    repeats = 1 if large_on_cpu else args.repeats
    backbone = _run_worker("backbone", model_dir, rows, repeats, False, args.device)
    policy = _run_worker("policy", model_dir, rows, repeats, False, args.device)
    cached = _run_worker("policy", model_dir, rows, repeats, True, args.device) if args.prefix_cache else None
    scale = args.rows / rows
    note = f" (measured on {rows} prompts, x{scale:g} linear extrapolation)" if scale != 1 else ""
    print(
        f"\n== {shape} (random init) on {policy['device']} in {policy['dtype']}: "
        f"{policy['rows']} prompts of {MAP}, {policy['tokens_mean']:.0f} tokens mean / {policy['tokens_max']} max, "
        f"shared prefix {policy['prefix_len']}"
    )
    trained, total = policy["trained_params"], policy["total_params"]
    print(f"parameters trained / total: {trained:,} / {total:,} ({100 * trained / total:.2f}%)")
    print(f"checkpoint (LoRA adapter + head): {policy['checkpoint_bytes'] / 2**20:.2f} MiB")
    what = "allocated" if cuda else "RSS"
    print(
        f"peak memory {what}, backbone alone + forward: {backbone['peak_mib']:.0f} MiB (delta over imports {backbone['delta_mib']:.0f} MiB)"
    )
    print(
        f"peak memory {what}, policy + reference forwards: {policy['peak_mib']:.0f} MiB (delta {policy['delta_mib']:.0f} MiB)"
        f" -> ratio {policy['peak_mib'] / backbone['peak_mib']:.3f} total, {policy['delta_mib'] / backbone['delta_mib']:.3f} delta (target <= 1.1)"
    )
    print(
        f"forward, {args.rows} prompts{note}: backbone alone {backbone['forward_s'] * scale:.3f} s, "
        f"policy {policy['forward_s'] * scale:.3f} s, reference {policy['reference_s'] * scale:.3f} s"
    )
    if cached:
        print(
            f"forward with prefix cache: policy {cached['forward_s'] * scale:.3f} s, reference {cached['reference_s'] * scale:.3f} s"
        )


HELP = "trained vs total parameters, checkpoint size, memory of policy + reference, forward time"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--shapes", nargs="+", default=["small", "qwen3-0.6b"], help="shapes of epymarl_llm.policy.tiny_model.SHAPES"
    )
    parser.add_argument("--rows", type=int, default=80, help="prompts per forward (default 80: 10 steps x 8 agents)")
    parser.add_argument("--large-cpu-rows", type=int, default=4, help="prompts for the 0.6B shape on CPU (default 4)")
    parser.add_argument(
        "--repeats",
        type=int,
        default=2,
        help="timed repeats after one untimed warm-up; the median is printed (0.6B on CPU: 1)",
    )
    parser.add_argument("--prefix-cache", action="store_true", help="also time the shared-prefix KV cache path")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda")
    parser.add_argument("--worker", choices=["backbone", "policy"], help=argparse.SUPPRESS)
    parser.add_argument("--model", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    if args.worker:
        print(json.dumps(worker(args.worker, args.model, args.rows, args.repeats, args.prefix_cache, args.device)))
        return 0
    import torch

    cuda = args.device != "cpu" and torch.cuda.is_available()
    if not cuda:
        print(
            "No CUDA GPU: CPU figures in float32. On a GPU this benchmark runs the same code in bfloat16 "
            "(llm_dtype=auto) with all 80 prompts for every shape."
        )
    load = (
        f", load average {os.getloadavg()[0]:.1f} (times are noisy when other jobs share the CPU)"
        if hasattr(os, "getloadavg")
        else ""
    )
    print(f"torch {torch.__version__}, {torch.get_num_threads()} CPU threads{load}")
    with tempfile.TemporaryDirectory() as tmp:
        for shape in args.shapes:
            measure_shape(shape, Path(tmp), args, cuda)
    return 0
