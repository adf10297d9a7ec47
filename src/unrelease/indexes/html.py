"""Just enough HTML reading for warehouse's web pages: forms found by their field names, and the
flash messages. Page layout differs between pypi.org and test.pypi.org, so nothing here depends
on nesting, classes of containers or attribute order."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

_VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # what a browser sends as is
    text: str = ""  # the visible text inside the form, whitespace collapsed
    # Every named checkbox with the value a browser sends when it is checked. An unchecked box
    # is not sent at all, so it is here and not in ``fields``.
    checkboxes: dict[str, str] = field(default_factory=dict)

    def has(self, *names: str) -> bool:
        return all(n in self.fields or n in self.checkboxes for n in names)

    def checked(self, prefix: str) -> dict[str, str]:
        """Each of this form's checkboxes whose name starts with PREFIX, checked."""
        return {n: v for n, v in self.checkboxes.items() if n.startswith(prefix)}


@dataclass
class _Node:
    tag: str
    attrs: dict[str, str]
    children: list[_Node | str] = field(default_factory=list)

    def text(self) -> str:
        parts: list[str] = []
        for child in self.children:
            parts.append(child if isinstance(child, str) else child.text())
        return " ".join(" ".join(parts).split())

    def classes(self) -> set[str]:
        return set(self.attrs.get("class", "").split())

    def walk(self) -> list[_Node]:
        out = [self]
        for child in self.children:
            if isinstance(child, _Node):
                out.extend(child.walk())
        return out


class _TreeBuilder(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = _Node("#root", {})
        self.stack = [self.root]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        node = _Node(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in _VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack[-1].children.append(_Node(tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        # Close up to the matching open tag; a stray end tag is ignored.
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data: str) -> None:
        self.stack[-1].children.append(data)


def _parse(html: str) -> _Node:
    builder = _TreeBuilder()
    builder.feed(html)
    builder.close()
    return builder.root


def forms(html: str) -> list[Form]:
    """Every form on the page with its named fields (inputs, textareas, selects, buttons)."""
    out = []
    for node in _parse(html).walk():
        if node.tag != "form":
            continue
        form = Form(
            action=node.attrs.get("action", ""),
            method=node.attrs.get("method", "get").lower(),
            text=node.text(),
        )
        for el in node.walk():
            name = el.attrs.get("name")
            if not name:
                continue
            if el.tag == "input":
                kind = el.attrs.get("type", "text").lower()
                if kind == "checkbox":
                    form.checkboxes[name] = el.attrs.get("value") or "on"
                    if "checked" in el.attrs:
                        form.fields[name] = form.checkboxes[name]
                    continue
                if kind == "radio":
                    if "checked" in el.attrs:
                        form.fields[name] = el.attrs.get("value") or "on"
                    continue
                form.fields[name] = el.attrs.get("value", "")
            elif el.tag in ("textarea", "select", "button"):
                form.fields.setdefault(
                    name, el.attrs.get("value", el.text() if el.tag == "textarea" else "")
                )
        out.append(form)
    return out


def find_form(html: str, *names: str) -> Form | None:
    """The first form that has every field in NAMES."""
    return next((f for f in forms(html) if f.has(*names)), None)


_LEVELS = ("success", "danger", "warning", "info")


def flash_messages(html: str) -> list[tuple[str, str]]:
    """(level, message) for each notification bar: level is ``success``, ``danger``,
    ``warning`` or ``info``."""
    out = []
    for node in _parse(html).walk():
        classes = node.classes()
        level = next((lv for lv in _LEVELS if f"notification-bar--{lv}" in classes), None)
        if level is None and "notification-bar" in classes:
            level = "info"  # warehouse's default queue carries no level class
        if level is None:
            continue
        messages = [n for n in node.walk() if "notification-bar__message" in n.classes()]
        text = " ".join(m.text() for m in messages) if messages else node.text()
        out.append((level, text))
    return out


def page_text(html: str) -> str:
    """All visible text, scripts and styles left out, whitespace collapsed."""
    root = _parse(html)
    for node in root.walk():
        if node.tag in ("script", "style"):
            node.children = []
    return root.text()
