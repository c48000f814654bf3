"""The dbt project in modeling/dbt run with dbt-postgres against a real PostgreSQL on 127.0.0.1.

A synthetic but realistic day and a half of web events goes into atomic.events (the Postgres loader's table):
four people, sessions across midnight, page pings, a duplicate event, a server-side event, a visitor who logs
in mid-session and a second device of a known user. The models are built, a late batch is loaded, the models
are built again incrementally; the result must equal a full refresh and the numbers hand-computed below.

Skips when PostgreSQL's server binaries or .venv-dbt (`make venv`) are missing, except under CI, which installs
both (.ci/run, make test).
"""

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from tests.atomic_events import create_events_table, event, ids, insert_statements
from tests.conftest import ROOT
from tests.local_postgres import as_postgres, free_port, server_tool

PROJECT = ROOT / "modeling" / "dbt"
DBT = ROOT / ".venv-dbt" / "bin" / "dbt"
TOOLS = {name: server_tool(name) for name in ("initdb", "pg_ctl", "psql")}
MODELS = [
    "snowplow_user_mapping",
    "snowplow_page_views",
    "snowplow_sessions",
    "snowplow_users",
    "snowplow_daily_events",
]

pytestmark = [
    pytest.mark.skipif(
        not (all(TOOLS.values()) and DBT.exists()) and not os.environ.get("CI"),
        reason=f"needs PostgreSQL server binaries {TOOLS} and {DBT} (make venv)",
    ),
    # One PostgreSQL and three dbt builds shared by the whole module: keep its tests on one xdist worker.
    pytest.mark.xdist_group("dbt"),
]


def page(name, at, path, **kw):
    return event(name, "page_view", at, path=path, **kw)


def ping(name, at, path, **kw):
    return event(name, "page_ping", at, path=path, **kw)


A = {"device": "anna", "session_index": 1}
A2 = {"device": "anna", "session_index": 2}
B0 = {"device": "bob", "session": "bob-1", "session_index": 1}
B1 = {"device": "bob", "session": "bob-2", "session_index": 2}
C1 = {"device": "carol-laptop", "session": "carol-1", "session_index": 1}
C2 = {"device": "carol-phone", "session": "carol-2", "session_index": 1}
E = {"device": "emil", "session": "emil-1", "session_index": 1}

# Loaded first. The newest event is Emil's last ping (collector 2026-03-15 12:00:01).
FIRST_BATCH = [
    # Anna, anonymous: a morning session, then one that crosses midnight.
    page("a1", "2026-03-14 10:00:00", "/", session="anna-1", refr_medium="search", refr_source="Google", **A),
    ping("a2", "2026-03-14 10:00:10", "/", session="anna-1", **A),
    ping("a3", "2026-03-14 10:00:20", "/", session="anna-1", **A),
    ping("a4", "2026-03-14 10:00:30", "/", session="anna-1", **A),
    page("a5", "2026-03-14 10:01:00", "/pricing", session="anna-1", refr_medium="internal", **A),
    ping("a6", "2026-03-14 10:01:10", "/pricing", session="anna-1", **A),
    page("a7", "2026-03-14 23:59:30", "/blog", session="anna-2", **A2),
    ping("a8", "2026-03-14 23:59:40", "/blog", session="anna-2", **A2),
    ping("a9", "2026-03-14 23:59:50", "/blog", session="anna-2", **A2),
    ping("a10", "2026-03-15 00:00:00", "/blog", session="anna-2", **A2),
    ping("a11", "2026-03-15 00:00:10", "/blog", session="anna-2", **A2),
    page("a12", "2026-03-15 00:01:00", "/blog/post", session="anna-2", refr_medium="internal", **A2),
    # Bob browses anonymously on Saturday evening and again on Sunday morning ...
    page("b1", "2026-03-14 20:00:00", "/", **B0),
    page("b2", "2026-03-15 09:00:00", "/", **B1),
    ping("b3", "2026-03-15 09:00:10", "/", **B1),
    # Carol is logged in on her laptop; the shop's backend records her order server-side.
    page("c1", "2026-03-14 15:00:00", "/", user_id="carol", **C1),
    ping("c2", "2026-03-14 15:00:10", "/", user_id="carol", **C1),
    event(
        "c3",
        "event",
        "2026-03-14 15:05:00",
        device=None,
        session=None,
        user_id="carol",
        app_id="backend",
        platform="srv",
        se_category="order",
        se_action="placed",
    ),  # fmt: skip
    # Emil opens the home page, the pricing page, then the home page again: a ping after the second view of
    # "/" belongs to that view.
    page("e1", "2026-03-15 11:59:00", "/", **E),
    ping("e2", "2026-03-15 11:59:10", "/", **E),
    page("e3", "2026-03-15 11:59:30", "/pricing", **E),
    page("e4", "2026-03-15 11:59:50", "/", **E),
    ping("e5", "2026-03-15 12:00:00", "/", **E),
]
# At-least-once delivery: a2 reached the loader twice.
FIRST_BATCH.append({**FIRST_BATCH[1], "etl_tstamp": FIRST_BATCH[1]["etl_tstamp"].replace(second=59)})

