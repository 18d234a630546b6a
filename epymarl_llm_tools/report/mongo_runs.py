"""Read runs that Sacred's MongoObserver stored.

Sacred (observers/mongo.py) keeps one document per run in `<prefix>runs` (`_id`, `config`,
`status`, `fail_trace`, plus `info` and `captured_out`, which the report does not load: EPyMARL
copies every statistic into `info`) and one document per (run, metric) in `<prefix>metrics`
(`run_id`, `name`, `steps`, `values`, `timestamps`).
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from epymarl_llm.mongo_url import redact_url
from epymarl_llm_tools.report.errors import ReportInputError
from epymarl_llm_tools.report.runs import Run, metrics_from_sacred, run_from_config

DEFAULT_DB = "sacred"  # MongoObserver's default db_name
DEFAULT_TIMEOUT_MS = 5000
_RUN_FIELDS_SKIPPED = {"captured_out": 0, "info": 0, "experiment.sources": 0}
# Sacred's `-m HOST:PORT[:DB]` form (sacred/observers/mongo.py get_pattern, without collection).
_SACRED_FORM = re.compile(r"^(?P<host>[0-9A-Za-z.\-]+):(?P<port>\d{1,5})(?::(?P<db>[_A-Za-z][\w\-]*))?$")


def normalise_url(url: str) -> tuple[str, str | None]:
    """A `--mongo` value -> (pymongo URL, database named in it or None).

    Accepts `mongodb://[user:pass@]host[:port][/db][?opts]`, `mongodb+srv://...` and Sacred's
    `HOST:PORT[:DB]` form.
    """
    if "://" in url:
        if not url.startswith(("mongodb://", "mongodb+srv://")):
            raise ReportInputError(
                f"--mongo {redact_url(url)!r}: not a MongoDB URL; use mongodb://host:27017/dbname or host:27017:dbname"
            )
        db = urlsplit(url).path.lstrip("/") or None
        return url, db
    match = _SACRED_FORM.match(url)
    if not match:
        raise ReportInputError(
            f"--mongo {url!r}: not a MongoDB URL; use mongodb://host:27017/dbname or host:27017:dbname"
        )
    return f"mongodb://{match['host']}:{match['port']}", match["db"]


def connect(url: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Any:
    """A pymongo client that answered a ping within `timeout_ms`, or a ReportInputError naming the URL."""
    import pymongo
    from pymongo.errors import PyMongoError

    shown = redact_url(url)
    try:
        client = pymongo.MongoClient(url, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms)
        client.admin.command("ping")
    except PyMongoError as err:
        first_line = str(err).splitlines()[0][:300] if str(err) else err.__class__.__name__
        raise ReportInputError(
            f"MongoDB at {shown} did not answer within {timeout_ms / 1000:g} s "
            f"({err.__class__.__name__}: {first_line}); start the server, or fix --mongo"
        ) from None
    return client


def runs_from_database(database: Any, collection_prefix: str = "", origin: str = "mongodb") -> list[Run]:
    """Every run in a Sacred database (a pymongo or mongomock Database)."""
    prefix = f"{collection_prefix}_" if collection_prefix else ""
    run_docs = list(database[f"{prefix}runs"].find({}, _RUN_FIELDS_SKIPPED))
    ids = [doc["_id"] for doc in run_docs]
    raw_by_run: dict[Any, dict[str, Any]] = {run_id: {} for run_id in ids}
    for doc in database[f"{prefix}metrics"].find({"run_id": {"$in": ids}}):
        raw_by_run.setdefault(doc["run_id"], {})[doc.get("name", "?")] = doc
    runs = []
    for doc in run_docs:
        metrics, problems = metrics_from_sacred(raw_by_run.get(doc["_id"], {}))
        if not metrics:
            problems.append("no metrics stored in MongoDB (the run logged nothing yet)")
        config = doc.get("config")
        if not isinstance(config, dict):
            problems.append("the run document has no config")
            config = {}
        runs.append(
            run_from_config(
                config,
                origin=f"{origin} run {doc['_id']}",
                run_id=str(doc["_id"]),
                status=doc.get("status", "UNKNOWN"),
                metrics=metrics,
                fail_trace=doc.get("fail_trace") or "",
                problems=problems,
            )
        )
    return sorted(runs, key=lambda r: (not r.run_id.isdigit(), int(r.run_id) if r.run_id.isdigit() else 0, r.run_id))


def read_mongo_runs(
    url: str,
    db_name: str | None = None,
    collection_prefix: str = "",
    timeout_ms: int = DEFAULT_TIMEOUT_MS,
) -> list[Run]:
    """All runs of the Sacred database at `url` (database: `db_name`, else the URL's, else "sacred")."""
    from pymongo.errors import PyMongoError

    pymongo_url, url_db = normalise_url(url)
    client = connect(pymongo_url, timeout_ms)
    name = db_name or url_db or DEFAULT_DB
    try:
        return runs_from_database(client[name], collection_prefix, origin=f"{redact_url(url)} db {name}")
    except PyMongoError as err:
        raise ReportInputError(
            f"reading database {name!r} at {redact_url(url)} failed: {err}; check --mongo-db and credentials"
        ) from None
    finally:
        client.close()
