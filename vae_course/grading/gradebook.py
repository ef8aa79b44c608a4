"""What a batch writes for the teacher: the gradebook CSV, a feedback page per learner, the log.

Every file is written atomically. Statuses, the columns rule and the student-id rule are
described in ``docs/grading.md``.
"""

from __future__ import annotations

import csv
import html
import io
import os
import re
import sys
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from vae_course import __version__, storage

STATUS_ORDER = (
    "invalid-notebook",
    "error",
    "tampered",
    "sandbox-violation",
    "timeout",
    "crashed",
    "no-answers",
    "unsandboxed",
    "ok",
)


STATUS_MEANING = {
    "invalid-notebook": "not a readable notebook; nothing could be graded",
    "error": "the grader failed on this submission (see grading.log)",
    "tampered": "the notebook rebinds or patches the checkers; points come only from the "
    "grader's own judge, which never runs learner code",
    "sandbox-violation": "the notebook tried to touch files outside its folder or the network; "
    "the sandbox refused",
    "timeout": "the notebook ran past the time limit; what could be graded was graded",
    "crashed": "the kernel died (out of memory or a crash); what could be graded was graded",
    "no-answers": "none of the drills was answered (answers missing or left as stubs)",
    "unsandboxed": "graded with --no-sandbox: the learner's code ran without an "
    "operating-system sandbox",
    "ok": "graded normally",
}


NOT_FOUND = "not found: define `{name}` as the drill asks (see drills.prompt({drill!r}))."


@dataclass
class Row:
    """One gradebook row: a submission's scores and status."""

    file: str
    student_id: str
    scores: dict[str, float]
    total: float
    max_total: float
    status: str
    flags: list[str]
    vae_course_version: str
    seconds: float
    feedback_markdown: Path
    feedback_html: Path
    resumed: bool = False
    drills: dict[str, dict] = field(default_factory=dict)


def student_id_for(path: str | os.PathLike, metadata: dict | None = None) -> str:
    """The student id of a submission (rule in the module docstring)."""
    metadata = metadata or {}
    for key in ("student_id", "student"):
        value = metadata.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and str(value).strip():
            return _clean_id(str(value))
    path = Path(path)
    head = re.split(r"[_\-\s.]+", path.stem.strip(), maxsplit=1)[0]
    if head and not head.isdigit():
        return _clean_id(head)
    return _clean_id(path.parent.name or path.stem)


def _clean_id(text: str) -> str:
    return " ".join(text.split())[:100]


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("._")[:80] or "notebook"


def build_outputs(out: Path, files, records, columns) -> list[Row]:
    """The rows, the feedback pages and ``gradebook.csv`` for the assignment's ``columns``.

    The columns and the maximum come from the assignment (the teacher's side): a
    submission's metadata never changes them.
    """
    max_total = sum(d.max_score for d in columns)
    feedback_dir = out / "feedback"
    used_names: set[str] = set()
    rows: list[Row] = []
    for path, display in files:
        record = records[path]
        drills = {}
        for drill in columns:
            verdict = record.get("drills", {}).get(drill.id)
            if verdict is None:
                verdict = {
                    "status": "not found",
                    "score": 0.0,
                    "max_score": drill.max_score,
                    "feedback": [NOT_FOUND.format(name=drill.answer_name, drill=drill.id)],
                    "notes": [],
                }
            drills[drill.id] = verdict
        flags = list(record.get("flags", []))
        if (
            columns
            and "invalid-notebook" not in flags
            and all(v["status"] in ("not found", "not attempted") for v in drills.values())
        ):
            flags.append("no-answers")
        status = next((s for s in STATUS_ORDER if s in flags), "ok")
        scores = {d: float(v["score"]) for d, v in drills.items()}
        name = slug(display.replace(os.sep, "__").removesuffix(".ipynb"))
        while name in used_names:
            name += "_"
        used_names.add(name)
        row = Row(
            file=display,
            student_id=student_id_for(path, record.get("metadata")),
            scores=scores,
            total=round(sum(scores.values()), 2),
            max_total=max_total,
            status=status,
            flags=flags or ["ok"],
            vae_course_version=str(record.get("vae_course_version", __version__)),
            seconds=float(record.get("seconds", 0.0)),
            feedback_markdown=feedback_dir / f"{name}.md",
            feedback_html=feedback_dir / f"{name}.html",
            resumed=bool(record.get("resumed")),
            drills=drills,
        )
        rows.append(row)
        storage.atomic_write_text(row.feedback_markdown, _feedback_markdown(row, record, columns))
        storage.atomic_write_text(row.feedback_html, _feedback_html(row, record, columns))
    storage.atomic_write_text(out / "gradebook.csv", _gradebook_csv(rows, columns))
    return rows


