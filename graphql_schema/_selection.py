"""Whether a resolver's field selects a path, read off the document: each fragment once.

strawberry's ``info.selected_fields`` converts the whole selection into its own objects,
expanding every fragment spread again where it appears: nested fragments (``F1 { ...F0 ...F0 }``
… ``F39``) make that exponential. This walks graphql-core's AST and remembers, per fragment,
whether it selects the rest of the path. Directives (``@skip``, ``@include``) are not
evaluated: a field they may leave out counts as selected, which only ever reads more.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    InlineFragmentNode,
    SelectionSetNode,
)
from strawberry.types import Info

__all__ = ["selects"]


def selects(info: Info[Any, Any], *path: str) -> bool:
    """True when the field being resolved selects the fields ``path`` below it."""
    raw = info._raw_info  # graphql-core's resolve info: the field's nodes and the fragments
    walk = _Walk(raw.fragments)
    return any(walk.selects(node.selection_set, path) for node in raw.field_nodes)


class _Walk:
    def __init__(self, fragments: dict[str, FragmentDefinitionNode]) -> None:
        self.fragments = fragments
        self.known: dict[tuple[str, tuple[str, ...]], bool] = {}

    def selects(self, selection_set: SelectionSetNode | None, path: tuple[str, ...]) -> bool:
        if not path:
            return True
        if selection_set is None:
            return False
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                if selection.name.value == path[0] and self.selects(
                    selection.selection_set, path[1:]
                ):
                    return True
            elif isinstance(selection, InlineFragmentNode):
                if self.selects(selection.selection_set, path):
                    return True
            elif isinstance(selection, FragmentSpreadNode) and self.fragment(
                selection.name.value, path
            ):
                return True
        return False

    def fragment(self, name: str, path: tuple[str, ...]) -> bool:
        key = (name, path)
        if key not in self.known:
            self.known[key] = False  # a cycle (refused by validation) selects nothing
            definition = self.fragments.get(name)
            self.known[key] = definition is not None and self.selects(
                definition.selection_set, path
            )
        return self.known[key]
