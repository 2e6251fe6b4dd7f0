"""Reading untrusted JSON and YAML without ever recursing deeply.

Before parsing, an iterative scan refuses nesting deeper than MAX_DEPTH (the parsers recurse
once per level, and so does any code that walks what they return). After parsing, an
iterative walk finds strings that are not valid text: lone surrogates, which JSON's "\\udc00"
and YAML's "\\udc00" escapes produce and which no database, log line or page can encode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from itertools import accumulate
from typing import Any

import yaml

from .names import has_surrogate

# Nesting levels a body or file may have (Datadock's own documents use at most 4).
MAX_DEPTH = 32
# Nodes a YAML document may have once its aliases (*name) are counted as what they stand for.
MAX_YAML_NODES = 200_000

TOO_DEEP = f"The nesting is too deep: at most {MAX_DEPTH} levels of objects and arrays."


class InputRefused(ValueError):
    """The document cannot be read safely; the message is for the user (no input echoed)."""


# A JSON string (possessive, so an unterminated one is consumed once, not rescanned).
_JSON_STRING = re.compile(rb'"[^"\\]*+(?:\\.[^"\\]*+)*+(?:"|\Z)', re.S)
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_STEP = [0] * 256
for _b in b"[{":
    _STEP[_b] = 1
for _b in b"]}":
    _STEP[_b] = -1


def json_depth(raw: bytes) -> int:
    """The deepest nesting of objects and arrays in `raw` (brackets inside strings ignored)."""
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def load_json(raw: bytes | str, **options: Any) -> Any:
    """`json.loads` after the depth check. Raises InputRefused (too deep) or ValueError."""
    data = raw.encode("utf-8", "surrogatepass") if isinstance(raw, str) else raw
    if json_depth(data) > MAX_DEPTH:
        raise InputRefused(TOO_DEEP)
    try:
        return json.loads(raw, **options)
    except RecursionError:  # not reached below MAX_DEPTH; kept as a backstop
        raise InputRefused(TOO_DEEP) from None


def invalid_text(value: Any) -> Iterator[tuple[tuple[Any, ...], bool]]:
    """Where `value` holds a string that is not valid text: (path of keys and indexes,
    whether the bad string is a key itself). Walks with its own stack, not recursion."""
    links: list[tuple[int, Any]] = [(-1, None)]  # node → (its parent's node, its key)
    stack: list[tuple[int, Any]] = [(0, value)]

    def path(node: int) -> tuple[Any, ...]:
        parts = []
        while node > 0:
            node, key = links[node]
            parts.append(key)
        return tuple(reversed(parts))

    while stack:
        node, item = stack.pop()
        if isinstance(item, str):
            if has_surrogate(item):
                yield path(node), False
            continue
        if isinstance(item, dict):
            children = list(item.items())
        elif isinstance(item, list | tuple):
            children = list(enumerate(item))
        else:
            continue
        for key, child in reversed(children):
            links.append((node, key))
            if isinstance(key, str) and has_surrogate(key):
                yield path(len(links) - 1), True
            else:
                stack.append((len(links) - 1, child))


def check_yaml_shape(text: str) -> None:
    """Refuse a YAML stream nested deeper than MAX_DEPTH, larger than MAX_YAML_NODES, or with
    an alias inside the node it names, counting aliases as the nodes they repeat.

    Reads the parser's events (the parser keeps its own stack; composing recurses).
    """
    anchors: dict[str, tuple[int, int]] = {}  # anchor → (height, nodes)
    stack: list[list[Any]] = []  # open collections: [anchor, height, nodes]

    def add(height: int, nodes: int) -> None:
        if len(stack) + height > MAX_DEPTH:
            raise InputRefused(TOO_DEEP + " (aliases count as what they repeat)")
        if stack:
            top = stack[-1]
            top[1], top[2] = max(top[1], height), top[2] + nodes
            if top[2] > MAX_YAML_NODES:
                raise InputRefused(
                    f"The document is too large: more than {MAX_YAML_NODES} "
                    "values once its aliases are counted."
                )

    for event in yaml.parse(text, Loader=yaml.SafeLoader):
        if isinstance(event, yaml.CollectionStartEvent):
            stack.append([event.anchor, 0, 1])
            if len(stack) > MAX_DEPTH:
                raise InputRefused(TOO_DEEP)
        elif isinstance(event, yaml.CollectionEndEvent):
            anchor, height, nodes = stack.pop()
            if anchor:
                anchors[anchor] = (height + 1, nodes)
            add(height + 1, nodes)
        elif isinstance(event, yaml.ScalarEvent):
            if event.anchor:
                anchors[event.anchor] = (0, 1)
            add(0, 1)
        elif isinstance(event, yaml.AliasEvent):
            if any(frame[0] == event.anchor for frame in stack):
                raise InputRefused(
                    f"The alias *{event.anchor} is inside the node it names (a loop)."
                )
            add(*anchors.get(event.anchor, (0, 1)))


def load_yaml(text: str) -> Any:
    """`yaml.safe_load` after check_yaml_shape. Raises InputRefused or yaml.YAMLError."""
    check_yaml_shape(text)
    try:
        return yaml.safe_load(text)
    except RecursionError:  # not reached below MAX_DEPTH; kept as a backstop
        raise InputRefused(TOO_DEEP) from None


def describe_path(path: tuple[Any, ...], root: str = "") -> str:
    """`sources[0].displayName` for ("sources", 0, "displayName")."""
    text = root
    for part in path:
        name = str(part).encode("utf-8", "backslashreplace").decode("utf-8")  # a bad key too
        text += f"[{name}]" if isinstance(part, int) else (f".{name}" if text else name)
    return text or "the document"
