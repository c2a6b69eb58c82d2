"""The fault matrix (scripts/fault_matrix.py) on each real server: every fault answers a clean
status within the deadlines, the next request after it works, and no write is lost or stored
twice. The layer is scaffolded into a fresh project as a user gets it."""

import json

import pytest
from conftest import ROOT, load_script, server_url

matrix = load_script(ROOT / "scripts" / "fault_matrix.py", "fault_matrix")
SERVER = {"postgres": "postgres", "pgbouncer": "pgbouncer", "mariadb": "mysql"}
SETTINGS = {k: float(v) for k, v in matrix.SETTINGS.items()}
# faults the layer absorbs: the request does not fail at all
ABSORBED = {"none", "latency 200 ms", "trickle", "reset", "sever", "terminate", "idle close"}
SILENT = {"blackhole", "silent after idle"}  # only a deadline or a ping ends the wait


@pytest.mark.parametrize("backend", list(SERVER))
def test_every_fault_answers_cleanly_and_in_time(backend: str) -> None:
    server_url(SERVER[backend])
    if backend == "pgbouncer":
        server_url("postgres")  # its database is made on the server behind it
    rows = {row["fault"]: row for row in matrix.run_backend(backend)}
    lost = rows.pop("COMMIT answer lost", None)
    assert set(rows) == set(matrix.FAULTS)
    if backend == "postgres":
        # the COMMIT reached the server and its answer was lost: the client got 503 and sent
        # the write again. Without a key it is stored twice (the fault is real); with its
        # Idempotency-Key once, and the retry gets the first answer back
        assert lost is not None
        assert lost["read"]["dropped"] == lost["write"]["dropped"] == 1, lost
        assert lost["read"]["status"] == lost["write"]["status"] == 503, lost
        assert lost["read"]["stored"] == "2/1", lost
        assert lost["write"]["stored"] == "1/1" and lost["write"]["replayed"] == "true", lost
    print(matrix.table(list(rows.values())))
    for fault, row in rows.items():
        for kind, ok in (("read", 200), ("write", 201)):
            cell = row[kind]
            where = f"{backend} / {fault} / {kind}: {cell}"
            assert cell["after"] == ok, where  # once the fault is gone, the next one works
            if fault in ABSORBED:
                assert cell["status"] == ok, where
            elif fault == "restart":  # nothing listens for a second: at once, not a hang
                assert cell["status"] == 503 and cell["seconds"] < 1, where
                assert "unavailable" in cell["detail"], where
            else:
                assert fault in SILENT, where
                assert cell["status"] in (503, 504), where
                assert "traceback" not in cell["detail"].lower(), where
            if kind == "write":  # each 201 stored exactly once; a 5xx stored nothing
                stored, answered = cell["stored"].split("/")
                assert stored == answered, where
    deadline = SETTINGS["DB_STATEMENT_TIMEOUT"]
    ping, connect = SETTINGS["DB_PING_TIMEOUT"], SETTINGS["DB_CONNECT_TIMEOUT"]
    for fault in ABSORBED:  # and the next request is as fast
        for kind in ("read", "write"):
            assert rows[fault][kind]["after seconds"] < 1, rows[fault]
    idle = rows["silent after idle"]
    for kind in ("read", "write"):
        # the ping finds the silent link, then a new connection cannot log in: 503
        assert idle[kind]["status"] == 503, idle
        assert idle[kind]["seconds"] <= ping + 2 * connect + 1, idle
        # once the link is back, the other pooled connection, idle since before the
        # failed ping, is replaced without a ping of its own: no wait on each dead one
        assert idle[kind]["after seconds"] < ping, idle
    black = rows["blackhole"]
    if backend == "mariadb":
        # MySQL pings on every checkout (DB_PING_TIMEOUT) and finds the silent link; a new
        # connection's login then gives up at DB_CONNECT_TIMEOUT: 503
        for kind in ("read", "write"):
            assert black[kind]["status"] == 503, black
            assert black[kind]["seconds"] <= ping + 2 * connect + 1, black
    else:  # the statement's deadline, then the connection is dropped without a goodbye
        for kind in ("read", "write"):
            assert deadline - 0.1 <= black[kind]["seconds"] <= deadline + 1, black
            assert black[kind]["status"] == 504, black


shutdown = load_script(ROOT / "scripts" / "graceful_shutdown.py", "graceful_shutdown")


def test_sigterm_under_load_finishes_in_flight_writes_and_leaves_nothing_behind() -> None:
    """uvicorn, two workers, SIGTERM while clients write (scripts/graceful_shutdown.py)."""
    server_url("postgres")
    import contextlib
    import io

    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert shutdown.main() == 0
    result = json.loads(out.getvalue())
    print(result)
    assert result["201 before SIGTERM"] > 0 and result["answered 201"] > 0, result
    stored, answered = result["rows per 201"].split("/")
    assert stored == answered, result  # each 201 stored once: in-flight writes finished
    assert result["rows without a 201"] == 0, result  # nothing half-done was kept
    assert result["rows per request with no answer"].startswith("0/"), result
    assert result["other statuses"] == 0, result  # no 5xx while stopping
    assert result["sessions left after exit"] == 0, result  # nothing idle in a transaction
    assert result["pools disposed"] == 2, result  # each worker closed its pool itself
    assert result["exit code"] == 0 and not result["traceback in log"], result
    assert result["seconds from SIGTERM to exit"] < 10, result
    assert result["writers still going 30 s after SIGTERM"] == 0, result  # the log tail says why


def test_without_the_retry_a_close_not_yet_seen_fails_the_request() -> None:
    """The control for the "sever" row: the same fault with RetryDeadConnection left out
    answers 503, so the row's 2xx is the retry's doing."""
    server_url("postgres")
    rows = matrix.run_backend("postgres", FAULT_ONLY="sever", FAULT_NO_RETRY="1")
    assert [row["fault"] for row in rows] == ["sever"]
    for kind in ("read", "write"):
        assert rows[0][kind]["status"] == 503, rows[0]
        assert rows[0][kind]["after"] in (200, 201), rows[0]
    assert rows[0]["write"]["stored"] == "1/1", rows[0]  # the failed write stored nothing
