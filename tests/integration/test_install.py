"""`epymarl-llm install` / `uninstall`: what they write, idempotence, clear errors (no EPyMARL needed)."""

from __future__ import annotations

from pathlib import Path

import pytest

from epymarl_llm.epymarl import install as inst
from epymarl_llm.epymarl.checkout import NotAnEpymarlCheckoutError
from epymarl_llm_tools import cli

from .fake_epymarl import make_fake_epymarl


@pytest.fixture
def checkout(tmp_path) -> Path:
    return make_fake_epymarl(tmp_path / "epymarl")


@pytest.fixture
def site(tmp_path) -> Path:
    return tmp_path / "site"


def _algs(checkout: Path) -> set[str]:
    return {p.name for p in (checkout / "src" / "config" / "algs").glob("*.yaml")}


def test_install_writes_every_plugin_yaml_the_marker_and_the_pth(checkout, site):
    report = inst.install(checkout, site_dir=site)
    yamls = inst.plugin_yamls()
    assert "lolm_mappo.yaml" in yamls and len(yamls) >= 5
    assert _algs(checkout) == {"mappo.yaml", *yamls}
    for name, text in yamls.items():
        installed = (checkout / "src" / "config" / "algs" / name).read_text()
        assert installed == f"{inst.MARKER_LINE}\n{text}"
    assert (checkout / "src" / ".epymarl_llm").is_file()
    pth = (site / inst.PTH_NAME).read_text()
    assert inst.PTH_IMPORT_LINE in pth.splitlines()
    assert f"{inst.PTH_CHECKOUT_PREFIX}{checkout.resolve()}" in pth
    envs = inst.plugin_env_yamls()
    assert "smaclite_custom.yaml" in envs
    for name, text in envs.items():
        assert (checkout / "src" / "config" / "envs" / name).read_text() == f"{inst.MARKER_LINE}\n{text}"
    assert len(report.written) == len(yamls) + len(envs) + 2


def test_install_twice_changes_nothing(checkout, site):
    inst.install(checkout, site_dir=site)
    before = {p: p.read_bytes() for p in checkout.rglob("*") if p.is_file()}
    report = inst.install(checkout, site_dir=site)
    assert report.written == []
    assert len(report.unchanged) == len(inst.plugin_yamls()) + len(inst.plugin_env_yamls()) + 2
    assert {p: p.read_bytes() for p in checkout.rglob("*") if p.is_file()} == before


def test_uninstall_removes_only_what_install_wrote_and_twice_is_harmless(checkout, site):
    user_yaml = checkout / "src" / "config" / "algs" / "my_alg.yaml"
    user_yaml.write_text("name: mine\n")
    inst.install(checkout, site_dir=site)
    inst.uninstall(checkout, site_dir=site)
    assert _algs(checkout) == {"mappo.yaml", "my_alg.yaml"}
    assert not (checkout / "src" / "config" / "envs" / "smaclite_custom.yaml").exists()
    assert not (checkout / "src" / ".epymarl_llm").exists()
    assert not (site / inst.PTH_NAME).exists()
    assert inst.uninstall(checkout, site_dir=site).removed == []


def test_install_refuses_to_overwrite_a_yaml_it_did_not_write(checkout, site):
    theirs = checkout / "src" / "config" / "algs" / "lolm_mappo.yaml"
    theirs.write_text("name: somebody else's\n")
    with pytest.raises(inst.InstallError, match="refusing to overwrite .*lolm_mappo.yaml"):
        inst.install(checkout, site_dir=site)
    assert theirs.read_text() == "name: somebody else's\n"
    assert not (checkout / "src" / ".epymarl_llm").exists(), "a refused install must write nothing"


def test_pth_is_kept_while_another_checkout_uses_it(tmp_path, site):
    a = make_fake_epymarl(tmp_path / "a")
    b = make_fake_epymarl(tmp_path / "b")
    inst.install(a, site_dir=site)
    inst.install(b, site_dir=site)
    inst.uninstall(a, site_dir=site)
    pth = (site / inst.PTH_NAME).read_text()
    assert str(b.resolve()) in pth and str(a.resolve()) not in pth
    inst.uninstall(b, site_dir=site)
    assert not (site / inst.PTH_NAME).exists()


def test_a_path_that_is_not_an_epymarl_checkout_is_a_clear_error(tmp_path, site, capsys):
    (tmp_path / "src").mkdir()
    with pytest.raises(NotAnEpymarlCheckoutError, match="missing src/main.py, src/run.py, src/config/default.yaml"):
        inst.install(tmp_path, site_dir=site)
    assert cli.main(["install", str(tmp_path / "nowhere"), "--site-dir", str(site)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not site.exists()


def test_cli_install_accepts_the_src_folder_and_uninstall_reports(checkout, site, capsys):
    assert cli.main(["install", str(checkout / "src"), "--site-dir", str(site), "--no-doctor"]) == 0
    assert "lolm_mappo.yaml" in capsys.readouterr().out
    assert cli.main(["uninstall", str(checkout), "--site-dir", str(site)]) == 0
    assert "removed" in capsys.readouterr().out
    assert cli.main(["uninstall", str(checkout), "--site-dir", str(site)]) == 0
    assert "nothing to remove" in capsys.readouterr().out


def test_the_tests_copy_of_an_installed_checkout_is_uninstalled(tmp_path):
    """EPYMARL_PATH may name a checkout the README's main job installed into: the copy drops it."""
    from .conftest import pristine_copy

    source = make_fake_epymarl(tmp_path / "users-epymarl")
    inst.install(source, site_dir=tmp_path / "site")
    own = sorted(p.name for p in (source / "src" / "config" / "algs").glob("*.yaml") if not inst._written_by_us(p))
    copy = pristine_copy(source, tmp_path / "copy" / "epymarl")
    assert not (copy / "src" / ".epymarl_llm").exists()
    assert sorted(p.name for p in (copy / "src" / "config" / "algs").glob("*.yaml")) == own
    assert (source / "src" / ".epymarl_llm").is_file(), "the user's checkout is left as it was"
