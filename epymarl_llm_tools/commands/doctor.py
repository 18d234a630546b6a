"""`epymarl-llm doctor [EPYMARL_DIR]`: check what a run needs, and name the one command that fixes each problem.

Every import is tried in a child of this interpreter (`sys.executable`), started the way `python
src/main.py` starts: a module that fails at import (a torchvision built for another torch, an rtree
without its C library) cannot break the checks after it, and the child sees the `.pth` hook exactly
as a run would. Nothing is downloaded: the model check reads `config.json` and the safetensors
headers from the folder or from the Hugging Face cache.

Exit status: 0 when a run would start (warnings included), 1 when a check fails.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

HELP = "check the environment a run needs (torch, envs, checkout, model, MongoDB) and print the fix for each problem"

OK, WARN, FAIL = "ok", "WARN", "FAIL"
TINY_FIX = "epymarl-llm make-tiny-model /tmp/tiny-qwen3, then run with llm_model=/tmp/tiny-qwen3"


@dataclass
class Check:
    name: str
    status: str
    detail: str
    fix: str = ""

    def lines(self) -> list[str]:
        out = [f"{self.status:<4}  {self.name}: {self.detail}"]
        return out + ([f"      fix: {self.fix}"] if self.fix and self.status != OK else [])


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "epymarl_dir",
        metavar="EPYMARL_DIR",
        nargs="?",
        default=None,
        help="an EPyMARL clone to check the install of (default: $EPYMARL_PATH, if set)",
    )
    parser.add_argument(
        "--llm-model",
        default=None,
        help="hub name, folder, smollm2-135m or .gguf file of the model the run will use "
        "(default: the plugin's llm_model)",
    )
    parser.add_argument("--mongo", default=None, metavar="URL", help="a MongoDB URL to try (mongodb://host:27017)")
    parser.add_argument("--json", action="store_true", help="print the checks as one JSON list")


def run(args: argparse.Namespace) -> int:
    checkout = args.epymarl_dir or os.environ.get("EPYMARL_PATH") or None
    checks = run_checks(checkout, llm_model=args.llm_model, mongo_url=args.mongo)
    if args.json:
        print(json.dumps([c.__dict__ for c in checks], indent=1))
    else:
        print_checks(checks)
    return 1 if any(c.status == FAIL for c in checks) else 0


def print_checks(checks: list[Check]) -> None:
    for c in checks:
        print("\n".join(c.lines()))
    fails = sum(c.status == FAIL for c in checks)
    warns = sum(c.status == WARN for c in checks)
    print(
        f"doctor: {fails} problem(s) that stop a run, {warns} warning(s)"
        if fails or warns
        else "doctor: everything a run needs is in place"
    )


def run_checks(
    checkout: str | Path | None, llm_model: str | None = None, mongo_url: str | None = None, model_required: bool = True
) -> list[Check]:
    """All checks, in the order a run meets them. `model_required=False` (used by `install`) turns an
    unavailable default model into a warning, since the run command can name another one."""
    got = run_probes()
    torchvision = _torchvision(got["torchvision"])
    checks = [
        _torch(got["torch"]),
        torchvision,
        _transformers(got["transformers"], torchvision.status == FAIL),
        _sacred(got["sacred"]),
        *_smaclite(got["rtree"], got["smaclite"]),
        *_smac(got["smac"]),
    ]
    if checkout is not None:
        checks += _checkout(Path(checkout))
    checks.append(_hook(got["hook"], checkout))
    checks += _model(llm_model, required=model_required or llm_model is not None)
    checks += _compute(got["torch"])
    if mongo_url:
        checks.append(_mongo(mongo_url))
    return checks


# --- running a probe in a child interpreter --------------------------------------------------------


def run_probes() -> dict[str, tuple[bool, str]]:
    """Every probe at once (each is mostly import time, so they overlap well), by name."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=len(PROBES)) as pool:
        futures = {name: pool.submit(_probe, code) for name, code in PROBES.items()}
        return {name: f.result() for name, f in futures.items()}


