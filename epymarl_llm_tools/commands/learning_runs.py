"""The runs behind `epymarl-llm learning-check`: a private EPyMARL copy, a plan of real `main.py`
runs (train, KL ablation, zero-shot, untrained baseline, few-shot, from scratch), and a summary.

The user's checkout is never written to: it is copied (sources only) into the work folder, the
plugin is installed into that copy, and the import hook's `.pth` goes into a private user site
(PYTHONUSERBASE), loaded by a `sitecustomize.py` so it works inside a virtualenv too. This is
the same arrangement the integration tests use.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

from epymarl_llm.epymarl import install as inst

from .grid_job import GridJob, JobOutcome

# An untrained policy is evaluated under its own algorithm name, so the report keeps it apart
# from the from-scratch training run on the same map (both have no checkpoint_path).
UNTRAINED_NAME = "lolm_mappo_untrained"
UNTRAINED_LR = 1e-12  # Adam moves each weight by about lr per step: nothing, at this lr
REPO_ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Budget:
    """One setting for every run: the same map, budget and evaluation for lolm_mappo and mappo."""

    t_max: int
    test_interval: int
    test_nepisode: int
    time_limit: int
    envs: int
    few_shot_t: int
    epochs: int = 2
    kl_anneal_steps: int | None = None

    def updates(self) -> dict:
        return {
            "t_max": self.t_max,
            "test_interval": self.test_interval,
            "test_nepisode": self.test_nepisode,
            "env_args.time_limit": self.time_limit,
            "batch_size_run": self.envs,
            "batch_size": self.envs,
            "buffer_size": self.envs,
            "log_interval": self.test_interval,
            "runner_log_interval": self.test_interval,
            "learner_log_interval": self.test_interval,
            "use_cuda": False,
        }


@dataclass
class RunSpec:
    """One `python src/main.py --config=CONFIG --env-config=ENV with UPDATES`."""

    label: str
    config: str
    map_name: str
    seed: int
    updates: dict
    env_config: str = "smaclite"
    after: str | None = None  # label of the run whose checkpoint this one loads
    phase: int = 1  # 2: a run on the target map, after every training run has ended


@dataclass
class RunResult:
    spec: RunSpec
    returncode: int
    wall_s: float
    sacred_dir: Path | None
    log: Path
    load: tuple[float, float, float] = field(default_factory=lambda: (0.0, 0.0, 0.0))


# ---- the private checkout ------------------------------------------------------------------------


def epymarl_source(path: str | None) -> Path:
    """The checkout named by --epymarl or EPYMARL_PATH, checked to be an EPyMARL clone."""
    path = path or os.environ.get("EPYMARL_PATH")
    if not path:
        raise ValueError("no EPyMARL checkout: pass --epymarl DIR or set EPYMARL_PATH=/path/to/epymarl")
    root = Path(path).expanduser().resolve()
    if not (root / "src" / "main.py").is_file():
        raise ValueError(f"{root} holds no src/main.py: pass the root of an EPyMARL clone to --epymarl")
    return root


@dataclass
class PrivateCheckout:
    root: Path
    user_base: Path

    def env_updates(self, threads: int) -> dict[str, str]:
        """What a run's environment changes: the private user site, this package, one thread count."""
        paths = (str(self.user_base / "site_loader"), str(REPO_ROOT), os.environ.get("PYTHONPATH", ""))
        env = {
            "PYTHONUSERBASE": str(self.user_base),
            "PYTHONNOUSERSITE": "1",
            "PYTHONPATH": os.pathsep.join(p for p in paths if p),
            "HF_HUB_OFFLINE": os.environ.get("HF_HUB_OFFLINE", "1"),
            "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION": os.environ.get(
                "PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION", "python"
            ),
        }
        for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS"):
            env[name] = str(threads)
        return env


