"""Run EPyMARL's real `src/main.py` in a copied checkout and read what Sacred wrote."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .conftest import subprocess_env


@dataclass
class SacredRun:
    dir: Path
    wall_s: float
    output: str

    @property
    def metrics(self) -> dict:
        return json.loads((self.dir / "metrics.json").read_text())

    @property
    def info(self) -> dict:
        return json.loads((self.dir / "info.json").read_text())

    @property
    def run(self) -> dict:
        return json.loads((self.dir / "run.json").read_text())

    @property
    def config(self) -> dict:
        return json.loads((self.dir / "config.json").read_text())

    def env_steps(self) -> int:
        return max(max(m["steps"]) for m in self.metrics.values() if m["steps"])


def run_main(
    checkout: Path,
    user_base: Path,
    config: str,
    updates: dict,
    timeout: float = 600,
    env_config: str = "smaclite",
    extra_env: dict | None = None,
) -> SacredRun:
    """`python src/main.py --config=... --env-config=... with k=v ...`; returns the new Sacred run dir."""
    name = updates.get("name", config)
    map_name = updates.get("env_args.map_name", "3s5z")
    sacred_dir = checkout / "results" / "sacred" / name / map_name
    before = set(sacred_dir.glob("[0-9]*")) if sacred_dir.is_dir() else set()
    argv = [
        sys.executable,
        "src/main.py",
        f"--config={config}",
        f"--env-config={env_config}",
        "with",
        *[f"{k}={v}" for k, v in updates.items()],
    ]
    start = time.monotonic()
    proc = subprocess.run(
        argv,
        cwd=checkout,
        env=subprocess_env(user_base, **(extra_env or {})),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    wall = time.monotonic() - start
    output = proc.stdout + proc.stderr
    new = sorted(set(sacred_dir.glob("[0-9]*")) - before, key=lambda p: int(p.name)) if sacred_dir.is_dir() else []
    if proc.returncode != 0 or not new:
        raise AssertionError(f"EPyMARL run failed (rc {proc.returncode}): {' '.join(argv[1:])}\n{output[-6000:]}")
    return SacredRun(new[-1], wall, output)
