"""A workflow's DAG drawn as SVG, on the server: one column per depth, one box per task.

Used by the operators' workflow and execution pages. The drawing needs no script and no network:
it is plain SVG text with a ``<title>`` and ``<desc>`` that say in words what it shows, and a
``<title>`` on each task for the pointer and for screen readers.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

NODE_WIDTH = 170
NODE_HEIGHT = 46
COLUMN_GAP = 60
ROW_GAP = 18
MARGIN = 12
LABEL_CHARS = 22  # longer names are cut in the box (the full name is in its title)

# Fill, border and text colour per status; "defined" is a task of a workflow (no run yet).
STATUS_COLOURS: dict[str, tuple[str, str, str]] = {
    "defined": ("#eef1f6", "#8a94a6", "#1d2330"),
    "pending": ("#f3f4f6", "#9aa3b2", "#3d4556"),
    "running": ("#dbe6ff", "#2f5bd3", "#17306e"),
    "waiting": ("#fff1d1", "#b07800", "#5c3f00"),
    "succeeded": ("#dcf2e3", "#1f7a3f", "#0f3d20"),
    "failed": ("#fbe0de", "#b3261e", "#5e120e"),
    "skipped": ("#f7f7f7", "#c0c5ce", "#6b7385"),
    "cancelled": ("#e6e7ea", "#5d6678", "#2b303b"),
}


@dataclass(frozen=True)
class Node:
    name: str
    task_type: str
    depends_on: tuple[str, ...]
    depth: int
    row: int
    status: str

    @property
    def x(self) -> int:
        return MARGIN + self.depth * (NODE_WIDTH + COLUMN_GAP)

    @property
    def y(self) -> int:
        return MARGIN + self.row * (NODE_HEIGHT + ROW_GAP)


def depths(tasks: list[dict]) -> dict[str, int]:
    """Each task's depth: 0 without dependencies, else one more than its deepest dependency.

    Unknown dependencies are ignored and a cycle (which validation refuses) does not loop.
    """
    deps = {t["name"]: [d for d in t.get("depends_on") or [] if isinstance(d, str)] for t in tasks
            if isinstance(t, dict) and isinstance(t.get("name"), str)}
    result: dict[str, int] = {}

    def depth(name: str, seen: frozenset[str]) -> int:
        if name in result:
            return result[name]
        parents = [d for d in deps.get(name, []) if d in deps and d not in seen]
        value = 1 + max((depth(d, seen | {name}) for d in parents), default=-1)
        result[name] = value
        return value

    for name in deps:
        depth(name, frozenset())
    return result


def layout(definition: dict, statuses: dict[str, str] | None = None) -> list[Node]:
    """The top-level tasks of ``definition`` placed by depth, in definition order within a column."""
    tasks = [t for t in (definition or {}).get("tasks") or [] if isinstance(t, dict) and isinstance(t.get("name"), str)]
    by_depth = depths(tasks)
    rows: dict[int, int] = {}
    nodes = []
    for task in tasks:
        depth = by_depth[task["name"]]
        row = rows.get(depth, 0)
        rows[depth] = row + 1
        status = (statuses or {}).get(task["name"], "defined") if statuses is not None else "defined"
        nodes.append(Node(task["name"], str(task.get("type", "")), tuple(task.get("depends_on") or []), depth, row,
                          status if status in STATUS_COLOURS else "defined"))
    return nodes


def _cut(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"


def describe(nodes: list[Node]) -> str:
    """The drawing in words, one sentence per task (for the SVG's ``<desc>``)."""
    parts = []
    for node in nodes:
        after = f" after {', '.join(node.depends_on)}" if node.depends_on else " first"
        state = f", {node.status}" if node.status != "defined" else ""
        parts.append(f"{node.name} ({node.task_type}{state}) runs{after}.")
    return " ".join(parts) or "No tasks."


def render_svg(definition: dict, statuses: dict[str, str] | None = None, *, title: str = "Workflow graph") -> SafeString:
    """The DAG of ``definition`` as an inline ``<svg>``; ``statuses`` (task name -> status) colours the boxes."""
    nodes = layout(definition, statuses)
    placed = {node.name: node for node in nodes}
    columns = max((n.depth for n in nodes), default=0) + 1
    rows = max((n.row for n in nodes), default=0) + 1
    width = 2 * MARGIN + columns * NODE_WIDTH + (columns - 1) * COLUMN_GAP
    height = 2 * MARGIN + rows * NODE_HEIGHT + (rows - 1) * ROW_GAP
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="dag" role="img" aria-labelledby="dag-title dag-desc" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">',
        f'<title id="dag-title">{escape(title)}</title>',
        f'<desc id="dag-desc">{escape(describe(nodes))}</desc>',
        '<defs><marker id="dag-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#8a94a6"/></marker></defs>',
    ]
    for node in nodes:
        for dep in node.depends_on:
            parent = placed.get(dep)
            if parent is None:
                continue
            x1, y1 = parent.x + NODE_WIDTH, parent.y + NODE_HEIGHT // 2
            x2, y2 = node.x, node.y + NODE_HEIGHT // 2
            bend = (x2 - x1) // 2
            out.append(f'<path class="dag-edge" d="M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}" '
                       f'fill="none" stroke="#8a94a6" stroke-width="1.5" marker-end="url(#dag-arrow)"/>')
    for node in nodes:
        fill, stroke, ink = STATUS_COLOURS[node.status]
        label = escape(node.name)
        state = f": {node.status}" if node.status != "defined" else ""
        dash = ' stroke-dasharray="4 3"' if node.status in ("skipped", "pending") else ""
        out.append(
            f'<g class="dag-node status-{node.status}" data-task="{label}">'
            f'<title>{label} ({escape(node.task_type)}){escape(state)}</title>'
            f'<rect x="{node.x}" y="{node.y}" width="{NODE_WIDTH}" height="{NODE_HEIGHT}" rx="6" fill="{fill}" '
            f'stroke="{stroke}" stroke-width="{2 if node.status in ("failed", "running") else 1.2}"{dash}/>'
            f'<text x="{node.x + 10}" y="{node.y + 19}" font-size="13" font-weight="600" fill="{ink}" '
            f'font-family="system-ui, sans-serif">{escape(_cut(node.name))}</text>'
            f'<text x="{node.x + 10}" y="{node.y + 36}" font-size="11" fill="{ink}" '
            f'font-family="system-ui, sans-serif">{escape(_cut(node.task_type + state))}</text></g>'
        )
    out.append("</svg>")
    return mark_safe("".join(out))  # noqa: S308 (every interpolated name, type and title is escaped above)
