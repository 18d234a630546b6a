"""The combined benchmark behind `epymarl-llm bench`: rollout and learner, fast path vs reference.

Every (variant, part, repeat) runs in a fresh subprocess (`epymarl_llm_tools.bench.measure`); the table
shows medians over repeats. Speed-ups are against the "reference" variant; a switch's own gain is
the fast path against the fast path with that switch off, or the reference with that one
straightforward choice replaced against the reference.
"""

from __future__ import annotations

import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import torch

from epymarl_llm_tools.bench import flops
from epymarl_llm_tools.bench.measure import FAST_SWITCHES, REFERENCE_SWITCHES, parse_variant, variant_dtype

SHAPE_NAMES = ("tiny", "small", "qwen3-0.6b")
BASE_VARIANTS = ("fast", "reference")


def switch_variants() -> list[str]:
    """One variant per switch: the fast path with it off, the reference with it replaced."""
    return [f"fast:{s}=off" for s in FAST_SWITCHES] + [f"reference:{s}=off" for s in REFERENCE_SWITCHES]


def prepare_model(model: str, root: Path) -> tuple[str, str]:
    """(model folder, llm_init): a shape name is written to `root` with random weights; a named model
    (`smollm2-135m`) or a `.gguf` file is its converted folder (converted on first use)."""
    from epymarl_llm.policy.named_models import NAMED_MODELS, resolve_model

    if model in NAMED_MODELS or model.endswith(".gguf"):
        return resolve_model(model), "pretrained"
    if model in SHAPE_NAMES:
        from epymarl_llm.policy.tiny_model import make_tiny_model

        # The 0.6B shape is not written to disk (gigabytes): config + tokenizer, random init on load.
        with_weights = model != "qwen3-0.6b"
        folder = make_tiny_model(root / model, shape=model, with_weights=with_weights, seed=0)
        return str(folder), "pretrained" if with_weights else "random"
    path = Path(model).expanduser()
    if not (path / "config.json").is_file():
        raise ValueError(
            f"--model {model!r} is neither a shape ({', '.join(SHAPE_NAMES)}), a named model "
            f"({', '.join(NAMED_MODELS)}), a .gguf file nor a local model folder with a config.json"
        )
    return str(path), "pretrained"


def prepare_episodes(opts: dict, path: Path) -> str:
    """Write the learner's batch (real SMAClite episodes when possible) and say where it came from."""
    from epymarl_llm_tools.bench import episodes

    source = opts["episodes_from"]
    if source == "auto":
        source = "smaclite" if opts["env"] == "smaclite" and episodes.smaclite_available() else "synthetic"
    if source == "smaclite":
        import contextlib

        with contextlib.redirect_stdout(sys.stderr):  # SMAClite prints to stdout; --json owns it
            data = episodes.collect_episodes(opts["map"], opts["episodes"], opts["seed"], opts["time_limit"])
    else:
        from epymarl_llm.prompts import load_map_layout

        layout = load_map_layout(opts["map"], env=opts["env"], env_args={"map_name": opts["map"]})
        data = episodes.synthetic_episodes(layout, opts["episodes"], opts["episode_length"], opts["seed"])
    torch.save(data, path)
    return source


