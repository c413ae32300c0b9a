"""The replayer: merge order, placeholders, signing, retries, and going on after a stop."""

from __future__ import annotations

import json
from datetime import date

import jwt
import pytest

from scripts.replay.engine import (
    Edge,
    ReplayError,
    fill,
    groups,
    load_scenarios,
    merged,
    pick,
    replay,
    send_step,
    webhook_id,
)
from scripts.replay.model import Partner, Staff
from scripts.replay.state import Journal
from shared.webhooks import verify_webhook
from tests.unit.replay.fakes import ListScenario, Recorder, step

SECRET = "unit-replay-jwt-secret-at-least-32-bytes"
D1, D2, D3 = date(2018, 1, 1), date(2018, 3, 5), date(2018, 7, 1)


def keys(scenarios):
    return [s.key for _, s in merged(scenarios, city=None, scale=1)]


def test_steps_go_by_date_then_wave_then_priority_then_each_scenarios_order():
    late = ListScenario(
        "late", 2, [step("l1", D1), step("l2", D1), step("l3", D2, wave=0), step("l4", D3)]
    )
    early = ListScenario(
        "early", 1, [step("e1", D1, wave=1), step("e2", D2), step("e3", D2, wave=1)]
    )
    assert keys([late, early]) == ["l1", "l2", "e1", "e2", "l3", "e3", "l4"]
    names = [name for name, _ in merged([late, early], city=None, scale=1)]
    assert names == ["late", "late", "early", "early", "late", "early", "late"]


def test_two_scenarios_of_one_priority_go_in_the_listed_order():
    a = ListScenario("a", 1, [step("a1", D1), step("a2", D1)])
    b = ListScenario("b", 1, [step("b1", D1)])
    assert keys([b, a]) == ["b1", "a1", "a2"]


def test_merging_is_lazy():
    """A scenario's steps are drawn as they are sent, not all at once before the first."""
    drawn = []

    class Endless:
        name, priority = "endless", 0

        def steps(self, city, scale):
            n = 0
            while True:
                drawn.append(n)
                yield step(f"s{n}", D1)
                n += 1

    stream = merged([Endless()], city=None, scale=1)
    assert [next(stream)[1].key for _ in range(3)] == ["s0", "s1", "s2"]
    assert len(drawn) <= 4


def test_a_scenario_that_goes_back_in_time_is_stopped():
    bad = ListScenario("bad", 1, [step("b1", D2), step("b2", D1)])
    with pytest.raises(ReplayError, match="b2"):
        keys([bad])


def test_groups_are_runs_of_one_date_and_wave():
    s = ListScenario("s", 1, [step("1", D1), step("2", D1), step("3", D1, wave=1), step("4", D2)])
    found = [[st.key for _, st in group] for group in groups(merged([s], None, 1))]
    assert found == [["1", "2"], ["3"], ["4"]]


def test_placeholders_are_filled_through_bodies_and_keep_a_whole_values_type():
    saved = {"claim": "c-17", "count": 3, "secret:H0001": "whsec_x"}
    body = {"id": "{claim}", "n": "{count}", "text": "claim {claim} of {count}", "l": ["{claim}"]}
    assert fill(body, saved) == {"id": "c-17", "n": 3, "text": "claim c-17 of 3", "l": ["c-17"]}
    assert fill("/api/v1/claims/{claim}", saved) == "/api/v1/claims/c-17"
    assert fill("{secret:H0001}", saved) == "whsec_x"
    assert fill({"amount": 12, "none": None}, saved) == {"amount": 12, "none": None}


def test_a_placeholder_nothing_saved_names_the_step():
    with pytest.raises(ReplayError, match="step k1 needs {dossier}"):
        fill({"a": "{dossier}"}, {}, "k1")


def test_saved_values_are_picked_by_dotted_path():
    answer = {"claim_id": "c1", "items": [{"id": "i0"}, {"id": "i1"}]}
    assert pick(answer, "claim_id") == "c1"
    assert pick(answer, "items.1.id") == "i1"
    with pytest.raises(KeyError):
        pick(answer, "items.2.id")


