"""The action's inputs and the event: which version to roll back, or why nothing is rolled
back. Event text is checked (strict characters, PEP 440) before anything uses it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from packaging.version import InvalidVersion, Version

from unrelease.errors import BadInput, Refused, UnreleaseError

_VERSION_TEXT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.+!_-]{0,63}")
_WORD = re.compile(r"[a-z_]{1,32}")
_SHA = re.compile(r"[0-9a-f]{40}")
# The events whose runs a release workflow has (a tag push, a release, a dispatch on a tag);
# anything else (pull requests, schedules, other workflows' runs) is not a release run.
RELEASE_EVENTS = ("push", "release", "workflow_dispatch")
TRUE, FALSE = {"true", "yes", "1"}, {"false", "no", "0", ""}


# ---------------------------------------------------------------------------- inputs
@dataclass
class Inputs:
    """The action's inputs, as the action's step passed them (``INPUT_<NAME>``)."""

    values: dict[str, str]

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Inputs:
        values = {
            k[len("INPUT_") :].lower().replace("_", "-"): v.strip()
            for k, v in env.items()
            if k.startswith("INPUT_")
        }
        return cls(values)

    def get(self, name: str) -> str:
        return self.values.get(name, "")

    def flag(self, name: str) -> bool:
        value = self.get(name).lower()
        if value in TRUE:
            return True
        if value in FALSE:
            return False
        raise BadInput(f"input {name} must be true or false, not {self.get(name)!r}")


# ----------------------------------------------------------------------------- events
@dataclass
class Trigger:
    """What the event says: the version to roll back, or why nothing is rolled back."""

    event: str
    version: str | None = None
    run_id: int | None = None
    run_url: str | None = None
    default_reason: str = ""
    skip: str | None = None  # set: do not roll back, and say why
    source: str = ""  # where the version came from, for the summary
    # workflow_run: the failed run's head_branch (a tag's name, to check against the
    # repository: a branch may carry the same name) and the commit it ran
    tag: str | None = None
    head_sha: str | None = None


def digits(text: str) -> bool:
    """TEXT is a non-empty string of ASCII digits ('²'.isdigit() is True, int('²') fails)."""
    return text.isascii() and text.isdigit()


def check_version_text(text: object, what: str) -> str:
    """TEXT when it is a plain PEP 440 version (strict characters, no whitespace)."""
    if not isinstance(text, str) or not _VERSION_TEXT.fullmatch(text):
        raise BadInput(f"{what} is not a version: {text!r}"[:200])
    try:
        Version(text)
    except InvalidVersion:
        raise BadInput(f"{what} is not a PEP 440 version: {text!r}") from None
    return text


def version_from_tag(tag: object, tag_format: str, what: str) -> str:
    """The version inside TAG, which must have the shape of TAG_FORMAT (``v{version}``)."""
    if not isinstance(tag, str):
        raise BadInput(f"{what} is not a tag: {tag!r}")
    if tag_format.count("{version}") != 1:
        raise BadInput(f"tag-format {tag_format!r} must contain {{version}} once")
    prefix, suffix = tag_format.split("{version}")
    inner = tag[len(prefix) : len(tag) - len(suffix)] if suffix else tag[len(prefix) :]
    if not (tag.startswith(prefix) and tag.endswith(suffix) and inner):
        raise BadInput(f"{what} {tag!r} does not have the tag format {tag_format!r}"[:200])
    return check_version_text(inner, f"the version in {what}")


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise BadInput(f"{what} is not a run id: {value!r}"[:200])
    return value


def _full_name(repo: object) -> str | None:
    if isinstance(repo, dict) and isinstance(repo.get("full_name"), str):
        return str(repo["full_name"])
    return None


def read_trigger(
    event: str, payload: Mapping[str, Any], env: Mapping[str, str], inputs: Inputs
) -> Trigger:
    """Decide what to roll back from the event; BadInput/Refused when the event is unusable."""
    tag_format = inputs.get("tag-format") or _project_tag_format() or "v{version}"
    explicit = inputs.get("version")
    server = env.get("GITHUB_SERVER_URL", "https://github.com").rstrip("/")
    repo = env.get("GITHUB_REPOSITORY", "")
    t = Trigger(event=event)

    if event == "workflow_run":
        run = payload.get("workflow_run")
        if not isinstance(run, dict):
            raise BadInput("the workflow_run event has no workflow_run object")
        t.run_id = _positive_int(run.get("id"), "workflow_run.id")
        if repo:
            t.run_url = f"{server}/{repo}/actions/runs/{t.run_id}"
        status, conclusion = run.get("status"), run.get("conclusion")
        if status != "completed":
            word = (
                status.replace("_", " ")
                if isinstance(status, str) and _WORD.fullmatch(status)
                else "running"
            )
            t.skip = f"the release run {t.run_id} is still {word}: nothing is rolled back"
            return t
        if conclusion != "failure":
            word = (
                conclusion.replace("_", " ")
                if isinstance(conclusion, str) and _WORD.fullmatch(conclusion)
                else "without a failure"
            )
            t.skip = (
                f"the release run {t.run_id} concluded {word}: nothing is rolled back "
                "(only a failed release run is)"
            )
            return t
        head = _full_name(run.get("head_repository"))
        base = _full_name(payload.get("repository")) or repo or None
        if not head or not base:
            raise Refused(
                f"the failed run {t.run_id} names no head repository: cannot tell it is no fork"
            )
        if head != base:
            raise Refused(f"the failed run {t.run_id} ran code from a fork: not a release")
        run_event = run.get("event")
        if run_event not in RELEASE_EVENTS:
            word = (
                f"a {run_event} event"
                if isinstance(run_event, str) and _WORD.fullmatch(run_event)
                else "an unknown event"
            )
            raise Refused(
                f"the failed run {t.run_id} was triggered by {word}: only a run of a push, "
                "release or workflow_dispatch event is a release run"
            )
        sha = run.get("head_sha")
        if not isinstance(sha, str) or not _SHA.fullmatch(sha):
            raise BadInput(f"the failed run {t.run_id} has no head_sha")
        # The run must be on a release tag, whatever the version input says; main() checks
        # that the tag exists at head_sha (a branch may carry a tag's name).
        tag_version = version_from_tag(run.get("head_branch"), tag_format, "the run's tag")
        t.tag, t.head_sha = str(run["head_branch"]), sha
        # No default reason: with --run the CLI states the run's failure (job, step, class).
        if explicit:
            t.version, t.source = check_version_text(explicit, "input version"), "input"
        else:
            t.version, t.source = tag_version, "the failed run's tag"
        return t

    if inputs.get("run-id"):
        # a rollback job in the release workflow itself names its own run (github.run_id)
        if not digits(inputs.get("run-id")):
            raise BadInput(f"input run-id is not a run id: {inputs.get('run-id')!r}"[:200])
        t.run_id = int(inputs.get("run-id"))
        t.run_url = f"{server}/{repo}/actions/runs/{t.run_id}" if repo else None
        t.default_reason = ""  # the CLI states the run's failure
    if explicit:
        t.version, t.source = check_version_text(explicit, "input version"), "input"
        t.default_reason = _event_reason(t, env) if t.run_id is None else ""
        return t
    if event == "workflow_dispatch":
        given = payload.get("inputs")
        value = given.get("version") if isinstance(given, dict) else None
        if value in (None, ""):
            raise BadInput("no version: set the action's version input")
        t.version = check_version_text(value, "the dispatch input version")
        t.source = "the dispatch inputs"
        return t
    if event in ("release", "push"):
        ref = env.get("GITHUB_REF", "")
        if not ref.startswith("refs/tags/"):
            raise BadInput(
                f"no version: {event} of {ref or 'no ref'!r} is not a tag; set the version input"
            )
        tag = ref.removeprefix("refs/tags/")
        if event == "release":
            release = payload.get("release")
            if isinstance(release, dict) and release.get("tag_name") not in (None, tag):
                raise BadInput("the release's tag_name and GITHUB_REF disagree")
        t.version = version_from_tag(tag, tag_format, "the tag")
        t.source = "the tag"
        t.default_reason = _event_reason(t, env) if t.run_id is None else ""
        return t
    raise BadInput(f"no version: a {event or 'unknown'} event carries none; set the version input")


def _event_reason(t: Trigger, env: Mapping[str, str]) -> str:
    """The reason when none was given on a release or tag push event: what happened, not a
    failure the action cannot see (the step may run without one)."""
    if t.event not in ("release", "push"):
        return ""
    ref = env.get("GITHUB_REF", "")
    what = (
        f"the {'release' if t.event == 'release' else 'push'} of tag "
        f"{ref.removeprefix('refs/tags/')}"
        if ref.startswith("refs/tags/") and _VERSION_TEXT.fullmatch(ref.removeprefix("refs/tags/"))
        else f"a {t.event} event"
    )
    run = env.get("GITHUB_RUN_ID", "")
    return f"rollback of {t.version} requested from {what}" + (
        f" (workflow run {run})" if digits(run) else ""
    )


def _project_tag_format() -> str | None:
    from unrelease.config import project_settings

    try:
        value = project_settings().get("tag_format")
    except UnreleaseError:
        return None
    return value if isinstance(value, str) else None