def number_text(value: float) -> str:
    return f"{value:g}"


def spreadsheet_safe(text: str) -> str:
    """``text`` for a CSV cell that a spreadsheet will not read as a formula.

    A cell starting with ``=``, ``+``, ``-``, ``@`` (or a tab/carriage return) is a formula
    to Excel and LibreOffice; a student id such as ``=HYPERLINK(...)`` is shown as text.
    """
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _gradebook_csv(rows: list[Row], columns) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["file", "student_id", *[d.id for d in columns], "total", "max_total"]
    writer.writerow(header + ["status", "flags", "vae_course_version", "seconds"])
    for row in rows:
        writer.writerow(
            [spreadsheet_safe(row.file), spreadsheet_safe(row.student_id)]
            + [number_text(row.scores[d.id]) for d in columns]
            + [number_text(row.total), number_text(row.max_total), row.status]
            + [spreadsheet_safe(";".join(row.flags)), row.vae_course_version, f"{row.seconds:.1f}"]
        )
    return buffer.getvalue()


def _summary_lines(row: Row, record: dict) -> list[str]:
    lines = [f"Status: {row.status} — {STATUS_MEANING[row.status]}."]
    execution = record.get("execution") or {}
    if execution.get("started"):
        ran = f"{execution.get('cells_run', 0)} of {execution.get('cells_total', 0)} code cells ran"
        errors = record.get("cell_errors") or []
        if errors:
            shown = ", ".join(f"cell {e['cell']} ({e['ename']})" for e in errors[:8])
            ran += f"; {len(errors)} raised an error: {shown}"
        lines.append(ran + ".")
    return lines + list(record.get("notes", []))


def _feedback_markdown(row: Row, record: dict, columns) -> str:
    lines = [
        f"# Feedback on `{row.file}`",
        "",
        f"Student: **{row.student_id}** · Score: **{number_text(row.total)} / {number_text(row.max_total)}**"
        f" · graded with vae-course {row.vae_course_version}",
        "",
    ]
    lines += [f"- {line}" for line in _summary_lines(row, record)]
    if columns:
        lines += ["", "| drill | chapter | score | result |", "|---|---|---|---|"]
        for drill in columns:
            verdict = row.drills[drill.id]
            lines.append(
                f"| {drill.id} | {drill.chapter} | {number_text(verdict['score'])}/{number_text(drill.max_score)} "
                f"| {verdict['status']} |"
            )
    for drill in columns:
        verdict = row.drills[drill.id]
        lines += [
            "",
            f"## {drill.id}: {verdict['status']} ({number_text(verdict['score'])}/{number_text(drill.max_score)})",
            "",
        ]
        lines += [f"- {line}" for line in verdict.get("feedback", [])]
        lines += [f"- *Grader:* {note}" for note in verdict.get("notes", [])]
    return "\n".join(lines) + "\n"


