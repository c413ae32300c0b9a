"""The year's report: figures compared, the exit status, the table, JSON and HTML."""

from __future__ import annotations

import json

from scripts.replay import report
from scripts.replay.model import Chart, Figure

FIGURES = [
    Figure("households", "帮扶困难职工", 31, source=629, how="按政策抽样", unit="户"),
    Figure("assistance_total", "帮扶金额", "47150.00", source="943000.00", unit="元"),
    Figure("stays", "住院补助人次", 530, source=10600, unit="人次"),
]


def test_equal_figures_exit_zero_and_any_difference_is_named():
    lines = report.compare(
        FIGURES, {"households": 31, "assistance_total": "47150.00", "stays": 530}
    )
    assert [line.equal for line in lines] == [True, True, True]
    assert report.exit_status(lines) == 0

    lines = report.compare(FIGURES, {"households": 31, "assistance_total": "47150.01"})
    assert report.differing(lines) == ["assistance_total", "stays"]  # stays was never read
    assert report.exit_status(lines) == 1


def test_a_count_is_not_equal_to_the_same_text():
    (line,) = report.compare(FIGURES[:1], {"households": "31"})
    assert not line.equal


def test_no_figure_at_all_is_not_a_success():
    assert report.exit_status([]) == 1


def test_the_table_shows_source_expected_actual_and_equal_side_by_side():
    lines = report.compare(FIGURES, {"households": 31, "assistance_total": "1.00", "stays": 530})
    text = report.table(lines)
    row = next(r for r in text.splitlines() if r.startswith("| households"))
    cells = [c.strip() for c in row.strip("|").split("|")]
    assert cells == ["households", "帮扶困难职工（户）", "629", "31", "31", "yes"]
    money = next(r for r in text.splitlines() if "assistance_total" in r)
    assert "| NO" in money and "943,000.00" in money  # yuan grouped for the reader
    widths = {len(r.encode("gbk")) for r in text.splitlines()}  # CJK counts two columns
    assert len(widths) == 1


def test_json_has_one_entry_per_figure(tmp_path):
    lines = report.compare(FIGURES, {"households": 31})
    path = report.write_json(tmp_path / "2018.json", lines, year=2018, scale=0.05)
    document = json.loads(path.read_text())
    assert document["all_equal"] is False
    assert [f["name"] for f in document["figures"]] == ["households", "assistance_total", "stays"]
    first = document["figures"][0]
    assert {k: first[k] for k in ("name", "expected", "actual", "equal", "source", "label")} == {
        "name": "households",
        "expected": 31,
        "actual": 31,
        "equal": True,
        "source": 629,
        "label": "帮扶困难职工",
    }


def test_the_html_page_inlines_echarts_and_holds_the_table_and_every_chart(tmp_path):
    echarts = tmp_path / "echarts.min.js"
    echarts.write_text("window.echarts={init:function(){}};/* </script> */")
    chart = Chart("每月住院补助", ["1月", "2月"], {"人次": [3, 4], "金额": [10.5, 20]}, kind="line")
    lines = report.compare(FIGURES, {"households": 31})
    path = report.write_html(
        tmp_path / "2018.html", lines, [chart, chart], year=2018, scale=0.05, echarts=echarts
    )
    page = path.read_text()
    assert "window.echarts=" in page and "<script src" not in page and "http" not in page
    assert page.count("</script>") == 2  # ECharts' own text cannot close its element
    assert "每月住院补助" in page and "帮扶困难职工" in page and "✘ 不一致" in page
    assert 'id="chart-1"' in page or "id='chart-1'" in page


def test_the_html_page_heads_each_part_of_the_year(tmp_path):
    echarts = tmp_path / "echarts.min.js"
    echarts.write_text("window.echarts={};")
    lines = [
        *report.compare(FIGURES[:2], {}, part="dossiers"),
        *report.compare(FIGURES[2:], {}, part="mutual_aid"),
    ]
    page = report.write_html(
        tmp_path / "p.html", lines, [], year=2018, scale=1, echarts=echarts
    ).read_text()
    assert page.count("<tr class='part'>") == 2
    assert page.index("困难职工帮扶") < page.index("帮扶金额") < page.index("职工医疗互助")


def test_reading_again_until_the_platform_settles():
    """The last bills are still being decided when the replay ends: read until equal."""
    readings = iter([{"stays": 528}, {"stays": 529}, {"stays": 530}, {"stays": 999}])
    clock = [0.0]

    def read():
        return report.compare(FIGURES[2:], next(readings))

    lines = report.read_until_settled(
        read, timeout=60, quiet=10, interval=2, clock=lambda: clock[0], sleep=_advance(clock)
    )
    assert report.exit_status(lines) == 0


def test_reading_stops_once_nothing_changes_for_a_while():
    calls = []
    clock = [0.0]

    def read():
        calls.append(clock[0])
        return report.compare(FIGURES[2:], {"stays": 1})

    lines = report.read_until_settled(
        read, timeout=60, quiet=10, interval=2, clock=lambda: clock[0], sleep=_advance(clock)
    )
    assert report.differing(lines) == ["stays"]
    assert calls[-1] == 10.0


def _advance(clock):
    def sleep(seconds):
        clock[0] += seconds

    return sleep
