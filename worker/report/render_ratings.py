"""The ratings section of the lead's report, as Markdown and as HTML (``render_md``/``render_html`` add it).

Per pair (ratings, average, response rate by role), per session, per curriculum topic, the trend per
month, the pairs that need a look, and the comments. Comments are confidential: they appear here, in
the lead's own report, and nowhere else (not in the company summary, not in any log); like every piece
of user text they are escaped for the format (``md_text``, ``html.escape``).
"""

from __future__ import annotations

import html

from worker.report.cells import person
from worker.report.model import PairRow, ProgrammeReport
from worker.report.rating_chart import ratings_chart
from worker.report.ratings import RatingsSummary, month_label, one_decimal, percent


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _value(v: int | None) -> str:
    return "" if v is None else str(v)


def headline(r: RatingsSummary) -> str:
    """One sentence: how many, how good, how many answered."""
    if not r.received and not r.asked:
        return "No ratings yet."
    parts = [f"{r.received} rating{'s' if r.received != 1 else ''} received"]
    if r.average is not None:
        parts.append(f"average {one_decimal(r.average)} of 5")
    rates = [
        f"{role}s {percent(r.response_rate(role))}"
        for role in ("mentor", "mentee")
        if r.response_rate(role) is not None
    ]
    if rates:
        parts.append("response rate " + ", ".join(rates))
    text = "; ".join(parts) + "."
    if r.ignored:
        text += f" {r.ignored} repl{'ies' if r.ignored != 1 else 'y'} ignored (forged, unknown or malformed)."
    return text


def _pair_cells(row: PairRow, r: RatingsSummary) -> list[str]:
    mine = r.of(row.pair_id)
    return [
        str(row.ratings),
        one_decimal(row.average_rating),
        percent(mine.response_rate("mentor")) if mine else "",
        percent(mine.response_rate("mentee")) if mine else "",
    ]


def markdown(report: ProgrammeReport) -> list[str]:
    from worker.report.render_md import md_text

    r = report.ratings
    names = {row.pair_id: row for row in report.pairs}

    def who(pair_id: str) -> str:  # "Léa Martin → Jean Dubois", escaped; the id when the pair is unknown
        row = names.get(pair_id)
        return f"{md_text(person(row.mentor))} → {md_text(person(row.mentee))}" if row else md_text(pair_id)

    def table(header: list[str], rows: list[list[str]]) -> list[str]:
        lines = ["| " + " | ".join(header) + " |", "| " + " | ".join("---" for _ in header) + " |"]
        return lines + ["| " + " | ".join(row) + " |" for row in rows]

    lines = ["", "## Ratings", "", md_text(headline(r))]
    if report.pairs:
        lines += ["", "### Per pair", ""]
        lines += table(
            ["Mentor", "Mentee", "Ratings", "Average", "Mentor response", "Mentee response"],
            [
                [
                    md_text(person(row.mentor)),
                    md_text(person(row.mentee)),
                    *_pair_cells(row, r),
                ]
                for row in report.pairs
            ],
        )
    if r.sessions:
        lines += ["", "### Per session", ""]
        lines += table(
            ["Session", "Pair (mentor → mentee)", "Topic", "Mentor", "Mentee", "Average"],
            [
                [
                    str(s.session),
                    who(s.pair_id),
                    md_text(s.topic),
                    _value(s.mentor),
                    _value(s.mentee),
                    one_decimal(s.average),
                ]
                for s in r.sessions
            ],
        )
    if r.topics:
        lines += ["", "### Per topic", ""]
        lines += table(
            ["Topic", "Average", "Ratings"],
            [[md_text(t.topic), one_decimal(t.average), str(t.ratings)] for t in r.topics],
        )
    if r.trend:
        lines += ["", "### Trend", ""]
        lines += table(
            ["Month", "Average", "Ratings"],
            [[month_label(m.month), one_decimal(m.average), str(m.ratings)] for m in r.trend],
        )
    if r.attention:
        lines += ["", "### Pairs to look at", ""]
        for pair_id, why in r.attention:
            lines.append(f"- **{who(pair_id)}**: {md_text(why)}")
    if r.comments:
        lines += ["", "### Comments (confidential: for the programme lead only)", ""]
        for c in r.comments:
            lines.append(f"- **{who(c.pair_id)}**, session {c.session}, {c.role}: {md_text(c.text)}")
    return lines


