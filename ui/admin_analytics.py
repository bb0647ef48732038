"""Admin › Analytics: the desk's numbers as charts, each with its CSV, over a date range and a bucket.

Every figure comes from the analytics tools (SQL in the database); this module only shapes them into
DataFrames for Gradio's plots and writes each chart's rows to a CSV file for its download button. A row of
the per-agent table opens that agent's tickets. Technicians see their own numbers, or their teams' ("My team");
managers and admins every ticket, or one team's (the tools decide who may read what).
"""

from __future__ import annotations

import tempfile
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from tools.analytics import MAX_GROUPS, analytics_tickets
from tools.analytics_charts import BINS, duration_histogram
from tools.analytics_scope import resolve_scope
from tools.analytics_usage import analytics_agent, analytics_knowledge
from tools.errors import InvalidInputError
from tools.permissions import analytics_scope
from tools.satisfaction import analytics_satisfaction
from tools.teams import team_list
from tools.ticket_query import ticket_list
from ui.context import SignedIn, UIContext
from ui.errors import shown
from ui.format import table, when

BUCKETS = ["day", "week", "month"]
CHARTS = ("volume", "sla", "times", "categories", "agents", "handoffs", "zero", "csat")
EMPTY_SAY = {
    "volume": "tickets",
    "times": "first responses or resolutions",
    "handoffs": "agent handoffs",
    "zero": "searches without a result",
    "csat": "satisfaction ratings",
}
"""How the note names a chart with nothing to show (the others are empty only when there are no tickets)."""
AGENT_HEADERS = [
    "Agent",
    "Created",
    "Solved",
    "Median first response (h)",
    "Median full resolution (h)",
    "SLA resolution",
]
TICKET_HEADERS = ["Number", "Subject", "Status", "Priority", "Assignee", "Created"]
MINE, MY_TEAM, EVERYTHING, TEAM_PREFIX = "My tickets", "My team", "All tickets", "Team: "
_CSV_DIR: Path | None = None


def _csv_dir() -> Path:
    global _CSV_DIR
    if _CSV_DIR is None:
        _CSV_DIR = Path(tempfile.mkdtemp(prefix="support-analytics-"))
    return _CSV_DIR


def write_csv(name: str, frame: pd.DataFrame) -> str:
    """The chart's rows as a CSV file Gradio can serve (under the system temp folder)."""
    path = _csv_dir() / f"{name}-{uuid.uuid4().hex[:8]}.csv"
    frame.to_csv(path, index=False)
    return str(path)


