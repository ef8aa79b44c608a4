"""How drill objects look: coloured boxes and tables in JupyterLab, aligned text elsewhere.

Every object returned by the drills API has ``_repr_html_`` (JupyterLab renders it) and
``__str__``/``__repr__`` (a terminal prints it). Only the standard library is used.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# status -> (border, background, mark). Marks are words: symbols and emoji show as empty
# boxes where no emoji font is installed (many Linux machines, headless browsers).
_STYLES = {
    "passed": ("#2e7d32", "#e8f5e9", "PASS"),
    "failed": ("#c62828", "#ffebee", "FAIL"),
    "partial": ("#ef6c00", "#fff3e0", "PART"),
    "not attempted": ("#757575", "#f5f5f5", "TODO"),
    "info": ("#1565c0", "#e3f2fd", "INFO"),
    "hint": ("#6a1b9a", "#f3e5f5", "HINT"),
    "refused": ("#757575", "#f5f5f5", "NO"),
}


def box_html(style: str, heading: str, *, bullets: Sequence[str] = (), body_html: str = "") -> str:
    """A box with a coloured left border, a bold heading, bullet points and optional HTML."""
    border, background, symbol = _STYLES.get(style, _STYLES["info"])
    parts = [
        f'<div class="vae-course-drill vae-course-{style.replace(" ", "-")}" '
        f'style="border:1px solid {border};border-left:6px solid {border};'
        f"background:{background};color:#212121;padding:8px 12px;margin:4px 0;"
        f'border-radius:4px;font-family:sans-serif;font-size:14px;">',
        f'<div style="font-weight:bold;color:{border};">'
        f'<span style="font-size:11px;border:1px solid {border};border-radius:3px;'
        f'padding:0 4px;margin-right:6px;">{symbol}</span>{html.escape(heading)}</div>',
    ]
    if bullets:
        items = "".join(f"<li>{inline_html(b)}</li>" for b in bullets)
        parts.append(f'<ul style="margin:6px 0 0 0;padding-left:22px;">{items}</ul>')
    if body_html:
        parts.append(f'<div style="margin-top:6px;">{body_html}</div>')
    parts.append("</div>")
    return "".join(parts)


def inline_html(text: str) -> str:
    """Escape ``text``; `backticks` become <code>."""
    escaped = html.escape(text)
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", escaped)


def text_to_html(text: str) -> str:
    """A tiny Markdown subset: ```fenced``` code blocks, paragraphs, `code`, '- ' bullets."""
    out: list[str] = []
    blocks = re.split(r"```[a-z]*\n?", text)
    for i, block in enumerate(blocks):
        if i % 2 == 1:  # inside a fence
            out.append(
                '<pre style="background:#fafafa;border:1px solid #e0e0e0;padding:6px;'
                f'overflow-x:auto;"><code>{html.escape(block.rstrip())}</code></pre>'
            )
            continue
        for paragraph in re.split(r"\n\s*\n", block.strip()):
            if not paragraph.strip():
                continue
            lines = paragraph.splitlines()
            if all(line.lstrip().startswith("- ") for line in lines):
                items = "".join(f"<li>{inline_html(line.lstrip()[2:])}</li>" for line in lines)
                out.append(f'<ul style="margin:4px 0;padding-left:22px;">{items}</ul>')
            else:
                out.append(
                    '<p style="margin:4px 0;">'
                    + "<br>".join(inline_html(line) for line in lines)
                    + "</p>"
                )
    return "".join(out)


@dataclass
class Message:
    """A titled block of text (hints, solutions, prompts, refusals)."""

    style: str
    heading: str
    text: str = ""
    bullets: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        lines = [self.heading, "-" * min(len(self.heading), 78)]
        if self.text:
            lines.append(self.text.strip())
        lines += [f"  - {b}" for b in self.bullets]
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        return box_html(
            self.style, self.heading, bullets=self.bullets, body_html=text_to_html(self.text)
        )


@dataclass
class Table:
    """Rows of cells with column names; HTML table in JupyterLab, aligned text elsewhere."""

    columns: list[str]
    rows: list[list[object]]
    title: str = ""
    footer: str = ""

    def __len__(self) -> int:
        return len(self.rows)

    def __str__(self) -> str:
        cells = [[str(c) for c in self.columns]] + [[str(c) for c in row] for row in self.rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(self.columns))]
        lines = [self.title] if self.title else []
        for n, row in enumerate(cells):
            lines.append("  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        if self.footer:
            lines.append(self.footer)
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_html_(self) -> str:
        head = "".join(
            f'<th style="text-align:left;padding:2px 10px;">{html.escape(str(c))}</th>'
            for c in self.columns
        )
        body = "".join(
            "<tr>"
            + "".join(
                f'<td style="text-align:left;padding:2px 10px;">{html.escape(str(c))}</td>'
                for c in row
            )
            + "</tr>"
            for row in self.rows
        )
        caption = (
            f'<caption style="text-align:left;font-weight:bold;">{html.escape(self.title)}'
            "</caption>"
            if self.title
            else ""
        )
        footer = (
            f'<div style="font-size:12px;color:#616161;">{html.escape(self.footer)}</div>'
            if self.footer
            else ""
        )
        return (
            f'<table class="vae-course-table" style="border-collapse:collapse;">{caption}'
            f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>{footer}"
        )
