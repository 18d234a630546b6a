"""MongoDB logging through Sacred's own `MongoObserver`, with a fast, clear failure.

Two ways in, both ending in Sacred's observer:
- Sacred's `-m HOST:PORT:DB` option (no credentials possible: Sacred's pattern has no user/password);
- the config keys `mongo_url` (a full `mongodb://user:pass@host:port/?authSource=...` URL) and
  `mongo_db_name`, read by `attach_from_config` before the run starts (see `sacred_hooks`).
Before the run starts every Mongo observer is pinged with a `mongo_timeout_s` deadline, so a server
that does not answer stops the run within seconds with one message naming the host (never the
password), instead of pymongo's 30 s server-selection wait and Sacred's secondary `failed_event` error.
The password never reaches the stored config: `redact_url` replaces it before observers see the run.
"""

from __future__ import annotations

from typing import Any

from sacred.utils import SacredError

from epymarl_llm.mongo_url import check_url, redact_url

URL_KEY = "mongo_url"
DB_KEY = "mongo_db_name"
TIMEOUT_KEY = "mongo_timeout_s"


class MongoUnreachableError(SacredError):
    """No MongoDB server answered the pre-flight ping; printed by Sacred without a traceback."""

    def __init__(self, message: str):
        super().__init__(message, print_traceback=False)


def observer_from_url(url: str, db_name: str, timeout_s: float, **client_kwargs: Any):
    """Sacred's `MongoObserver` for a full URL; pymongo connects lazily, so this does not block."""
    from sacred.observers import MongoObserver

    return MongoObserver(
        url=check_url(url), db_name=db_name, serverSelectionTimeoutMS=int(timeout_s * 1000), **client_kwargs
    )


def _hosts(client) -> str:
    try:
        addresses = list(client.topology_description.server_descriptions())
    except Exception:  # a client type without a topology (mongomock): name nothing rather than fail
        return "the configured server"
    return ", ".join(f"{h}:{p}" for h, p in addresses) or "the configured server"


def ping_observers(observers: list, timeout_s: float) -> None:
    """Ping the server of every Sacred `MongoObserver` in `observers` within `timeout_s` seconds.

    Raises MongoUnreachableError naming the host(s) and the ways to fix it.
    """
    import pymongo
    from pymongo.errors import PyMongoError
    from sacred.observers import MongoObserver

    for observer in observers:
        if not isinstance(observer, MongoObserver):
            continue
        client = observer.runs.database.client
        if not isinstance(client, pymongo.MongoClient):  # mongomock in tests: nothing to reach
            continue
        try:
            with pymongo.timeout(timeout_s):
                client.admin.command("ping")
        except PyMongoError as err:
            reason = str(err).split(", Timeout:")[0].split(" (configured timeouts")[0]
            raise MongoUnreachableError(
                f"MongoDB at {_hosts(client)} did not answer within {timeout_s:g} s ({type(err).__name__}: "
                f"{reason}). Start the server or fix the address (`-m HOST:PORT:DB` or `with mongo_url=...`), "
                "or drop the MongoDB option to log to files only."
            ) from None


def attach_from_config(run) -> None:
    """Add a MongoObserver for `mongo_url` (when set), redact the password, ping every Mongo observer.

    `run` is the Sacred `Run` just created by `Experiment._create_run`, before `_emit_started`.
    """
    config = run.config
    timeout_s = float(config.get(TIMEOUT_KEY) or 5.0)
    url = config.get(URL_KEY)
    if url:
        run.observers.append(observer_from_url(url, config.get(DB_KEY) or "sacred", timeout_s))
        _redact_run(run, url)
    ping_observers(run.observers, timeout_s)


def _redact_run(run, url: str) -> None:
    """Keep the password out of config.json / the Mongo run document / the recorded command line."""
    safe = redact_url(url)
    if safe == url:
        return
    run.config[URL_KEY] = safe
    updates = run.meta_info.get("config_updates")
    if isinstance(updates, dict) and URL_KEY in updates:
        updates[URL_KEY] = safe
    options = run.meta_info.get("options")
    if isinstance(options, dict) and isinstance(options.get("UPDATE"), list):
        options["UPDATE"] = [u.replace(url, safe) for u in options["UPDATE"]]
