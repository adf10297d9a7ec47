"""The GitHub GraphQL API (``POST /graphql``, GHES ``/api/graphql``) for FakeGitHub: a subset
of GitHub's schema, written in SDL with GitHub's own type and field names, executed by
graphql-core over the fake's state. Same tokens, request log and faults as the REST routes;
drafts are visible only to a token with contents write, as on REST.

Covered: ``viewer``; ``repository(owner, name)`` with ``issues(labels, states, first, after)``,
``label(name)``, ``labels``, ``releases(first, after, orderBy)``, ``latestRelease``,
``ref(qualifiedName)``, ``refs(refPrefix, query, first, after)``; ``Actor`` (``User``, ``Bot``,
``Organization``) and ``GitObject`` (``Commit``, ``Tag``, ``Blob``) interfaces.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Any

from graphql import GraphQLError, build_schema, graphql_sync

if TYPE_CHECKING:
    from tests.fakes.github import FakeGitHub

SDL = """
scalar URI
scalar GitObjectID
scalar DateTime

enum IssueState { OPEN CLOSED }
enum OrderDirection { ASC DESC }
enum ReleaseOrderField { CREATED_AT NAME }
input ReleaseOrder { field: ReleaseOrderField! direction: OrderDirection! }

type Query {
  viewer: User!
  repository(owner: String!, name: String!, followRenames: Boolean = true): Repository
}

interface Actor { login: String! url: URI! }
type User implements Actor { login: String! url: URI! name: String }
type Bot implements Actor { login: String! url: URI! }
type Organization implements Actor { login: String! url: URI! }

type PageInfo {
  hasNextPage: Boolean!
  hasPreviousPage: Boolean!
  endCursor: String
  startCursor: String
}

type Repository {
  name: String!
  nameWithOwner: String!
  url: URI!
  issues(labels: [String!], states: [IssueState!], first: Int, after: String): IssueConnection!
  label(name: String!): Label
  labels(first: Int, after: String, query: String): LabelConnection
  releases(first: Int, after: String, orderBy: ReleaseOrder): ReleaseConnection!
  latestRelease: Release
  ref(qualifiedName: String!): Ref
  refs(refPrefix: String!, query: String, first: Int, after: String): RefConnection
}

type Issue {
  number: Int!
  title: String!
  url: URI!
  body: String!
  state: IssueState!
  author: Actor
  createdAt: DateTime!
  labels(first: Int, after: String): LabelConnection
}
type IssueConnection { nodes: [Issue] pageInfo: PageInfo! totalCount: Int! }

type Label { name: String! color: String! description: String }
type LabelConnection { nodes: [Label] pageInfo: PageInfo! totalCount: Int! }

type Release {
  databaseId: Int
  tagName: String!
  name: String
  url: URI!
  description: String
  isDraft: Boolean!
  isPrerelease: Boolean!
  isLatest: Boolean!
  createdAt: DateTime!
  publishedAt: DateTime
}
type ReleaseConnection { nodes: [Release] pageInfo: PageInfo! totalCount: Int! }

type Ref { name: String! prefix: String! target: GitObject }
type RefConnection { nodes: [Ref] pageInfo: PageInfo! totalCount: Int! }

interface GitObject { oid: GitObjectID! abbreviatedOid: String! }
type Commit implements GitObject { oid: GitObjectID! abbreviatedOid: String! message: String! }
type Tag implements GitObject {
  oid: GitObjectID!
  abbreviatedOid: String!
  name: String!
  message: String
  target: GitObject!
}
type Blob implements GitObject { oid: GitObjectID! abbreviatedOid: String! text: String }
"""
SCHEMA = build_schema(SDL)
MAX_FIRST = 100


class Forbidden(Exception):
    """A field the token may not read: GitHub answers it null with a FORBIDDEN error."""


class Missing(Exception):
    """GitHub's NOT_FOUND error (an unknown repository)."""


def _cursor(n: int) -> str:
    return base64.b64encode(f"cursor:v2:{n}".encode()).decode()


def _offset(after: str | None) -> int:
    if not after:
        return 0
    try:
        return int(base64.b64decode(after).decode().rsplit(":", 1)[1])
    except (ValueError, IndexError):
        raise GraphQLError(f"`{after}` does not appear to be a valid cursor.") from None


