"""Rails-style YAML (YAML 1.1 as the Rails I18n backend reads it, via PyYAML's safe loader):
one top-level key, the language, over nested levels split at `Options.separator`.

A mapping whose keys are all CLDR plural categories (``one``, ``other``…) is a
plural: read as an ICU plural over ``count``, written back the same way.
Anchors and aliases are refused (they let a small file expand without bound);
comments are not kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

from i18n_connect.errors import MalformedFile
from i18n_connect.formats.model import Entry, Options, Parsed, Skipped, decode, nest
from i18n_connect.platform.messages import CATEGORY_ORDER, build_plural, plural_of

__all__ = ["RAILS_YAML"]

_PLURAL_ARGUMENT = "count"


def _mark(mark: Any) -> dict[str, int]:
    return {"line": mark.line + 1, "column": mark.column + 1}


def _compose(text: str) -> yaml.Node | None:
    try:
        for event in yaml.parse(text, Loader=yaml.SafeLoader):
            if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
                raise MalformedFile(
                    "YAML anchors and aliases are not accepted", **_mark(event.start_mark)
                )
        return yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as error:
        where = _mark(error.problem_mark) if error.problem_mark is not None else {}
        raise MalformedFile(f"invalid YAML: {error.problem}", **where) from None
    except yaml.YAMLError as error:
        raise MalformedFile(f"invalid YAML: {error}") from None


def _is_plural(node: yaml.MappingNode) -> bool:
    names = [key.value for key, _ in node.value if isinstance(key, yaml.ScalarNode)]
    return (
        len(names) == len(node.value)
        and "other" in names
        and all(name in CATEGORY_ORDER for name in names)
        and all(isinstance(value, yaml.ScalarNode) for _, value in node.value)
    )


class _RailsYaml:
    name, media_type, extension = "yaml", "application/yaml", "yml"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        root = nest(entries, options.separator, _value)
        document = {options.language: root}
        return yaml.safe_dump(
            document, allow_unicode=True, sort_keys=False, default_flow_style=False, width=10_000
        ).encode()

    def parse(self, data: bytes, options: Options) -> Parsed:
        root = _compose(decode(data))
        if root is None:
            return Parsed()
        if not isinstance(root, yaml.MappingNode) or len(root.value) != 1:
            raise MalformedFile("the file must have one top-level key, its language", line=1)
        parsed = Parsed()
        stack: list[tuple[str, yaml.Node]] = [("", root.value[0][1])]
        while stack:
            prefix, node = stack.pop()
            if not isinstance(node, yaml.MappingNode):
                parsed.skipped.append(Skipped(prefix, "not a mapping", node.start_mark.line + 1))
                continue
            for key_node, value in node.value:
                key = prefix + str(key_node.value)
                line = key_node.start_mark.line + 1
                if isinstance(value, yaml.MappingNode) and _is_plural(value):
                    forms = {k.value: v.value for k, v in value.value}
                    parsed.entries.append(
                        Entry(key, build_plural(_PLURAL_ARGUMENT, forms), line=line)
                    )
                elif isinstance(value, yaml.MappingNode):
                    stack.append((key + options.separator, value))
                elif isinstance(value, yaml.ScalarNode) and value.tag == "tag:yaml.org,2002:str":
                    parsed.entries.append(Entry(key, value.value, line=line))
                else:
                    parsed.skipped.append(Skipped(key, "the value is not a string", line))
        return parsed


def _value(text: str) -> str | dict[str, str]:
    plural = plural_of(text)
    return dict(plural.forms) if plural is not None else text


RAILS_YAML = _RailsYaml()