def _probe(code: str, timeout: float = 300) -> tuple[bool, str]:
    """(ok, last line of the child's output): the child prints its answer last, or dies with the error."""
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ, TRANSFORMERS_VERBOSITY="error"),
        )
    except subprocess.TimeoutExpired:
        return False, f"import took over {timeout:.0f} s"
    lines = [ln for ln in (proc.stdout + proc.stderr).splitlines() if ln.strip()]
    if proc.returncode != 0:  # the traceback's last line is the error itself
        return False, lines[-1].strip() if lines else f"exit status {proc.returncode}"
    out = [ln for ln in proc.stdout.splitlines() if ln.strip()]
    return True, out[-1].strip() if out else ""


_TORCH_PROBE = """
import json, os, torch
info = {"version": torch.__version__, "threads": torch.get_num_threads(), "cores": os.cpu_count(),
        "cuda": torch.cuda.is_available(), "devices": []}
try:
    a = torch.ones(8, 8, dtype=torch.bfloat16)
    info["cpu_bf16"] = bool((a @ a).float().sum().item() == 512.0)
except Exception as err:
    info["cpu_bf16"] = False
try:
    info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
except Exception:
    info["cpu_capability"] = "unknown"
for i in range(torch.cuda.device_count() if info["cuda"] else 0):
    p = torch.cuda.get_device_properties(i)
    info["devices"].append({"name": p.name, "memory_gib": round(p.total_memory / 2**30, 1),
                            "bf16": torch.cuda.is_bf16_supported()})
from epymarl_llm.policy.dtype_choice import auto_dtype
choice = auto_dtype(torch.device("cuda" if info["cuda"] else "cpu"))
info["auto_dtype"] = {"dtype": str(choice.dtype).removeprefix("torch."), "reason": choice.reason}
print(json.dumps(info))
"""

# What each check imports, run in a child interpreter (see the module docstring); each prints its answer last.
PROBES = {
    "torch": _TORCH_PROBE,
    "torchvision": "import importlib.util as u, sys\n"
    "if u.find_spec('torchvision') is None: print('absent'); sys.exit(0)\n"
    "import torchvision; print(torchvision.__version__)",
    "transformers": "import transformers, peft\n"
    "from transformers import AutoModelForCausalLM, PreTrainedModel\n"
    "print(transformers.__version__, peft.__version__)",
    "sacred": "import sacred, setuptools; print(sacred.__version__, setuptools.__version__)",
    "rtree": "import rtree.index; print(rtree.__version__)",
    "smaclite": "import smaclite.env; print('ok')",
    "smac": "import smac.env, pysc2, google.protobuf as p; print(p.__version__)",
    "hook": "import sys; print(any(type(f).__name__ == 'EpymarlRegistryFinder' for f in sys.meta_path))",
}


# --- the checks ------------------------------------------------------------------------------------


def _torch(info: tuple[bool, str]) -> Check:
    ok, out = info
    if not ok:
        return Check(
            "torch",
            FAIL,
            f"cannot import torch ({out})",
            'pip install "torch==2.13.0" (or the build for your CUDA from https://pytorch.org)',
        )
    v = json.loads(out)
    return Check("torch", OK, f"{v['version']}" + (" with CUDA" if v["cuda"] else " (CPU)"))


def _torchvision(probe: tuple[bool, str]) -> Check:
    ok, out = probe
    if ok:
        if out == "absent":
            return Check("torchvision", OK, "not installed (not needed; transformers loads without it)")
        return Check("torchvision", OK, f"{out} imports with this torch")
    # transformers imports torchvision whenever it is installed, so a broken one breaks every model load.
    return Check(
        "torchvision",
        FAIL,
        f"installed but broken ({out}); transformers imports it, so every model load fails",
        "pip uninstall -y torchvision",
    )


