"""The one read a rollback or undo makes before acting, as a single GitHub GraphQL query:
the acting login, open issues with one label (authors included), which labels exist, every
release (drafts too, for a token that may see them), the Latest release, and the tags asked
for resolved to commits. Pages beyond the first 100 issues or releases cost one more request
each, up to a bound."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from unrelease.errors import ServiceError
from unrelease.forges.base import RepoView
from unrelease.model import IssueInfo, ReleaseNote, TagInfo

MAX_PAGES = 10  # 1,000 open incident issues or releases: beyond that something is wrong
_GIT = "__typename oid"
_TARGET = f"target {{ {_GIT} ... on Tag {{ message target {{ {_GIT} ... on Tag {{ message target {{ {_GIT} }} }} }} }} }}"  # noqa: E501
_RELEASE_FIELDS = """
fragment ReleaseFields on Release {
  databaseId tagName name url description isDraft isPrerelease isLatest
}
"""
_ISSUE_FIELDS = """
fragment IssueFields on Issue {
  number url body state author { __typename login } labels(first: 50) { nodes { name } }
}
"""
_ISSUES = (
    "issues(labels: [$label], states: OPEN, first: 100@AFTER@) "
    "{ nodes { ...IssueFields } pageInfo { hasNextPage endCursor } }"
)
_RELEASES = (
    "releases(first: 100, orderBy: {field: CREATED_AT, direction: DESC}@AFTER@) "
    "{ nodes { ...ReleaseFields } pageInfo { hasNextPage endCursor } }"
)

Fetch = Callable[[str, dict[str, Any]], dict[str, Any]]  # (query, variables) -> data
Peel = Callable[[str], TagInfo | None]  # a tag nested deeper than the query reads


def view_query(labels: list[str], tags: list[str]) -> tuple[str, dict[str, Any]]:
    """The query text and the variables for LABELS and TAGS (one alias each)."""
    params = ["$owner: String!", "$name: String!", "$label: String!"]
    fields = [
        _ISSUES.replace("@AFTER@", ""),
        _RELEASES.replace("@AFTER@", ""),
        "latestRelease { ...ReleaseFields }",
    ]
    variables: dict[str, Any] = {}
    for i, name in enumerate(labels):
        params.append(f"$l{i}: String!")
        fields.append(f"l{i}: label(name: $l{i}) {{ name }}")
        variables[f"l{i}"] = name
    for i, name in enumerate(tags):
        params.append(f"$t{i}: String!")
        fields.append(f"t{i}: ref(qualifiedName: $t{i}) {{ name {_TARGET} }}")
        variables[f"t{i}"] = f"refs/tags/{name}"
    query = (
        f"query UnreleaseView({', '.join(params)}) {{\n  viewer {{ login }}\n"
        f"  repository(owner: $owner, name: $name) {{\n    " + "\n    ".join(fields) + "\n  }\n}\n"
    )
    return query + _RELEASE_FIELDS + _ISSUE_FIELDS, variables


def _page_query(kind: str) -> str:
    field = (_ISSUES if kind == "issues" else _RELEASES).replace("@AFTER@", ", after: $after")
    label = ", $label: String!" if kind == "issues" else ""
    return (
        f"query UnreleasePage($owner: String!, $name: String!, $after: String!{label}) {{\n"
        f"  repository(owner: $owner, name: $name) {{ {field} }}\n}}\n"
        + (_ISSUE_FIELDS if kind == "issues" else _RELEASE_FIELDS)
    )


def _connection(repo: dict[str, Any], kind: str) -> dict[str, Any]:
    conn = repo.get(kind)
    if not isinstance(conn, dict):
        raise ServiceError(f"GitHub's GraphQL answer lacks {kind}")
    return conn


def _all_nodes(
    first: dict[str, Any], kind: str, fetch: Fetch, variables: dict[str, Any]
) -> list[dict[str, Any]]:
    nodes = [n for n in first.get("nodes") or [] if n]
    page = first
    for _ in range(MAX_PAGES - 1):
        info = page.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return nodes
        data = fetch(_page_query(kind), {**variables, "after": info.get("endCursor")})
        page = _connection(data.get("repository") or {}, kind)
        nodes += [n for n in page.get("nodes") or [] if n]
    if (page.get("pageInfo") or {}).get("hasNextPage"):
        raise ServiceError(f"more than {MAX_PAGES * 100} {kind} on GitHub: not read them all")
    return nodes


def author_of(node: dict[str, Any]) -> tuple[str | None, bool]:
    """(login, is a bot) as REST names it: GraphQL calls the app ``github-actions``, REST
    ``github-actions[bot]``; records are trusted by that name, so both read the same."""
    author = node.get("author")
    if not isinstance(author, dict) or not author.get("login"):
        return None, False  # a deleted account ("ghost")
    login, bot = str(author["login"]), author.get("__typename") == "Bot"
    if bot and not login.endswith("[bot]"):
        login += "[bot]"
    return login, bot


def _issue(node: dict[str, Any]) -> IssueInfo:
    login, bot = author_of(node)
    return IssueInfo(
        number=int(node["number"]),
        url=str(node["url"]),
        body=str(node.get("body") or ""),
        state=str(node.get("state") or "OPEN").lower(),
        labels=tuple(str(x["name"]) for x in (node.get("labels") or {}).get("nodes") or [] if x),
        author=login,
        author_is_bot=bot,
    )


def _note(node: dict[str, Any]) -> ReleaseNote:
    if node.get("databaseId") is None:
        raise ServiceError(f"GitHub gave no id for the release of {node.get('tagName')}")
    return ReleaseNote(
        id=int(node["databaseId"]),  # the REST id: updates go through REST
        tag=str(node["tagName"]),
        title=str(node.get("name") or ""),
        url=str(node["url"]),
        body=str(node.get("description") or ""),
        draft=bool(node.get("isDraft")),
        prerelease=bool(node.get("isPrerelease")),
    )


def _tag(name: str, ref: dict[str, Any] | None, peel: Peel) -> TagInfo | None:
    if not ref or not isinstance(ref.get("target"), dict):
        return None
    obj: dict[str, Any] = ref["target"]
    if obj.get("__typename") != "Tag":
        return TagInfo(name=name, sha=str(obj["oid"]), annotated=False)
    message = str(obj.get("message") or "").rstrip("\n")
    while obj.get("__typename") == "Tag":
        nxt = obj.get("target")
        if not isinstance(nxt, dict):
            return peel(name)  # nested deeper than one query reads: ask REST
        obj = nxt
    return TagInfo(name=name, sha=str(obj["oid"]), annotated=True, message=message)


def parse_view(
    data: dict[str, Any],
    labels: list[str],
    tags: list[str],
    fetch: Fetch,
    variables: dict[str, Any],
    peel: Peel,
) -> RepoView:
    repo = data.get("repository")
    if not isinstance(repo, dict):
        raise ServiceError("GitHub's GraphQL answer holds no repository")
    issues = _all_nodes(_connection(repo, "issues"), "issues", fetch, variables)
    base = {k: variables[k] for k in ("owner", "name")}
    releases = _all_nodes(_connection(repo, "releases"), "releases", fetch, base)
    latest = repo.get("latestRelease")
    login = (data.get("viewer") or {}).get("login")
    return RepoView(
        identity=str(login) if login else None,
        issues=tuple(_issue(n) for n in issues),
        labels=frozenset(name for i, name in enumerate(labels) if repo.get(f"l{i}")),
        notes=tuple(_note(n) for n in releases),
        latest=_note(latest) if isinstance(latest, dict) else None,
        tags={name: _tag(name, repo.get(f"t{i}"), peel) for i, name in enumerate(tags)},
    )
