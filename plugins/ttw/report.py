"""``ttw report centers``: a self-contained HTML report of a year's center evaluation.

One file that opens offline: the styles are inline and every chart is an inline SVG
drawn here (no script, font or stylesheet is fetched). Charts: the score distribution,
grades by district and by industry, the top and bottom centers, and the movement on
the year before. ``center`` adds a page for one center: its indicator scores and its
score over the years.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from html import escape
from pathlib import Path

from ttw.errors import TTWError
from ttw.evaluate import YearEvaluation, plain

# the default scheme's grades (grade_thresholds); a grade a new scheme adds is drawn grey
GRADE_COLOURS = {"优秀": "#1a7f37", "良好": "#4c9be8", "合格": "#d4a72c", "不合格": "#cf222e"}


def colour(grade: str) -> str:
    return GRADE_COLOURS.get(grade, "#8c959f")


STYLE = """
body { font-family: "Noto Sans CJK SC", "Microsoft YaHei", sans-serif; margin: 2rem; color: #1f2328; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
figure { margin: 1rem 0; } figcaption { font-weight: bold; margin-bottom: .3rem; }
table { border-collapse: collapse; font-size: .85rem; } td, th { border: 1px solid #d0d7de; padding: .2rem .5rem; }
td.num { text-align: right; } .legend span { display: inline-block; margin-right: 1rem; }
.swatch { display: inline-block; width: .8rem; height: .8rem; margin-right: .3rem; vertical-align: middle; }
"""


def _svg(chart: str, width: int, height: int, body: list[str], title: str) -> str:
    return (
        f"<figure><figcaption>{escape(title)}</figcaption>"
        f'<svg class="chart" data-chart="{chart}" xmlns="http://www.w3.org/2000/svg" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="{escape(title)}">'
        + "".join(body)
        + "</svg></figure>"
    )


def _text(x: float, y: float, text: object, anchor: str = "start", size: int = 12) -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}">{escape(str(text))}</text>'


def histogram(scores: list[float], title: str) -> str:
    """Centers per 10-point band of the total score."""
    bands = Counter(min(int(score // 10), 9) for score in scores)
    width, height, left, bottom = 640, 260, 40, 30
    top = max(bands.values(), default=1)
    bar = (width - left - 10) / 10
    body = []
    for band in range(10):
        count = bands.get(band, 0)
        h = (height - bottom - 20) * count / top
        x, y = left + band * bar, height - bottom - h
        body.append(
            f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{bar - 4:.1f}" height="{h:.1f}" fill="#4c9be8">'
            f"<title>{band * 10} to {band * 10 + 10}: {count}</title></rect>"
        )
        body.append(_text(x + bar / 2, height - bottom + 15, f"{band * 10}", "middle", 11))
        if count:
            body.append(_text(x + bar / 2, y - 4, count, "middle", 11))
    return _svg("score-distribution", width, height, body, title)


def stacked_grades(groups: dict[str, Counter], grades: list[str], chart: str, title: str) -> str:
    """One horizontal bar per group, split by grade."""
    width, row, left = 640, 24, 190
    height = row * len(groups) + 40
    top = max((sum(c.values()) for c in groups.values()), default=1)
    scale = (width - left - 40) / top
    body = []
    for i, (label, counts) in enumerate(sorted(groups.items())):
        y, x = 10 + i * row, left
        body.append(_text(left - 6, y + row * 0.65, label, "end"))
        for grade in grades:
            w = counts.get(grade, 0) * scale
            if w:
                body.append(
                    f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{row - 6}" '
                    f'fill="{colour(grade)}"><title>{escape(label)} {grade}: {counts[grade]}</title></rect>'
                )
                x += w
        body.append(_text(x + 4, y + row * 0.65, sum(counts.values()), size=11))
    return _svg(chart, width, height, body, title)


def ranked_bars(rows: list[dict], chart: str, title: str) -> str:
    """Centers' total scores as horizontal bars, in the order given."""
    width, row, left = 640, 22, 300
    height = row * len(rows) + 20
    scale = (width - left - 50) / 100
    body = []
    for i, center in enumerate(rows):
        y, score = 10 + i * row, float(center["total_score"])
        body.append(_text(left - 6, y + row * 0.65, f"{center['center_name']}", "end", 11))
        body.append(
            f'<rect x="{left}" y="{y:.1f}" width="{score * scale:.1f}" height="{row - 6}" '
            f'fill="{colour(center["grade"])}"><title>{escape(center["center_code"])}: {score}</title></rect>'
        )
        body.append(_text(left + score * scale + 4, y + row * 0.65, f"{score:.1f}", size=11))
    return _svg(chart, width, height, body, title)


def movement(rows: list[dict], title: str) -> str:
    """Last year's total against this year's, one dot per center; above the line = up."""
    size, pad = 360, 36
    scale = (size - 2 * pad) / 100
    body = [
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{pad}" stroke="#8c959f" stroke-dasharray="4 4"/>',
        f'<line x1="{pad}" y1="{size - pad}" x2="{size - pad}" y2="{size - pad}" stroke="#1f2328"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{size - pad}" stroke="#1f2328"/>',
        _text(size / 2, size - 6, "上年总分 last year", "middle", 11),
        _text(10, pad - 12, "本年 this year", size=11),
    ]
    for center in rows:
        before, now = float(center["previous_total_score"]), float(center["total_score"])
        x, y = pad + before * scale, size - pad - now * scale
        body.append(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" fill="{colour(center["grade"])}" fill-opacity="0.8">'
            f"<title>{escape(center['center_code'])}: {before} → {now}</title></circle>"
        )
    return _svg("year-on-year", size, size, body, title)


def _legend(grades: list[str]) -> str:
    return (
        '<p class="legend">'
        + "".join(f'<span><i class="swatch" style="background:{colour(g)}"></i>{g}</span>' for g in grades)
        + "</p>"
    )


def _table(headers: list[str], rows: list[list]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td class="num">{value}</td>' if isinstance(value, int | float) else f"<td>{escape(str(value))}</td>"
            for value in (plain(v) if v is not None else "" for v in row)
        )
        + "</tr>"
        for row in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{STYLE}</style></head>"
        f"<body><h1>{escape(title)}</h1>{body}</body></html>"
    )


def year_page(evaluation: YearEvaluation) -> str:
    centers = evaluation.centers
    scores = [float(c["total_score"]) for c in centers]
    by_district: dict[str, Counter] = defaultdict(Counter)
    by_industry: dict[str, Counter] = defaultdict(Counter)
    for center in centers:
        by_district[center["district_name"] or center["district_code"]][center["grade"]] += 1
        by_industry[center["industry"]][center["grade"]] += 1
    moved = [c for c in centers if c["previous_total_score"] is not None]
    grades = Counter(c["grade"] for c in centers)
    summary = (
        f"<p>{len(centers)} 个中心参评 · 平均分 {sum(scores) / len(scores):.1f} · "
        + " · ".join(f"{g} {grades[g]}" for g in evaluation.grades())
        + f" · 未报送年报 {sum(1 for c in centers if c['is_missing_report'])}"
        + f" · 建议撤销 {sum(1 for c in centers if c['is_recommended_for_removal'])}</p>"
    )
    parts = [
        summary,
        _legend(evaluation.grades()),
        histogram(scores, "总分分布 Score distribution"),
        stacked_grades(by_district, evaluation.grades(), "grades-by-district", "各区市等级分布 Grades by district"),
        stacked_grades(by_industry, evaluation.grades(), "grades-by-industry", "各产业领域等级分布 Grades by industry"),
        ranked_bars(centers[:10], "top-centers", "前十名 Top 10"),
        ranked_bars(centers[-10:], "bottom-centers", "后十名 Bottom 10"),
        movement(moved, "与上年相比 Year-on-year movement")
        if moved
        else "<p>No evaluation of the year before to compare with.</p>",
        "<h2>预警 Flags</h2>",
        _table(
            ["中心编号", "中心名称", "总分", "等级", "未报送", "核验差异", "需整改", "建议撤销", "重报缺少的指标"],
            [
                [
                    c["center_code"],
                    c["center_name"],
                    c["total_score"],
                    c["grade"],
                    "是" if c["is_missing_report"] else "",
                    c["verification_gap_count"] or "",
                    "是" if c["needs_rectification"] else "",
                    "是" if c["is_recommended_for_removal"] else "",
                    c["dropped_indicators"] or "",
                ]
                for c in evaluation.flagged()
            ],
        ),
    ]
    return _page(f"{evaluation.year} 年度技术创新中心绩效评价", "".join(parts))


def center_page(evaluation: YearEvaluation, code: str) -> str:
    center = next((c for c in evaluation.centers if c["center_code"] == code), None)
    if center is None:
        raise TTWError(f"center {code} was not evaluated in {evaluation.year}")
    scores = [row for row in evaluation.indicators if row["center_code"] == code]
    history = [row for row in evaluation.history if row["center_code"] == code]
    width, row_height, left = 640, 22, 220
    bars = []
    for i, score in enumerate(scores):
        y, value = 10 + i * row_height, float(score["normalized_score"])
        bars.append(_text(left - 6, y + row_height * 0.65, score["indicator_name"], "end", 11))
        bars.append(
            f'<rect x="{left}" y="{y:.1f}" width="{value * (width - left - 50) / 100:.1f}" '
            f'height="{row_height - 6}" fill="#4c9be8"><title>{value}</title></rect>'
        )
        bars.append(_text(left + value * (width - left - 50) / 100 + 4, y + row_height * 0.65, f"{value:.0f}", size=11))
    indicator_chart = _svg(
        "indicator-scores", width, row_height * len(scores) + 20, bars, "指标标准化得分 Indicator scores"
    )
    points = " ".join(f"{40 + i * 80},{220 - 2 * float(h['total_score']):.1f}" for i, h in enumerate(history))
    line = [f'<polyline points="{points}" fill="none" stroke="#4c9be8" stroke-width="2"/>']
    for i, h in enumerate(history):
        line.append(
            f'<circle cx="{40 + i * 80}" cy="{220 - 2 * float(h["total_score"]):.1f}" r="4" '
            f'fill="{colour(h["grade"])}"><title>{h["evaluation_year"]}: {h["total_score"]}</title></circle>'
        )
        line.append(_text(40 + i * 80, 238, h["evaluation_year"], "middle", 11))
    history_chart = _svg("score-history", max(200, 80 * len(history) + 40), 250, line, "历年总分 Score by year")
    detail = _table(
        ["类别", "指标", "单位", "报送值", "核验值", "计分值", "得分", "权重", "加权得分"],
        [
            [
                s["category"],
                s["indicator_name"],
                s["unit"],
                s["reported_value"],
                s["registry_verified_value"],
                s["scored_value"],
                s["normalized_score"],
                s["weight"],
                s["contribution"],
            ]
            for s in scores
        ],
    )
    intro = (
        f"<p>{escape(center['center_code'])} · {escape(center['district_name'] or '')} · "
        f"{escape(center['industry'])} · 总分 {center['total_score']} · 等级 {center['grade']} · "
        f"排名 {center['overall_rank']}</p>"
    )
    return _page(f"{center['center_name']} {evaluation.year}", intro + indicator_chart + history_chart + detail)


def write_report(evaluation: YearEvaluation, folder: Path, center: str | None = None) -> list[Path]:
    """``centers_{year}.html`` (and ``center_{code}_{year}.html`` for ``center``) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    pages = {folder / f"centers_{evaluation.year}.html": year_page(evaluation)}
    if center:
        pages[folder / f"center_{center}_{evaluation.year}.html"] = center_page(evaluation, center)
    for path, html in pages.items():
        path.write_text(html, encoding="utf-8")
    return list(pages)
