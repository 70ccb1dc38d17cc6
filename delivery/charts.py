"""The "what stores saved" chart, drawn on the server as SVG geometry (no JS, no CDN): pure
arithmetic on the savings rows, rendered by templates/delivery/savings.html."""
from django.utils.translation import gettext as _

from jinju_portal.money import format_krw

WIDTH, HEIGHT = 720, 320
LEFT, RIGHT, TOP, BOTTOM = 88, 16, 16, 48  # room for the amount axis and the month labels
SERIES = (("commission", "paid"), ("commercial_commission_low", "low"), ("commercial_commission_high", "high"))


def _nice_step(top: int, ticks: int = 4) -> int:
    """A round step (1, 2 or 5 × 10^n won) that splits 0..top into about `ticks` parts."""
    raw = max(top / ticks, 1)
    power = 10 ** (len(str(int(raw))) - 1)
    for factor in (1, 2, 5, 10):
        if power * factor >= raw:
            return power * factor
    return power * 10


def savings_chart(rows: list[dict]) -> dict:
    """Grouped bars per month: the commission paid on the public app, and what 6 % and 12 % apps would
    have charged on the same food total. {width, height, months: [{label, x, bars: [...]}], ticks, legend}."""
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = max([r["commercial_commission_high"] for r in rows] + [1])
    step = _nice_step(top)
    scale_top = step * -(-top // step)
    names = {"paid": _("공공배달앱 수수료 (2%)"), "low": _("민간앱이었다면 (6%)"), "high": _("민간앱이었다면 (12%)")}
    group_w = plot_w / max(len(rows), 1)
    bar_w = min(group_w * 0.8 / len(SERIES), 40)
    months = []
    for i, row in enumerate(rows):
        x0 = LEFT + i * group_w + (group_w - bar_w * len(SERIES)) / 2
        bars = []
        for j, (field, kind) in enumerate(SERIES):
            value = row[field]
            h = plot_h * value / scale_top
            bars.append({"kind": kind, "x": round(x0 + j * bar_w, 1), "y": round(TOP + plot_h - h, 1),
                         "width": round(bar_w - 2, 1), "height": round(h, 1), "value": value,
                         "title": f"{row['month']} {names[kind]}: {format_krw(value)}"})
        months.append({"label": row["month"], "x": round(LEFT + i * group_w + group_w / 2, 1), "bars": bars})
    ticks = [{"value": v, "label": format_krw(v), "y": round(TOP + plot_h - plot_h * v / scale_top, 1)}
             for v in range(0, scale_top + 1, step)]
    return {"width": WIDTH, "height": HEIGHT, "left": LEFT, "right": WIDTH - RIGHT, "baseline": TOP + plot_h,
            "label_y": TOP + plot_h + 20, "months": months, "ticks": ticks,
            "legend": [{"kind": kind, "label": names[kind]} for _field, kind in SERIES]}
