"""`epymarl-llm doctor`: each check finds its problem and names the fix.

The broken-package cases use fakes on a tmp `sys.path` entry that raise, at import, the errors the
real broken installs raise: torchvision built for another torch ("operator torchvision::nms does
not exist"), and rtree 1.0.0 without its C library ("Could not load libspatialindex_c library").
The probes run in child interpreters, which inherit PYTHONPATH, exactly as a run would meet them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from epymarl_llm.epymarl import install as inst
from epymarl_llm_tools.commands import doctor, doctor_model
from tests.integration.fake_epymarl import make_fake_epymarl

REPO_ROOT = Path(__file__).resolve().parents[1]
TORCHVISION_ERROR = "operator torchvision::nms does not exist"
RTREE_ERROR = "Could not load libspatialindex_c library"


def _fake_package(root: Path, name: str, error: str, version: str = "0.0.1") -> Path:
    """A package that pip would list (it has a dist-info) and whose import raises `error`."""
    pkg = root / name
    pkg.mkdir(parents=True)
    (pkg / "__init__.py").write_text(f"raise {error}\n")
    (pkg / "index.py").write_text("")
    dist = root / f"{name}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    return root


@pytest.fixture
def fake_path(tmp_path, monkeypatch):
    """Put a folder first on the children's sys.path; returns it."""
    root = tmp_path / "fakes"
    root.mkdir()
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(root), str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]))
    return root


def test_a_torchvision_that_fails_at_import_is_a_failure_with_the_uninstall_fix(fake_path):
    _fake_package(fake_path, "torchvision", f"RuntimeError({TORCHVISION_ERROR!r})", "0.28.0")
    check = doctor._torchvision(doctor._probe(doctor.PROBES["torchvision"]))
    assert check.status == doctor.FAIL
    assert TORCHVISION_ERROR in check.detail
    assert check.fix == "pip uninstall -y torchvision"


def test_transformers_broken_by_torchvision_points_at_torchvision_not_at_reinstalling_transformers(monkeypatch):
    """What a real PyPI torchvision beside a CPU torch gives: both imports fail, one fix."""
    probes = {name: (True, "") for name in doctor.PROBES}
    probes.update(
        torch=(True, '{"version": "2.13.0+cpu", "cuda": false}'),
        sacred=(True, "0.8.7 81.0.0"),
        rtree=(True, "1.4.1"),
        smac=(True, "3.20.3"),
        torchvision=(False, f"RuntimeError: {TORCHVISION_ERROR}"),
        transformers=(False, "ModuleNotFoundError: Could not import module 'BloomPreTrainedModel'"),
    )
    monkeypatch.setattr(doctor, "run_probes", lambda: probes)
    monkeypatch.setattr(doctor, "_model", lambda name, required: [])
    monkeypatch.setattr(doctor, "_compute", lambda info: [])
    checks = {c.name: c for c in doctor.run_checks(None)}
    assert checks["torchvision"].status == checks["transformers"].status == doctor.FAIL
    assert checks["transformers"].fix == "pip uninstall -y torchvision"
    alone = doctor._transformers((False, "ModuleNotFoundError: No module named 'peft'"))
    assert "peft" in alone.fix


def test_an_rtree_without_its_library_is_a_failure_with_the_rtree_fix(fake_path):
    _fake_package(fake_path, "rtree", f"OSError({RTREE_ERROR!r})", "1.0.0")
    got = {n: doctor._probe(doctor.PROBES[n]) for n in ("rtree", "smaclite")}
    rtree_check = next(c for c in doctor._smaclite(got["rtree"], got["smaclite"]) if c.name == "rtree")
    assert rtree_check.status == doctor.FAIL
    assert RTREE_ERROR in rtree_check.detail
    assert rtree_check.fix == 'pip install "rtree>=1.1"'


def test_smaclite_broken_by_its_rtree_points_at_rtree_not_at_reinstalling_smaclite(fake_path):
    pytest.importorskip("smaclite", reason="SMAClite is not installed")
    _fake_package(fake_path, "rtree", f"OSError({RTREE_ERROR!r})", "1.0.0")
    got = {n: doctor._probe(doctor.PROBES[n]) for n in ("rtree", "smaclite")}
    smaclite_check = doctor._smaclite(got["rtree"], got["smaclite"])[0]
    assert smaclite_check.status == doctor.FAIL and RTREE_ERROR in smaclite_check.detail
    assert smaclite_check.fix == 'pip install "rtree>=1.1"'


def test_a_missing_smaclite_names_the_install_commands(fake_path):
    (fake_path / "smaclite").mkdir()
    (fake_path / "smaclite" / "__init__.py").write_text("raise ModuleNotFoundError(\"No module named 'smaclite'\")\n")
    checks = doctor._smaclite((True, "1.4.1"), doctor._probe(doctor.PROBES["smaclite"]))
    assert checks[0].status == doctor.FAIL
    assert "epymarl-llm[smaclite]" in checks[0].fix and "--no-deps" in checks[0].fix


