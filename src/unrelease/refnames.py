"""Names that become git refs and labels: rendered from templates and checked at plan time,
before any write, so a bad template never leaves a half-done rollback."""

from __future__ import annotations

import re
import string
from typing import Any

from unrelease.errors import BadInput

_FIELDS = ("version", "to_tag", "date", "to", "package")
_BAD_CHARS = re.compile(r"[\x00-\x20\x7f~^:?*\[\\]")
_LABEL_MAX = 50  # GitHub's limit on a label name


def render_template(what: str, template: str, **values: str) -> str:
    """TEMPLATE with VALUES filled in. Only plain ``{field}`` placeholders of known fields are
    allowed: ``{date.x}``, ``{to_tag[0]}``, conversions and format specs are refused."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise BadInput(f"{what} {template!r} is not a valid template: {exc}") from None
    for _text, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in values or spec or conversion:
            allowed = ", ".join("{" + k + "}" for k in values)
            raise BadInput(f"{what} {template!r} may use only {allowed} (no attributes or specs)")
    return template.format(**values)


def check_ref_name(what: str, name: str) -> str:
    """NAME as a tag name, or BadInput naming git's rule it breaks (git check-ref-format)."""
    problem = _ref_problem(name)
    if problem:
        raise BadInput(f"{what} {name!r} is not a valid git tag name: {problem}")
    return name


def _ref_problem(name: str) -> str | None:
    if not name:
        return "it is empty"
    if _BAD_CHARS.search(name):
        return "it holds a space, a control character or one of ~ ^ : ? * [ \\"
    if ".." in name or "@{" in name or "//" in name:
        return "it holds '..', '@{' or '//'"
    if name == "@" or name.startswith(("/", "-")) or name.endswith(("/", ".")):
        return "it starts with '/' or '-', ends with '/' or '.', or is '@'"
    for part in name.split("/"):
        if part.startswith(".") or part.endswith(".lock"):
            return "a part starts with '.' or ends with '.lock'"
    return None


def check_labels(text: str | None, severity: str) -> list[str]:
    """The issue labels: comma-separated, each 1-50 printable characters, no duplicates."""
    raw = text if text is not None else f"release,{severity}"
    labels: list[str] = []
    for item in raw.split(","):
        label = item.strip()
        if not label:
            continue
        if len(label) > _LABEL_MAX or any(ord(c) < 32 or ord(c) == 127 for c in label):
            raise BadInput(f"label {label[:60]!r} is not valid (1-50 printable characters)")
        if label.lower() not in (x.lower() for x in labels):
            labels.append(label)
    if not labels:
        raise BadInput("--labels needs at least one label")
    return labels


def template_values(**values: Any) -> dict[str, str]:
    return {k: str(v) for k, v in values.items() if k in _FIELDS}