def test_a_staff_step_carries_its_role_and_org_in_a_token():
    with Recorder(lambda r: (201, {"dossier_id": "d9"})) as server:
        edge = Edge(server.url, SECRET, {})
        s = step(
            "k",
            D1,
            actor=Staff("county_staff", "LY-XL"),
            path="/api/v1/dossiers",
            body={"org": "{unit}"},
            save={"dossier": "dossier_id"},
        )
        assert send_step(edge, s, {"unit": "LY-XL-0042"}) == {"dossier": "d9"}
    (request,) = server.requests
    assert request["body"] == {"org": "LY-XL-0042"}
    token = request["headers"]["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_aud": False})
    assert (claims["role"], claims["org"]) == ("county_staff", "LY-XL")


def test_a_partner_step_is_signed_with_its_saved_secret_and_an_id_from_its_key():
    secret = "whsec_" + "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3"
    with Recorder(lambda r: (202, {"claim_id": "c1"})) as server:
        edge = Edge(server.url, SECRET, {"secret:H0001": secret})
        s = step("bill:1", D1, actor=Partner("H0001"), path="/api/v1/hospitals/H0001/b")
        send_step(edge, s, {})
        send_step(edge, s, {})
    first, second = server.requests
    assert verify_webhook(secret, first["headers"], first["raw"]) == webhook_id("bill:1")
    assert second["headers"]["webhook-id"] == first["headers"]["webhook-id"]
    assert first["headers"]["X-Partner-Code"] == "H0001"


def test_a_not_yet_answer_is_retried_until_it_comes():
    answers = iter([404, 404, 200])
    with Recorder(lambda r: (next(answers), {"status": "approved"})) as server:
        s = step("g", D1, actor=Staff("city_admin"), method="GET", retry=(404,), retry_seconds=10)
        assert send_step(Edge(server.url, SECRET, {}), s, {}) == {}
    assert len(server.requests) == 3


def test_a_503_is_sent_again_when_safe_and_stops_a_staff_step():
    """A signed step or a GET may go again when a service did not answer; a staff POST may have
    had its effect, so a second send could make a second record: it stops the replay."""
    answers = iter([503, 202])
    with Recorder(lambda r: (next(answers), {"claim_id": "c1"})) as server:
        s = step("bill:9", D1, actor=Partner("H0001"), path="/b", retry_seconds=10)
        send_step(Edge(server.url, SECRET, {"secret:H0001": "whsec_" + "QUJD" * 8}), s, {})
    assert len(server.requests) == 2
    with Recorder(lambda r: (503, {"error": {"code": "service_unavailable"}})) as server:
        s = step("intent:3", D1, actor=Staff("county_staff", "LY-XL"), retry_seconds=10)
        with pytest.raises(ReplayError, match=r"step intent:3 .* answered 503"):
            send_step(Edge(server.url, SECRET, {}), s, {})
    assert len(server.requests) == 1


def test_an_unexpected_status_stops_the_replay_naming_the_step_status_and_body():
    with Recorder(lambda r: (422, {"error": {"code": "outside_window"}})) as server:
        s = step("student:7", D1, actor=Staff("city_admin"), retry=(404,), retry_seconds=5)
        with pytest.raises(ReplayError, match=r"step student:7 .* answered 422.*outside_window"):
            send_step(Edge(server.url, SECRET, {}), s, {})
    assert len(server.requests) == 1


def test_a_conflict_on_a_step_that_saves_says_the_platform_must_be_fresh():
    with Recorder(lambda r: (409, {"error": {"code": "conflict"}})) as server:
        s = step("partners:H0001", D1, actor=Staff("city_admin"), save={"secret:H0001": "secret"})
        with pytest.raises(ReplayError, match="fresh platform"):
            send_step(Edge(server.url, SECRET, {}), s, {})