def _transformers(probe: tuple[bool, str], torchvision_broken: bool = False) -> Check:
    ok, out = probe
    if not ok and torchvision_broken:  # transformers' lazy imports then fail on any model class
        return Check(
            "transformers",
            FAIL,
            f"cannot import transformers ({out}): the broken torchvision breaks it",
            "pip uninstall -y torchvision",
        )
    if not ok:
        return Check(
            "transformers",
            FAIL,
            f"cannot import transformers and peft ({out})",
            'pip install "transformers>=5.23" "peft>=0.21"',
        )
    tv, pv = out.split()
    return Check("transformers", OK, f"transformers {tv}, peft {pv}")


def _sacred(probe: tuple[bool, str]) -> Check:
    ok, out = probe
    if not ok:
        if "pkg_resources" in out:
            return Check(
                "sacred",
                FAIL,
                f"sacred cannot import ({out}): setuptools 82 removed pkg_resources",
                'pip install "setuptools<82"',
            )
        return Check("sacred", FAIL, f"cannot import sacred ({out})", 'pip install "sacred>=0.8.5"')
    sv, st = out.split()
    if int(st.split(".")[0]) >= 82:  # sacred imports pkg_resources; only a stale copy can still provide it
        return Check(
            "sacred",
            WARN,
            f"sacred {sv} imports, but setuptools {st} no longer ships pkg_resources",
            'pip install "setuptools<82"',
        )
    return Check("sacred", OK, f"sacred {sv}, setuptools {st}")


def _smaclite(rtree_probe: tuple[bool, str], smaclite_probe: tuple[bool, str]) -> list[Check]:
    fix_rtree = 'pip install "rtree>=1.1"'
    ok, out = rtree_probe
    if not ok:
        rtree = Check("rtree", FAIL, f"cannot import rtree ({out}); SMAClite's pathing needs it", fix_rtree)
    else:
        rtree = Check("rtree", OK, out)
    ok, out = smaclite_probe
    if ok:
        return [Check("smaclite", OK, "importable (--env-config=smaclite)"), rtree]
    missing = "No module named 'smaclite" in out
    fix = (
        'pip install "epymarl-llm[smaclite]" && pip install --no-deps git+https://github.com/uoe-agents/smaclite.git'
        if missing or rtree.status == OK
        else fix_rtree
    )
    return [
        Check("smaclite", FAIL, f"cannot import smaclite ({out}); runs with --env-config=smaclite fail", fix),
        rtree,
    ]


def _smac(probe: tuple[bool, str]) -> list[Check]:
    """SMAC is needed only for --env-config=sc2, so its problems are warnings."""
    ok, out = probe
    if not ok:
        if "No module named 'smac" in out:
            fix = "pip install git+https://github.com/oxwhirl/smac.git"
        elif "pysc2" in out:
            fix = 'pip install "epymarl-llm[sc2]"'
        else:
            fix = 'pip install "protobuf<3.21"'
        return [Check("smac", WARN, f"cannot import SMAC ({out}); only --env-config=sc2 needs it", fix)]
    major, minor = (int(x) for x in out.split(".")[:2])
    checks = [Check("smac", OK, f"smac and pysc2 importable, protobuf {out}")]
    if (major, minor) >= (3, 21):
        checks[0] = Check(
            "smac", WARN, f"protobuf {out}: pysc2's generated code needs protobuf < 3.21", 'pip install "protobuf<3.21"'
        )
    sc2 = os.environ.get("SC2PATH")
    if not sc2 or not Path(sc2).is_dir():
        checks.append(
            Check(
                "SC2PATH",
                WARN,
                f"{'unset' if not sc2 else sc2 + ' is not a folder'}; only --env-config=sc2 needs StarCraft II",
                "export SC2PATH=/path/to/StarCraftII",
            )
        )
    else:
        checks.append(Check("SC2PATH", OK, sc2))
    return checks


