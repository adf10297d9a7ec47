"""What the CLI calls: validated settings in, an outcome out. Every check of the user's input
is here (the CLI only parses and prints), and each is a one-line BadInput (exit 2) raised
before anything was read or written."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from unrelease.errors import BadInput, Refused

if TYPE_CHECKING:
    from unrelease.engine import Engine, Outcome
    from unrelease.indexes.base import Index

_REASON_MAX = 20_000


def check_text(what: str, text: str) -> str:
    """A free text (reason): no control characters but newline and tab, not empty."""
    bad = [c for c in text if (ord(c) < 32 and c not in "\n\t") or ord(c) == 127]
    if bad:
        raise BadInput(f"{what} holds a control character ({ord(bad[0]):#04x}): remove it")
    if not text.strip():
        raise BadInput(f"{what} must not be empty")
    return text.strip()


def check_url(what: str, url: str) -> str:
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        raise BadInput(f"{what} holds whitespace or a control character")
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise BadInput(f"{what} must be an http(s) URL")
    return url


def check_repo(repo: str | None) -> str | None:
    if repo is not None and any(c.isspace() or ord(c) < 32 for c in repo):
        raise BadInput("--repo holds whitespace or a control character")
    return repo


def check_templates(tag_format: str, rollback_tag: str) -> None:
    """Both templates render with plain fields only (names are checked once known)."""
    from unrelease.refnames import render_template

    render_template("--tag-format", tag_format, version="1.0")
    if "{version}" not in tag_format:
        raise BadInput("--tag-format must contain {version}")
    sample = {"version": "1.0", "to_tag": "v1.0", "date": "20000101", "to": "1.0", "package": "p"}
    render_template("--rollback-tag", rollback_tag, **sample)


def check_related(text: str | None) -> tuple[str, ...]:
    if not text:
        return ()
    out = []
    for item in text.split(","):
        ref = item.strip()
        if not ref:
            continue
        if not (ref.startswith("#") and ref[1:].isascii() and ref[1:].isdigit()):
            raise BadInput(f"--related takes issue numbers like #123, not {ref[:40]!r}")
        out.append(ref)
    return tuple(out)


def open_index(index: str, kind: str, pypi_auth: str = "manual") -> Index:
    """Reads need no PyPI login: only a rollback passes its --pypi-auth."""
    from unrelease.config import index_auth
    from unrelease.indexes import open_index as _open

    if any(c.isspace() or ord(c) < 32 for c in index):
        raise BadInput("--index holds whitespace or a control character")
    return _open(index, kind, auth=index_auth(), pypi_auth=pypi_auth)


@dataclass
class Asked:
    """A rollback as the user asked for it (the CLI's options, unvalidated)."""

    package: str
    version: str | None
    reason: str | None
    kw: dict[str, Any]


def rollback_engine(
    asked: Asked, *, live: bool, notify: Callable[[str], None], warn: Callable[[str], None]
) -> Engine:
    """Validate everything that needs no network, open the index and the forge, read the
    failed run (--run), and build the engine."""
    from unrelease.config import github_token, who
    from unrelease.engine import Engine, Options
    from unrelease.forges import open_forge
    from unrelease.refnames import check_labels
    from unrelease.versions import check_package_name, parse_version

    kw = asked.kw
    package, version, reason = asked.package, asked.version, asked.reason
    check_package_name(package)
    if version is not None:
        parse_version(version)
    elif not kw["run_id"]:
        raise BadInput("VERSION is missing: give it, or --run ID to take it from the failed run")
    if kw["to"]:
        parse_version(kw["to"], what="--to version")
    if reason is not None:
        reason = check_text("--reason", reason)
    elif not kw["run_id"]:
        raise BadInput("--reason is required (or --run ID to take it from the failed run)")
    labels = check_labels(kw["labels"], kw["severity"])
    check_templates(kw["tag_format"], kw["rollback_tag"])
    if kw["run_id"] and not (str(kw["run_id"]).isascii() and str(kw["run_id"]).isdigit()):
        raise BadInput(f"--run takes a workflow run id (digits), not {kw['run_id']!r}")
    check_url("--github-url", kw["github_url"])
    forge = open_forge(check_repo(kw["repo"]), kw["github_url"], github_token())
    if kw["run_id"] and forge.kind != "github":
        raise BadInput("--run needs a GitHub repository (--repo OWNER/NAME or GITHUB_REPOSITORY)")
    idx = open_index(kw["index"], kw["index_kind"], kw["pypi_auth"])
    for warning in idx.warnings:
        warn(warning)
    if kw["wait_manual"] and not idx.manual:
        raise BadInput("--wait-manual is for manual index steps (--pypi-auth manual on PyPI)")
    run, impact = None, None
    if kw["run_id"]:
        run, version, reason = _from_run(forge, idx, package, version, reason, kw, live)
        impact = run.impact
    assert version is not None  # checked above
    assert reason is not None
    if live and impact is None:
        from unrelease.detect.impact import PypiStats

        impact = PypiStats().impact(package, version, kw["index"])
    from unrelease.backups import default_dir

    backup_dir = Path(kw["backup_dir"]) if kw.get("backup_dir") else default_dir()
    options = Options(
        package=package,
        version=version,
        reason=reason,
        to=kw["to"],
        mode=kw["mode"],
        severity=kw["severity"],
        labels=labels,
        tag_format=kw["tag_format"],
        rollback_tag=kw["rollback_tag"],
        files=kw["files"],
        force=kw["force"],
        mark_release=kw["severity"] == "critical"
        if kw.get("mark_release") is None
        else bool(kw["mark_release"]),
        publish_note=bool(kw.get("publish_note")),
        next_release=check_text("--next-release", kw["next_release"])
        if kw.get("next_release")
        else None,
        related=check_related(kw.get("related")),
        verify_install=kw["verify_install"],
        run_url=run.run.url if run else None,
        wait_manual=kw["wait_manual"],
        backup_dir=backup_dir,
        who=who(),
        run=run,
        impact=impact,
    )
    return Engine(options, idx, forge, notify=notify)


def _from_run(
    forge: Any,
    idx: Index,
    package: str,
    version: str | None,
    reason: str | None,
    kw: dict[str, Any],
    live: bool,
) -> tuple[Any, str, str]:
    """The failed run's diagnosis, and the version and reason it gives when not given."""
    from unrelease.detect import default_reason, for_rollback
    from unrelease.detect.version import check_run_tag

    run = for_rollback(
        forge,
        int(kw["run_id"]),
        package=package,
        version=version,
        index=idx,
        index_name=kw["index"],
        tag_format=kw["tag_format"],
        measure_impact=live,
    )
    if version is None and run.version_source in ("tag", "release"):
        check_run_tag(
            forge.resolve_tag, run.run.id, run.run.head_branch, run.run.head_sha, kw["repo"]
        )
    version = version or run.trusted_version
    if version is None:
        title = f" (its title says {run.version}, unverified)" if run.version else ""
        raise BadInput(
            f"cannot tell which version run {run.run.id} was shipping{title}: give VERSION"
        )
    return run, version, reason or default_reason(run)


def run_rollback(
    engine: Engine, *, dry_run: bool, yes: bool, ask: Callable[[str], None]
) -> Outcome:
    """The one call of `plan` and `rollback`: plan, then preview or confirm and run."""
    plan = engine.plan()
    if dry_run:
        return engine.preview(plan)
    engine.preflight(plan)
    if plan.needs_confirmation and not yes:
        o = plan.options
        versions = ", ".join(
            t.name.removeprefix("index:") for t in plan.tasks if t.name.startswith("index:")
        )
        forge = engine.forge.describe()
        ask(
            f"{o.mode} {plan.display} {versions} on {plan.index_url}, then tag, open the "
            f"incident issue and draft the note on {forge}?"
        )
    return engine.run(plan)


def refuse_no_terminal(question: str) -> Refused:
    return Refused(f"refusing to {question[:-1]} without --yes: no terminal to ask on")
