"""Forges: where the code, tags, issues and release notes live."""

from __future__ import annotations

import re
from pathlib import Path

from unrelease.errors import AuthError, BadInput
from unrelease.forges.base import Forge

_REPO = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9-]{0,38})/[A-Za-z0-9._-]{1,100}$")


def is_local(repo: str) -> bool:
    return repo.startswith(("/", ".", "~", "file://")) or Path(repo).is_dir()


def open_forge(repo: str | None, github_url: str, token: str | None) -> Forge:
    """A local forge for a path (or file:// URL), else GitHub for OWNER/NAME."""
    if not repo:
        raise BadInput(
            "no repository: pass --repo OWNER/NAME (GitHub) or --repo PATH (a local git repo), "
            "or set GITHUB_REPOSITORY"
        )
    if is_local(repo):
        from unrelease.forges.local import LocalForge

        path = repo.removeprefix("file://")
        return LocalForge(Path(path).expanduser())
    if not _REPO.fullmatch(repo) or repo.partition("/")[2] in (".", ".."):
        raise BadInput(f"not a valid repository: {repo[:120]!r} (expected OWNER/NAME or a path)")
    from unrelease.forges.github_http import clean_api_url, url_password

    token = token or url_password(github_url)  # x-access-token:TOKEN@host: a token too
    github_url = clean_api_url(github_url)  # checked, credentials gone (and registered secret)
    if not token:
        raise AuthError(f"no GitHub token for {repo}: set GITHUB_TOKEN (or GH_TOKEN)")
    from unrelease.forges.github import GitHubForge

    return GitHubForge(repo, token, base_url=github_url)
