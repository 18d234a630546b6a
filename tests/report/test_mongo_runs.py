"""MongoDB input, tested the way Sacred tests its MongoObserver: a real Sacred experiment writes to
mongomock through `MongoObserver.create_from`, and the report reads it back."""

import os
import time
import uuid

import pytest

from epymarl_llm_tools.report.errors import ReportInputError
from epymarl_llm_tools.report.mongo_runs import normalise_url, read_mongo_runs, redact_url, runs_from_database
from tests.report.sacred_fixtures import epymarl_config, quiet_sacred_import, ramp, run_sacred

mongomock = pytest.importorskip("mongomock", reason="mongomock is a test dependency (pip install mongomock)")


@pytest.fixture
def mongo_db():
    import mongomock.gridfs

    mongomock.gridfs.enable_gridfs_integration()
    return mongomock.MongoClient()["sacred"]


def _observer(db, prefix=""):
    import gridfs

    with quiet_sacred_import():
        from sacred.observers import MongoObserver
    p = f"{prefix}_" if prefix else ""
    return MongoObserver.create_from(db[f"{p}runs"], gridfs.GridFS(db), metrics_collection=db[f"{p}metrics"])


def test_reads_runs_and_metrics_written_by_sacreds_mongo_observer(mongo_db):
    won = [0.0, 0.25, 0.5, 0.75, 1.0]
    run_sacred(
        _observer(mongo_db),
        epymarl_config("lolm_mappo", "3s5z", 4),
        {"test_battle_won_mean": (ramp(5, 100), won), "policy_entropy": (ramp(5, 100), [1.0] * 5)},
    )
    run_sacred(
        _observer(mongo_db),
        epymarl_config("mappo", "3s5z_vs_3s6z", 1, checkpoint_path="/m/mappo_seed1_3s5z_2025-01-01 1:2:3.4"),
        {},
        fail_with="size mismatch for fc1.weight",
    )
    runs = runs_from_database(mongo_db)
    assert [r.run_id for r in runs] == ["1", "2"]
    lolm, mappo = runs
    assert (lolm.algorithm, lolm.map_name, lolm.seed, lolm.status) == ("lolm_mappo", "3s5z", 4, "COMPLETED")
    assert lolm.metrics["test_battle_won_mean"].values.tolist() == won
    assert lolm.metrics["test_battle_won_mean"].steps.tolist() == [0, 100, 200, 300, 400]
    assert set(lolm.metrics) == {"test_battle_won_mean", "policy_entropy"}
    assert mappo.status == "FAILED" and mappo.crashed_on_input_size and mappo.source_map == "3s5z"
    assert any("no metrics stored" in p for p in mappo.problems)


def test_collection_prefix(mongo_db):
    run_sacred(_observer(mongo_db, "paper"), epymarl_config("qmix", "MMM2", 2), {"test_battle_won_mean": ([0], [0.5])})
    assert runs_from_database(mongo_db) == []
    (run,) = runs_from_database(mongo_db, collection_prefix="paper")
    assert run.algorithm == "qmix"


def test_urls():
    assert (
        redact_url("mongodb://ann:s3cret@db.example:27017/sacred?authSource=admin")
        == "mongodb://ann:****@db.example:27017/sacred?authSource=admin"
    )
    assert redact_url("mongodb://db.example:27017") == "mongodb://db.example:27017"
    assert normalise_url("mongodb://h:1/exp") == ("mongodb://h:1/exp", "exp")
    assert normalise_url("localhost:27017:marl") == ("mongodb://localhost:27017", "marl")
    with pytest.raises(ReportInputError, match="not a MongoDB URL"):
        normalise_url("http://h:1")


def test_unreachable_server_is_a_quick_clear_error_without_the_password():
    url = "mongodb://ann:s3cret@127.0.0.1:9/sacred"  # port 9 (discard): nothing listens there
    start = time.monotonic()
    with pytest.raises(ReportInputError) as err:
        read_mongo_runs(url, timeout_ms=800)
    assert time.monotonic() - start < 5
    message = str(err.value)
    assert "mongodb://ann:****@127.0.0.1:9/sacred" in message and "did not answer" in message
    assert "s3cret" not in message


def test_report_cli_reads_mongo(tmp_path, mongo_db, monkeypatch, capsys):
    from epymarl_llm_tools import cli
    from epymarl_llm_tools.report import mongo_runs

    run_sacred(
        _observer(mongo_db),
        epymarl_config("lolm_mappo", "3s5z", 1),
        {"test_battle_won_mean": (ramp(5, 100), [0.0, 0.2, 0.4, 0.6, 0.8])},
    )
    # The CLI path up to the database handle is the real one; only the client is mongomock's.
    monkeypatch.setattr(mongo_runs, "connect", lambda url, timeout_ms: mongo_db.client)
    code = cli.main(
        ["report", "--mongo", "mongodb://localhost:27017/sacred", "--out", str(tmp_path), "--format", "pdf"]
    )
    assert code == 0, capsys.readouterr()
    assert (tmp_path / "win_rate_3s5z.pdf").read_bytes()[:4] == b"%PDF"


@pytest.mark.mongo
@pytest.mark.skipif(
    not os.environ.get("EPYMARL_LLM_MONGO_URL"), reason="set EPYMARL_LLM_MONGO_URL to a MongoDB server to run"
)
def test_real_mongodb_server(tmp_path):
    with quiet_sacred_import():
        from sacred.observers import MongoObserver
    url = os.environ["EPYMARL_LLM_MONGO_URL"]
    db_name = f"epymarl_llm_test_{uuid.uuid4().hex[:8]}"
    observer = MongoObserver(url=url, db_name=db_name)
    try:
        run_sacred(
            observer, epymarl_config("lolm_mappo", "3s5z", 1), {"test_battle_won_mean": (ramp(3, 10), [0.1, 0.2, 0.3])}
        )
        (run,) = read_mongo_runs(url, db_name=db_name)
        assert run.metrics["test_battle_won_mean"].values.tolist() == [0.1, 0.2, 0.3]
    finally:
        observer._client.drop_database(db_name)