def two_day_year():
    """Day one registers a thing and saves its id; day two uses it."""
    return ListScenario(
        "year",
        1,
        [
            step("make:1", D1, actor=Staff("city_admin"), path="/make", save={"t1": "id"}),
            step("make:2", D1, actor=Staff("city_admin"), path="/make", save={"t2": "id"}),
            step("use:1", D2, actor=Staff("city_admin"), path="/use/{t1}", body={"other": "{t2}"}),
        ],
    )


def test_a_replay_run_again_sends_only_what_it_had_not_sent(tmp_path):
    made = iter(range(100))
    answer = lambda r: (201, {"id": f"t{next(made)}"})  # noqa: E731
    header = {"year": 2018, "scale": 1}
    with Recorder(answer) as server:
        journal = Journal(tmp_path / "state.jsonl", header)
        journal.record("make:1", {"t1": "t-earlier"})  # an earlier run stopped after this
        journal.close()

        journal = Journal(tmp_path / "state.jsonl", header)
        outcome = replay(
            [two_day_year()], Edge(server.url, SECRET, journal.saved), journal, scale=1
        )
        journal.close()
    assert (outcome.sent, outcome.skipped) == (2, 1)
    assert [r["path"] for r in server.requests] == ["/make", "/use/t-earlier"]
    assert server.requests[1]["body"] == {"other": "t0"}

    with Recorder(answer) as server:
        journal = Journal(tmp_path / "state.jsonl", header)
        outcome = replay(
            [two_day_year()], Edge(server.url, SECRET, journal.saved), journal, scale=1
        )
        journal.close()
    assert (outcome.sent, outcome.skipped, server.requests) == (0, 3, [])


def test_a_failed_step_is_not_recorded_and_the_replay_stops(tmp_path):
    def answer(request):
        return (500, {}) if request["path"] == "/use/t0" else (201, {"id": "t0"})

    journal = Journal(tmp_path / "state.jsonl", {"year": 2018})
    with Recorder(answer) as server, pytest.raises(ReplayError, match="use:1"):
        replay([two_day_year()], Edge(server.url, SECRET, journal.saved), journal, scale=1)
    journal.close()
    lines = (tmp_path / "state.jsonl").read_text().splitlines()
    assert [json.loads(line).get("k") for line in lines[1:]] == ["make:1", "make:2"]


def test_the_scenario_list_skips_only_a_missing_module_still_in_progress(monkeypatch):
    warnings = []
    monkeypatch.setattr("scripts.replay.engine.IN_PROGRESS", frozenset({"no_such_part"}))
    loaded = load_scenarios(["partners", "no_such_part"], warn=warnings.append)
    assert [s.name for s in loaded] == ["partners"]
    assert warnings == ["scenario no_such_part is not written yet; the year runs without it"]
    with pytest.raises(ModuleNotFoundError):
        load_scenarios(["another_missing_part"], warn=warnings.append)


def test_a_step_cannot_use_what_its_own_group_saves(tmp_path):
    """Steps of one (on, wave) go together: an answer of the same group is never used, even
    when it happens to come back first."""
    year = ListScenario(
        "year",
        1,
        [
            step("make:1", D1, actor=Staff("city_admin"), path="/make", save={"t1": "id"}),
            step("use:1", D1, actor=Staff("city_admin"), path="/use/{t1}"),
        ],
    )
    journal = Journal(tmp_path / "state.jsonl", {"year": 2018})
    with Recorder(lambda r: (201, {"id": "t0"})) as server:
        with pytest.raises(ReplayError, match=r"step use:1 needs \{t1\}"):
            replay([year], Edge(server.url, SECRET, journal.saved), journal, scale=1, workers=1)
    journal.close()


def test_two_steps_with_one_key_stop_the_replay(tmp_path):
    """The second would carry the first's webhook id and be answered as the first."""
    year = ListScenario(
        "year",
        1,
        [
            step("bill:1", D1, actor=Staff("city_admin")),
            step("bill:1", D2, actor=Staff("city_admin")),
        ],
    )
    journal = Journal(tmp_path / "state.jsonl", {"year": 2018})
    with Recorder(lambda r: (201, {})) as server:
        with pytest.raises(ReplayError, match="second step with the key bill:1"):
            replay([year], Edge(server.url, SECRET, journal.saved), journal, scale=1)
    journal.close()
    assert len(server.requests) == 1