def test_sacred_without_pkg_resources_names_the_setuptools_pin():
    check = doctor._sacred((False, "ModuleNotFoundError: No module named 'pkg_resources'"))
    assert check.status == doctor.FAIL and check.fix == 'pip install "setuptools<82"'


def test_protobuf_too_new_for_pysc2_is_a_warning_with_the_pin(monkeypatch):
    monkeypatch.setenv("SC2PATH", "/nonexistent-sc2")
    checks = doctor._smac((True, "4.25.3"))
    assert checks[0].status == doctor.WARN and checks[0].fix == 'pip install "protobuf<3.21"'
    assert checks[1].name == "SC2PATH" and checks[1].status == doctor.WARN


def test_checkout_not_installed_then_installed(tmp_path):
    checkout = make_fake_epymarl(tmp_path / "epymarl")
    (check,) = doctor._checkout(checkout)
    assert check.status == doctor.FAIL and check.fix == f"epymarl-llm install {checkout.resolve()}"
    inst.install(checkout, site_dir=tmp_path / "site")
    assert doctor._checkout(checkout)[0].status == doctor.OK
    yaml = checkout / "src" / "config" / "algs" / "lolm_mappo.yaml"
    yaml.write_text(yaml.read_text() + "# an older copy\n")
    (check,) = doctor._checkout(checkout)
    assert check.status == doctor.FAIL and "lolm_mappo.yaml" in check.detail


def test_a_model_folder_reports_its_size_and_dtype_from_disk(tiny_model_dir):
    found = doctor_model.inspect_model(str(tiny_model_dir))
    assert found.ok, found.detail
    import torch
    from transformers import AutoModelForCausalLM

    n = sum(p.numel() for p in AutoModelForCausalLM.from_pretrained(tiny_model_dir).parameters())
    assert f"{n / 1e6:.1f}M parameters" in found.detail and "float32" in found.detail
    assert torch  # the count above is the loaded model's own


def test_a_hub_name_offline_and_not_cached_fails_with_the_local_model_fix(tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    found = doctor_model.inspect_model("Qwen/Qwen3-0.6B")
    assert not found.ok and "HF_HUB_OFFLINE" in found.detail
    assert "make-tiny-model" in found.fix and "llm_model=" in found.fix


def test_a_cached_hub_model_is_read_from_the_cache(tmp_path, monkeypatch, tiny_model_dir):
    from huggingface_hub import constants

    snapshot = tmp_path / "hub" / "models--Qwen--Qwen3-0.6B" / "snapshots" / ("a" * 40)
    snapshot.mkdir(parents=True)
    for f in tiny_model_dir.iterdir():
        (snapshot / f.name).symlink_to(f)
    (tmp_path / "hub" / "models--Qwen--Qwen3-0.6B" / "refs").mkdir()
    (tmp_path / "hub" / "models--Qwen--Qwen3-0.6B" / "refs" / "main").write_text("a" * 40)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(constants, "HF_HUB_OFFLINE", True)
    found = doctor_model.inspect_model("Qwen/Qwen3-0.6B")
    assert found.ok and "cached; HF_HUB_OFFLINE is set" in found.detail and "parameters" in found.detail


def test_a_missing_model_folder_and_a_folder_without_weights(tmp_path):
    assert not doctor_model.inspect_model(str(tmp_path / "nowhere")).ok
    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "config.json").write_text(json.dumps({"model_type": "qwen3"}))
    found = doctor_model.inspect_model(str(tmp_path / "cfg"))
    assert not found.ok and "no weights" in found.detail


def test_an_unreachable_mongodb_fails_without_printing_the_password():
    check = doctor._mongo("mongodb://user:s3cr3t@127.0.0.1:1/?serverSelectionTimeoutMS=500")
    assert check.status == doctor.FAIL and "s3cr3t" not in check.detail + check.fix


def test_the_command_exits_1_when_a_run_would_fail_and_prints_each_fix(tmp_path, tiny_model_dir):
    """The whole command, as a user runs it: an EPyMARL tree without the plugin installed."""
    checkout = make_fake_epymarl(tmp_path / "epymarl")
    env = dict(
        os.environ, PYTHONPATH=os.pathsep.join([str(REPO_ROOT), os.environ.get("PYTHONPATH", "")]), PYTHONNOUSERSITE="1"
    )
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "epymarl_llm_tools",
            "doctor",
            str(checkout),
            "--llm-model",
            str(tiny_model_dir),
            "--json",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    checks = {c["name"]: c for c in json.loads(proc.stdout)}
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert checks["checkout"]["status"] == "FAIL" and "epymarl-llm install" in checks["checkout"]["fix"]
    assert checks["model"]["status"] == "ok" and checks["torch"]["status"] == "ok"
    assert "threads" in checks["cpu"]["detail"]
    assert {
        "torch",
        "torchvision",
        "transformers",
        "sacred",
        "rtree",
        "smaclite",
        "smac",
        "import hook",
        "model",
        "cpu",
        "cuda",
    } <= set(checks)