def user_site(user_base: Path) -> Path:
    """The user site-packages Python derives from PYTHONUSERBASE (processed for .pth files)."""
    env = dict(os.environ, PYTHONUSERBASE=str(user_base))
    out = subprocess.run(
        [sys.executable, "-c", "import site; print(site.getusersitepackages())"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(out.stdout.strip())


def prepare_checkout(source: Path, work: Path, map_files: dict[str, Path]) -> PrivateCheckout:
    """Copy `source` into `work/epymarl` (once), install the plugin there, and ship the map files.

    A map given as a SMAClite JSON file is copied into the checkout; EPyMARL's smaclite.yaml
    declares no `map_file`, so an env config that declares it (`smaclite_custom`) is written into
    the private copy when the checkout has none.
    """
    root = work / "epymarl"
    if not (root / "src" / "main.py").is_file():
        shutil.copytree(source, root, ignore=shutil.ignore_patterns(".git", "results", "__pycache__"))
    user_base = work / "userbase"
    site = user_site(user_base)
    inst.install(root, site_dir=site)
    loader = user_base / "site_loader"
    loader.mkdir(parents=True, exist_ok=True)
    (loader / "sitecustomize.py").write_text(f"import site\nsite.addsitedir({str(site)!r})\n", encoding="utf-8")
    if map_files:
        envs = root / "src" / "config" / "envs"
        custom = envs / "smaclite_custom.yaml"
        if not custom.is_file():
            text = (envs / "smaclite.yaml").read_text(encoding="utf-8")
            custom.write_text(
                text.replace("  map_name: null\n", "  map_name: null\n  map_file: null\n"), encoding="utf-8"
            )
        maps = root / "maps"
        maps.mkdir(exist_ok=True)
        for name, path in map_files.items():
            shutil.copyfile(path, maps / f"{name}.json")
    return PrivateCheckout(root, user_base)


def map_updates(map_name: str, map_files: dict[str, Path], checkout: PrivateCheckout) -> tuple[str, str, dict]:
    """(env config, map_name for EPyMARL, extra env_args) for a preset or a shipped JSON map."""
    if map_name in map_files:
        path = checkout.root / "maps" / f"{map_name}.json"
        return "smaclite_custom", "custom", {"env_args.map_file": str(path)}
    return "smaclite", map_name, {}


# ---- the plan ------------------------------------------------------------------------------------


def plan_runs(
    *,
    source_map: str,
    target_map: str | None,
    seeds: list[int],
    budget: Budget,
    llm_model: str,
    lolm_updates: dict,
    with_mappo: bool,
    with_no_kl: bool,
    transfer: bool,
) -> list[RunSpec]:
    """Every run of the check, in an order where a checkpoint exists before a run loads it."""
    common = budget.updates()
    lolm = {**common, "llm_model": llm_model, "epochs": budget.epochs, **lolm_updates}
    if budget.kl_anneal_steps:
        lolm["kl_anneal_steps"] = budget.kl_anneal_steps
    runs = _training_runs(source_map, seeds, budget, common, lolm, with_mappo, with_no_kl, transfer)
    if not transfer or target_map is None:
        return runs
    return runs + _transfer_runs(source_map, target_map, seeds, budget, lolm)


def _training_runs(
    source_map: str,
    seeds: list[int],
    budget: Budget,
    common: dict,
    lolm: dict,
    with_mappo: bool,
    with_no_kl: bool,
    transfer: bool,
) -> list[RunSpec]:
    """Phase 1, per seed: lolm_mappo (saving checkpoints when transfer follows), mappo, lolm_mappo_no_kl."""
    runs: list[RunSpec] = []
    for seed in seeds:
        # EPyMARL saves at the first step and then every interval while t_env <= t_max, so an
        # interval of t_max would never save the trained policy; one per evaluation keeps the
        # newest checkpoint within one interval of the end.
        save = {"save_model": True, "save_model_interval": budget.test_interval} if transfer else {}
        runs.append(RunSpec(f"lolm_mappo/{source_map}/s{seed}", "lolm_mappo", source_map, seed, {**lolm, **save}))
        if with_mappo:
            runs.append(RunSpec(f"mappo/{source_map}/s{seed}", "mappo", source_map, seed, dict(common)))
        if with_no_kl:
            runs.append(
                RunSpec(f"lolm_mappo_no_kl/{source_map}/s{seed}", "lolm_mappo_no_kl", source_map, seed, dict(lolm))
            )
    return runs


def _transfer_runs(source_map: str, target_map: str, seeds: list[int], budget: Budget, lolm: dict) -> list[RunSpec]:
    """Phase 2 on the target map, per seed: zero-shot, untrained, few-shot and from-scratch runs."""
    evaluate = {**lolm, "evaluate": True}
    few_t = budget.t_max + budget.few_shot_t
    runs: list[RunSpec] = []
    for seed in seeds:
        parent = f"lolm_mappo/{source_map}/s{seed}"
        runs.append(
            RunSpec(
                f"zero-shot/{target_map}/s{seed}", "lolm_mappo", target_map, seed, dict(evaluate), after=parent, phase=2
            )
        )
        # EPyMARL evaluates only a checkpoint: `evaluate=True` without one trains for t_max. The
        # untrained policy is therefore one batch (t_max=1) with a learning rate too small to move
        # any weight, after which EPyMARL runs its first test: the freshly initialised policy.
        runs.append(
            RunSpec(
                f"untrained/{target_map}/s{seed}",
                "lolm_mappo",
                target_map,
                seed,
                {**lolm, "t_max": 1, "lr": UNTRAINED_LR, "name": UNTRAINED_NAME},
                phase=2,
            )
        )
        runs.append(
            RunSpec(
                f"few-shot/{target_map}/s{seed}",
                "lolm_mappo",
                target_map,
                seed,
                {**lolm, "t_max": few_t},
                after=parent,
                phase=2,
            )
        )
        runs.append(
            RunSpec(
                f"scratch/{target_map}/s{seed}",
                "lolm_mappo",
                target_map,
                seed,
                {**lolm, "t_max": budget.few_shot_t},
                phase=2,
            )
        )
    return runs


# ---- running -------------------------------------------------------------------------------------


def grid_jobs(
    specs: list[RunSpec], checkout: PrivateCheckout | None, map_files: dict[str, Path], logs: Path, args
) -> list[GridJob]:
    """The plan as the experiment runner's jobs, in the private checkout (None: a dry run's view).

    A run from a checkpoint trains `few_shot_t` steps past the checkpoint's step (t_max is set when
    the job starts); an evaluation takes the checkpoint as it is.
    """
    jobs = []
    for spec in specs:
        env_config, map_name, env_args = (
            map_updates(spec.map_name, map_files, checkout) if checkout else (spec.env_config, spec.map_name, {})
        )
        few_shot = spec.after is not None and "evaluate" not in spec.updates
        updates = {"env_args.map_name": map_name, "seed": spec.seed, **spec.updates, **env_args}
        if few_shot:
            updates.pop("t_max")
        jobs.append(
            GridJob(
                label=spec.label,
                phase=spec.phase,
                command=(args.python, "src/main.py", f"--config={spec.config}", f"--env-config={env_config}"),
                with_args=tuple(f"{k}={v}" for k, v in updates.items()),
                cwd=str(checkout.root) if checkout else "<private copy of the checkout>",
                log=str(logs / _log_name(spec.label)),
                env_updates=tuple(checkout.env_updates(args.threads).items()) if checkout else (),
                parent_log=str(logs / _log_name(spec.after)) if spec.after else None,
                few_shot_steps=args.few_shot_t if few_shot else None,
                timeout_s=args.run_timeout,
            )
        )
    return jobs


def _log_name(label: str) -> str:
    return label.replace("/", "_") + ".log"


def results_of(outcomes: list[JobOutcome], specs: list[RunSpec]) -> dict[str, RunResult]:
    """The runner's outcomes as the summary's results, by label."""
    by_label = {s.label: s for s in specs}
    return {
        o.label: RunResult(
            by_label[o.label], o.returncode, o.wall_s, Path(o.sacred_dir) if o.sacred_dir else None, Path(o.log), o.load
        )
        for o in outcomes
    }


# ---- the summary ---------------------------------------------------------------------------------


def finished_runs(out: Path, specs: list[RunSpec]) -> tuple[dict[str, RunResult], list[dict]]:
    """Runs an earlier `learning-check --out OUT` finished (rc 0, Sacred folder still there), for `--resume`.

    Returns (results by label, for the planned specs whose label matches; the summary rows of the
    other runs, kept in the new summary so that nothing written before is lost).
    """
    path = out / "summary.json"
    if not path.is_file():
        return {}, []
    by_label = {s.label: s for s in specs}
    done: dict[str, RunResult] = {}
    others = []
    earlier = json.loads(path.read_text())
    for row in earlier.get("runs", []) + earlier.get("other_runs", []):
        sacred = Path(row["sacred_dir"]) if row.get("sacred_dir") else None
        usable = row.get("rc") == 0 and sacred is not None and (sacred / "metrics.json").is_file()
        spec = by_label.get(row["label"])
        if spec is not None and usable:
            log = out / "logs" / (row["label"].replace("/", "_") + ".log")
            done[row["label"]] = RunResult(
                spec, 0, row.get("wall_s", 0.0), sacred, log, (row.get("load_avg_1m", 0.0), 0.0, 0.0)
            )
        elif spec is None:
            others.append(row)
    return done, others


def test_curve(sacred_dir: Path | None, metric: str) -> list[tuple[int, float]]:
    if sacred_dir is None or not (sacred_dir / "metrics.json").is_file():
        return []
    data = json.loads((sacred_dir / "metrics.json").read_text()).get(metric)
    # Sacred appends a metric's step and value together: the lists are the same length.
    return list(zip(data["steps"], data["values"], strict=True)) if data else []


def summarize(results: list[RunResult], metric: str) -> dict:
    """First and last evaluation of every run, and the jumpstart of zero-shot over untrained."""
    rows = []
    for r in results:
        curve = test_curve(r.sacred_dir, metric)
        rows.append(
            {
                "label": r.spec.label,
                "rc": r.returncode,
                "wall_s": round(r.wall_s, 1),
                "load_avg_1m": round(r.load[0], 2),
                "sacred_dir": str(r.sacred_dir or ""),
                "first": curve[0][1] if curve else None,
                "last": curve[-1][1] if curve else None,
                "evaluations": len(curve),
            }
        )
    by_label = {row["label"]: row for row in rows}
    jump = []
    for row in rows:
        if row["label"].startswith("zero-shot/"):
            base = by_label.get(row["label"].replace("zero-shot/", "untrained/", 1))
            if base and row["last"] is not None and base["last"] is not None:
                jump.append(row["last"] - base["last"])
    out = {"metric": metric, "runs": rows}
    if jump:
        mean = sum(jump) / len(jump)
        std = (sum((j - mean) ** 2 for j in jump) / len(jump)) ** 0.5
        out["zero_shot_minus_untrained"] = {"per_seed": jump, "mean": mean, "std": std}
    return out


def curves_table(sacred_root: Path, metrics: tuple[str, ...]) -> str:
    """A Markdown table of every Sacred run under `sacred_root`: each metric's (step, value) pairs."""
    lines = ["| run | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
    for run_dir in sorted(p.parent for p in sacred_root.rglob("metrics.json")):
        try:
            data = json.loads((run_dir / "metrics.json").read_text())
        except json.JSONDecodeError:  # Sacred rewrites the file while a run is going: read it again later
            lines.append(
                f"| {run_dir.relative_to(sacred_root)} | " + " | ".join(["(being written)"] * len(metrics)) + " |"
            )
            continue
        cells = []
        for name in metrics:
            m = data.get(name)
            cells.append(" ".join(f"{s}:{v:.3g}" for s, v in zip(m["steps"], m["values"], strict=True)) if m else "-")
        lines.append(f"| {run_dir.relative_to(sacred_root)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
