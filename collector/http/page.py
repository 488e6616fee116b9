"""The status page at ``/``: schools, their devices and open tickets, for a person at a browser.

Every string that a device, an agent or a config supplied goes through :func:`html.escape`: a printer
named ``<script>`` shows as text.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from html import escape

from aiohttp import web

from collector.http.context import CONTEXT
from collector.store.base import DeviceRecord, ProblemRecord, School, TicketRecord

_STYLE = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1.5em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: left; }
.ok { color: #176317; } .bad { color: #a11; font-weight: bold; }
"""


def _time(at: float | None) -> str:
    return "never" if at is None else datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _row(*cells: str) -> str:
    """A table row; cells are already escaped HTML."""
    return "<tr>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"


def _device_rows(devices: list[DeviceRecord], problems: dict[tuple[str, str], list[ProblemRecord]]) -> str:
    rows = []
    for d in devices:
        status_class = "ok" if d.status == "ok" else "bad"
        found = "; ".join(escape(p.summary) for p in problems.get((d.school, d.device), []))
        rows.append(
            _row(
                escape(d.device),
                escape(d.label or ""),
                escape(d.kind),
                escape(d.address),
                f'<span class="{status_class}">{escape(d.status)}</span>',
                escape(_time(d.last_seen)),
                found,
            )
        )
    return "".join(rows)


def render_status_page(
    schools: list[School],
    devices: list[DeviceRecord],
    problems: list[ProblemRecord],
    tickets: list[TicketRecord],
    now: float,
) -> str:
    """The whole page as HTML text, from the fleet's state."""
    by_school: dict[str, list[DeviceRecord]] = defaultdict(list)
    for d in devices:
        by_school[d.school].append(d)
    by_device: dict[tuple[str, str], list[ProblemRecord]] = defaultdict(list)
    for p in problems:
        by_device[(p.key.school, p.key.device)].append(p)
    names = {s.id: s.name for s in schools}
    parts = [
        "<!DOCTYPE html>",
        # Refreshes itself: the page is left open on a helpdesk screen.
        '<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="60">',
        "<title>campuswatch</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>campuswatch</h1><p>As of {escape(_time(now))}.</p>",
        f"<h2>Open tickets ({len(tickets)})</h2>",
        "<table><tr><th>#</th><th>Title</th><th>Priority</th><th>Opened</th></tr>",
        *(_row(str(t.id), escape(t.title), escape(t.priority), escape(_time(t.opened_at))) for t in tickets),
        "</table>",
    ]
    for school_id in sorted(set(names) | set(by_school)):
        parts.append(
            f"<h2>{escape(names.get(school_id, school_id))} <small>({escape(school_id)})</small></h2>"
        )
        if not by_school.get(school_id):
            parts.append("<p>No devices reported yet.</p>")
            continue
        parts.append(
            "<table><tr><th>Device</th><th>Label</th><th>Kind</th><th>Address</th><th>Status</th>"
            "<th>Last seen</th><th>Problems</th></tr>"
        )
        parts.append(_device_rows(by_school[school_id], by_device))
        parts.append("</table>")
    parts.append("</body></html>")
    return "\n".join(parts)


async def status_page(request: web.Request) -> web.Response:
    """``GET /``."""
    ctx = request.app[CONTEXT]
    store = ctx.store
    html = render_status_page(
        await store.list_schools(),
        await store.list_devices(),
        await store.list_open_problems(),
        await store.list_tickets(state="open"),
        now=ctx.clock(),
    )
    return web.Response(text=html, content_type="text/html", charset="utf-8")