def _connection(items: list[Any], first: int | None, after: str | None) -> dict[str, Any]:
    if first is None or first < 1 or first > MAX_FIRST:
        raise GraphQLError(
            "You must provide a `first` value between 1 and 100 to properly paginate."
        )
    start = _offset(after)
    chunk = items[start : start + first]
    end = start + len(chunk)
    return {
        "nodes": chunk,
        "totalCount": len(items),
        "pageInfo": {
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(start + 1) if chunk else None,
            "endCursor": _cursor(end) if chunk else None,
        },
    }


class _Resolvers:
    """Builds GraphQL objects (dicts; callables take the field's arguments) from the fake's
    state. Called with the fake's lock held."""

    def __init__(self, fake: FakeGitHub, token: str) -> None:
        self.fake = fake
        self.token = token

    def actor(self, login: str, typ: str = "User") -> dict[str, Any]:
        if typ == "Bot":  # GraphQL names an app without the "[bot]" REST adds
            login = login.removesuffix("[bot]")
        return {"__typename": typ, "login": login, "url": f"{self.fake.web_url}/{login}"}

    def viewer(self) -> dict[str, Any]:
        login = self.fake.login_of(self.token)
        return self.actor(login, "Bot" if login.endswith("[bot]") else "User")

    def repository(self, owner: str, name: str) -> dict[str, Any]:
        fake = self.fake
        if f"{owner}/{name}".casefold() != fake.full_name.casefold():
            raise Missing(f"Could not resolve to a Repository with the name '{owner}/{name}'.")
        return {
            "name": fake.repo,
            "nameWithOwner": fake.full_name,
            "url": fake.repo_web,
            "issues": lambda _i, **kw: self.issues(**kw),
            "label": lambda _i, name: self.label(name),
            "labels": lambda _i, first=None, after=None, query=None: self.labels(
                first, after, query
            ),
            "releases": lambda _i, first=None, after=None, orderBy=None: self.releases(
                first, after, orderBy
            ),
            "latestRelease": lambda _i: self.latest(),
            "ref": lambda _i, qualifiedName: self.ref(qualifiedName),
            "refs": lambda _i, refPrefix, query=None, first=None, after=None: self.refs(
                refPrefix, query, first, after
            ),
        }

    # issues and labels -------------------------------------------------------------------
    def _need(self, area: str, level: str = "read") -> None:
        if not self.fake._can(self.token, area, level):
            raise Forbidden("Resource not accessible by integration")

    def issues(
        self,
        labels: list[str] | None = None,
        states: list[str] | None = None,
        first: int | None = None,
        after: str | None = None,
    ) -> dict[str, Any]:
        self._need("issues")
        wanted = {w.casefold() for w in labels or []}
        found = []
        for issue in sorted(self.fake._issues.values(), key=lambda i: i["number"]):
            have = {n.casefold() for n in issue["labels"]}
            if issue["is_pr"] or (states and issue["state"].upper() not in states):
                continue
            if wanted and not wanted & have:  # GitHub: any of the labels
                continue
            found.append(self.issue(issue))
        return _connection(found, first, after)

    def issue(self, issue: dict[str, Any]) -> dict[str, Any]:
        label_nodes = [self.label_node(self.fake._labels[n.casefold()]) for n in issue["labels"]]
        return {
            "number": issue["number"],
            "title": issue["title"],
            "url": f"{self.fake.repo_web}/issues/{issue['number']}",
            "body": issue["body"] or "",
            "state": issue["state"].upper(),
            "author": self.actor(issue["author"], issue["author_type"]),
            "createdAt": issue["created_at"],
            "labels": lambda _i, first=None, after=None: _connection(label_nodes, first, after),
        }

    @staticmethod
    def label_node(lab: dict[str, Any]) -> dict[str, Any]:
        return {"name": lab["name"], "color": lab["color"], "description": lab["description"]}

    def label(self, name: str) -> dict[str, Any] | None:
        lab = self.fake._labels.get(name.casefold())
        return None if lab is None else self.label_node(lab)

    def labels(self, first: int | None, after: str | None, query: str | None) -> dict[str, Any]:
        labs = sorted(self.fake._labels.values(), key=lambda lab: lab["name"].casefold())
        if query:
            labs = [lab for lab in labs if query.casefold() in lab["name"].casefold()]
        return _connection([self.label_node(lab) for lab in labs], first, after)

    # releases ----------------------------------------------------------------------------
    def release(self, rel: dict[str, Any]) -> dict[str, Any]:
        rest = self.fake._release_json(rel)
        return {
            "databaseId": rel["id"],
            "tagName": rel["tag_name"],
            "name": rel["name"],
            "url": rest["html_url"],
            "description": rel["body"],
            "isDraft": rel["draft"],
            "isPrerelease": rel["prerelease"],
            "isLatest": self.fake._current_latest_id() == rel["id"],
            "createdAt": rel["created_at"],
            "publishedAt": rel["published_at"],
        }

    def releases(
        self, first: int | None, after: str | None, order: dict[str, str] | None
    ) -> dict[str, Any]:
        can_see_drafts = self.fake._can(self.token, "contents", "write")
        rels = [r for r in self.fake._releases.values() if can_see_drafts or not r["draft"]]
        order = order or {"field": "CREATED_AT", "direction": "DESC"}
        if order["field"] == "NAME":
            rels.sort(key=lambda r: (r["name"] or "", r["id"]))
        else:
            rels.sort(key=lambda r: (r["created_at"], r["id"]))
        if order["direction"] == "DESC":
            rels.reverse()
        return _connection([self.release(r) for r in rels], first, after)

    def latest(self) -> dict[str, Any] | None:
        rid = self.fake._current_latest_id()
        return None if rid is None else self.release(self.fake._releases[rid])

    # refs and git objects ----------------------------------------------------------------
    def git_object(self, sha: str) -> dict[str, Any]:
        fake = self.fake
        base = {"oid": sha, "abbreviatedOid": sha[:7]}
        if sha in fake._tag_objects:
            obj = fake._tag_objects[sha]
            return {
                **base,
                "__typename": "Tag",
                "name": obj["tag"],
                "message": obj["message"],
                "target": lambda _i: self.git_object(obj["object_sha"]),
            }
        if sha in fake._blobs:
            return {
                **base,
                "__typename": "Blob",
                "text": fake._blobs[sha].decode("utf-8", "replace"),
            }
        return {**base, "__typename": "Commit", "message": fake._commits[sha]["message"]}

    def ref_node(self, full: str) -> dict[str, Any]:
        for prefix in ("refs/tags/", "refs/heads/"):
            if full.startswith(prefix):
                name = full.removeprefix(prefix)
                break
        else:
            head, _, name = full.rpartition("/")
            prefix = head + "/"
        return {"name": name, "prefix": prefix, "target": self.git_object(self.fake._refs[full])}

    def ref(self, qualified: str) -> dict[str, Any] | None:
        full = qualified if qualified.startswith("refs/") else None
        candidates = [full] if full else [f"refs/heads/{qualified}", f"refs/tags/{qualified}"]
        for cand in candidates:
            if cand in self.fake._refs:
                return self.ref_node(cand)
        return None

    def refs(
        self, prefix: str, query: str | None, first: int | None, after: str | None
    ) -> dict[str, Any]:
        if not prefix.endswith("/"):
            raise GraphQLError("refPrefix must end with '/'")
        names = sorted(r for r in self.fake._refs if r.startswith(prefix))
        if query:  # GitHub: refs whose name contains QUERY
            names = [r for r in names if query in r.removeprefix(prefix)]
        return _connection([self.ref_node(r) for r in names], first, after)


def execute(fake: FakeGitHub, token: str, body: Any) -> dict[str, Any]:
    """The JSON GitHub answers (always with status 200) for one GraphQL request BODY."""
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        return {
            "errors": [{"message": "A query attribute must be specified and must be a string."}]
        }
    resolvers = _Resolvers(fake, token)
    root = {
        "viewer": lambda _i: resolvers.viewer(),
        "repository": lambda _i, owner, name, followRenames=True: resolvers.repository(owner, name),
    }
    result = graphql_sync(
        SCHEMA,
        body["query"],
        root_value=root,
        variable_values=body.get("variables") or {},
        operation_name=body.get("operationName"),
    )
    out: dict[str, Any] = {}
    if result.data is not None:
        out["data"] = result.data
    if result.errors:
        out["errors"] = [_error_json(e) for e in result.errors]
    return out


def _error_json(error: GraphQLError) -> dict[str, Any]:
    data: dict[str, Any] = dict(error.formatted)
    data.pop("extensions", None)
    if isinstance(error.original_error, Forbidden):
        data["type"] = "FORBIDDEN"
    elif isinstance(error.original_error, Missing):
        data["type"] = "NOT_FOUND"
    return data
