"""MongoDB logging through Sacred's MongoObserver, tested the way Sacred tests its own observer
(mongomock + `MongoObserver.create_from`); a real-server test runs only with EPYMARL_LLM_MONGO_URL."""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("mongomock")
import mongomock.gridfs  # noqa: E402  (binds `mongomock` too)
from sacred import Experiment  # noqa: E402
from sacred.observers import MongoObserver  # noqa: E402

from epymarl_llm.epymarl import mongo, sacred_hooks  # noqa: E402

mongomock.gridfs.enable_gridfs_integration()
SECRET = "s3cr3t-pw"


@pytest.fixture
def hooked():
    sacred_hooks.install()
    yield
    sacred_hooks.uninstall()


@pytest.fixture
def mock_db():
    import gridfs

    db = mongomock.MongoClient().db
    return db, MongoObserver.create_from(db.runs, gridfs.GridFS(db), metrics_collection=db.metrics)


def _experiment(**config) -> Experiment:
    ex = Experiment("pymarl", save_git_info=False)
    ex.add_config({"mongo_url": None, "mongo_db_name": "sacred", "mongo_timeout_s": 2.0, **config})

    @ex.main
    def main(_run):
        for t in range(3):
            _run.log_scalar("test_battle_won_mean", 0.5 * t, t)
        return "done"

    return ex


@pytest.mark.parametrize(
    "url, shown",
    [
        (
            f"mongodb://alice:{SECRET}@db.example.org:27017/?authSource=admin",
            "mongodb://alice:****@db.example.org:27017/?authSource=admin",
        ),
        ("mongodb+srv://bob:p%40ss@cluster0.example.net/runs", "mongodb+srv://bob:****@cluster0.example.net/runs"),
        ("mongodb://db.example.org:27017", "mongodb://db.example.org:27017"),
        ("mongodb://carol@host/", "mongodb://carol@host/"),
    ],
)
def test_redact_url_hides_only_the_password(url, shown):
    assert mongo.redact_url(url) == shown


@pytest.mark.parametrize("bad", ["localhost:27017", "http://x", "", 5])
def test_check_url_names_the_expected_form(bad):
    with pytest.raises(ValueError, match="mongo_url must be a MongoDB URL such as 'mongodb://"):
        mongo.check_url(bad)


def test_config_url_observer_records_the_run_with_the_password_masked(hooked, mock_db, monkeypatch):
    db, observer = mock_db
    seen = {}

    def fake_observer(url, db_name, timeout_s):
        seen.update(url=url, db_name=db_name, timeout_s=timeout_s)
        return observer

    monkeypatch.setattr(mongo, "observer_from_url", fake_observer)
    url = f"mongodb://alice:{SECRET}@db.example.org:27017/?authSource=admin"
    run = _experiment().run(config_updates={"mongo_url": url, "mongo_db_name": "lolm"})
    assert seen == {"url": url, "db_name": "lolm", "timeout_s": 2.0}, "the observer gets the real URL"
    doc = db.runs.find_one({"_id": run._id})
    assert doc["status"] == "COMPLETED" and doc["result"] == "done"
    assert doc["config"]["mongo_url"] == "mongodb://alice:****@db.example.org:27017/?authSource=admin"
    assert SECRET not in repr(doc), "the password must not reach the run document"
    metric = db.metrics.find_one({"run_id": run._id, "name": "test_battle_won_mean"})
    assert metric["values"] == [0.0, 0.5, 1.0] and metric["steps"] == [0, 1, 2]


def test_no_url_adds_no_observer(hooked):
    run = _experiment().run()
    assert not any(isinstance(o, MongoObserver) for o in run.observers)


def test_an_unreachable_config_url_fails_fast_naming_the_host_not_the_password(hooked):
    url = f"mongodb://alice:{SECRET}@127.0.0.1:1/?authSource=admin"
    start = time.monotonic()
    with pytest.raises(mongo.MongoUnreachableError) as info:
        _experiment(mongo_timeout_s=1.0).run(config_updates={"mongo_url": url})
    assert time.monotonic() - start < 10
    message = str(info.value)
    assert "127.0.0.1:1" in message and "did not answer within 1 s" in message and SECRET not in message


def test_sacred_m_option_is_checked_too_and_reported_without_a_traceback(hooked, capsys):
    start = time.monotonic()
    with pytest.raises(SystemExit) as info:
        _experiment(mongo_timeout_s=1.0).run_commandline(["main.py", "-m", "127.0.0.1:1:lolm"])
    assert info.value.code == 1 and time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert "MongoDB at 127.0.0.1:1 did not answer" in err and "Traceback" not in err


def test_an_invalid_url_from_the_command_line_is_a_clear_error(hooked):
    with pytest.raises(ValueError, match="mongo_url must be a MongoDB URL"):
        _experiment().run(config_updates={"mongo_url": "localhost:27017"})


@pytest.mark.mongo
def test_real_server_records_a_run_through_the_config_url(hooked):
    url = os.environ.get("EPYMARL_LLM_MONGO_URL")
    if not url:
        pytest.skip("EPYMARL_LLM_MONGO_URL is not set: no real MongoDB server to test against")
    import pymongo

    db_name = f"epymarl_llm_test_{os.getpid()}"
    run = _experiment().run(config_updates={"mongo_url": url, "mongo_db_name": db_name})
    client = pymongo.MongoClient(url, serverSelectionTimeoutMS=5000)
    try:
        doc = client[db_name].runs.find_one({"_id": run._id})
        assert doc["status"] == "COMPLETED"
        assert client[db_name].metrics.find_one({"run_id": run._id})["values"] == [0.0, 0.5, 1.0]
    finally:
        client.drop_database(db_name)
        client.close()


def test_sacred_mongo_observer_imports_pkg_resources_and_setup_pins_setuptools_below_82():
    # sacred 0.8.x imports pkg_resources at module level (observers/mongo.py, dependencies.py);
    # setuptools 82 removed it, so a fresh install must get setuptools < 82.
    import importlib

    importlib.import_module("sacred.observers.mongo")
    setup_py = os.path.dirname(__file__) + "/../../setup.py"
    assert '"setuptools<82"' in open(setup_py, encoding="utf-8").read()
