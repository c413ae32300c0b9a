"""`python -m scripts.replay`: its arguments, and the platform it is pointed at."""

from __future__ import annotations

import pytest

from scripts.replay import __main__ as cli
from scripts.replay.engine import Edge, ReplayError
from scripts.replay.model import Staff
from tests.unit.replay.fakes import Recorder


def test_scale_comes_from_the_flag_or_make_s_variable(monkeypatch):
    monkeypatch.setenv("SCALE", "0.05")
    assert cli.parse([]).scale == 0.05
    assert cli.parse(["--scale", "0.01"]).scale == 0.01
    monkeypatch.delenv("SCALE")
    assert cli.parse([]).scale == 1


@pytest.mark.parametrize("argv", [["--scale", "0"], ["--scale", "1.5"], ["--year", "2019"]])
def test_a_scale_or_year_the_city_cannot_draw_is_refused(argv, capsys):
    with pytest.raises(SystemExit):
        cli.parse(argv)
    assert "error" in capsys.readouterr().err


def test_a_running_platform_needs_its_staff_secret(monkeypatch):
    monkeypatch.setenv("GATEWAY_URL", "http://127.0.0.1:8000")
    monkeypatch.delenv("STAFF_JWT_SECRET", raising=False)
    with pytest.raises(SystemExit, match="STAFF_JWT_SECRET"), cli.given_platform():
        pass
    monkeypatch.setenv("STAFF_JWT_SECRET", "x" * 40)
    with cli.given_platform() as platform:
        assert (platform.url, platform.identity) == ("http://127.0.0.1:8000", platform.url)


def test_what_scenarios_read_back_is_a_200_or_an_error_naming_the_path():
    def answer(request):
        return (200, {"person_times": 3}) if request["path"] == "/ok" else (403, {"error": {}})

    with Recorder(answer) as server:
        api = Edge(server.url, "unit-replay-jwt-secret-at-least-32-bytes", {})
        assert api.get("/ok") == {"person_times": 3}
        assert api.request(Staff("auditor"), "GET", "/no").status_code == 403
        with pytest.raises(ReplayError, match="GET /no answered 403"):
            api.get("/no")
