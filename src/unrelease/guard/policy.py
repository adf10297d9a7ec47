"""What a guard's verdict does: the policy in ``[tool.unrelease.policy]`` and ``--on-fail``.

``report`` prints the findings; ``issue`` opens (or updates) the incident issue with them and
withdraws nothing; ``rollback`` runs the rollback with the findings as its reason. Only a
``fail`` acts: ``inconclusive`` never rolls back (nor opens an issue), and ``pass`` does nothing.

```toml
[tool.unrelease.policy]
on-fail = "issue"        # what any failing check does (default: report)
import = "rollback"      # per failure class: files, metadata, install, import, smoke
labels = ["release", "guard"]

[tool.unrelease.guard]
smoke = ["python -c 'import mypkg; mypkg.selftest()'"]
```
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from unrelease.backups import default_dir
from unrelease.errors import BadInput
from unrelease.guard.report import Decision, GuardResult, markdown

if TYPE_CHECKING:
    from unrelease.engine import Outcome, Plan
    from unrelease.forges.base import Forge
    from unrelease.indexes.base import Index
    from unrelease.model import IssueInfo

ACTIONS = ("report", "issue", "rollback")
CLASSES = ("files", "metadata", "install", "import", "smoke")
_POLICY_KEYS = {"on-fail", "labels", "severity", "signal-labels", "signal-threshold", *CLASSES}
SEVERITIES = ("minor", "critical")
_GUARD_KEYS = {"smoke"}
DEFAULT_LABELS = ("release", "guard")


@dataclass(frozen=True)
class Policy:
    on_fail: str = "report"
    per_class: dict[str, str] = field(default_factory=dict)  # failure class -> action
    labels: tuple[str, ...] = DEFAULT_LABELS
    severity: str = "critical"  # of any failure, unless its class names one
    severities: dict[str, str] = field(default_factory=dict)  # failure class -> severity


def _table(path: Path | None, name: str, keys: set[str]) -> dict[str, Any]:
    path = path or Path.cwd() / "pyproject.toml"
    if not path.is_file():
        return {}
    try:
        data = tomllib.loads(path.read_text("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise BadInput(f"{path.name} is not valid TOML: {exc}") from None
    table = data.get("tool", {}).get("unrelease", {}).get(name, {})
    if not isinstance(table, dict):
        raise BadInput(f"[tool.unrelease.{name}] must be a table")
    unknown = sorted(set(table) - keys)
    if unknown:
        raise BadInput(f"unknown key(s) in [tool.unrelease.{name}]: {', '.join(unknown)}")
    return table


def _action(value: object, where: str) -> str:
    if value not in ACTIONS:
        raise BadInput(f"{where} must be one of {', '.join(ACTIONS)}, not {value!r}")
    return str(value)


def _severity(value: object, where: str) -> str:
    if value not in SEVERITIES:
        raise BadInput(f"{where} must be critical or minor, not {value!r}")
    return str(value)


def load_policy(path: Path | None = None) -> Policy:
    """``[tool.unrelease.policy]`` of ./pyproject.toml (or PATH), checked. A failure class
    takes an action (``import = "rollback"``) or a table (``import = {action = "rollback",
    severity = "critical"}``)."""
    table = _table(path, "policy", _POLICY_KEYS)
    where = "[tool.unrelease.policy]"
    on_fail = _action(table.get("on-fail", "report"), f"{where} on-fail")
    severity = _severity(table.get("severity", "critical"), f"{where} severity")
    per_class, severities = {}, {}
    for c in CLASSES:
        rule = table.get(c)
        if isinstance(rule, dict):
            unknown = sorted(set(rule) - {"action", "severity"})
            if unknown:
                raise BadInput(f"unknown key(s) in {where} {c}: {', '.join(unknown)}")
            if "severity" in rule:
                severities[c] = _severity(rule["severity"], f"{where} {c}.severity")
            rule = rule.get("action", on_fail)
        if rule is not None:
            per_class[c] = _action(rule, f"{where} {c}")
    labels = table.get("labels", list(DEFAULT_LABELS))
    if isinstance(labels, str):
        labels = [x.strip() for x in labels.split(",")]
    if not isinstance(labels, list) or not all(isinstance(x, str) and x for x in labels):
        raise BadInput("[tool.unrelease.policy] labels must be a list of label names")
    return Policy(on_fail, per_class, tuple(labels) or DEFAULT_LABELS, severity, severities)


def guard_smoke(path: Path | None = None) -> list[str]:
    """``[tool.unrelease.guard] smoke``: commands every guard runs in its venvs."""
    smoke = _table(path, "guard", _GUARD_KEYS).get("smoke", [])
    if isinstance(smoke, str):
        smoke = [smoke]
    if not isinstance(smoke, list) or not all(isinstance(x, str) and x.strip() for x in smoke):
        raise BadInput("[tool.unrelease.guard] smoke must be a list of commands")
    return list(smoke)


_STRENGTH = {a: n for n, a in enumerate(ACTIONS)}


def decide(result: GuardResult, policy: Policy, on_fail: str | None = None) -> Decision:
    """The action for RESULT: ``none`` unless it failed; then --on-fail (ON_FAIL) when given,
    else the strongest action the policy names for the classes that failed."""
    verdict = result.verdict
    if verdict == "pass":
        return Decision("none", "every check passed")
    if verdict == "inconclusive":
        unsure = sorted({c.name for c in result.checks if c.status == "inconclusive"})
        why = f"inconclusive ({', '.join(unsure) or 'nothing checked'}): nothing is withdrawn"
        return Decision("none", why)
    failed = sorted({c.name for c in result.failed}, key=lambda n: (n not in CLASSES, n))
    levels = {policy.severities.get(name, policy.severity) for name in failed}
    severity = "critical" if "critical" in levels else "minor"
    if on_fail is not None:
        action = _action(on_fail, "--on-fail")
        return Decision(
            action, f"{', '.join(failed)} failed; --on-fail {action}", severity=severity
        )
    chosen = {name: policy.per_class.get(name, policy.on_fail) for name in failed}
    action = max(chosen.values(), key=_STRENGTH.__getitem__)
    rules = ", ".join(f"{n} → {a}" for n, a in chosen.items())
    why = f"{', '.join(failed)} failed ({severity}); policy: {rules}"
    return Decision(action, why, severity=severity)


def summary(result: GuardResult) -> str:
    """One line naming what failed, for a rollback's reason."""
    parts = [
        f"{c.name}{f' on Python {c.python}' if c.python else ''}: {c.detail}" for c in result.failed
    ]
    text = "; ".join(parts) or f"guard verdict {result.verdict}"
    return f"guard found {result.package} {result.version} broken: {text}"[:900]


