#!/usr/bin/env bash
# The whole bench set on a CUDA GPU, Qwen3-0.6B shape (random weights), bf16 body: rollout and
# learner, fast path vs reference, each switch's own gain, gradient checkpointing's memory, and
# the FLOP/s as a fraction of the bf16 GEMM peak measured in the same run. Writes one JSON report.
#
#   scripts/gpu_bench.sh [OUT.json] [extra `epymarl-llm bench` options]
#
# Needs torch with CUDA, transformers, peft (and SMAClite for real learner episodes; otherwise the
# learner's batch is synthetic and the report says so in settings.episodes_from).
set -euo pipefail
out="${1:-gpu_bench.json}"
shift || true
python - <<'PY'
import torch, sys
if not torch.cuda.is_available():
    sys.exit("gpu_bench.sh: torch sees no CUDA GPU (llm_dtype auto picks bf16 only there)")
print(f"GPU: {torch.cuda.get_device_name(0)}", file=sys.stderr)
PY
# device cuda: llm_dtype auto = bf16; the bench measures the bf16 GEMM peak itself.
python -m epymarl_llm_tools bench --device cuda --model qwen3-0.6b --map 3s5z_vs_3s6z --envs 10 --steps 5 \
    --episodes 10 --time-limit 150 --epochs 4 --repeats 3 --parts rollout,learner \
    --variants fast,reference,fast:prefix_cache=off,fast:length_buckets=off,fast:pi_old_from_rollout=off,fast:gradient_checkpointing=on,reference:vocab_projection=off,reference:second_copy=off,reference:text_tokenization=off \
    --json "$@" > "$out"
python - "$out" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print(f"wrote {sys.argv[1]}; bf16 GEMM peak {r['gemm_peak_flops']}", file=sys.stderr)
for variant, parts in r["results"].items():
    for part, x in parts.items():
        print(f"{variant:40s} {part:8s} {x['agent_steps_per_s']:10.1f} agent-steps/s "
              f"{100 * x.get('fraction_of_gemm_peak', float('nan')):5.1f}% of GEMM peak  {x['peak_mib']:.0f} MiB",
              file=sys.stderr)
PY