def parse_day(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError as exc:
        raise InvalidInputError(f"{what} {text!r} is not a date; write it like 2026-03-01") from exc


@dataclass
class Figures:
    frames: dict[str, pd.DataFrame]
    note: str


async def whose_choices(ctx: SignedIn) -> list[str]:
    """Whose tickets the tab can show the person: technicians their own or their teams'; managers and admins
    every ticket or any one team's."""
    desk, actor = ctx.desk(), await ctx.actor()
    if analytics_scope(actor) != "all":
        return [MINE, MY_TEAM]
    return [EVERYTHING, *(TEAM_PREFIX + t.name for t in (await team_list(desk, actor, limit=100)).items)]


def scope_of(whose: str | None) -> dict[str, Any]:
    """The analytics tools' ``scope`` and ``team`` for a choice of :func:`whose_choices` (None: the default)."""
    if whose == MINE:
        return {"scope": "own", "team": None}
    if whose == MY_TEAM:
        return {"scope": "team", "team": None}
    if whose and whose.startswith(TEAM_PREFIX):
        return {"scope": "team", "team": whose.removeprefix(TEAM_PREFIX)}
    return {"scope": None, "team": None}


async def figures(
    ctx: SignedIn, start_text: str, end_text: str, bucket: str, hours: str, whose: str | None = None
) -> Figures:
    """Every chart's data for the period over the tickets ``whose`` names, as DataFrames named by chart."""
    desk, actor = ctx.desk(), await ctx.actor()
    chosen = scope_of(whose)
    limit_to = await resolve_scope(desk, actor, **chosen)  # refuses a choice that is not theirs, saying why
    start = parse_day(start_text, "start")
    end = parse_day(end_text, "end") + timedelta(days=1)  # the end day is included
    b: Any = bucket if bucket in BUCKETS else "day"
    h: Any = "business" if hours == "business" else "calendar"
    common: dict[str, Any] = {"start": start, "end": end}
    tickets: dict[str, Any] = common | chosen
    trend = await analytics_tickets(desk, actor, **tickets, bucket=b, hours_kind=h)
    volume = [[r.bucket, series, getattr(r, series)] for r in trend.rows for series in ("created", "solved", "backlog")]
    by_priority = await analytics_tickets(desk, actor, **tickets, group_by="priority", hours_kind=h)
    sla = []
    for r in by_priority.rows:
        sla.append([r.group, "first response", r.sla_first_response_achievement, f"{r.group} first response"])
        sla.append([r.group, "resolution", r.sla_resolution_achievement, f"{r.group} resolution"])
    times = [[x.metric.replace("_", " "), x.bin, x.tickets] for x in await duration_histogram(desk, actor, **tickets)]
    by_category = await analytics_tickets(desk, actor, **tickets, group_by="category", hours_kind=h)
    categories = sorted(([r.group, r.created] for r in by_category.rows), key=lambda c: (-int(c[1] or 0), str(c[0])))[
        :10
    ]
    by_agent = await analytics_tickets(desk, actor, **tickets, group_by="assignee", hours_kind=h, limit=MAX_GROUPS)
    agents = [
        [
            r.group,
            r.created,
            r.solved,
            r.first_response_hours.median,
            r.full_resolution_hours.median,
            r.sla_resolution_achievement,
        ]
        for r in by_agent.rows
    ]
    frames = {
        "volume": table(volume, ["bucket", "series", "tickets"]),
        "sla": table(sla, ["priority", "target", "achievement", "bar"]),
        "times": table(times, ["metric", "hours", "tickets"]),
        "categories": table(categories, ["category", "tickets"]),
        "agents": table(agents, AGENT_HEADERS),
        "handoffs": table([], ["reason", "conversations"]),
        "zero": table([], ["query", "searches"]),
        "csat": table([], ["bucket", "csat", "ratings"]),
    }
    note = f"{start:%Y-%m-%d} to {end - timedelta(days=1):%Y-%m-%d}, by {b}, {h} hours."
    whole_desk = analytics_scope(actor) == "all"  # the agent's and the knowledge figures are the whole desk's
    if whole_desk:
        agent = await analytics_agent(desk, actor, **common)
        frames["handoffs"] = table([[r.key, r.count] for r in agent.handoffs_by_reason], ["reason", "conversations"])
        knowledge = await analytics_knowledge(desk, actor, **common, limit=20)
        frames["zero"] = table([[r.key, r.count] for r in knowledge.zero_result_queries], ["query", "searches"])
    if limit_to.kind != "all":
        whose_tickets = limit_to.describe()
        note += f" {whose_tickets[0].upper()}{whose_tickets[1:]}."
    csat = await analytics_satisfaction(desk, actor, **tickets, bucket=b)
    frames["csat"] = table([[r.bucket, r.csat, r.good + r.bad] for r in csat.rows], ["bucket", "csat", "ratings"])
    # An empty chart is a blank grid: say which ones have nothing to show, rather than leave people guessing.
    shown = [c for c in EMPTY_SAY if c not in ("handoffs", "zero") or whole_desk]
    if empty := [EMPTY_SAY[c] for c in shown if frames[c].empty]:
        note += " Nothing in this period yet: " + ", ".join(empty) + "."
    return Figures(frames, note)


async def agent_tickets(ctx: SignedIn, agent: str) -> pd.DataFrame:
    """The ticket list behind a row of the per-agent table."""
    assignee = "unassigned" if agent == "(unassigned)" else agent
    page = await ticket_list(ctx.desk(), await ctx.actor(), assignee=assignee, limit=100)
    rows = [[t.number, t.subject, t.status, t.priority, t.assignee or "", when(t.created_at)] for t in page.items]
    return table(rows, TICKET_HEADERS)


def build_analytics_tab(ctx: UIContext) -> list[tuple[Any, list[Any], list[Any]]]:
    today = datetime.now(UTC).date()
    with gr.Row():
        start = gr.Textbox(label="From", value=(today - timedelta(days=29)).isoformat(), elem_id="an-start", scale=1)
        end = gr.Textbox(label="To (inclusive)", value=today.isoformat(), elem_id="an-end", scale=1)
        bucket = gr.Dropdown(BUCKETS, value="day", label="Bucket", elem_id="an-bucket", scale=1)
        hours = gr.Radio(["calendar", "business"], value="calendar", label="Hours", elem_id="an-hours", scale=1)
        whose = gr.Radio([], label="Tickets", elem_id="an-whose", scale=2)
        refresh = gr.Button("Refresh", size="sm", elem_id="an-refresh", scale=0)
    note = gr.Markdown(elem_id="an-note")
    plots: dict[str, Any] = {}
    downloads: dict[str, Any] = {}

    def download(name: str) -> None:
        downloads[name] = gr.DownloadButton("CSV", size="sm", elem_id=f"an-{name}-csv", visible=True)

    with gr.Row():
        with gr.Column():
            plots["volume"] = gr.LinePlot(
                x="bucket", y="tickets", color="series", title="Created, solved and backlog", elem_id="an-volume"
            )
            download("volume")
        with gr.Column():
            plots["sla"] = gr.BarPlot(
                x="bar",
                y="achievement",
                color="target",
                title="SLA achievement by priority",
                y_lim=[0, 1],
                # Eight "<priority> <target>" labels side by side overlap in half of a 1280 px page: slant them.
                x_label_angle=-35,
                elem_id="an-sla",
            )
            download("sla")
    with gr.Row():
        with gr.Column():
            plots["times"] = gr.BarPlot(
                x="hours",
                y="tickets",
                color="metric",
                title="First response and resolution times",
                sort=[label for label, _ in BINS],
                y_lim=[0, None],
                elem_id="an-times",
            )
            download("times")
        with gr.Column():
            plots["categories"] = gr.BarPlot(
                x="category", y="tickets", title="Top categories", y_lim=[0, None], elem_id="an-categories"
            )
            download("categories")
    with gr.Row():
        with gr.Column():
            plots["agents"] = gr.Dataframe(
                label="Per agent (select a row for its tickets)", interactive=False, elem_id="an-agents"
            )
            download("agents")
        with gr.Column():
            plots["handoffs"] = gr.BarPlot(
                x="reason", y="conversations", title="Agent handoffs by reason", y_lim=[0, None], elem_id="an-handoffs"
            )
            download("handoffs")
    with gr.Row():
        with gr.Column():
            plots["zero"] = gr.Dataframe(label="Searches with no result", interactive=False, elem_id="an-zero")
            download("zero")
        with gr.Column():
            plots["csat"] = gr.LinePlot(
                x="bucket", y="csat", title="CSAT (good / rated)", y_lim=[0, 1], elem_id="an-csat"
            )
            download("csat")
    agent_list = gr.Dataframe(
        value=table([], TICKET_HEADERS),
        label="Tickets of the selected agent (select a row of the per-agent table)",
        interactive=False,
        elem_id="an-agent-tickets",
    )
    outputs = [whose, note, *(plots[c] for c in CHARTS), *(downloads[c] for c in CHARTS)]

    @shown
    async def load(
        start_text: str,
        end_text: str,
        bucket_value: str,
        hours_value: str,
        whose_value: str | None,
        request: gr.Request,
    ) -> list[Any]:
        me = await ctx.signed_in(request)
        # The choices are the person's (the same page serves every role): keep theirs, else their default.
        choices = await whose_choices(me)
        chosen = whose_value if whose_value in choices else choices[0]
        result = await figures(me, start_text, end_text, bucket_value, hours_value, chosen)
        values: list[Any] = [gr.update(choices=choices, value=chosen), result.note]
        values += [result.frames[c] for c in CHARTS]
        values += [write_csv(c, result.frames[c]) for c in CHARTS]
        return values

    @shown
    async def open_agent(frame: pd.DataFrame, evt: gr.SelectData, request: gr.Request) -> pd.DataFrame:
        row = evt.index[0] if isinstance(evt.index, list | tuple) else evt.index
        return await agent_tickets(await ctx.signed_in(request), str(frame.iloc[int(row)]["Agent"]))

    inputs = [start, end, bucket, hours, whose]
    refresh.click(load, inputs, outputs)
    whose.input(load, inputs, outputs)
    plots["agents"].select(open_agent, [plots["agents"]], [agent_list])
    return [(load, inputs, outputs)]
