"""A failed run is a release run only when it ran on a release tag of this repository: its
``head_branch`` must be a tag that points at the run's commit. A branch can be named like a
tag (``v1.1.0``), and whoever can push a branch could otherwise have a released version
withdrawn by making a run on that branch fail.
"""

from __future__ import annotations

from collections.abc import Mapping

from unrelease.actions.event import Trigger


def check_run_tag(trigger: Trigger, env: Mapping[str, str]) -> None:
    """Refuse (exit 2, nothing changed) unless TRIGGER's tag exists at its head_sha. One or
    two reads (the ref, and the tag object of an annotated tag)."""
    if trigger.tag is None or trigger.head_sha is None:
        return
    from unrelease.detect.version import check_run_tag as check
    from unrelease.forges.github import PUBLIC_API, GitHubForge

    repo = env.get("GITHUB_REPOSITORY", "")
    token = env.get("GITHUB_TOKEN") or env.get("GH_TOKEN") or ""
    forge = GitHubForge(repo, token, env.get("GITHUB_API_URL") or PUBLIC_API)
    try:
        check(forge.resolve_tag, trigger.run_id, trigger.tag, trigger.head_sha, repo)
    finally:
        forge.close()