def open_incident(forge: Forge, result: GuardResult, labels: list[str]) -> IssueInfo:
    """Open the incident issue with the findings, or add them to the one already open for this
    version (found by its title): a rerun does not open a second issue. Withdraws nothing."""
    from unrelease.forges.base import LabelSpec
    from unrelease.rollback_forge import DEFAULT_LABEL_COLOR, LABEL_SPECS

    title = f"{result.package} {result.version}: guard verdict {result.verdict}"
    found = json.dumps(result.to_json(), indent=2).replace("`", "'")
    body = (
        f"`unrelease guard` checked {result.package} {result.version} from the index "
        f"against {result.baseline or 'no baseline'}: **{result.verdict}**.\n\n"
        f"{markdown(result)}\n\nNothing was withdrawn.\n\n"
        f"<details><summary>guard JSON</summary>\n\n```json\n"
        f"{found}\n```\n</details>\n"
    )
    for issue in forge.find_issues(labels[0], "open"):
        if issue.body.startswith(f"`unrelease guard` checked {result.package} {result.version} "):
            forge.comment_issue(issue.number, body)
            return issue
    for name in forge.missing_labels(labels):
        spec = LABEL_SPECS.get(name.lower(), LabelSpec(name, DEFAULT_LABEL_COLOR, ""))
        forge.create_label(LabelSpec(name, spec.color, spec.description))
    return forge.create_issue(title, body, labels)


@dataclass
class RollbackSettings:
    """The rollback options a guard passes on (those of ``unrelease rollback``)."""

    to: str | None = None
    mode: str = "yank"
    severity: str = "critical"
    labels: list[str] = field(default_factory=lambda: ["release", "critical"])
    tag_format: str = "v{version}"
    rollback_tag: str = "{to_tag}-rollback-{date}"
    backup_dir: Path = field(default_factory=default_dir)
    files: str | None = None
    force: bool = False
    mark_release: bool = False
    verify_install: bool = False
    dry_run: bool = False  # plan only: the outcome is the preview, nothing changes
    who: str = "unknown"


def run_rollback(
    result: GuardResult,
    index: Index,
    forge: Forge,
    settings: RollbackSettings,
    *,
    confirm: Callable[[Plan], None],
    notify: Callable[[str], None] | None = None,
) -> Outcome:
    """Roll back RESULT's version in this process, with the guard's findings as the reason.

    CONFIRM sees the plan before the first write (it raises Refused to stop). The lead wires
    this to the shared step runner; today it drives the rollback Engine, as ``rollback`` does.
    """
    from unrelease.engine import Engine, Options
    from unrelease.errors import Refused

    if result.verdict != "fail":
        raise Refused(f"guard verdict {result.verdict}: only a fail rolls back")
    options = Options(
        package=result.package,
        version=result.version,
        reason=summary(result),
        to=settings.to,
        mode=settings.mode,
        severity=settings.severity,
        labels=settings.labels,
        tag_format=settings.tag_format,
        rollback_tag=settings.rollback_tag,
        backup_dir=settings.backup_dir,
        files=settings.files,
        force=settings.force,
        mark_release=settings.mark_release,
        verify_install=settings.verify_install,
        who=settings.who,
    )
    engine = Engine(options, index, forge, notify=notify)
    plan = engine.plan()
    if settings.dry_run:
        return engine.preview(plan)
    engine.preflight(plan)
    confirm(plan)
    return engine.run(plan)
