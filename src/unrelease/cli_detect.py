"""`unrelease detect`: the failed release runs since the last success."""

from __future__ import annotations

import json
from typing import Any

import click

from unrelease.cli import (
    _check_formats,
    _open_index,
    echo,
    handle_errors,
    index_options,
    main,
)
from unrelease.errors import BadInput


@main.command()
@click.option(
    "--workflow",
    help="The release workflow: file (release.yml), id or name  [default: the one whose name "
    "says release, publish, pypi or deploy]",
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%SZ"]),
    metavar="DATE",
    help="Failed runs created since DATE (UTC, YYYY-MM-DD[THH:MM:SS])  [default: since the "
    "last successful run]",
)
@click.option("--package", help="The package it releases  [default: named by the logs' files]")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=10,
    show_default=True,
    help="Report at most this many failed runs, newest first (0: no limit).",
)
@click.option("--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME on GitHub.")
@click.option(
    "--github-url", envvar="GITHUB_API_URL", default="https://api.github.com", show_default=True
)
@click.option("--tag-format", default="v{version}", show_default=True)
@index_options
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def detect(**kw: Any) -> None:
    """The failed runs of the release workflow since its last success: the version each was
    shipping, what of it reached the index, and why it failed (job, step, class, log excerpt).
    A report: exit 0 even when it finds failures."""
    from datetime import UTC

    from unrelease.config import github_token, project_name
    from unrelease.detect import Detector
    from unrelease.detect.impact import PypiStats
    from unrelease.detect.report import render
    from unrelease.forges import open_forge
    from unrelease.versions import check_package_name

    package = check_package_name(kw["package"]) if kw["package"] else None
    _check_formats(kw["tag_format"], "{to_tag}")
    forge = open_forge(kw["repo"], kw["github_url"], github_token())
    if forge.kind != "github":
        raise BadInput("detect reads GitHub Actions: --repo must be OWNER/NAME on GitHub")
    since = kw["since"].replace(tzinfo=UTC) if kw["since"] else None

    def client() -> Any:  # a GitHubForge for each worker thread: one is not thread-safe
        return open_forge(kw["repo"], kw["github_url"], github_token())

    detector = Detector(
        forge,  # type: ignore[arg-type]  # a GitHubForge: checked above
        index=_open_index(kw["index"], kw["index_kind"]),
        index_name=kw["index"],
        package=package,
        fallback_package=project_name(),  # ./pyproject.toml's [project] name
        tag_format=kw["tag_format"],
        stats=PypiStats(),
        reader_factory=client,
    )
    report = detector.detect(kw["repo"], kw["workflow"], since=since, limit=kw["limit"] or None)
    echo(json.dumps(report.to_json(), indent=2) if kw["as_json"] else render(report))