# Loaded after the first build. Bob's morning events were stuck in the pipeline (collected at most 3 hours before
# the newest modeled event, inside the 6-hour lookback): he logs in mid-session. Carol arrives on her phone.
LATE_BATCH = [
    ping("b4", "2026-03-15 09:00:20", "/", **B1),
    event("b5", "event", "2026-03-15 09:01:30", user_id="bob", se_category="auth", se_action="login", **B1),
    page("b6", "2026-03-15 09:02:00", "/account", user_id="bob", **B1),
    ping("b7", "2026-03-15 09:02:10", "/account", user_id="bob", **B1),
    page("c4", "2026-03-15 13:00:00", "/", **C2),
    event("c5", "event", "2026-03-15 13:00:30", user_id="carol", se_category="auth", se_action="login", **C2),
    page("c6", "2026-03-15 13:01:00", "/account", user_id="carol", **C2),
    ping("c7", "2026-03-15 13:01:10", "/account", user_id="carol", **C2),
    ping("c8", "2026-03-15 13:01:20", "/account", user_id="carol", **C2),
]


class Warehouse:
    """A PostgreSQL cluster with a `snowplow` database owned by the login role the models run as."""

    def __init__(self, root: Path):
        self.root, self.port, self.password = root, free_port(), "modeler-pw"
        self.data = root / "data"

    def start(self):
        as_postgres([TOOLS["initdb"], "-D", str(self.data), "--username=postgres", "--auth=trust", "--no-sync"])
        (self.data / "pg_hba.conf").write_text("local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        as_postgres([TOOLS["pg_ctl"], "-D", str(self.data), "-o", options, "-w", "-l", str(self.root / "log"), "start"])
        self.admin("CREATE ROLE modeler LOGIN PASSWORD 'modeler-pw'")
        self.admin("CREATE DATABASE snowplow OWNER modeler")
        self.sql(create_events_table())

    def stop(self):
        as_postgres([TOOLS["pg_ctl"], "-D", str(self.data), "-m", "immediate", "stop"])

    def admin(self, sql: str) -> str:
        command = [TOOLS["psql"], "-h", str(self.root), "-p", str(self.port), "-U", "postgres", "-d", "postgres"]
        return as_postgres([*command, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql]).stdout

    def sql(self, sql: str) -> str:
        """As the modeling role over TCP, the way dbt connects."""
        script = self.root / "statement.sql"
        script.write_text(sql)
        done = subprocess.run(
            [TOOLS["psql"], "-h", "127.0.0.1", "-p", str(self.port), "-U", "modeler", "-d", "snowplow",
             "-v", "ON_ERROR_STOP=1", "-At", "-F", "|", "-f", str(script)],
            capture_output=True, text=True, timeout=60, env={**os.environ, "PGPASSWORD": self.password},
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return done.stdout

    def rows(self, sql: str) -> list[tuple[str, ...]]:
        return [tuple(line.split("|")) for line in self.sql(sql).splitlines()]

    def dbt_build(self, schema: str, *flags: str) -> dict:
        """`dbt build` as the scheduled task runs it: profiles.yml reads the connection from the environment."""
        work = self.root / f"dbt-{schema}"
        env = {
            **os.environ,
            "DBT_HOST": "127.0.0.1",
            "DBT_PORT": str(self.port),
            "DBT_USER": "modeler",
            "DBT_ENV_SECRET_PASSWORD": self.password,
            "DBT_DATABASE": "snowplow",
            "DBT_SCHEMA": schema,
            "DBT_SSLMODE": "disable",
            "DBT_THREADS": "2",
            "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
            "DO_NOT_TRACK": "1",
        }
        started = time.monotonic()
        done = subprocess.run(
            [str(DBT), "build", "--target", "postgres", "--project-dir", str(PROJECT), "--profiles-dir",
             str(PROJECT), "--target-path", str(work / "target"), "--log-path", str(work / "logs"), *flags],
            capture_output=True, text=True, timeout=300, env=env, cwd=self.root,
        )  # fmt: skip
        assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
        results = json.loads((work / "target" / "run_results.json").read_text())
        results["seconds"] = time.monotonic() - started
        return results


@pytest.fixture(scope="module")
def warehouse():
    if not DBT.exists():
        pytest.fail(f"{DBT} is missing: run `make venv`")
    root = Path(tempfile.mkdtemp(prefix="snowplow-dbt-"))
    root.chmod(0o777)  # the server runs as `postgres`, psql and dbt as us
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
    warehouse = Warehouse(root)
    warehouse.start()
    try:
        warehouse.sql(insert_statements(FIRST_BATCH))
        warehouse.first_build = warehouse.dbt_build("incremental")
        warehouse.before_late_batch = {
            "sessions": warehouse.rows(
                "SELECT domain_sessionid, page_views, engaged_time_in_s, stitched_user_id "
                "FROM incremental.snowplow_sessions ORDER BY 1"
            ),
        }
        warehouse.sql(insert_statements(LATE_BATCH))
        warehouse.late_build = warehouse.dbt_build("incremental")
        warehouse.full_build = warehouse.dbt_build("full_refresh", "--full-refresh")
        yield warehouse
    finally:
        warehouse.stop()
        shutil.rmtree(root, ignore_errors=True)


def session(name: str) -> str:
    return ids(f"session/{name}")


def device(name: str) -> str:
    return ids(f"device/{name}")


def test_every_build_runs_all_models_and_passes_every_data_test(warehouse):
    for build in (warehouse.first_build, warehouse.late_build, warehouse.full_build):
        statuses = {r["unique_id"]: r["status"] for r in build["results"]}
        assert {uid.split(".")[-1] for uid in statuses if uid.startswith("model.")} == set(MODELS)
        assert sum(uid.startswith("test.") for uid in statuses) >= 25
        assert set(statuses.values()) == {"success", "pass"}, statuses


def rows_written(build: dict) -> dict[str, str]:
    return {r["unique_id"].split(".")[-1]: r["adapter_response"]["_message"] for r in build["results"]}


def test_the_run_after_the_late_batch_rewrote_only_touched_rows(warehouse):
    """Sessions in the lookback window (bob-2, carol-2, emil-1) and Bob's older session, stitched again."""
    full, late = rows_written(warehouse.full_build), rows_written(warehouse.late_build)
    assert (full["snowplow_page_views"], late["snowplow_page_views"]) == ("SELECT 13", "INSERT 0 8")
    assert (full["snowplow_sessions"], late["snowplow_sessions"]) == ("SELECT 7", "INSERT 0 4")
    assert (full["snowplow_daily_events"], late["snowplow_daily_events"]) == ("SELECT 6", "INSERT 0 3")  # Sunday
    assert late["snowplow_users"] == "SELECT 4"  # a table, rebuilt from the sessions


def test_an_incremental_run_after_the_late_batch_equals_a_full_refresh(warehouse):
    for model in MODELS:
        counts = warehouse.rows(
            f"SELECT (SELECT count(*) FROM incremental.{model}), (SELECT count(*) FROM full_refresh.{model}), "
            f"(SELECT count(*) FROM (SELECT * FROM incremental.{model} EXCEPT SELECT * FROM full_refresh.{model}) d), "
            f"(SELECT count(*) FROM (SELECT * FROM full_refresh.{model} EXCEPT SELECT * FROM incremental.{model}) d)"
        )
        incremental, full, only_incremental, only_full = map(int, counts[0])
        assert (incremental, only_incremental, only_full) == (full, 0, 0), model
        assert full > 0


def test_page_views_count_pings_times_the_heartbeat(warehouse):
    views = warehouse.rows(
        "SELECT page_view_id, page_view_in_session_index, page_pings, engaged_time_in_s, absolute_time_in_s "
        "FROM full_refresh.snowplow_page_views"
    )
    by_event = {row[0]: tuple(map(int, row[1:])) for row in views}
    expected = {
        "a1": (1, 3, 30, 30),  # three pings (a2 arrived twice, counted once)
        "a5": (2, 1, 10, 10),
        "a7": (1, 4, 40, 40),  # pinged on both sides of midnight
        "a12": (2, 0, 0, 0),
        "b1": (1, 0, 0, 0),
        "b2": (1, 2, 20, 20),  # one ping loaded late
        "b6": (2, 1, 10, 10),
        "c1": (1, 1, 10, 10),
        "c4": (1, 0, 0, 0),
        "c6": (2, 2, 20, 20),
        "e1": (1, 1, 10, 10),
        "e3": (2, 0, 0, 0),
        "e4": (3, 1, 10, 10),  # the ping after the second view of "/" is this view's, not the first one's
    }
    assert by_event == {ids(f"event/{name}"): numbers for name, numbers in expected.items()}
    assert warehouse.rows("SELECT sum(engaged_time_in_s) FROM full_refresh.snowplow_page_views") == [("160",)]


def test_sessions_cross_midnight_once_and_carry_the_stitched_user(warehouse):
    sessions = warehouse.rows(
        "SELECT domain_sessionid, session_start_date, session_start_tstamp, session_end_tstamp, "
        "session_duration_in_s, events, page_views, engaged_time_in_s, user_id, stitched_user_id, identity_source, "
        "landing_page_url, exit_page_url FROM full_refresh.snowplow_sessions"
    )
    home, account = "https://shop.example.com/", "https://shop.example.com/account"
    blog = "https://shop.example.com/blog"
    expected = {
        "anna-1": ("2026-03-14", "2026-03-14 10:00:00", "2026-03-14 10:01:10", "70", "6", "2", "40", "",
                   device("anna"), "domain_userid", home, "https://shop.example.com/pricing"),
        "anna-2": ("2026-03-14", "2026-03-14 23:59:30", "2026-03-15 00:01:00", "90", "6", "2", "40", "",
                   device("anna"), "domain_userid", blog, blog + "/post"),
        # Bob logged in only on Sunday; his anonymous Saturday session is his too.
        "bob-1": ("2026-03-14", "2026-03-14 20:00:00", "2026-03-14 20:00:00", "0", "1", "1", "0", "",
                  "bob", "user_id", home, home),
        "bob-2": ("2026-03-15", "2026-03-15 09:00:00", "2026-03-15 09:02:10", "130", "6", "2", "30", "bob",
                  "bob", "user_id", home, account),
        "carol-1": ("2026-03-14", "2026-03-14 15:00:00", "2026-03-14 15:00:10", "10", "2", "1", "10", "carol",
                    "carol", "user_id", home, home),
        "carol-2": ("2026-03-15", "2026-03-15 13:00:00", "2026-03-15 13:01:20", "80", "5", "2", "20", "carol",
                    "carol", "user_id", home, account),
        "emil-1": ("2026-03-15", "2026-03-15 11:59:00", "2026-03-15 12:00:00", "60", "5", "3", "20", "",
                   device("emil"), "domain_userid", home, home),
    }  # fmt: skip
    assert {row[0]: row[1:] for row in sessions} == {session(name): row for name, row in expected.items()}


def test_before_the_late_batch_bob_was_anonymous_and_the_late_run_stitched_his_old_session(warehouse):
    before = {row[0]: row[1:] for row in warehouse.before_late_batch["sessions"]}
    assert before[session("bob-1")] == ("1", "0", device("bob"))
    assert before[session("bob-2")] == ("1", "10", device("bob"))
    assert session("carol-2") not in before
    # bob-1 lies outside the lookback window: only the re-stitching of known devices can have updated it.
    after = dict(warehouse.rows("SELECT domain_sessionid, stitched_user_id FROM incremental.snowplow_sessions"))
    assert after[session("bob-1")] == after[session("bob-2")] == "bob"
    assert warehouse.rows(
        f"SELECT DISTINCT stitched_user_id FROM incremental.snowplow_page_views WHERE domain_userid = '{device('bob')}'"
    ) == [("bob",)]


def test_users_are_stitched_across_sessions_and_devices(warehouse):
    users = warehouse.rows(
        "SELECT user_identifier, identity_source, devices, sessions, page_views, engaged_time_in_s, "
        "first_session_start_tstamp, last_session_end_tstamp FROM full_refresh.snowplow_users"
    )
    expected = {
        device("anna"): ("domain_userid", "1", "2", "4", "80", "2026-03-14 10:00:00", "2026-03-15 00:01:00"),
        "bob": ("user_id", "1", "2", "3", "30", "2026-03-14 20:00:00", "2026-03-15 09:02:10"),
        "carol": ("user_id", "2", "2", "3", "30", "2026-03-14 15:00:00", "2026-03-15 13:01:20"),
        device("emil"): ("domain_userid", "1", "1", "3", "20", "2026-03-15 11:59:00", "2026-03-15 12:00:00"),
    }
    assert {row[0]: row[1:] for row in users} == expected
    mapping = warehouse.rows("SELECT domain_userid, user_id FROM full_refresh.snowplow_user_mapping")
    assert dict(mapping) == {device("bob"): "bob", device("carol-laptop"): "carol", device("carol-phone"): "carol"}


def test_daily_counts_follow_the_collector_day(warehouse):
    daily = warehouse.rows(
        "SELECT event_date, app_id, event_name, events, devices, sessions FROM full_refresh.snowplow_daily_events"
    )
    assert sorted(daily) == [
        ("2026-03-14", "backend", "event", "1", "0", "0"),
        ("2026-03-14", "web-shop", "page_ping", "7", "2", "3"),
        ("2026-03-14", "web-shop", "page_view", "5", "3", "4"),
        ("2026-03-15", "web-shop", "event", "2", "2", "2"),
        ("2026-03-15", "web-shop", "page_ping", "9", "4", "4"),
        ("2026-03-15", "web-shop", "page_view", "8", "4", "4"),
    ]