def _feedback_html(row: Row, record: dict, columns) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Feedback: {e(row.file)}</title>",
        "<style>body{font-family:sans-serif;max-width:50em;margin:2em auto}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .6em}"
        ".passed{color:#1a7f37}.failed,.tampered,.error,.timeout{color:#b42318}"
        ".partial,.not-found,.not-gradable,.not-attempted{color:#9a6700}</style>",
        "</head><body>",
        f"<h1>Feedback on <code>{e(row.file)}</code></h1>",
        f"<p>Student: <b>{e(row.student_id)}</b> · Score: <b>{number_text(row.total)} / "
        f"{number_text(row.max_total)}</b> · graded with vae-course {e(row.vae_course_version)}</p>",
        "<ul>" + "".join(f"<li>{e(line)}</li>" for line in _summary_lines(row, record)) + "</ul>",
    ]
    if columns:
        parts.append("<table><tr><th>drill</th><th>chapter</th><th>score</th><th>result</th></tr>")
        for drill in columns:
            verdict = row.drills[drill.id]
            css = e(verdict["status"].replace(" ", "-"))
            parts.append(
                f"<tr><td>{e(drill.id)}</td><td>{e(drill.chapter)}</td>"
                f"<td>{number_text(verdict['score'])}/{number_text(drill.max_score)}</td>"
                f'<td class="{css}">{e(verdict["status"])}</td></tr>'
            )
        parts.append("</table>")
    for drill in columns:
        verdict = row.drills[drill.id]
        parts.append(
            f"<h2>{e(drill.id)}: {e(verdict['status'])} "
            f"({number_text(verdict['score'])}/{number_text(drill.max_score)})</h2><ul>"
        )
        parts += [f"<li>{e(line)}</li>" for line in verdict.get("feedback", [])]
        parts += [f"<li><i>Grader:</i> {e(note)}</li>" for note in verdict.get("notes", [])]
        parts.append("</ul>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


class GradingLog:
    """``grading.log``: a header, one line per submission (time taken) and indented details."""

    def __init__(
        self, out: Path, files, options, jobs: int, to_run: int, sandbox, scheduler=None
    ) -> None:
        self.path = out / "grading.log"
        started = datetime.now().isoformat(timespec="seconds")
        where = f"scheduler={scheduler}" if scheduler else f"jobs={jobs}"
        self.header = [
            f"# vae-course {__version__} grade, started {started}: {len(files)} submission(s), "
            f"{to_run} to run, {len(files) - to_run} unchanged; {where}, "
            f"timeout={options.timeout:g} s, memory={options.memory_mb} MiB, "
            f"sandbox={options.sandbox}, python={sys.executable}, vae_course={options.package_dir}"
        ]
        self.header += [f"# {note}" for note in getattr(sandbox, "notes", [])]
        self.entries: list[str] = []
        self.summary: list[str] = []

    def add(self, display: str, record: dict) -> None:
        total = sum(float(v.get("score", 0.0)) for v in record.get("drills", {}).values())
        flags = ";".join(record.get("flags", [])) or "ok"
        how = "unchanged, result reused" if record.get("resumed") else "graded"
        stamp = record.get("graded_at") or datetime.now().isoformat(timespec="seconds")
        line = (
            f"{stamp} {display} flags={flags} score={number_text(round(total, 2))} "
            f"seconds={float(record.get('seconds', 0.0)):.1f} ({how})"
        )
        details = list(record.get("log", []))
        metadata = record.get("metadata") or {}
        from_name = student_id_for(display, {})
        from_metadata = student_id_for(display, metadata)
        if from_metadata != from_name:
            details.append(
                f"student id {from_metadata!r} from the notebook metadata; the file name says {from_name!r}"
            )
        execution = record.get("execution") or {}
        if execution.get("seconds") is not None:
            details.append(
                f"execution: {execution.get('cells_run', 0)}/{execution.get('cells_total', 0)} cells "
                f"in {float(execution['seconds']):.1f} s"
            )
        for drill_id, verdict in record.get("drills", {}).items():
            details.append(
                f"{drill_id}: {verdict.get('status')} {number_text(float(verdict.get('score', 0)))}"
            )
        self.entries.append("\n".join([line] + [f"    {d}" for d in details]))

    def add_summary(self, rows: list[Row]) -> None:
        students: dict[str, int] = {}
        for row in rows:
            students[row.student_id] = students.get(row.student_id, 0) + 1
        self.summary = [
            f"# note: student {sid!r} has {n} submissions in this batch"
            for sid, n in students.items()
            if n > 1
        ]
        self.summary.append(
            f"# finished {datetime.now().isoformat(timespec='seconds')}: "
            + ", ".join(
                f"{s} {sum(r.status == s for r in rows)}"
                for s in STATUS_ORDER
                if any(r.status == s for r in rows)
            )
        )

    def write(self) -> None:
        text = "\n".join(self.header + self.entries + self.summary) + "\n"
        storage.atomic_write_text(self.path, text)