def test_no_answer_at_all_stops_the_replay_naming_the_step():
    with Recorder(lambda r: (200, {})) as server:
        url = server.url
    s = step("enrol:1", D1, actor=Staff("city_admin"), path="/api/v1/mutual-aid/enrollments")
    with pytest.raises(ReplayError, match="step enrol:1: POST /api/v1/mutual-aid/enrollments"):
        send_step(Edge(url, SECRET, {}), s, {})


# Run in a process of its own: the suite's eventlet monkey-patching turns threads into green
# threads, where a signal lands in whichever one runs; the replay CLI runs on real threads.
# (A terminal's Ctrl-C reaches every process of `make replay`; a `kill -INT` must name the
# Python process, not make.)
_CTRL_C_IN_A_FAIR_DAY = """
import json, os, signal, sys, threading, time
# As the CLI does (scripts/replay/__main__.py): a suite started in the background by a script
# inherits SIGINT ignored, and Python would leave it so.
signal.signal(signal.SIGINT, signal.default_int_handler)
from pathlib import Path
from scripts.replay.engine import Edge, replay
from scripts.replay.model import Staff
from scripts.replay.state import Journal
from tests.unit.replay.fakes import ListScenario, Recorder, step
from tests.unit.replay.test_engine import D1, SECRET

many = ListScenario(
    "fair", 1, [step(f"seeker:{i}", D1, actor=Staff("city_admin"), path=f"/s/{i}") for i in range(400)]
)
answered, lock = [], threading.Lock()

def answer(request):
    time.sleep(0.005)
    with lock:
        answered.append(request["path"])
        if len(answered) == 20:
            os.kill(os.getpid(), signal.SIGINT)  # the kernel may hand it to any thread
    return 201, {}

journal = Journal(Path(sys.argv[1]), {"year": 2018})
with Recorder(answer) as server:
    outcome = replay([many], Edge(server.url, SECRET, journal.saved), journal, scale=1, workers=4)
journal.close()
print(json.dumps({"interrupted": outcome.interrupted, "sent": outcome.sent,
                  "recorded": len(journal.sent), "answered": len(answered)}))
"""


def test_ctrl_c_in_a_large_group_stops_between_steps_and_records_what_was_answered(tmp_path):
    """A fair day is one group of thousands of steps: a Ctrl-C stops it after the steps in
    flight, not at the group's end, and every step answered is recorded."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", _CTRL_C_IN_A_FAIR_DAY, str(tmp_path / "state.jsonl")],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    seen = json.loads(done.stdout.splitlines()[-1])
    assert seen["interrupted"]
    # The 20th answer, the few in flight and at most a wait slice's worth: far from 400.
    assert 20 <= seen["sent"] < 400 // 2
    assert seen["sent"] == seen["recorded"] == seen["answered"]


def test_the_progress_line_moves_with_each_answer_inside_a_group(tmp_path):
    import io

    from scripts.replay.engine import Progress

    day = ListScenario(
        "fair", 1, [step(f"s:{i}", D1, actor=Staff("city_admin"), path=f"/s/{i}") for i in range(5)]
    )
    stream = io.StringIO()
    journal = Journal(tmp_path / "state.jsonl", {"year": 2018})
    with Recorder(lambda r: (201, {})) as server:
        replay(
            [day],
            Edge(server.url, SECRET, journal.saved),
            journal,
            scale=1,
            workers=2,
            progress=Progress(stream=stream, every=0),
        )
    journal.close()
    counts = [line.split("| fair ")[1].split(" ")[0] for line in stream.getvalue().splitlines()]
    assert counts[:5] == ["1", "2", "3", "4", "5"]
