"""The DAG drawing (``workflows.graph``): columns by depth, status colours, words, escaping."""

from __future__ import annotations

import re

from workflows.graph import COLUMN_GAP, MARGIN, NODE_WIDTH, depths, layout, render_svg

DIAMOND = {"tasks": [
    {"name": "start", "type": "set"},
    {"name": "left", "type": "log", "depends_on": ["start"]},
    {"name": "right", "type": "http", "depends_on": ["start"]},
    {"name": "join", "type": "response", "depends_on": ["left", "right"]},
    {"name": "late", "type": "log", "depends_on": ["start", "join"]},
]}


def test_a_task_sits_one_column_right_of_its_deepest_dependency():
    assert depths(DIAMOND["tasks"]) == {"start": 0, "left": 1, "right": 1, "join": 2, "late": 3}
    placed = {node.name: (node.depth, node.row) for node in layout(DIAMOND)}
    assert placed == {"start": (0, 0), "left": (1, 0), "right": (1, 1), "join": (2, 0), "late": (3, 0)}


def test_unknown_dependencies_and_cycles_do_not_break_the_drawing():
    tasks = [{"name": "a", "type": "log", "depends_on": ["b", "ghost"]}, {"name": "b", "type": "log", "depends_on": ["a"]}]
    assert set(depths(tasks)) == {"a", "b"}
    svg = render_svg({"tasks": tasks})
    assert svg.count('class="dag-node') == 2


def test_each_dependency_is_an_arrow_and_each_status_a_colour():
    svg = str(render_svg(DIAMOND, {"start": "succeeded", "left": "failed", "right": "running"}))
    assert svg.count('class="dag-edge"') == 6
    assert 'class="dag-node status-failed" data-task="left"' in svg
    assert 'class="dag-node status-pending"' not in svg
    assert 'class="dag-node status-defined" data-task="join"' in svg  # no run: drawn as defined
    width = int(re.search(r'width="(\d+)"', svg).group(1))
    assert width == 2 * MARGIN + 4 * NODE_WIDTH + 3 * COLUMN_GAP


def test_the_drawing_says_in_words_what_it_shows():
    svg = str(render_svg(DIAMOND, {"start": "succeeded"}, title="Tasks of nightly"))
    assert 'role="img" aria-labelledby="dag-title dag-desc"' in svg
    assert '<title id="dag-title">Tasks of nightly</title>' in svg
    assert "start (set, succeeded) runs first." in svg
    assert "join (response) runs after left, right." in svg
    assert "<title>left (log)</title>" in svg


def test_names_are_escaped_and_long_names_cut_in_the_box():
    name = '<script>alert("x")</script>-and-a-very-long-tail'
    svg = str(render_svg({"tasks": [{"name": name, "type": "log"}]}))
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;-and-a-very-long-tail (log)" in svg  # full, in the title
    assert "&gt;alert(&quot;x&quot;)&lt;/s…</text>" in svg  # the first 21 characters, then …


def test_an_empty_definition_draws_an_empty_graph():
    svg = str(render_svg({"tasks": []}))
    assert "No tasks." in svg and 'class="dag-node' not in svg