def run_one(opts: dict, variant: str, part: str) -> dict:
    cmd = [
        sys.executable,
        "-m",
        "epymarl_llm_tools.bench.measure",
        json.dumps({**opts, "variant": variant, "part": part}),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode == -signal.SIGKILL:
        # The kernel's OOM killer leaves no traceback: say what almost certainly happened.
        raise RuntimeError(
            f"bench {variant} {part} was killed (SIGKILL), most likely out of memory on this "
            f"machine: fewer --episodes, a smaller --time-limit or --max-prompts reduce it"
        )
    if proc.returncode != 0:
        raise RuntimeError(f"bench {variant} {part} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def summarise(
    runs: list[dict],
    shape: dict,
    lora_rank: int,
    epochs: int,
    peak: float | None,
    gemm_peaks: dict[str, float] | None = None,
) -> dict:
    """Medians over repeats, FLOPs per agent-step and achieved FLOP/s of one (variant, part).

    FLOPs count the forwards the variant runs (no old-policy pass when pi_old comes from the
    rollout, a recomputed forward per epoch with gradient checkpointing).
    """
    rate = statistics.median(r["agent_steps_per_s"] for r in runs)
    lengths = torch.tensor(runs[0]["lengths"])
    per_forward = flops.forward_flops(shape, lengths, lora_rank)
    first = runs[0]
    forwards = (
        1.0
        if first["part"] == "rollout"
        else flops.learner_flops_per_forward(
            epochs, first["with_reference"], first.get("old_pass", True), first.get("checkpointing", False)
        )
    )
    top = first.get("top_layer_fraction", 1.0)
    if first["part"] == "learner" and top < 1.0:
        # `lora_layers: K`: the lower layers run once (in the first pass), every pass the top ones.
        forwards = (1.0 - top) + top * forwards
    per_step = per_forward * forwards
    out = {
        "agent_steps_per_s": rate,
        "agent_steps_per_s_runs": [r["agent_steps_per_s"] for r in runs],
        "peak_mib": statistics.median(r["peak_mib"] for r in runs),
        "agent_steps": first["agent_steps"],
        "prompt_tokens_mean": float(lengths.float().mean()),
        "flops_per_agent_step": per_step,
        "forwards_per_agent_step": forwards,
        "achieved_flops": per_step * rate,
        "dtype": first.get("dtype"),
    }
    if peak:
        out["fraction_of_peak"] = per_step * rate / peak
    gemm = (gemm_peaks or {}).get(first.get("dtype"))
    if gemm:
        out["fraction_of_gemm_peak"] = per_step * rate / gemm
    return out


def measure_gemm_peaks(opts: dict, dtypes: set[str], repeats: int, log=print) -> dict[str, float]:
    """The best of `repeats` fresh-process GEMM peaks (`flops.gemm_peak`) per dtype in use."""
    peaks = {}
    for dtype in sorted(dtypes):
        runs = [run_one({**opts, "dtype": dtype}, "gemm", "gemm")["flops_per_s"] for _ in range(repeats)]
        peaks[dtype] = max(runs)
        log(f"  matmul peak ({dtype}, {opts['device']}, the model's MLP GEMM): {peaks[dtype] / 1e9:.1f} GFLOP/s")
    return peaks


def _quiet_hub_progress() -> None:
    """No progress bars of transformers / huggingface_hub (e.g. "Writing model shards") in our output."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    try:
        from huggingface_hub.utils import disable_progress_bars

        disable_progress_bars()
    except ImportError:
        pass


def run(opts: dict, variants: list[str], parts: list[str], repeats: int, log=print) -> dict:
    """Measure every (variant, part) `repeats` times; returns the JSON-able result."""
    for v in variants:
        parse_variant(v)  # a bad name fails before any measurement
    device = torch.device(opts["device"])
    peak, peak_source = flops.device_peak(device, opts.get("peak_flops"))
    _quiet_hub_progress()
    with tempfile.TemporaryDirectory() as tmp:
        opts = dict(opts)
        episodes_source = _prepare_inputs(opts, parts, Path(tmp), log)
        shape = flops.model_shape(opts["model_dir"])
        from epymarl_llm.policy import PolicyConfig
        from epymarl_llm.policy.backbone import resolve_dtype

        lora_rank = PolicyConfig().lora_rank
        dtypes = {
            str(resolve_dtype(variant_dtype(opts, parse_variant(v)[1]), device)).removeprefix("torch.")
            for v in variants
        }
        gemm_peaks = measure_gemm_peaks(opts, dtypes, repeats, log)
        raw = _measure_all(opts, variants, parts, repeats, log)
    results = {
        v: {p: summarise(raw[v][p], shape, lora_rank, opts["epochs"], peak, gemm_peaks) for p in parts}
        for v in variants
    }
    return {
        "settings": _settings(opts, repeats, episodes_source),
        "peak_flops": peak,
        "peak_source": peak_source,
        "gemm_peak_flops": gemm_peaks,
        "model_shape": shape,
        "results": results,
        "speedup": _ratios(results, parts),
        "switch_gains": _gains(results, parts),
    }


def _prepare_inputs(opts: dict, parts: list[str], tmp: Path, log) -> str | None:
    """Put the model (and, for the learner, its stored batch) under `tmp` into `opts`; the batch's source."""
    log(f"preparing model {opts['model']} ...")
    opts["model_dir"], opts["llm_init"] = prepare_model(opts["model"], tmp)
    if "learner" not in parts:
        return None
    opts["data"] = str(tmp / "batch.pt")
    log(f"preparing the learner's batch: {opts['episodes']} episodes of {opts['map']} ({opts['episodes_from']}) ...")
    return prepare_episodes(opts, Path(opts["data"]))


def _measure_all(opts: dict, variants: list[str], parts: list[str], repeats: int, log) -> dict[str, dict]:
    """variant -> part -> one result per repeat, each measured in a fresh process (`run_one`)."""
    raw: dict[str, dict[str, list[dict]]] = {v: {p: [] for p in parts} for v in variants}
    total, done = repeats * len(parts) * len(variants), 0
    log(f"{total} measurements, each in a fresh process:")
    for r in range(repeats):
        for part in parts:
            for v in variants:
                result = run_one(opts, v, part)
                raw[v][part].append(result)
                done += 1
                log(
                    f"  [{done}/{total}] run {r + 1}/{repeats} {part:7s} {v:38s} "
                    f"{result['agent_steps_per_s']:9.2f} agent-steps/s  peak {result['peak_mib']:8.1f} MiB"
                )
    return raw


_SETTINGS = (
    "map",
    "env",
    "model",
    "envs",
    "steps",
    "episodes",
    "epochs",
    "device",
    "threads",
    "max_prompts",
    "llm_dtype",
)


def _settings(opts: dict, repeats: int, episodes_source: str | None) -> dict:
    """The options a result was measured with, as the JSON's `settings`."""
    return {k: opts[k] for k in _SETTINGS} | {
        "repeats": repeats,
        "episodes_from": episodes_source,
        "torch_threads": opts["threads"] or os.cpu_count(),
    }


def _ratios(results: dict, parts: list[str]) -> dict:
    if "fast" not in results or "reference" not in results:
        return {}
    return {
        p: {
            "agent_steps_per_s": results["fast"][p]["agent_steps_per_s"] / results["reference"][p]["agent_steps_per_s"],
            "peak_memory": results["fast"][p]["peak_mib"] / results["reference"][p]["peak_mib"],
        }
        for p in parts
    }


def _gains(results: dict, parts: list[str]) -> dict:
    gains: dict[str, dict[str, float]] = {}
    for name in results:
        kind, flips = parse_variant(name)
        if len(flips) != 1 or kind not in results:
            continue
        switch, turned_on = next(iter(flips.items()))
        for p in parts:
            base, variant = results[kind][p]["agent_steps_per_s"], results[name][p]["agent_steps_per_s"]
            # fast: a shortcut turned off gives gain = with / without, an option turned on gives
            # variant / fast; reference: replacing the straightforward choice is the shortcut,
            # gain = replaced / straightforward.
            if kind == "fast":
                gains.setdefault(switch, {})[p] = variant / base if turned_on else base / variant
            else:
                gains.setdefault(switch, {})[p] = variant / base
    return gains


def format_table(result: dict) -> str:
    """The human-readable table of `run`'s result."""
    s = result["settings"]
    lines = [
        f"epymarl-llm bench: {s['map']} ({s['env']}), model {s['model']}, {s['envs']} envs, device {s['device']}, "
        f"{s['torch_threads']} threads, "
        + ("1 run each (no median)" if s["repeats"] == 1 else f"medians of {s['repeats']} runs")
    ]
    peak = result["peak_flops"]
    gemm = result.get("gemm_peak_flops") or {}
    lines.append(
        f"{'variant':38s} {'part':8s} {'agent-steps/s':>13s} {'x ref':>6s} {'peak MiB':>9s} {'x ref':>6s} "
        f"{'tokens':>6s} {'GFLOP/step':>10s} {'GFLOP/s':>8s} {'% GEMM':>7s}" + (f" {'% spec':>7s}" if peak else "")
    )
    ref = result["results"].get("reference", {})
    for variant, parts in result["results"].items():
        for part, r in parts.items():
            speed = r["agent_steps_per_s"] / ref[part]["agent_steps_per_s"] if part in ref else float("nan")
            mem = r["peak_mib"] / ref[part]["peak_mib"] if part in ref else float("nan")
            of_gemm = f"{100 * r['fraction_of_gemm_peak']:6.1f}%" if "fraction_of_gemm_peak" in r else f"{'-':>7s}"
            of_spec = f" {100 * r['fraction_of_peak']:6.1f}%" if peak else ""
            lines.append(
                f"{variant:38s} {part:8s} {r['agent_steps_per_s']:13.2f} {speed:6.2f} {r['peak_mib']:9.1f} "
                f"{mem:6.2f} {r['prompt_tokens_mean']:6.0f} {r['flops_per_agent_step'] / 1e9:10.3f} "
                f"{r['achieved_flops'] / 1e9:8.1f} {of_gemm}{of_spec}"
            )
    for switch, gains in result["switch_gains"].items():
        lines.append(f"switch {switch:22s} gain " + ", ".join(f"{p} {g:.2f}x" for p, g in gains.items()))
    lines.append(
        "FLOP/s: model FLOPs the variant runs (no vocab projection, no padding) per second; % GEMM: of "
        "the matmul peak measured in this run on the model's MLP shape ("
        + ", ".join(f"{d} {v / 1e9:.1f} GFLOP/s" for d, v in gemm.items())
        + ")"
        + (f"; % spec: of {result['peak_source']}" if peak else "")
    )
    return "\n".join(lines)
