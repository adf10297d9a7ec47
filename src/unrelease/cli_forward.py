"""``unrelease complete`` (and, later, ``forward``): options in, the outcome out. Everything
heavy is imported inside the command (``--version`` stays fast)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from unrelease.cli_guard import echo, handle_errors, index_options

if TYPE_CHECKING:
    from unrelease.forward.complete import CompleteOutcome, CompleteRequest


@click.command()
@click.argument("package")
@click.argument("version")
@click.option(
    "--dist",
    "dist_dir",
    type=click.Path(file_okay=False, path_type=Path),
    help="Directory holding the release's sdist and wheel(s).",
)
@click.option("--run", "run_id", type=click.IntRange(min=1), help="The failed publish run.")
@click.option("--artifact", help="--run: the artifact's name [default: the only one, or 'dist'].")
@index_options
@click.option("--repo", envvar="GITHUB_REPOSITORY", help="OWNER/NAME, or a local path.")
@click.option(
    "--github-url", envvar="GITHUB_API_URL", default="https://api.github.com", show_default=True
)
@click.option("--label", default="release", show_default=True, help="The incident's label.")
@click.option("--dry-run", is_flag=True, help="Compare and plan; upload nothing.")
@click.option("--yes", is_flag=True, help="Do not ask before uploading.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def complete(package: str, version: str, **kw: Any) -> None:
    """Finish a half-done publish of PACKAGE VERSION: upload the files of --dist DIR (or of
    --run ID's artifact) that the index lacks, with twine. A file on the index that differs
    from the one of the same name refuses the run (exit 2, nothing uploaded)."""
    from unrelease.commands import open_index
    from unrelease.config import github_token, index_auth
    from unrelease.errors import BadInput
    from unrelease.forges import open_forge
    from unrelease.forward.complete import CompleteRequest
    from unrelease.versions import check_package_name, parse_version

    check_package_name(package)
    parse_version(version)
    if (kw["dist_dir"] is None) == (kw["run_id"] is None):
        raise BadInput("pass exactly one of --dist DIR and --run ID")
    forge = open_forge(kw["repo"], kw["github_url"], github_token()) if kw["repo"] else None
    index = open_index(kw["index"], kw["index_kind"])
    req = CompleteRequest(
        package=package,
        version=version,
        dist_dir=kw["dist_dir"] or Path(),
        auth=index_auth(),
        label=kw["label"],
        notify=lambda text: echo(text, err=True),
    )
    if kw["run_id"] is not None:
        outcome = _from_run(req, index, forge, kw)
    else:
        outcome = _complete(req, index, forge, kw)
    echo(json.dumps(outcome.to_json(), indent=2) if kw["as_json"] else _text(outcome))
    sys.exit(outcome.exit_code)


def _complete(req: CompleteRequest, index: Any, forge: Any, kw: dict[str, Any]) -> CompleteOutcome:
    from unrelease.errors import Refused
    from unrelease.forward.complete import complete as run_complete

    if not kw["dry_run"] and not kw["yes"]:
        plan = run_complete(req, index, forge, dry_run=True)
        uploads = [s.name for s in plan.steps if s.name.startswith("upload ")]
        if uploads:
            question = f"{', '.join(uploads)} on {index.url}?"
            if not sys.stdin.isatty():
                raise Refused(f"refusing to {question[:-1]} without --yes: no terminal to ask on")
            if not click.confirm(question, default=False):
                raise Refused("cancelled: nothing changed")
    return run_complete(req, index, forge, dry_run=kw["dry_run"])


def _from_run(req: CompleteRequest, index: Any, forge: Any, kw: dict[str, Any]) -> CompleteOutcome:
    """Download the run's dist artifact into a temporary directory, then complete from it."""
    import dataclasses
    import tempfile

    from unrelease.config import github_token
    from unrelease.errors import BadInput
    from unrelease.forges import is_local
    from unrelease.forges.github_http import clean_api_url
    from unrelease.forward.artifacts import download_dists

    repo = kw["repo"]
    if not repo or is_local(repo):
        raise BadInput("--run needs --repo OWNER/NAME on GitHub (or GITHUB_REPOSITORY)")
    repo_api = f"{clean_api_url(kw['github_url']).rstrip('/')}/repos/{repo}"
    with tempfile.TemporaryDirectory(prefix="unrelease-artifact-") as tmp:
        dist = Path(tmp) / "dist"
        download_dists(repo_api, github_token(), kw["run_id"], dist, kw["artifact"])
        return _complete(dataclasses.replace(req, dist_dir=dist), index, forge, kw)


def _text(outcome: CompleteOutcome) -> str:
    head = "would complete" if outcome.dry_run else "completed"
    lines = [f"{head} {outcome.package} {outcome.version} on {outcome.index_url}"]
    if outcome.present:
        lines.append(f"already on the index: {', '.join(outcome.present)}")
    for step in outcome.steps:
        lines.append(f"  [{step.status}] {step.name}: {step.detail or step.action}")
    if outcome.issue is not None:
        lines.append(f"incident issue #{outcome.issue.number}: {outcome.issue.url}")
    return "\n".join(lines)


@click.command()
@click.argument("package")
@click.argument("bad")
@click.option("--from", "from_ref", help="The code to ship [default: the rollback target's tag].")
@click.option("--as", "as_version", help="The new version [default: next patch above all].")
@click.option("--stage-index", help="Upload and guard here first; publish only on pass.")
@click.option(
    "--stage-index-kind",
    type=click.Choice(["auto", "warehouse", "pypiserver", "devpi"]),
    default="auto",
    show_default=True,
)
@click.option("--smoke", multiple=True, metavar="CMD", help="Guard smoke command (stage).")
@click.option("--no-build-isolation", is_flag=True, help="python -m build --no-isolation.")
@index_options
@click.option("--repo", envvar="GITHUB_REPOSITORY", help="A local git repository's path.")
@click.option("--tag-format", default="v{version}", show_default=True)
@click.option("--label", default="release", show_default=True, help="The incident's label.")
@click.option("--dry-run", is_flag=True, help="Plan; change nothing.")
@click.option("--yes", is_flag=True, help="Do not ask.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@handle_errors
def forward(package: str, bad: str, **kw: Any) -> None:
    """Ship known-good code as a new version above BAD, so `pip install -U` moves users off
    BAD: a version-only commit on unrelease/forward-VERSION, an annotated tag, python -m
    build, twine check --strict, (--stage-index: upload and guard there first), twine upload."""
    from unrelease.commands import open_index
    from unrelease.config import index_auth
    from unrelease.errors import BadInput, Refused
    from unrelease.forges import is_local, open_forge
    from unrelease.forward.defaults import from_ref, next_version, records_of
    from unrelease.forward.steps import ForwardRequest
    from unrelease.forward.steps import forward as run_forward
    from unrelease.versions import check_package_name, parse_version

    check_package_name(package)
    parse_version(bad)
    if not kw["repo"] or not is_local(kw["repo"]):
        raise BadInput("forward needs --repo PATH, a local git repository (GitHub: not yet)")
    if kw["as_version"] is not None and parse_version(kw["as_version"]) <= parse_version(bad):
        raise BadInput(f"--as {kw['as_version']} is not above {bad}")
    forge = open_forge(kw["repo"], "https://api.github.com", None)
    index = open_index(kw["index"], kw["index_kind"])
    records = records_of(forge, package, kw["label"])
    repo = Path(kw["repo"].removeprefix("file://")).expanduser()
    source = kw["from_ref"] or from_ref(index, records, package, bad, kw["tag_format"])
    new = kw["as_version"] or _resumed(repo, source, bad)
    new = new or next_version(index, records, package, bad)
    notify = lambda text: echo(text, err=True)  # noqa: E731
    stage = None
    if kw["stage_index"]:
        url, kind = kw["stage_index"], kw["stage_index_kind"]
        stage = lambda: open_index(url, kind)  # noqa: E731
    req = ForwardRequest(
        package=package,
        bad=bad,
        new_version=new,
        from_ref=source,
        repo=repo,
        tag_format=kw["tag_format"],
        auth=index_auth(),
        stage=stage,
        stage_auth=_stage_auth() if stage else None,
        smoke=list(kw["smoke"]),
        isolated=not kw["no_build_isolation"],
        label=kw["label"],
        notify=notify,
    )
    if not kw["dry_run"] and not kw["yes"]:
        question = f"publish {package} {new} ({req.from_ref}'s code) to {index.url}?"
        if not sys.stdin.isatty():
            raise Refused(f"refusing to {question[:-1]} without --yes: no terminal to ask on")
        if not click.confirm(question, default=False):
            raise Refused("cancelled: nothing changed")
    outcome = run_forward(req, index, forge, dry_run=kw["dry_run"])
    if kw["as_json"]:
        echo(json.dumps(outcome.to_json(), indent=2))
    else:
        head = "would roll forward" if outcome.dry_run else "rolled forward"
        lines = [f"{head} {package} {bad} -> {new} from {req.from_ref}"]
        lines += [f"  [{s.status}] {s.name}: {s.detail or s.action}" for s in outcome.steps]
        echo("\n".join(lines))
    sys.exit(outcome.exit_code)


def _stage_auth() -> tuple[str, str] | None:
    """The stage index's credentials: UNRELEASE_STAGE_INDEX_USERNAME/PASSWORD, else the
    index's."""
    import os

    from unrelease.config import index_auth
    from unrelease.errors import BadInput

    user = os.environ.get("UNRELEASE_STAGE_INDEX_USERNAME")
    password = os.environ.get("UNRELEASE_STAGE_INDEX_PASSWORD")
    if user and password:
        from unrelease import secrets

        secrets.register(password)
        return (user, password)
    if user or password:
        raise BadInput("set both UNRELEASE_STAGE_INDEX_USERNAME and _PASSWORD, or neither")
    return index_auth()


def _resumed(repo: Path, source: str, bad: str) -> str | None:
    """The version an earlier forward of SOURCE's commit above BAD chose (its branch is
    there): a rerun without --as resumes it instead of shipping yet another version."""
    from packaging.version import InvalidVersion, Version

    from unrelease.forward.gitrepo import commit_of, forward_branches

    sha = commit_of(repo, source)
    found = []
    for version, parent in forward_branches(repo).items():
        try:
            if parent == sha and Version(version) > Version(bad):
                found.append(Version(version))
        except InvalidVersion:
            continue
    return str(max(found)) if found else None