def _checkout(path: Path) -> list[Check]:
    from epymarl_llm.epymarl.checkout import NotAnEpymarlCheckoutError, algs_dir, epymarl_root, marker_path
    from epymarl_llm.epymarl.install import MARKER_LINE, plugin_yamls

    try:
        root = epymarl_root(path)
    except NotAnEpymarlCheckoutError as err:
        return [Check("checkout", FAIL, str(err), "git clone https://github.com/uoe-agents/epymarl")]
    fix = f"epymarl-llm install {shlex.quote(str(root))}"
    if not marker_path(root).is_file():
        return [Check("checkout", FAIL, f"epymarl-llm is not installed in {root}", fix)]
    stale = [
        n
        for n, text in plugin_yamls().items()
        if not (algs_dir(root) / n).is_file()
        or (algs_dir(root) / n).read_text(encoding="utf-8") != f"{MARKER_LINE}\n{text}"
    ]
    if stale:
        return [Check("checkout", FAIL, f"{root}: {', '.join(sorted(stale))} missing or older than this package", fix)]
    return [Check("checkout", OK, f"installed in {root}")]


def _hook(probe: tuple[bool, str], checkout: str | Path | None) -> Check:
    ok, out = probe
    if ok and out == "True":
        return Check("import hook", OK, "the .pth hook is active in this interpreter")
    return Check(
        "import hook",
        FAIL,
        f"the .pth hook is not active in {sys.executable} "
        f"({out if not ok else 'no epymarl_llm_hook.pth in a site folder it reads'}); "
        "EPyMARL will not find lolm_mappo's parts",
        f"epymarl-llm install {shlex.quote(str(checkout)) if checkout else 'EPYMARL_DIR'} "
        "(run by this python; a --site-dir must be a site folder it reads)",
    )


def _model(name: str | None, required: bool) -> list[Check]:
    from epymarl_llm_tools.commands.doctor_model import inspect_model

    if name is None:
        from epymarl_llm.policy.config import PolicyConfig

        name = PolicyConfig().llm_model
    found = inspect_model(name)
    if found.ok:
        return [Check("model", OK, found.detail)]
    return [Check("model", FAIL if required else WARN, found.detail, found.fix or TINY_FIX)]


def _compute(info: tuple[bool, str]) -> list[Check]:
    ok, out = info
    if not ok:
        return []
    v = json.loads(out)
    cpu = Check(
        "cpu",
        OK if v["cpu_bf16"] else WARN,
        f"{v['cores']} cores, torch uses {v['threads']} threads, {v['cpu_capability']}, "
        f"bf16 {'works' if v['cpu_bf16'] else 'unsupported: use llm_dtype=float32'}",
        "llm_dtype=float32",
    )
    auto = v["auto_dtype"]
    dtype = Check("llm_dtype", OK, f"auto here: {auto['reason']}")
    if not v["devices"]:
        return [cpu, dtype, Check("cuda", OK, "no CUDA device: runs use the CPU (set use_cuda=False)")]
    gpus = "; ".join(f"{d['name']} {d['memory_gib']} GiB{' bf16' if d['bf16'] else ''}" for d in v["devices"])
    return [cpu, dtype, Check("cuda", OK, gpus)]


def _mongo(url: str) -> Check:
    from epymarl_llm.mongo_url import redact_url

    shown = redact_url(url)
    try:
        import pymongo

        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=3000)
        client.admin.command("ping")
    except ImportError:
        return Check("mongodb", FAIL, "pymongo is not installed", 'pip install "pymongo>=4"')
    except Exception as err:  # pymongo's errors name the host and never the password
        return Check(
            "mongodb",
            FAIL,
            f"{shown} does not answer ({type(err).__name__})",
            "start the server (e.g. `docker run -d -p 27017:27017 mongo`) or fix the URL",
        )
    return Check("mongodb", OK, f"{shown} answers")
