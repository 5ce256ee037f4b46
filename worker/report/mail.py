"""The report as an email to the lead (`crossgen report --send`): subject, HTML page, Markdown as text.

The HTML part is the standalone page itself. Outlook on the web and on phones show its chart;
Outlook for Windows (Word's engine) shows no SVG, so the figures and the table carry the story
on their own and the plain-text part repeats them.
"""

from __future__ import annotations

from worker.core.render import one_line
from worker.report.cells import short_date
from worker.report.model import ProgrammeReport
from worker.report.render_html import render_html
from worker.report.render_md import render_md


def report_email(report: ProgrammeReport) -> tuple[str, str, str]:
    """``(subject, html, text)``; the caller wraps them in a ``MailSpec`` with its own once-only key."""
    day = report.generated_at.astimezone(report.zone).date()
    subject = one_line(f"[{one_line(report.name, 100)}] Programme report, {short_date(day)}")
    return subject, render_html(report), render_md(report)
