"""The year's report: each figure read back through the edge beside the expected one (and the
source document's), printed as a table, written as JSON and as an HTML page with charts that a
union officer can show at a meeting (self-contained: ECharts inlined, nothing from a CDN)."""

from __future__ import annotations

import html
import json
import re
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from scripts.devstack import ROOT
from scripts.replay.model import Api, Chart, Figure

_MONEY = re.compile(r"-?[0-9]+\.[0-9]{2}")

ECHARTS = ROOT / "services" / "console" / "static" / "vendor" / "echarts.min.js"
# The parts of the year as the union's report names them (the HTML's section rows).
PART_TITLES = {
    "partners": "合作医院与城市平台",
    "dossiers": "困难职工帮扶",
    "mutual_aid": "职工医疗互助",
    "student_aid": "金秋助学",
    "jobs": "就业服务",
}


@dataclass(frozen=True)
class Line:
    """One figure of the report: expected at this scale, and what the platform answered."""

    name: str
    label: str
    unit: str
    source: int | str | None
    expected: int | str
    actual: int | str | None
    equal: bool
    how: str
    part: str = ""  # the scenario that drew it


def compare(figures: list[Figure], actual: dict[str, Any], part: str = "") -> list[Line]:
    """Each figure beside its actual value; a figure nobody read back is not equal."""
    return [
        Line(
            name=f.name,
            label=f.label,
            unit=f.unit,
            source=f.source,
            expected=f.expected,
            actual=actual.get(f.name),
            equal=f.name in actual and actual[f.name] == f.expected,
            how=f.how,
            part=part,
        )
        for f in figures
    ]


def differing(lines: list[Line]) -> list[str]:
    return [line.name for line in lines if not line.equal]


def exit_status(lines: list[Line]) -> int:
    """0 only when every figure is equal (and there is at least one)."""
    return 0 if lines and not differing(lines) else 1


def read_until_settled(
    read: Callable[[], list[Line]],
    *,
    timeout: float = 900.0,
    quiet: float = 30.0,
    interval: float = 2.0,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> list[Line]:
    """The report's lines once the platform has settled: the last request of the year was
    answered, but what it set going (a bill's decision, a notice) may still be under way.
    Read again until every figure is equal, or nothing has changed for ``quiet`` seconds, or
    ``timeout`` has passed; then the last reading stands."""
    deadline = clock() + timeout
    lines = read()
    unchanged_since = clock()
    while differing(lines) and clock() < deadline and clock() - unchanged_since < quiet:
        sleep(interval)
        again = read()
        if [line.actual for line in again] != [line.actual for line in lines]:
            unchanged_since = clock()
        lines = again
    return lines


def collect(scenarios: list[Any], api: Api, scale: float) -> list[Line]:
    """Every scenario's figures compared with what the platform answers now."""
    lines: list[Line] = []
    for scenario in scenarios:
        figures = scenario.figures(scale)
        lines += compare(figures, scenario.actual(api) if figures else {}, scenario.name)
    return lines


# ---- the table --------------------------------------------------------------------------------


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _width(text))


def _show(value: Any) -> str:
    """A figure as a reader wants it: thousands grouped, for counts and for yuan alike."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    text = str(value)
    if _MONEY.fullmatch(text):
        whole, cents = text.split(".")
        return f"{int(whole):,}.{cents}"
    return text


def table(lines: list[Line]) -> str:
    """Side by side: name, label, the source document's figure, expected at this scale,
    actual, equal."""
    header = ("name", "label", "source", "expected", "actual", "equal")
    rows = [
        (
            line.name,
            line.label + (f"（{line.unit}）" if line.unit else ""),
            _show(line.source),
            _show(line.expected),
            _show(line.actual),
            "yes" if line.equal else "NO",
        )
        for line in lines
    ]
    widths = [max([_width(h), *(_width(row[i]) for row in rows)]) for i, h in enumerate(header)]

    def fmt(cells) -> str:
        return "| " + " | ".join(_pad(c, w) for c, w in zip(cells, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([fmt(header), rule, *(fmt(row) for row in rows)])


# ---- JSON and HTML --------------------------------------------------------------------------------


def write_json(path: Path, lines: list[Line], *, year: int, scale: float) -> Path:
    """``{"year", "scale", "all_equal", "figures": [{name, expected, actual, equal, label,
    unit, source, how}, ...]}``."""
    document = {
        "year": year,
        "scale": scale,
        "all_equal": exit_status(lines) == 0,
        "figures": [asdict(line) for line in lines],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    return path


def chart_option(chart: Chart) -> dict[str, Any]:
    """The ECharts option of one chart: its categories along x, one series per entry."""
    return {
        "title": {"text": chart.title, "left": "center", "top": 8, "textStyle": {"fontSize": 15}},
        "tooltip": {"trigger": "axis"},
        "legend": {"top": 40},
        "grid": {"top": 80, "left": 60, "right": 30, "bottom": 40},
        "xAxis": {"type": "category", "data": chart.categories},
        "yAxis": {"type": "value"},
        "series": [
            {"name": name, "type": chart.kind, "data": values}
            for name, values in chart.series.items()
        ],
    }


def _script_json(value: Any) -> str:
    """JSON safe inside a <script> element (no "</script>" can close it early)."""
    return json.dumps(value, ensure_ascii=False).replace("</", "<\\/")


def _row(line: Line) -> str:
    return (
        "<tr class='{cls}'><td>{label}</td><td class='n'>{source}</td><td class='n'>{expected}</td>"
        "<td class='n'>{actual}</td><td class='mark'>{mark}</td><td class='how'>{how}</td></tr>"
    ).format(
        cls="ok" if line.equal else "bad",
        label=html.escape(line.label + (f"（{line.unit}）" if line.unit else "")),
        source=html.escape(_show(line.source)),
        expected=html.escape(_show(line.expected)),
        actual=html.escape(_show(line.actual)),
        mark="✔ 一致" if line.equal else "✘ 不一致",
        how=html.escape(line.how),
    )


def render_html(
    lines: list[Line], charts: list[Chart], *, year: int, scale: float, echarts_js: str
) -> str:
    equal = sum(line.equal for line in lines)
    verdict = (
        f"全部 {len(lines)} 项指标与预期一致"
        if lines and equal == len(lines)
        else f"{len(lines) - equal} 项指标与预期不一致（共 {len(lines)} 项）"
    )
    rows = []
    for line in lines:
        if line.part and (not rows or line.part != rows[-1][0]):
            title = html.escape(PART_TITLES.get(line.part, line.part))
            rows.append((line.part, f"<tr class='part'><td colspan='6'>{title}</td></tr>"))
        rows.append((line.part, _row(line)))
    table_rows = "\n".join(row for _, row in rows)
    boxes = "\n".join(f"<div class='chart' id='chart-{i}'></div>" for i in range(len(charts)))
    options = _script_json([chart_option(chart) for chart in charts])
    scale_text = "全年" if scale == 1 else f"按 {scale:g} 比例抽样"
    return f"""<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<title>龙岩市总工会 {year} 年度工作回放报告</title>
