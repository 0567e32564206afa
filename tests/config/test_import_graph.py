"""The dependency rules of ARCHITECTURE.md, checked over the source (every import, deferred ones included).

- services, selectors and models never import tasks or views (services queue tasks by name through
  config.queueing.enqueue_on_commit);
- apps depend one way: crm <- cdp <- segments <- reports; crm imports none of the others, cdp neither segments
  nor reports, and nothing imports reports;
- cdp uses crm only through its public surface: crm.selectors, crm.services, crm.extensions and crm.roles
  (the role names), never crm models, views, API, forms or tasks.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
APPS = ("config", "crm", "cdp", "segments", "reports")
CRM_SURFACE_FOR_CDP = ("crm.selectors", "crm.services", "crm.extensions", "crm.roles")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _imports(path: Path, module: str | None = None) -> list[tuple[int, str]]:
    """Every module ``path`` imports, as absolute dotted names ("from a import b" counts as a and a.b)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    module = module or _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            found.append((node.lineno, base))
            found.extend((node.lineno, f"{base}.{alias.name}") for alias in node.names if alias.name != "*")
    return found


def _sources() -> list[Path]:
    files = []
    for app in APPS:
        files.extend(p for p in (ROOT / app).rglob("*.py") if "migrations" not in p.parts)
    return sorted(files)


def _within(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def _layer(module: str) -> str | None:
    parts = module.split(".")
    for layer in ("services", "selectors", "models"):
        if layer in parts[1:]:
            return layer
    return None


def _is_tasks_or_views(name: str) -> bool:
    parts = name.split(".")
    return parts[0] in APPS and any(part in ("tasks", "views") for part in parts[1:])


def _violations(rule) -> list[str]:
    out = []
    for path in _sources():
        module = _module_name(path)
        for lineno, name in _imports(path):
            if rule(module, name):
                out.append(f"{path.relative_to(ROOT)}:{lineno} imports {name}")
    return sorted(set(out))


def test_the_checker_sees_deferred_and_relative_imports(tmp_path):
    probe = tmp_path / "probe.py"
    probe.write_text("def f():\n    from ..tasks import import_run\n    import cdp.services\n")
    names = {name for _, name in _imports(probe, module="crm.services.probe")}
    assert _is_tasks_or_views("crm.tasks.import_run") and _layer("crm.services.probe") == "services"
    assert {"crm.tasks", "crm.tasks.import_run", "cdp.services"} <= names


def test_services_selectors_and_models_never_import_tasks_or_views():
    assert _violations(lambda module, name: _layer(module) is not None and _is_tasks_or_views(name)) == []


def test_crm_imports_no_other_app():
    others = ("cdp", "segments", "reports")
    assert _violations(lambda module, name: _within(module, "crm") and any(_within(name, app) for app in others)) == []


def test_cdp_imports_neither_segments_nor_reports():
    assert _violations(
        lambda module, name: _within(module, "cdp") and any(_within(name, app) for app in ("segments", "reports"))
    ) == []


def test_nothing_imports_reports_and_segments_imports_no_reports():
    assert _violations(lambda module, name: not _within(module, "reports") and _within(name, "reports")) == []


def test_cdp_uses_crm_only_through_its_public_surface():
    assert _violations(
        lambda module, name: _within(module, "cdp") and _within(name, "crm") and name != "crm"
        and not any(_within(name, allowed) for allowed in CRM_SURFACE_FOR_CDP)
    ) == []
