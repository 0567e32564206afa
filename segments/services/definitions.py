"""Checking a segment's rule against the database: segment references exist and form no cycle."""

from __future__ import annotations

from typing import Any

from segments.models import ScoreModel, Segment
from segments.rules.validation import RuleError, referenced_segments, uses_time, validate_rule


def _paths_of_segment_refs(tree: Any, path: str = "") -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    if isinstance(tree, dict):
        if tree.get("type") == "segment" and isinstance(tree.get("segment"), int):
            found.append((f"{path}.segment" if path else "segment", tree["segment"]))
        children = tree.get("conditions")
        for i, child in enumerate(children if isinstance(children, list) else []):
            found.extend(_paths_of_segment_refs(child, f"{path}.conditions[{i}]" if path else f"conditions[{i}]"))
    return found


def _paths_of_score_refs(tree: Any, path: str = "") -> list[tuple[str, int]]:
    found: list[tuple[str, int]] = []
    if isinstance(tree, dict):
        if tree.get("type") == "score" and isinstance(tree.get("model"), int):
            found.append((f"{path}.model" if path else "model", tree["model"]))
        children = tree.get("conditions")
        for i, child in enumerate(children if isinstance(children, list) else []):
            found.extend(_paths_of_score_refs(child, f"{path}.conditions[{i}]" if path else f"conditions[{i}]"))
    return found


def rule_check(definition: Any, *, segment_id: int | None = None) -> dict:
    """The normalised rule of ``definition`` for segment ``segment_id`` (None: a new segment or a preview).

    Raises RuleError naming each offending node: invalid shape, values, operators, unknown segments and
    cycles (a segment using itself, directly or through others)."""
    norm = validate_rule(definition)
    score_refs = _paths_of_score_refs(definition)
    if score_refs:
        known = set(ScoreModel.objects.filter(pk__in=[r for _, r in score_refs]).values_list("id", flat=True))
        missing = [{"path": path, "message": f"Score model {ref} does not exist."}
                   for path, ref in score_refs if ref not in known]
        if missing:
            raise RuleError(missing)
    refs = _paths_of_segment_refs(definition)
    if not refs:
        return norm
    graph = {pk: set(deps) for pk, deps in Segment.objects.values_list("id", "depends_on")}
    errors = []
    for path, ref in refs:
        if ref not in graph:
            errors.append({"path": path, "message": f"Segment {ref} does not exist."})
        elif segment_id is not None and (ref == segment_id or segment_id in _reachable(graph, ref)):
            errors.append({"path": path, "message": "This would make the segment depend on itself (a cycle)."})
    if errors:
        raise RuleError(errors)
    return norm


def _reachable(graph: dict[int, set[int]], start: int) -> set[int]:
    seen: set[int] = set()
    stack = [start]
    while stack:
        for nxt in graph.get(stack.pop(), ()):
            if nxt not in seen:
                seen.add(nxt)
                stack.append(nxt)
    return seen


def rule_facts(norm: dict) -> dict:
    """What the segment model keeps about a checked rule: its dependencies and whether it uses time."""
    deps = sorted(referenced_segments(norm))
    time_based = uses_time(norm) or Segment.objects.filter(pk__in=deps, uses_time=True).exists()
    return {"depends_on": deps, "uses_time": time_based}