<style>
body {{ font-family: "Noto Sans CJK SC", "WenQuanYi Zen Hei", "Microsoft YaHei", sans-serif;
       margin: 2em auto; max-width: 1100px; color: #222; }}
h1 {{ color: #b71c1c; margin-bottom: .2em; }}
.sub {{ color: #555; margin-top: 0; }}
.verdict {{ font-size: 1.2em; font-weight: bold; padding: .6em 1em; border-radius: 6px; }}
.verdict.ok {{ background: #e8f5e9; color: #1b5e20; }}
.verdict.bad {{ background: #ffebee; color: #b71c1c; }}
table {{ border-collapse: collapse; width: 100%; margin: 1em 0 2em; font-size: .95em; }}
th, td {{ border: 1px solid #ddd; padding: .45em .6em; vertical-align: top; }}
th {{ background: #b71c1c; color: #fff; text-align: left; }}
td.n {{ text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }}
td.how {{ color: #555; font-size: .9em; width: 36%; }}
td:first-child {{ width: 24%; }}
td.mark, th {{ white-space: nowrap; }}
tr.part td {{ background: #fbe9e7; font-weight: bold; color: #b71c1c; }}
tr.bad td {{ background: #ffebee; }}
.charts {{ display: grid; grid-template-columns: 1fr 1fr; gap: 1.5em; }}
.chart {{ height: 360px; border: 1px solid #eee; border-radius: 6px; }}
footer {{ color: #777; font-size: .85em; margin-top: 2em; }}
</style>
</head>
<body>
<h1>龙岩市总工会 {year} 年度工作回放报告</h1>
<p class="sub">以 {year} 年工作报告的数据为依据，把一年的业务（{scale_text}）经平台接口逐日重放后，
从平台读回的统计结果。</p>
<p class="verdict {"ok" if lines and equal == len(lines) else "bad"}">{verdict}</p>
<h2>年度指标对照</h2>
<table>
<thead><tr><th>指标</th><th>工作报告数据</th><th>本次预期</th><th>平台实际</th><th>是否一致</th>
<th>说明</th></tr></thead>
<tbody>
{table_rows}
</tbody>
</table>
<h2>图表</h2>
<div class="charts">
{boxes}
</div>
<footer>由 unionhub 年度回放（make replay）生成。</footer>
<script>{echarts_js}</script>
<script>
const options = {options};
options.forEach((option, i) => {{
  echarts.init(document.getElementById("chart-" + i)).setOption(option);
}});
</script>
</body>
</html>
"""


def write_html(
    path: Path,
    lines: list[Line],
    charts: list[Chart],
    *,
    year: int,
    scale: float,
    echarts: Path = ECHARTS,
) -> Path:
    if not echarts.exists():
        raise FileNotFoundError(
            f"{echarts} is missing: run `make console-assets` (the report inlines ECharts)"
        )
    # Inlined in a <script> element: no "</script" inside may close it early.
    echarts_js = echarts.read_text(encoding="utf-8").replace("</script", "<\\/script")
    page = render_html(lines, charts, year=year, scale=scale, echarts_js=echarts_js)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