def html_section(report: ProgrammeReport) -> str:
    r = report.ratings
    names = {row.pair_id: row for row in report.pairs}

    def who(pair_id: str) -> str:  # "Léa Martin → Jean Dubois", escaped; the id when the pair is unknown
        row = names.get(pair_id)
        return f"{_e(person(row.mentor))} &rarr; {_e(person(row.mentee))}" if row else _e(pair_id)
    parts = ["<h2>Ratings</h2>", f'<p class="statuses">{_e(headline(r))}</p>']
    if r.trend:
        parts.append(
            '<div class="panel">'
            + ratings_chart(r.trend, title=f"Average rating per month, {report.name}")
            + "</div>"
        )
    if report.pairs:
        head = "".join(
            (f'<th class="num">{_e(h)}</th>' if i else f"<th>{_e(h)}</th>")
            for i, h in enumerate(
                ["Pair (mentor → mentee)", "Ratings", "Average", "Mentor response", "Mentee response"]
            )
        )
        rows = "".join(
            f"<tr><td>{_e(person(row.mentor))} &rarr; {_e(person(row.mentee))}</td>"
            + "".join(f'<td class="num">{_e(cell)}</td>' for cell in _pair_cells(row, r))
            + "</tr>"
            for row in report.pairs
        )
        parts.append(
            f'<div class="scroll" style="margin-top:12px"><table><thead><tr>{head}</tr></thead><tbody>{rows}'
            "</tbody></table></div>"
        )
    if r.topics:
        rows = "".join(
            f'<tr><td>{_e(t.topic)}</td><td class="num">{one_decimal(t.average)}</td>'
            f'<td class="num">{t.ratings}</td></tr>'
            for t in r.topics
        )
        parts += [
            "<h2>Ratings per topic</h2>",
            '<table><thead><tr><th>Topic</th><th class="num">Average</th><th class="num">Ratings</th>'
            f"</tr></thead><tbody>{rows}</tbody></table>",
        ]
    if r.sessions:
        rows = "".join(
            f'<tr><td>{who(s.pair_id)}</td><td class="num">{s.session}</td><td>{_e(s.topic)}</td>'
            f'<td class="num">{_value(s.mentor)}</td><td class="num">{_value(s.mentee)}</td>'
            f'<td class="num">{one_decimal(s.average)}</td></tr>'
            for s in r.sessions
        )
        parts += [
            "<h2>Ratings per session</h2>",
            '<table><thead><tr><th>Pair</th><th class="num">Session</th><th>Topic</th>'
            '<th class="num">Mentor</th><th class="num">Mentee</th><th class="num">Average</th></tr></thead>'
            f"<tbody>{rows}</tbody></table>",
        ]
    if r.attention:
        items = []
        for pair_id, why in r.attention:
            items.append(f"<li><strong>{who(pair_id)}</strong>: {_e(why)}</li>")
        parts += ["<h2>Pairs to look at</h2>", f"<ul>{''.join(items)}</ul>"]
    if r.comments:
        notes = "".join(
            f"<li><strong>{who(c.pair_id)}</strong>, session {c.session}, {_e(c.role)}: "
            f'<span style="white-space:pre-wrap">{_e(c.text)}</span></li>'
            for c in r.comments
        )
        parts += [
            "<h2>Comments</h2>",
            '<p class="statuses">Confidential: for the programme lead only.</p>',
            f"<ul>{notes}</ul>",
        ]
    return "\n".join(parts)
