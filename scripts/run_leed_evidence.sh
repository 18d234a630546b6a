#!/usr/bin/env bash
# LEED evidence: mappo_leed (scripted-heuristic demonstrations) against mappo_leed_no_demo (the same
# learner without the expert loss), same map, seed and budget, through EPyMARL's main.py.
#   scripts/run_leed_evidence.sh EPYMARL_DIR DEMO_DIR [T_MAX] [SEED]
# EPYMARL_DIR must have the plugin installed (`epymarl-llm install`); runs go under nice -n 19.
set -euo pipefail
epymarl=$1; demos=$2; t_max=${3:-1500}; seed=${4:-1}
map=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]+'/manifest.json'))['map_name'])" "$demos")
common=(env_args.map_name="$map" t_max="$t_max" seed="$seed" batch_size_run=4 batch_size=4 buffer_size=4
        test_nepisode=8 test_interval=500 log_interval=500 runner_log_interval=500 learner_log_interval=500)
cd "$epymarl"
nice -n 19 python3 src/main.py --config=mappo_leed --env-config=smaclite with "${common[@]}" demo_path="$demos" &
nice -n 19 python3 src/main.py --config=mappo_leed_no_demo --env-config=smaclite with "${common[@]}" &
wait
