"""A minimal EPyMARL-shaped tree for tests that must run without EPyMARL (CI has none).

It holds only what install/registration look at: the three files that identify a checkout and the
five registry packages with their `REGISTRY` dicts (one built-in entry each, as in EPyMARL).
"""

from __future__ import annotations

from pathlib import Path

REGISTRY_PACKAGES = {
    "controllers": "basic_mac",
    "learners": "ppo_learner",
    "runners": "parallel",
    "modules/agents": "rnn",
    "modules/critics": "cv_critic",
}


def make_fake_epymarl(root: Path) -> Path:
    src = root / "src"
    (src / "config" / "algs").mkdir(parents=True)
    (src / "config" / "envs").mkdir()
    (src / "main.py").write_text("# fake EPyMARL main\n")
    (src / "run.py").write_text("# fake EPyMARL run\n")
    (src / "config" / "default.yaml").write_text("runner: episode\n")
    (src / "config" / "algs" / "mappo.yaml").write_text("name: mappo\n")
    (src / "modules").mkdir()
    (src / "modules" / "__init__.py").write_text("")
    for package, builtin in REGISTRY_PACKAGES.items():
        (src / package).mkdir(exist_ok=True)
        (src / package / "__init__.py").write_text(f"REGISTRY = {{{builtin!r}: object}}\n")
    return root
