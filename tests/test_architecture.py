"""The apps form layers, and imports only point down (README, Architecture).

Layers, lowest first: ``config`` (settings, errors, shared HTTP pieces), ``accounts`` (tenancy,
keys, auth), ``workflows`` (definitions and the task-type registry), ``executions`` (the engine),
then the features ``approvals``, ``records`` and ``flowruns``, which may not import each other.
Surfaces (``api/``, ``admin.py``, ``views.py``, ``urls.py``, ``forms.py``, management commands,
the root URLconf) sit on top of everything and may import any core module; no core module imports
a surface. An import placed inside a function is allowed only in an ``AppConfig.ready()``, where
Django wants it; anywhere else it would be hiding a circle. A new app gets its place in ``LAYERS``
before anything may import it; the tooling packages (benchmarks, scripts, tests) may import
Flowgate, and nothing of Flowgate imports them.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = {"config": 0, "accounts": 1, "workflows": 2, "executions": 3, "approvals": 4, "records": 4, "flowruns": 4,
          "schedules": 4, "webhooks": 4}
TOOLING = {"bench", "scripts", "tests"}
SURFACE_FILES = {"admin.py", "views.py", "urls.py", "forms.py", "surface_urls.py", "wsgi.py", "asgi.py"}
SURFACE_DIRS = {"api", "management"}


@dataclass(frozen=True)
class Import:
    source: str  # dotted module that imports
    target: str  # dotted module (or module.name) imported
    line: int
    in_function: str | None  # the enclosing function's name, for imports inside one


def first_party_packages() -> set[str]:
    """Every top-level package of the repository: the apps and the tooling."""
    return {path.parent.name for pattern in ("*/__init__.py", "*/apps.py") for path in ROOT.glob(pattern)}


PACKAGES = first_party_packages()


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def is_surface(module: str) -> bool:
    parts = module.split(".")
    return bool(SURFACE_DIRS & set(parts)) or f"{parts[-1]}.py" in SURFACE_FILES


def project_modules() -> dict[str, Path]:
    modules = {}
    for app in LAYERS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" not in path.parts:
                modules[module_name(path)] = path
    return modules


def imports_of(module: str, path: Path) -> list[Import]:
    found: list[Import] = []

    def visit(node: ast.AST, function: str | None) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                visit(child, child.name)
                continue
            targets: list[str] = []
            if isinstance(child, ast.Import):
                targets = [alias.name for alias in child.names]
            elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                targets = [child.module]
            for target in targets:
                if target.split(".")[0] in PACKAGES | LAYERS.keys():
                    found.append(Import(module, target, child.lineno, function))
            visit(child, function)

    visit(ast.parse(path.read_text(encoding="utf-8")), None)
    return found


def all_imports() -> list[Import]:
    return [imp for module, path in project_modules().items() for imp in imports_of(module, path)]


def layer_violation(imp: Import, modules: dict[str, Path]) -> str | None:
    """Why this import breaks the layers, or None."""
    source_app, target_app = imp.source.split(".")[0], imp.target.split(".")[0]
    target_module = imp.target if imp.target in modules else imp.target.rsplit(".", 1)[0]
    if target_app not in LAYERS:
        return f"{target_app} has no layer: give an app its place in LAYERS (tooling is never imported)"
    if is_surface(imp.source):
        return None
    if is_surface(target_module):
        return "a core module imports a surface"
    if source_app == target_app:
        return None
    if LAYERS[target_app] > LAYERS[source_app]:
        return f"{source_app} (layer {LAYERS[source_app]}) imports {target_app}, a higher layer"
    if LAYERS[target_app] == LAYERS[source_app]:
        return f"{source_app} imports {target_app}: features do not import each other (use the engine's signals)"
    return None


def test_every_package_is_a_layered_app_or_tooling():
    assert PACKAGES - TOOLING - LAYERS.keys() == set(), "a package without a place in LAYERS"


def test_every_import_of_a_core_module_points_down():
    modules = project_modules()
    problems = [f"{modules[imp.source].relative_to(ROOT)}:{imp.line}: {imp.target}: {reason}"
                for imp in all_imports() if (reason := layer_violation(imp, modules))]
    assert problems == []


def test_imports_sit_at_the_top_of_modules_except_in_app_ready():
    modules = project_modules()
    problems = [f"{modules[imp.source].relative_to(ROOT)}:{imp.line}: {imp.target} imported inside {imp.in_function}()"
                for imp in all_imports()
                if imp.in_function is not None and not (imp.source.endswith(".apps") and imp.in_function == "ready")]
    assert problems == []


def test_the_contract_catches_an_upward_and_a_sideways_import():
    """The checks above would fail on the imports the layering forbids (they are not vacuous)."""
    modules = project_modules()
    upward = Import("executions.engine", "approvals.services", 1, None)
    sideways = Import("flowruns.services", "approvals.models", 1, None)
    into_surface = Import("executions.services", "executions.api.views", 1, None)
    from_surface = Import("executions.api.views", "flowruns.services", 1, None)
    unlisted = Import("executions.engine", "notify.executors", 1, None)
    tooling = Import("executions.api.views", "bench.steps", 1, None)
    assert "higher layer" in layer_violation(upward, modules)
    assert "features do not import each other" in layer_violation(sideways, modules)
    assert layer_violation(into_surface, modules) == "a core module imports a surface"
    assert layer_violation(from_surface, modules) is None
    assert "notify has no layer" in layer_violation(unlisted, modules)
    assert "bench has no layer" in layer_violation(tooling, modules)
    found = imports_of("executions.engine", ROOT / "executions" / "engine.py")
    assert any(imp.target == "workflows.registry" for imp in found)
