"""``validate`` lists every mistake of every file in one pass (issue 19, findings 6 and 7).

A lead who fixes what the first run printed must not meet new mistakes on the second: each file is
read around its syntax errors, each value that passes its own check is kept for the checks across
values and files, and what a mistake removed is not reported a second time.
"""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from worker.commands.validate import validate

PROGRAM = """\
program:
  name: Lead's own programme
  organizer: mentoring@contoso.com
  lead: people.lead@contoso.com
  timezone: Europe/Paris
  start: 2027-01-11
  end: 2027-06-30
  mailbox_domains: [contoso.com]
  default_policy: fortnightly
  colour: blue
"""

POLICIES = """\
policies:
  fortnightly:
    cadence: every 2 weeks
    duration: 1:30
    sessions: 10
    hours: "09:30-16:30"
    agenda: basic
  monthly:
    extends: fortnigthly
    cadence: monthly
    duration: 45
  quarterly:
    cadence: every 3 months
    sessions: ten
    feedback: after-sesion

feedback:
  after-session:
    form: "https://forms.office.com/r/abc?pair={pair}"

agendas:
  basics:
    - title: Kick-off
"""

PAIRS = """\
pairs:
  - mentor: lea.martin@contoso.com
    mentee: jean.dubois@contoso.com
  - mentor: hugo.bernard@fabrikam.com
    mentee: claire.petit@contoso.com
\t  policy: monthly
  - mentor: jean.dubois@contoso.com
    mentee: lea.martin@contoso.com
  - mentor: tom.nguyen@contoso.com
    mentee: ana.silva@contoso.com
    policy: quartely
"""

CLEAN_PROGRAM = PROGRAM.replace("  colour: blue\n", "")


def _run(
    tmp_path: Path, program: str = PROGRAM, policies: str = POLICIES, pairs: str = PAIRS
) -> tuple[int, list[str]]:
    for name, text in (("program.yaml", program), ("policies.yaml", policies), ("pairs.yaml", pairs)):
        (tmp_path / name).write_text(text, encoding="utf-8")
    result = CliRunner().invoke(validate, ["--config", str(tmp_path)])
    assert "Traceback" not in result.output
    prefix = f"{tmp_path}/"
    return result.exit_code, [line.removeprefix(prefix) for line in result.stderr.splitlines()]


def _run_pairs(tmp_path: Path, pairs: str) -> tuple[int, list[str]]:
    """Only pairs.yaml can be at fault: a clean program.yaml and one valid policy."""
    policies = "policies:\n  fortnightly: {cadence: every 2 weeks, duration: 45m, sessions: 10}\n"
    return _run(tmp_path, program=CLEAN_PROGRAM, policies=policies, pairs=pairs)


def test_every_mistake_in_every_file_is_listed_at_once(tmp_path: Path) -> None:
    code, lines = _run(tmp_path)

    assert code == 2
    expected = [
        "program.yaml:10:3: program.colour: unknown key",
        "policies.yaml:4:15: policies.fortnightly.duration: '1:30' is a clock time, not a duration: "
        "for 1 hour 30 minutes write 1h30m (or 90m)",
        "policies.yaml:7:13: policies.fortnightly.agenda: no agenda named 'basic' (did you mean 'basics'?)",
        "policies.yaml:9:14: policies.monthly.extends: no policy named 'fortnigthly' (did you mean",
        "policies.yaml:11:15: policies.monthly.duration: 45 has no unit: write it like 45m for minutes",
        "policies.yaml:12:3: policies.quarterly.duration: missing; every policy needs duration",
        "policies.yaml:14:15: policies.quarterly.sessions: expected a whole number, got 'ten'",
        "policies.yaml:15:15: policies.quarterly.feedback: no feedback template named 'after-sesion'",
        "pairs.yaml:4:13: pairs[2].mentor: hugo.bernard@fabrikam.com is outside the programme's",
        "pairs.yaml:6:1: YAML syntax error: a tab character indents this line",
        "pairs.yaml:7:5: pairs[3]: the same pair as pairs[1] at line 2 (roles swapped)",
        "pairs.yaml:11:13: pairs[4].policy: no policy named 'quartely' (did you mean 'quarterly'?)",
    ]
    for start in expected:
        assert any(line.startswith(start) for line in lines), f"{start!r} not among:\n" + "\n".join(lines)
    # Nothing echoes what was already said: no "missing" key that a mistake or a tab removed.
    assert [line for line in lines if "missing" in line] == [
        "policies.yaml:12:3: policies.quarterly.duration: missing; every policy needs duration"
    ]
    assert len(lines) == len(expected), "\n".join(lines)


def test_a_yaml_error_in_pairs_does_not_hide_the_duplicate_pair_check(tmp_path: Path) -> None:
    pairs = PAIRS.replace("\t  policy: monthly\n", "    policy: [monthly\n")
    code, lines = _run(
        tmp_path,
        program=CLEAN_PROGRAM,
        policies="""\
policies:
  fortnightly: {cadence: every 2 weeks, duration: 45m, sessions: 10}
  monthly: {cadence: monthly, duration: 1h, sessions: 6}
  quarterly: {cadence: every 3 months, duration: 1h, sessions: 2}
""",
        pairs=pairs,
    )

    assert code == 2
    assert any(line.startswith("pairs.yaml:6:13: YAML syntax error") for line in lines), lines
    assert any("pairs[3]: the same pair as pairs[1] at line 2" in line for line in lines), lines


def test_lists_count_from_one_and_a_duplicate_names_both_lines(tmp_path: Path) -> None:
    code, lines = _run_pairs(
        tmp_path,
        """\
pairs:
  - mentor: lea.martin@contoso.com
    mentee: jean.dubois@contoso.com
  - mentor: lea.martin@contoso.com
    mentee: jean.dubois@contoso.com
""",
    )

    assert code == 2
    assert lines == [
        "pairs.yaml:4:5: pairs[2]: the same pair as pairs[1] at line 2: lea.martin@contoso.com and "
        "jean.dubois@contoso.com"
    ]


def test_a_mentor_who_is_a_mentee_elsewhere_is_a_warning_not_an_error(tmp_path: Path) -> None:
    code, lines = _run_pairs(
        tmp_path,
        """\
pairs:
  - mentor: lea.martin@contoso.com
    mentee: jean.dubois@contoso.com
  - mentor: tom.nguyen@contoso.com
    mentee: lea.martin@contoso.com
""",
    )

    assert code == 0
    assert lines == [
        "pairs.yaml:5:13: warning: pairs[2].mentee: lea.martin@contoso.com is mentee here and mentor in "
        "pairs[1] (line 2); allowed, but check the roles are meant"
    ]
    assert all(re.match(r"^\S+\.yaml:\d+:\d+: ", line) for line in lines)


def test_a_bare_number_and_a_clock_time_are_explained(tmp_path: Path) -> None:
    code, lines = _run(
        tmp_path,
        program=CLEAN_PROGRAM,
        policies="""\
policies:
  fortnightly: {cadence: every 2 weeks, duration: 90, sessions: 10, buffer: "0:15"}
""",
        pairs="pairs:\n  - {mentor: lea.martin@contoso.com, mentee: jean.dubois@contoso.com}\n",
    )

    assert code == 2
    assert [line.split(": ", 1)[1] for line in lines] == [
        "policies.fortnightly.duration: 90 has no unit: write it like 90m for minutes (that is 1h30m), "
        "or 90h for hours",
        "policies.fortnightly.buffer: '0:15' is a clock time, not a duration: for 15 minutes write 15m",
    ]
