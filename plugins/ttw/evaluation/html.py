"""The HTML year report of a center evaluation and a page per center (``ttw report centers``).

Files that open offline: the styles are inline and every chart is an inline SVG drawn
here (no script, font or stylesheet is fetched). In Chinese, one language per file.

The year report (``centers_{year}.html``) starts with the comprehensive evaluation of
the build periods ending that year (the funding decision: combined score, grade, 保留 or
不予纳入, the annual grades), then the year's summary with its charts (score
distribution, grades by district and by industry, the top and bottom centers with ties
shown as ties, the movement on the year before), the ranking linking every center's
page, the new centers (listed, not graded), a method note, and the flags as an appendix.
Each center's page (``centers/{code}.html``) shows its indicator scores with benchmark
and verification gap, its history, flags, annual outcome, the comprehensive result when
due, the figures changed since the previous report version, the report's narrative and
its instrument sharing. Every page names the data's as-of time and the published build.

A print stylesheet lays the pages out on A4: each section starts a page, table rows are
not split and table headers repeat; :mod:`ttw.evaluation.pdf` prints the year report to PDF.
Every count is a mart's (``rpt_center_evaluation_summary``, ``rpt_center_grade_counts``,
``rpt_center_flags``), and a grade's colour is that of its ``grade_order`` in the scheme.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from decimal import Decimal
from html import escape
from pathlib import Path

from ttw.errors import TTWError
from ttw.evaluation.data import YearEvaluation

# a colour per grade_order of grade_thresholds (1 = the best grade); a grade past these is drawn grey
GRADE_COLOURS = ("#1a7f37", "#4c9be8", "#d4a72c", "#cf222e")
OTHER_GRADE_COLOUR = "#8c959f"
GAP_MARK = "⚠ 核验差异"
GAP_NOTE = (
    "⚠ 核验差异：中心自报的技术合同数、成交额、本地转化成果数或本地转化金额与技术合同登记数据相差超过 20%"
    "（差额 = 报送值 \u2212 登记值）\uff1b取值依据为“取较低值”的指标按两者中较低者计分。"
)


def colour(grade_order: int | None) -> str:
    """The colour of the grade with this grade_order."""
    if grade_order is not None and 1 <= grade_order <= len(GRADE_COLOURS):
        return GRADE_COLOURS[grade_order - 1]
    return OTHER_GRADE_COLOUR


STYLE = """
body { font-family: "Noto Sans CJK SC", "Noto Sans SC", "Microsoft YaHei", sans-serif; margin: 2rem;
  color: #1f2328; line-height: 1.45; }
h1 { font-size: 1.6rem; margin-bottom: .3rem; } h2 { font-size: 1.25rem; margin-top: 2rem;
  border-bottom: 2px solid #d0d7de; } h3 { font-size: 1.05rem; margin-top: 1.4rem; }
.meta { color: #57606a; font-size: .85rem; margin-top: 0; }
figure { margin: 1rem 0; } figcaption { font-weight: bold; margin-bottom: .3rem; }
svg.chart { max-width: 100%; height: auto; }
table { border-collapse: collapse; font-size: .82rem; margin: .5rem 0; }
td, th { border: 1px solid #d0d7de; padding: .2rem .45rem; vertical-align: top; }
th { background: #f6f8fa; } td.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
table.detail td, table.detail th { white-space: nowrap; } table.detail td.wrap { white-space: normal;
  word-break: break-all; font-size: .72rem; min-width: 7rem; }
td.date { white-space: nowrap; }
tr.gap td { background: #fff4ce; } .mark { color: #9a6700; font-weight: bold; white-space: nowrap; }
.outcome-retained { color: #1a7f37; font-weight: bold; } .outcome-removed { color: #cf222e; font-weight: bold; }
.legend span { display: inline-block; margin-right: 1rem; } .note { font-size: .82rem; color: #57606a; }
span.date { white-space: nowrap; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
nav ol { columns: 2; font-size: .9rem; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { margin: 0; font-size: 10pt; }
  section { break-before: page; } section.first { break-before: auto; }
  h2, h3 { break-after: avoid; } figure, svg.chart { break-inside: avoid; }
  tr, td, th { break-inside: avoid; } thead { display: table-header-group; } tfoot { display: table-footer-group; }
  a { color: inherit; text-decoration: none; } nav { display: none; }
  table { font-size: 8pt; width: 100%; } table.kv { width: auto; min-width: 60%; }
}
"""


# --- numbers and cells -------------------------------------------------------------------


def score(value: object) -> str:
    """A score, a score change or points: always 2 decimals."""
    return "—" if value is None else f"{float(value):.2f}"


def number(value: object) -> str:
    """A figure as reported: whole numbers without decimals, others with 2."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, int) or (isinstance(value, Decimal) and value == value.to_integral_value()):
        return f"{int(value):,}"
    if isinstance(value, Decimal | float):
        return f"{float(value):,.2f}"
    return str(value)


class Num(str):
    """A cell shown right-aligned (already formatted)."""


class Raw(str):
    """A cell of trusted HTML (built here from escaped parts)."""


class Wrap(str):
    """A long text cell that may break anywhere (file names, notes)."""


def _td(value: object) -> str:
    if isinstance(value, Raw):
        return f"<td>{value}</td>"
    if isinstance(value, Num):
        return f'<td class="num">{escape(value)}</td>'
    if isinstance(value, Wrap):
        return f'<td class="wrap">{escape(value)}</td>'
    if value is None or value == "":
        return "<td></td>"
    if isinstance(value, bool):
        return f"<td>{'是' if value else '否'}</td>"
    if isinstance(value, int | float | Decimal):
        return f'<td class="num">{escape(number(value))}</td>'
    return f"<td>{escape(str(value))}</td>"


def _table(headers: list[str], rows: list[list], row_classes: list[str] | None = None, cls: str = "") -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        (f'<tr class="{row_classes[i]}">' if row_classes and row_classes[i] else "<tr>")
        + "".join(_td(v) for v in row)
        + "</tr>"
        for i, row in enumerate(rows)
    )
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _link(text: str, href: str | None) -> Raw:
    return Raw(f'<a href="{escape(href)}">{escape(text)}</a>' if href else escape(text))


# --- charts ------------------------------------------------------------------------------


def _svg(chart: str, width: int, height: int, body: list[str], title: str) -> str:
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f'<svg class="chart" data-chart="{chart}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        + "".join(body)
        + "</svg></figure>"
    )


def _text(x: float, y: float, text: object, anchor: str = "start", size: int = 12, fill: str = "#1f2328") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}">'
        f"{escape(str(text))}</text>"
    )


def _line(x1: float, y1: float, x2: float, y2: float, stroke: str = "#1f2328", dash: str = "") -> str:
    extra = f' stroke-dasharray="{dash}"' if dash else ""
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="{stroke}"{extra}/>'


def _count_ticks(top: int) -> list[int]:
    step = max(1, -(-top // 5))
    return list(range(0, top + step, step))


def _x_axis(left: float, right: float, y: float, ticks: list[float], top: float, label: str, fmt=str) -> list[str]:
    """A horizontal value axis under a bar chart: line, ticks with labels, grid lines, title."""
    body = [_line(left, y, right, y)]
    for tick in ticks:
        x = left + (right - left) * tick / top
        body.append(_line(x, y, x, y + 4))
        body.append(_text(x, y + 16, fmt(tick), "middle", 10))
    body.append(_text((left + right) / 2, y + 31, label, "middle", 11, "#57606a"))
    return body


def histogram(scores: list[float], title: str) -> str:
    """Centers per 10-point band of the total score, with both axes labelled."""
    bands = Counter(min(int(s // 10), 9) for s in scores)
    width, height, left, bottom, top_pad = 660, 290, 48, 48, 22
    ticks = _count_ticks(max(bands.values(), default=1))
    top = ticks[-1]
    plot = height - bottom - top_pad
    bar = (width - left - 10) / 10
    body = [_line(left, top_pad, left, height - bottom), _line(left, height - bottom, width - 10, height - bottom)]
    for tick in ticks:
        y = height - bottom - plot * tick / top
        body.append(_line(left - 4, y, left, y))
        body.append(_line(left, y, width - 10, y, "#eaeef2"))
        body.append(_text(left - 7, y + 4, tick, "end", 10))
    for band in range(10):
        count = bands.get(band, 0)
        h = plot * count / top
        x, y = left + band * bar, height - bottom - h
        label = f"{band * 10}\u2013{band * 10 + 10}"
        body.append(
            f'<rect x="{x + 3:.1f}" y="{y:.1f}" width="{bar - 6:.1f}" height="{h:.1f}" fill="#4c9be8">'
            f"<title>{label}: {count}</title></rect>"
        )
        body.append(_text(x + bar / 2, height - bottom + 15, label, "middle", 10))
        if count:
            body.append(_text(x + bar / 2, y - 4, count, "middle", 11))
    body.append(
        _text((left + width) / 2, height - 8, "总分区间（分\uff1b90\u2013100 含 100）", "middle", 11, "#57606a")
    )
    body.append(_text(6, 12, "中心数", size=11, fill="#57606a"))
    return _svg("score-distribution", width, height, body, title)


def stacked_grades(groups: dict[str, Counter], grades: list[dict], chart: str, title: str) -> str:
    """One horizontal bar per group, split by grade (``grades``: rpt_center_grade_counts rows,
    best first), each segment and the total labelled."""
    width, row, left, right = 660, 26, 150, 620
    height = row * len(groups) + 56
    ticks = _count_ticks(max((sum(c.values()) for c in groups.values()), default=1))
    top = ticks[-1]
    scale = (right - left) / top
    body = []
    for tick in ticks:
        x = left + tick * scale
        body.append(_line(x, 6, x, 10 + row * len(groups), "#eaeef2"))
    for i, (label, counts) in enumerate(sorted(groups.items())):
        y, x = 10 + i * row, left
        body.append(_text(left - 6, y + row * 0.62, label, "end", 11))
        for graded in grades:
            grade = graded["grade"]
            n = counts.get(grade, 0)
            w = n * scale
            if w:
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row - 7}" '
                    f'fill="{colour(graded["grade_order"])}"><title>{escape(label)} {grade}: {n}</title></rect>'
                )
                if w >= 14:
                    body.append(_text(x + w / 2, y + row * 0.58, n, "middle", 10, "#ffffff"))
                x += w
        body.append(_text(x + 4, y + row * 0.62, f"共 {sum(counts.values())}", size=10))
    body += _x_axis(left, right, 10 + row * len(groups), ticks, top, "中心数")
    return _svg(chart, width, height, body, title)


def tie_groups(rows: list[dict]) -> list[list[dict]]:
    """Consecutive centers (in rank order) with the same total score: one group per rank."""
    groups: list[list[dict]] = []
    for row in rows:
        if groups and score(groups[-1][0]["total_score"]) == score(row["total_score"]):
            groups[-1].append(row)
        else:
            groups.append([row])
    return groups


def ranked_groups(rows: list[dict], n: int = 10, *, bottom: bool = False) -> list[list[dict]]:
    """Whole rank groups covering the first (or last) ``n`` centers: a tie is never cut."""
    groups = tie_groups(rows)
    if bottom:
        groups.reverse()
    taken, covered = [], 0
    for group in groups:
        if covered >= n:
            break
        taken.append(group)
        covered += len(group)
    return list(reversed(taken)) if bottom else taken


def tie_caption(groups: list[list[dict]]) -> str:
    ties = [f"{len(g)} 个中心并列第 {g[0]['overall_rank']} 名" for g in groups if len(g) > 1]
    return "\uff1b".join(ties)


def ranked_bars(groups: list[list[dict]], chart: str, title: str) -> str:
    """Total scores as horizontal bars on a 0-100 axis, a bar per rank; tied centers share one bar."""
    width, row, left, right = 760, 24, 390, 700
    height = row * len(groups) + 56
    scale = (right - left) / 100
    body = [_line(left + t * scale, 6, left + t * scale, 10 + row * len(groups), "#eaeef2") for t in range(0, 101, 20)]
    for i, group in enumerate(groups):
        first = group[0]
        y, value = 10 + i * row, float(first["total_score"])
        rank = first["overall_rank"]
        name = f"第{rank}名 {first['center_name']}" if len(group) == 1 else f"第{rank}名 并列 {len(group)} 个中心"
        if len(name) > 34:
            name = name[:33] + "…"
        names = "、".join(c["center_name"] for c in group)
        body.append(_text(left - 6, y + row * 0.62, name, "end", 11))
        body.append(
            f'<rect x="{left}" y="{y:.1f}" width="{value * scale:.1f}" height="{row - 7}" '
            f'fill="{colour(first["grade_order"])}"><title>{escape(names)}: {score(value)}</title></rect>'
        )
        label = score(value) if len(group) == 1 else f"{len(group)} 个中心 · {score(value)}"
        body.append(_text(left + value * scale + 4, y + row * 0.62, label, size=11))
    body += _x_axis(left, right, 10 + row * len(groups), list(range(0, 101, 20)), 100, "总分")
    return _svg(chart, width, height, body, title)


def movement(rows: list[dict], title: str) -> str:
    """Last year's total against this year's, one dot per center; above the diagonal = up."""
    size, pad = 400, 48
    scale = (size - 2 * pad) / 100
    low, high = size - pad, pad
    body = [
        _line(pad, low, size - pad, high, "#8c959f", "4 4"),
        _line(pad, low, size - pad, low),
        _line(pad, high, pad, low),
    ]
    for tick in range(0, 101, 20):
        at = pad + tick * scale
        body += [_line(at, low, at, low + 4), _text(at, low + 16, tick, "middle", 10)]
        y = low - tick * scale
        body += [_line(pad - 4, y, pad, y), _text(pad - 7, y + 4, tick, "end", 10)]
    body.append(_text(size / 2, size - 8, "上年总分", "middle", 11, "#57606a"))
    body.append(_text(8, pad - 16, "本年总分（对角线以上 = 进步）", size=11, fill="#57606a"))
    for center in rows:
        before, now = float(center["previous_total_score"]), float(center["total_score"])
        x, y = pad + before * scale, low - now * scale
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour(center["grade_order"])}" fill-opacity="0.8">'
            f"<title>{escape(center['center_name'])}: {score(before)} → {score(now)}</title></circle>"
        )
    return _svg("year-on-year", size, size, body, title)


def indicator_chart(scores: list[dict]) -> str:
    width, row, left, right = 660, 22, 200, 600
    height = row * len(scores) + 56
    scale = (right - left) / 100
    body = [_line(left + t * scale, 6, left + t * scale, 10 + row * len(scores), "#eaeef2") for t in range(0, 101, 20)]
    for i, s in enumerate(scores):
        y, value = 10 + i * row, float(s["normalized_score"] or 0)
        body.append(_text(left - 6, y + row * 0.65, s["indicator_name"], "end", 11))
        body.append(
            f'<rect x="{left}" y="{y:.1f}" width="{value * scale:.1f}" height="{row - 6}" fill="#4c9be8">'
            f"<title>{escape(s['indicator_name'])}: {score(value)}</title></rect>"
        )
        body.append(_text(left + value * scale + 4, y + row * 0.65, score(value), size=10))
    body += _x_axis(left, right, 10 + row * len(scores), list(range(0, 101, 20)), 100, "标准化得分（0\u2013100）")
    return _svg("indicator-scores", width, height, body, "指标标准化得分")


def history_chart(history: list[dict]) -> str:
    step, left, top_pad, plot = 90, 50, 24, 200
    width = max(300, left + step * len(history) + 20)
    bottom = top_pad + plot
    body = [_line(left, top_pad, left, bottom), _line(left, bottom, width - 10, bottom)]
    for tick in range(0, 101, 20):
        y = bottom - plot * tick / 100
        body += [
            _line(left - 4, y, left, y),
            _line(left, y, width - 10, y, "#eaeef2"),
            _text(left - 7, y + 4, tick, "end", 10),
        ]
    points = []
    for i, h in enumerate(history):
        x, y = left + step / 2 + i * step, bottom - plot * float(h["total_score"]) / 100
        points.append((x, y, h))
    if points:
        coords = " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        body.append(f'<polyline points="{coords}" fill="none" stroke="#4c9be8" stroke-width="2"/>')
    for x, y, h in points:
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour(h["grade_order"])}">'
            f"<title>{h['evaluation_year']}: {score(h['total_score'])}</title></circle>"
        )
        body.append(_text(x, y - 9, f"{score(h['total_score'])} {h['grade']}", "middle", 10))
        body.append(_text(x, bottom + 16, h["evaluation_year"], "middle", 11))
    body.append(_text(6, 14, "总分", size=11, fill="#57606a"))
    return _svg("score-history", width, bottom + 30, body, "历年总分与等级")


def _legend(grades: list[dict]) -> str:
    return (
        '<p class="legend">'
        + "".join(
            f'<span><i class="swatch" style="background:{colour(g["grade_order"])}"></i>{g["grade"]}</span>'
            for g in grades
        )
        + "</p>"
    )


# --- pages -------------------------------------------------------------------------------


def _meta(evaluation: YearEvaluation) -> str:
    source = evaluation.provenance
    parts = [
        f"数据截至 {source.as_of_text()}",
        f"构建编号 {source.build_id or '—'}",
        f"发布于 {source.published_text()}",
        f"评价方案 {'、'.join(evaluation.scheme_versions()) or '—'} 版",
    ]
    if source.frozen is not None:
        parts.append("结果已冻结" if source.frozen else "结果未冻结（重新构建后可能变化）")
    return f'<p class="meta">{escape(" · ".join(parts))}</p>'


def _page(title: str, meta: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f'<meta name="viewport" content="width=device-width"><title>{escape(title)}</title>'
        f"<style>{STYLE}</style></head>"
        f"<body><header><h1>{escape(title)}</h1>{meta}</header>{body}</body></html>"
    )


def _section(anchor: str, title: str, body: str, first: bool = False, *, flow: bool = False) -> str:
    """A section; printed from a new page unless ``first`` or ``flow`` (it follows the one before)."""
    cls = ' class="first"' if first or flow else ""
    return f'<section id="{anchor}"{cls}><h2>{escape(title)}</h2>{body}</section>'


def _outcome(row: dict) -> Raw:
    cls = "outcome-retained" if row["stays_in_system"] else "outcome-removed"
    return Raw(f'<span class="{cls}">{escape(row["outcome_zh"])}</span>')


def _rank(row: dict) -> Raw:
    mark = f' <span class="mark">{GAP_MARK}</span>' if row["has_verification_gap"] else ""
    return Raw(f"{row['overall_rank']}{mark}")


def _center_href(code: str, pages: set[str] | None, prefix: str = "centers/") -> str | None:
    return f"{prefix}{code}.html" if pages is None or code in pages else None


def comprehensive_section(evaluation: YearEvaluation, pages: set[str] | None) -> str:
    rows = evaluation.comprehensive
    if not rows:
        return _section(
            "comprehensive",
            "一、建设期届满综合评价",
            f"<p>{evaluation.year} 年没有中心的建设期届满，本年度无综合评价。</p>",
            first=True,
        )
    figures = evaluation.summary
    intro = (
        f"<p>{evaluation.year} 年共有 {figures['build_periods_ending']} 个中心建设期届满："
        f"{figures['retained']} 个保留，"
        f"{figures['not_admitted']} 个不予纳入。综合得分为建设期内各年度总分的平均值\uff1b"
        "综合等级合格及以上的中心保留，否则不予纳入。</p>"
    )
    table = _table(
        [
            "中心编号",
            "中心名称",
            "所在区市",
            "建设期",
            "评价年数",
            "年度等级",
            "综合得分",
            "最低年度得分",
            "综合等级",
            "不合格年数",
            "结论",
        ],
        [
            [
                r["center_code"],
                _link(r["center_name"], _center_href(r["center_code"], pages)),
                r["district_name"] or r["district_code"],
                Raw(f'<span class="date">{r["build_start"]}</span> 至 <span class="date">{r["build_end"]}</span>'),
                r["years_evaluated"],
                r["annual_grades"],
                Num(score(r["combined_score"])),
                Num(score(r["lowest_annual_score"])),
                r["combined_grade"],
                r["unqualified_years"],
                _outcome(r),
            ]
            for r in rows
        ],
    )
    return _section("comprehensive", "一、建设期届满综合评价", intro + table, first=True)


def summary_section(evaluation: YearEvaluation) -> str:
    centers = evaluation.centers
    scores = [float(c["total_score"]) for c in centers]
    by_district: dict[str, Counter] = defaultdict(Counter)
    by_industry: dict[str, Counter] = defaultdict(Counter)
    for center in centers:
        by_district[center["district_name"] or center["district_code"]][center["grade"]] += 1
        by_industry[center["industry"]][center["grade"]] += 1
    moved = [c for c in centers if c["previous_total_score"] is not None]
    figures = evaluation.summary
    graded = evaluation.graded()
    summary = (
        f"<p>{figures['centers_graded']} 个中心参评（另有 {figures['new_centers']} 个新建中心不参评）· "
        f"平均分 {score(figures['average_score'])} · "
        + " · ".join(f"{g['grade']} {g['centers']}" for g in graded)
        + f" · 未报送年报 {figures['missing_reports']} · 核验差异 {figures['verification_gaps']}"
        + f" · 限期整改 {figures['rectifications']} · 建议撤销 {figures['removal_recommendations']}"
        + f" · 撤销后仍在名单 {figures['listed_after_removal']}</p>"
    )
    top, bottom = ranked_groups(centers), ranked_groups(centers, bottom=True)
    top_title = "前十名（按排名" + (f"\uff1b{tie_caption(top)}" if tie_caption(top) else "") + "）"
    bottom_title = "后十名（按排名" + (f"\uff1b{tie_caption(bottom)}" if tie_caption(bottom) else "") + "）"
    parts = [
        summary,
        _legend(graded),
        histogram(scores, "总分分布"),
        stacked_grades(by_district, graded, "grades-by-district", "各区市等级分布"),
        stacked_grades(by_industry, graded, "grades-by-industry", "各产业领域等级分布"),
        ranked_bars(top, "top-centers", top_title),
        ranked_bars(bottom, "bottom-centers", bottom_title),
        movement(moved, "与上年相比") if moved else "<p>无上年评价可比较。</p>",
    ]
    return _section("summary", "二、年度评价概况", "".join(parts))


def ranking_section(evaluation: YearEvaluation, pages: set[str] | None) -> str:
    rows = evaluation.centers
    table = _table(
        [
            "排名",
            "中心名称",
            "所在区市",
            "产业领域",
            "总分",
            "等级",
            "领域内排名",
            "上年总分",
            "变化",
            "年度结论",
            "名单核对",
        ],
        [
            [
                _rank(c),
                _link(c["center_name"], _center_href(c["center_code"], pages)),
                c["district_name"] or c["district_code"],
                c["industry"],
                Num(score(c["total_score"])),
                c["grade"],
                c["industry_rank"],
                Num(score(c["previous_total_score"])),
                Num(score(c["score_change"])),
                c["annual_outcome_zh"],
                f"⚠ {c['removed_in_year']} 年已撤销，仍在名单" if c["is_listed_after_removal"] else "",
            ]
            for c in rows
        ],
        ["gap" if c["has_verification_gap"] else "" for c in rows],
    )
    note = f'<p class="note">{escape(GAP_NOTE)} 总分相同的中心并列同一名次。点击中心名称查看其评价页面。</p>'
    return _section("ranking", "三、年度排名（各中心页面索引）", table + note)


def new_centers_section(evaluation: YearEvaluation) -> str:
    rows = evaluation.new_centers
    if not rows:
        return _section("new-centers", "四、新建中心（不参评）", "<p>本年度没有新建中心。</p>")
    cutoff = rows[0]["cutoff_date"]
    intro = (
        f"<p>以下 {len(rows)} 个中心本年度列入名单，但于认定截止日 {cutoff} 之后批准，列为新建，不参评、不排名。</p>"
    )
    table = _table(
        ["中心编号", "中心名称", "依托单位", "所在区市", "产业领域", "批准日期", "建设期", "状态"],
        [
            [
                r["center_code"],
                r["center_name"],
                r["host_org_name"],
                r["district_name"] or r["district_code"],
                r["industry"],
                str(r["approved_on"]),
                f"{r['build_start']} 至 {r['build_end']}",
                r["status_zh"],
            ]
            for r in rows
        ],
    )
    return _section("new-centers", "四、新建中心（不参评）", intro + table)


def grade_rule(evaluation: YearEvaluation) -> str:
    """The grades of the year's scheme and the score each needs, best first, as the seed
    grade_thresholds gives them (through rpt_center_grade_counts): 等级：优秀 ≥ 90，…，不合格 < 60。"""
    by_scheme: dict[str, list[dict]] = defaultdict(list)
    for row in evaluation.grade_counts:
        by_scheme[str(row["scheme_version"])].append(row)
    rules = []
    for version, rows in sorted(by_scheme.items(), key=lambda item: (len(item[0]), item[0])):  # 9 before 10
        rows.sort(key=lambda row: row["grade_order"])
        terms = [f"{row['grade']} ≥ {_threshold(row['min_score'])}" for row in rows]
        if len(rows) > 1 and not rows[-1]["min_score"]:  # the lowest grade: whatever is below the next
            terms[-1] = f"{rows[-1]['grade']} < {_threshold(rows[-2]['min_score'])}"
        rules.append(("" if len(by_scheme) == 1 else f"{version} 版 ") + "，".join(terms))
    return "等级：" + "\uff1b".join(rules) + "。" if rules else ""


def _threshold(score) -> str:
    """A min_score as the rule states it: 90, 92.5 (the mart's numeric(6,2) holds 92.50)."""
    return format(Decimal(str(score)).normalize(), "f")


def method_section(evaluation: YearEvaluation) -> str:
    source = evaluation.provenance
    items = [
        f"评价方案版本：{'、'.join(evaluation.scheme_versions()) or '—'}"
        "（指标、权重与计分方法见 docs/evaluation.md）。",
        "每个指标得分 0\u2013100：基准法为计分值 ÷ 基准值 \u00d7 100（基准值为参评中心该指标的分位数），"
        "目标法为计分值 ÷ 目标值 \u00d7 100，均以 100 封顶\uff1b"
        "加权得分 = 得分 \u00d7 权重 ÷ 100\uff1b总分为各指标加权得分之和。",
        f"{grade_rule(evaluation)}总分相同者并列同一名次。分数均保留两位小数。",
        "年度结论：不合格为限期整改\uff1b连续两年不合格为建议撤销。"
        "综合评价：建设期内各年度总分的平均值，综合等级合格及以上保留，否则不予纳入。",
        GAP_NOTE,
        f"数据截至 {source.as_of_text()}：发布的构建所读取的载入批次中最晚的载入时间。"
        f"构建编号 {source.build_id or '—'}，发布于 {source.published_text()}。",
    ]
    return _section("method", "五、方法说明", "<ul>" + "".join(f"<li>{escape(i)}</li>" for i in items) + "</ul>")


def flags_appendix(evaluation: YearEvaluation, pages: set[str] | None) -> str:
    rows = evaluation.flagged
    table = _table(
        ["中心编号", "中心名称", "总分", "等级", "年度结论", "未报送", "核验差异", "撤销后仍在名单", "重报缺少的指标"],
        [
            [
                c["center_code"],
                _link(c["center_name"], _center_href(c["center_code"], pages)),
                Num(score(c["total_score"])),
                c["grade"],
                c["annual_outcome_zh"],
                "是" if c["is_missing_report"] else "",
                f"⚠ {c['verification_gap_count']} 项" if c["has_verification_gap"] else "",
                f"是（{c['removed_in_year']} 年）" if c["is_listed_after_removal"] else "",
                c["dropped_indicators"] or "",
            ]
            for c in rows
        ],
    )
    intro = f"<p>{len(rows)} 个中心有预警、年度结论或名单核对问题。</p>" if rows else "<p>本年度无预警。</p>"
    return _section("appendix-flags", "附录：预警明细", intro + (table if rows else ""))


def year_page(evaluation: YearEvaluation, pages: set[str] | None = None) -> str:
    """The year report; ``pages``: the center codes whose page is written (None: all)."""
    toc = (
        "<nav><ol>"
        + "".join(
            f'<li><a href="#{a}">{t}</a></li>'
            for a, t in (
                ("comprehensive", "建设期届满综合评价"),
                ("summary", "年度评价概况"),
                ("ranking", "年度排名"),
                ("new-centers", "新建中心"),
                ("method", "方法说明"),
                ("appendix-flags", "附录：预警明细"),
            )
        )
        + "</ol></nav>"
    )
    body = (
        toc
        + comprehensive_section(evaluation, pages)
        + summary_section(evaluation)
        + ranking_section(evaluation, pages)
        + new_centers_section(evaluation)
        + method_section(evaluation)
        + flags_appendix(evaluation, pages)
    )
    return _page(f"{evaluation.year} 年度技术创新中心绩效评价报告", _meta(evaluation), body)


# --- the center page -----------------------------------------------------------------------

CHANGE_TYPES = {"added": "新增", "dropped": "删除", "changed": "修改"}


def _where(file: str | None, cell: str | None) -> Wrap:
    return Wrap(" ".join(part for part in (file, cell) if part))


def _achievements(rows: list[dict]) -> str:
    if not rows:
        return "<p>年报未列重大成果。</p>"
    return _table(
        ["序号", "成果名称", "类型", "完成时间", "说明", "单元格"],
        [
            [
                r["item_order"],
                r["achievement_name"],
                r["achievement_type"],
                r["completed_period"],
                r["note"],
                r["source_cell"],
            ]
            for r in rows
        ],
    )


def _plans(rows: list[dict]) -> str:
    if not rows:
        return "<p>年报未列问题与计划。</p>"
    return _table(["序号", "内容", "单元格"], [[r["item_order"], r["plan_text"], r["source_cell"]] for r in rows])


def _sharing(rows: list[dict]) -> str:
    if not rows:
        return "<p>无该中心本年度的仪器共享数据。</p>"
    r = rows[0]
    table = _table(
        ["大型仪器数", "有效机时", "对外共享机时", "共享率（%）", "说明", "来源"],
        [
            [
                r["large_instruments"],
                r["effective_machine_hours"],
                r["shared_machine_hours"],
                Num(score(r["sharing_rate_pct"])),
                r["note_zh"] or "",
                _where(r["report_file"], r["large_instruments_cell"]),
            ]
        ],
    )
    note = f"<p><strong>{escape(r['note_zh'])}</strong></p>" if r["note_zh"] else ""
    return note + table


def _changes(rows: list[dict]) -> str:
    if not rows:
        return "<p>本年度年报未重报，或重报未改变任何数据。</p>"
    first = rows[0]
    intro = (
        f"<p>本年度年报第 {first['current_version_number']} 版（{escape(str(first['current_file']))}）"
        f"与第 {first['previous_version_number']} 版相比，{len(rows)} 项数据不同。</p>"
    )
    return intro + _table(
        ["指标", "单位", "上一版", "本版", "变化", "类型", "上一版单元格", "本版单元格"],
        [
            [
                r["indicator_name"],
                r["unit"],
                r["previous_value"],
                r["current_value"],
                r["change"],
                CHANGE_TYPES.get(r["change_type"], r["change_type"]),
                r["previous_cell"],
                r["current_cell"],
            ]
            for r in rows
        ],
    )


def center_page(
    evaluation: YearEvaluation,
    code: str,
    *,
    indicators: dict[str, list[dict]] | None = None,
    history: dict[str, list[dict]] | None = None,
) -> str:
    """One center's page; ``indicators``/``history``: the year's rows grouped by center (once for all pages)."""
    center = next((c for c in evaluation.centers if c["center_code"] == code), None)
    if center is None:
        raise TTWError(f"center {code} was not graded in {evaluation.year}")
    scores = (indicators or evaluation.by_center(evaluation.indicators)).get(code, [])
    past = (history or evaluation.by_center(evaluation.history)).get(code, [])
    narrative = {key: rows.get(code, []) for key, rows in evaluation.narrative.items()}
    back = f'<p><a href="../centers_{evaluation.year}.html">返回 {evaluation.year} 年度报告</a></p>'

    cross_check = (
        f"⚠ {center['removed_in_year']} 年的评价已决定撤销（或不予纳入），本年名单仍列入，请核对"
        if center["is_listed_after_removal"]
        else "无冲突"
    )
    overview = _table(
        ["项目", "内容"],
        [
            ["中心编号", center["center_code"]],
            ["依托单位", center["host_org_name"]],
            ["所在区市", center["district_name"] or center["district_code"]],
            ["产业领域", center["industry"]],
            ["状态", center["status"]],
            ["批准日期", str(center["approved_on"] or "—")],
            ["建设期", f"{center['build_start']} 至 {center['build_end']}"],
            ["处于建设期", center["is_in_build_period"]],
            ["总分", Num(score(center["total_score"]))],
            ["等级", center["grade"]],
            ["排名", _rank(center)],
            ["领域内排名", center["industry_rank"]],
            ["上年总分 / 等级", f"{score(center['previous_total_score'])} / {center['previous_grade'] or '—'}"],
            ["分数变化", Num(score(center["score_change"]))],
            ["年度结论", center["annual_outcome_zh"]],
            ["名单核对", cross_check],
        ],
        cls="kv",
    )
    parts = [back, _section("overview", "概况", overview, first=True)]

    comprehensive = evaluation.comprehensive_of(code)
    if comprehensive:
        parts.append(
            _section(
                "comprehensive",
                "建设期届满综合评价",
                _table(
                    ["建设期", "年度等级", "综合得分", "最低年度得分", "综合等级", "不合格年数", "结论"],
                    [
                        [
                            f"{comprehensive['build_start']} 至 {comprehensive['build_end']}",
                            comprehensive["annual_grades"],
                            Num(score(comprehensive["combined_score"])),
                            Num(score(comprehensive["lowest_annual_score"])),
                            comprehensive["combined_grade"],
                            comprehensive["unqualified_years"],
                            _outcome(comprehensive),
                        ]
                    ],
                ),
                flow=True,
            )
        )

    def benchmark(s: dict) -> str:
        if s["normalization"] == "target":
            return f"目标 {number(s['target_value'])}"
        if s["benchmark_value"] is None:
            return "—"
        pct = s["benchmark_percentile"]
        return f"{number(s['benchmark_value'])}" + (f"（P{float(pct) * 100:.0f}）" if pct is not None else "")

    detail = _table(
        [
            "类别",
            "指标",
            "单位",
            "报送值",
            "登记值",
            "差额",
            "取值依据",
            "计分值",
            "计分方法",
            "基准/目标",
            "得分",
            "权重",
            "加权得分",
            "来源",
            "说明",
        ],
        [
            [
                s["category_zh"],
                s["indicator_name"],
                s["unit"],
                s["reported_value"],
                s["registry_verified_value"],
                Raw(f'<span class="mark">⚠ {escape(number(s["verification_gap"]))}</span>')
                if s["has_verification_gap"]
                else Num(number(s["verification_gap"]) if s["verification_gap"] is not None else ""),
                s["value_basis_zh"],
                s["scored_value"],
                s["normalization_zh"],
                Num(benchmark(s)),
                Num(score(s["normalized_score"])),
                s["weight"],
                Num(score(s["contribution"])),
                Wrap(f"{s['report_file']} {s['report_cell'] or ''}".strip() if s["report_file"] else "无年报"),
                Wrap(s["value_note_zh"] or ""),
            ]
            for s in scores
        ],
        ["gap" if s["has_verification_gap"] else "" for s in scores],
        cls="detail",
    )
    total = sum(float(s["contribution"] or 0) for s in scores)
    parts.append(
        _section(
            "indicators",
            "指标得分",
            indicator_chart(scores)
            + detail
            + f'<p class="note">加权得分合计 {score(total)} = 总分 {score(center["total_score"])}。'
            + f"{escape(GAP_NOTE)}</p>",
        )
    )
    parts.append(
        _section(
            "history",
            "历年评价",
            history_chart(past)
            + _table(
                ["年度", "总分", "等级", "排名", "年度结论"],
                [
                    [
                        h["evaluation_year"],
                        Num(score(h["total_score"])),
                        h["grade"],
                        h["overall_rank"],
                        h["annual_outcome_zh"],
                    ]
                    for h in past
                ],
            ),
        )
    )
    flags = [
        ("未报送年报", center["is_missing_report"]),
        (f"核验差异（{center['verification_gap_count']} 项）", center["has_verification_gap"]),
        ("限期整改", center["needs_rectification"]),
        ("建议撤销", center["is_recommended_for_removal"]),
        ("撤销后仍在名单", center["is_listed_after_removal"]),
        (f"重报缺少的指标：{center['dropped_indicators']}", center["has_dropped_indicators"]),
    ]
    raised = [name for name, on in flags if on]
    parts.append(
        _section(
            "flags",
            "预警",
            "<ul>" + "".join(f"<li>{escape(n)}</li>" for n in raised) + "</ul>" if raised else "<p>无预警。</p>",
            flow=True,
        )
    )
    parts.append(
        _section(
            "changes",
            "与上一版年报相比变化的数据",
            _changes(narrative.get("changes", [])),
            flow=True,
        )
    )
    parts.append(
        _section(
            "narrative",
            "年报内容",
            "<h3>重大成果</h3>"
            + _achievements(narrative.get("achievements", []))
            + "<h3>问题与计划</h3>"
            + _plans(narrative.get("plans", [])),
        )
    )
    parts.append(_section("sharing", "大型仪器开放共享", _sharing(narrative.get("sharing", [])), flow=True))
    return _page(f"{center['center_name']} · {evaluation.year} 年度绩效评价", _meta(evaluation), "".join(parts))


def write_report(
    evaluation: YearEvaluation,
    folder: Path,
    centers: str | list[str] | None = "all",
) -> list[Path]:
    """``centers_{year}.html`` in ``folder`` (the first path returned) and a page
    ``centers/{code}.html`` for each of ``centers`` ("all": every graded center; a list of
    codes; None: none).

    One pass: the year's rows are grouped by center once and every page is drawn from them."""
    graded = [c["center_code"] for c in evaluation.centers]
    codes = graded if centers == "all" else list(dict.fromkeys(centers or []))
    unknown = [code for code in codes if code not in graded]
    if unknown:
        raise TTWError(f"center {', '.join(unknown)} was not graded in {evaluation.year}")
    folder.mkdir(parents=True, exist_ok=True)
    year_path = folder / f"centers_{evaluation.year}.html"
    year_path.write_text(year_page(evaluation, set(codes)), encoding="utf-8")
    written = [year_path]
    if codes:
        (folder / "centers").mkdir(exist_ok=True)
        indicators, history = evaluation.by_center(evaluation.indicators), evaluation.by_center(evaluation.history)
        for code in codes:
            path = folder / "centers" / f"{code}.html"
            path.write_text(center_page(evaluation, code, indicators=indicators, history=history), encoding="utf-8")
            written.append(path)
    return written


__all__ = ["center_page", "write_report", "year_page"]
