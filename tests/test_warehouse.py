"""Integration: rollbacks on PyPI (warehouse) through its real web flow, against the faithful fake
warehouse, with the fake GitHub, driven through the real CLI, requests and PyGithub."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pyotp
import pytest

from tests.cli_helpers import Run, invoke
from tests.fakes.clock import FakeClock
from tests.fakes.github import FakeGitHub, seed_repo
from tests.fakes.warehouse import FakeWarehouse
from unrelease import clock as clock_mod
from unrelease.indexes import warehouse as warehouse_mod
from unrelease.indexes import warehouse_session
from unrelease.texts import find_record

PKG = "Demo-Pkg"  # PyPI compares the project name exactly in confirmations
USER = "alice"
PASSWORD = "correct horse battery staple 71"
TOTP = pyotp.random_base32()
REASON = "imports fail on Python 3.12"
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")


def files_for(version: str) -> dict[str, bytes]:
    stem = f"demo_pkg-{version}"
    return {
        f"{stem}.tar.gz": f"sdist {version}".encode(),
        f"{stem}-py3-none-any.whl": f"wheel {version}".encode(),
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    """One clock for the fake site and the client: TOTP steps and waits move by hand."""
    c = FakeClock()
    monkeypatch.setattr(warehouse_mod, "SystemClock", lambda: c)
    monkeypatch.setattr(warehouse_session, "_used_steps", {})
    return c


@pytest.fixture
def wh(clock: FakeClock) -> Iterator[FakeWarehouse]:
    with FakeWarehouse(clock=clock.time) as site:
        site.add_user(USER, PASSWORD, totp_secret=TOTP)
        site.add_project(PKG, owner=USER)
        for v in VERSIONS:
            site.add_release(PKG, v, files_for(v))
        yield site


@pytest.fixture
def gh(fake_github: FakeGitHub) -> FakeGitHub:
    seed_repo(fake_github, VERSIONS)
    return fake_github


def creds(**extra: str) -> dict[str, str]:
    env = {"PYPI_USERNAME": USER, "PYPI_PASSWORD": PASSWORD, "PYPI_TOTP_SECRET": TOTP}
    env.update(extra)
    return {k: v for k, v in env.items() if v}


def run(
    wh: FakeWarehouse,
    gh: FakeGitHub,
    *extra: str,
    env: dict[str, str] | None = None,
    command: str = "rollback",
    version: str = "1.2.0",
) -> Run:
    args = [command, PKG, version, "--reason", REASON, "--index", wh.url]
    args += ["--index-kind", "warehouse", "--repo", gh.full_name, "--github-url", gh.api_url]
    args += ["--yes", "--json", *extra]
    full = {"GITHUB_TOKEN": gh.token, **(creds() if env is None else env)}
    return invoke(args, full)


def the_issue(gh: FakeGitHub) -> dict[str, object]:
    (issue,) = gh.state.issues.values()
    return issue


def assert_no_secrets(*texts: str) -> None:
    for text in texts:
        for secret in (PASSWORD, TOTP):
            assert secret not in text


# --- the session path -------------------------------------------------------------------------
def test_yank_through_the_web_session(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    result = run(wh, gh)
    assert result.exit_code == 0, result.stderr + result.stdout
    data = result.json
    assert data["to"] == "1.1.0"
    assert set(result.statuses.values()) == {"done"}, result.statuses
    state = wh.release_state(PKG, "1.2.0")
    assert state["yanked"] is True
    # pip's warning points users at the incident issue
    assert state["yanked_reason"] == f"{REASON} (details: {data['issue']['url']})"
    assert wh.release_state(PKG, "1.1.0")["yanked"] is False
    assert [(p, v, a) for p, v, a, _ in wh.journal] == [(PKG, "1.2.0", "yank release")]
    issue = the_issue(gh)
    record = find_record(str(issue["body"]))
    assert record is not None
    assert record.index == wh.url + "/"
    assert_no_secrets(result.stdout, result.stderr, json.dumps(gh.state.issues))

    # a second run changes nothing anywhere
    wh.clear_log()
    gh.clear_log()
    again = run(wh, gh)
    assert again.exit_code == 0
    assert set(again.statuses.values()) == {"already-done"}, again.statuses
    assert wh.count("POST") == 0
    assert gh.writes() == []
    assert len(wh.journal) == 1


def test_index_requests_for_one_yank_from_a_cold_session(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    """Every request PyPI sees for one yank, login and verification included: 7. Warehouse
    redirects to the releases list only when the yank succeeded: that 303 is the outcome."""
    wh.clear_log()
    result = run(wh, gh)
    assert result.exit_code == 0, result.stderr
    paths = [f"{m} {p.split('?')[0]}" for m, p, _ in wh.requests]
    assert paths == [
        f"GET /pypi/{PKG.lower()}/json",  # the plan
        "GET /account/login/",  # session + CSRF token
        "POST /account/login/",
        "POST /account/two-factor/",  # the code goes with the login form's token
        f"GET /manage/project/{PKG}/release/1.2.0/",  # preflight: role, 2FA, re-auth
        f"POST /manage/project/{PKG}/release/1.2.0/",  # the yank; 303 to the list: done
        f"GET /pypi/{PKG.lower()}/json",  # verify
    ]


def test_remembered_device_skips_totp_and_warns_before_expiry(
    wh: FakeWarehouse, gh: FakeGitHub, clock: FakeClock
) -> None:
    cookie = wh.issue_remember_device(USER)
    value = warehouse_session.RememberedDevice(cookie, expires=clock.time() + 3 * 86400).dumps()
    wh.set_known_ip(USER, False)  # a fresh runner: TOTP would end at the device check
    result = run(wh, gh, env=creds(PYPI_TOTP_SECRET="", PYPI_REMEMBER_DEVICE=value))
    assert result.exit_code == 0, result.stderr
    assert wh.release_state(PKG, "1.2.0")["yanked"] is True
    assert "PYPI_REMEMBER_DEVICE expires on" in result.stderr
    assert not any(p.startswith("/account/two-factor/") for _, p, _ in wh.requests)
    assert cookie not in result.stdout + result.stderr


def test_new_device_check_stops_with_exit_3_and_nothing_changed(
    wh: FakeWarehouse, gh: FakeGitHub
) -> None:
    wh.set_known_ip(USER, False)
    result = run(wh, gh)
    assert result.exit_code == 3
    assert "Unrecognized login" in result.stderr
    assert "PYPI_REMEMBER_DEVICE" in result.stderr and "self-hosted runner" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert wh.journal == []
    assert gh.writes() == []
    assert [e["kind"] for e in wh.emails] == ["unrecognized-login"]


@pytest.mark.parametrize(
    ("setup", "code", "needle"),
    [
        ("wrong-password", 2, "wrong username or password"),
        ("no-2fa", 2, "no two-factor authentication"),
        ("maintainer", 2, "Owner role"),
        ("webauthn", 3, "security key"),
        ("no-totp-secret", 2, "PYPI_TOTP_SECRET"),
        ("wrong-totp", 2, "refused the TOTP code"),
    ],
)
def test_login_and_permission_errors_say_what_to_do(
    wh: FakeWarehouse, gh: FakeGitHub, setup: str, code: int, needle: str
) -> None:
    env = creds()
    if setup == "wrong-password":
        env["PYPI_PASSWORD"] = "not it"
    elif setup == "no-2fa":
        wh.add_user("bob", "pw-bob-123456", totp_secret=None)
        wh.add_project("Other", owner="bob")
        env = {"PYPI_USERNAME": "bob", "PYPI_PASSWORD": "pw-bob-123456"}
        wh.add_project(PKG, owner="bob")
    elif setup == "maintainer":
        secret = pyotp.random_base32()
        wh.add_user("carol", "pw-carol-123456", totp_secret=secret)
        wh.add_project(PKG, owner=USER, maintainers=["carol"])
        env = {
            "PYPI_USERNAME": "carol",
            "PYPI_PASSWORD": "pw-carol-123456",
            "PYPI_TOTP_SECRET": secret,
        }
    elif setup == "webauthn":
        wh.add_user("dave", "pw-dave-123456", webauthn_only=True)
        wh.add_project(PKG, owner="dave")
        env = {
            "PYPI_USERNAME": "dave",
            "PYPI_PASSWORD": "pw-dave-123456",
            "PYPI_TOTP_SECRET": pyotp.random_base32(),
        }
    elif setup == "no-totp-secret":
        env.pop("PYPI_TOTP_SECRET")
    elif setup == "wrong-totp":
        env["PYPI_TOTP_SECRET"] = pyotp.random_base32()
    result = run(wh, gh, env=env)
    assert result.exit_code == code, result.stderr
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert wh.journal == []
    assert gh.writes() == []


def test_password_lockout_is_reported_not_retried(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    for _ in range(10):
        run(wh, gh, env=creds(PYPI_PASSWORD="wrong"))
    wh.clear_log()
    result = run(wh, gh, env=creds(PYPI_PASSWORD="wrong"))
    assert result.exit_code == 3  # a person waits it out
    assert "locked" in result.stderr and "never retries" in result.stderr
    assert wh.count("POST", "/account/login/") == 1


def test_totp_rate_limit_gives_retry_after(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    for _ in range(5):
        run(wh, gh, env=creds(PYPI_TOTP_SECRET=pyotp.random_base32()))
    result = run(wh, gh)
    assert result.exit_code == 3
    assert "HTTP 429" in result.stderr and "seconds" in result.stderr
    assert wh.journal == []


def test_stale_reauthentication_is_answered(
    wh: FakeWarehouse, gh: FakeGitHub, clock: FakeClock
) -> None:
    """The index chain runs after the forge's first writes; a session older than 30 minutes
    meets the password page, which is answered with the password."""
    index = session_index(wh, clock)
    index.check_auth(PKG, "1.2.0")  # reads the page the yank will post
    clock.advance(31 * 60)  # the GitHub work took long: the post meets the password page
    index.yank(PKG, "1.2.0", REASON)
    assert wh.release_state(PKG, "1.2.0")["yanked"] is True
    assert wh.count("POST", "/account/reauthenticate/") == 1


def test_failing_reauthentication_is_an_auth_error(wh: FakeWarehouse, clock: FakeClock) -> None:
    from unrelease.errors import AuthError

    index = session_index(wh, clock)
    index.check_auth()
    clock.advance(31 * 60)
    wh._users[USER].password = "changed meanwhile 123"  # changed in another browser
    with pytest.raises(AuthError, match="re-authentication"):
        index.yank(PKG, "1.2.0", REASON)
    assert wh.journal == []


def test_quarantined_project_is_refused_at_plan_time(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    wh.quarantine.add(PKG)
    result = run(wh, gh)
    assert result.exit_code == 2, result.stderr
    assert "quarantine" in result.stderr and "admin" in result.stderr
    assert wh.journal == []
    assert gh.writes() == []


def session_index(wh: FakeWarehouse, clock: FakeClock) -> warehouse_mod.WarehouseIndex:
    from unrelease.indexes import open_index
    from unrelease.indexes.warehouse_session import PypiCredentials

    index = open_index(
        wh.url,
        "warehouse",
        pypi_auth="session",
        pypi_creds=PypiCredentials(USER, PASSWORD, TOTP),
        clock=clock,
    )
    assert isinstance(index, warehouse_mod.WarehouseIndex)
    return index


def test_quarantine_after_the_plan_fails_the_write_with_the_next_action(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    from unrelease.errors import Refused

    index = session_index(wh, clock)
    index.releases(PKG)
    wh.quarantine.add(PKG)
    with pytest.raises(Refused, match="quarantine") as err:
        index.yank(PKG, "1.2.0", REASON)
    assert err.value.hint and "admin" in err.value.hint
    assert wh.journal == []


def test_deletion_disabled_fails_the_step_then_a_rerun_finishes(
    wh: FakeWarehouse, gh: FakeGitHub, tmp_path: Path
) -> None:
    wh.deletion_disabled.add(PKG)
    backup = ["--mode", "delete", "--backup-dir", str(tmp_path / "b")]
    result = run(wh, gh, *backup)
    assert result.exit_code == 1, result.stderr
    step = next(s for s in result.json["steps"] if s["name"] == "index:1.2.0")
    assert step["status"] == "failed"
    assert "deletion disabled" in step["detail"] and "--mode yank" in step["detail"]
    assert wh.journal == []
    wh.deletion_disabled.discard(PKG)
    again = run(wh, gh, *backup)
    assert again.exit_code == 0, again.stderr
    assert again.statuses["index:1.2.0"] == "done"
    assert wh.release_state(PKG, "1.2.0")["deleted"] is True
    assert len(gh.state.issues) == 1


def test_incremental_rollback_withdraws_each_newer_version_in_order(
    wh: FakeWarehouse, gh: FakeGitHub
) -> None:
    result = run(wh, gh, "--to", "1.0.0", version="1.2.0")
    assert result.exit_code == 0, result.stderr
    assert result.json["withdrawn"] == ["1.2.0", "1.1.0"]
    assert [v for _, v, a, _ in wh.journal if a == "yank release"] == ["1.2.0", "1.1.0"]


def test_delete_chosen_files_by_their_ids(
    wh: FakeWarehouse, gh: FakeGitHub, tmp_path: Path
) -> None:
    result = run(
        wh, gh, "--mode", "delete", "--files", "*.whl", "--backup-dir", str(tmp_path / "b")
    )
    assert result.exit_code == 0, result.stderr
    state = wh.release_state(PKG, "1.2.0")
    assert state["files"] == ["demo_pkg-1.2.0.tar.gz"]
    assert (tmp_path / "b" / "demo-pkg-1.2.0" / "demo_pkg-1.2.0-py3-none-any.whl").read_bytes() == (
        b"wheel 1.2.0"
    )


def test_stale_api_answers_are_waited_for(wh: FakeWarehouse, clock: FakeClock) -> None:
    index = session_index(wh, clock)
    index.releases(PKG)
    index.yank(PKG, "1.2.0", REASON)
    wh.stale_reads = 2  # the CDN answers the old page twice more
    before = clock.time()
    (rel,) = [r for r in index.releases(PKG) if r.version == "1.2.0"]
    assert rel.yanked
    assert clock.time() > before  # it waited (on the fake clock) for the API to catch up
    wh.stale_reads = 100
    index.yank(PKG, "1.1.0", REASON)
    from unrelease.errors import ServiceError

    with pytest.raises(ServiceError, match="still shows"):
        index.releases(PKG)


# --- the manual path ------------------------------------------------------------------------------
def person_yanks(wh: FakeWarehouse, version: str, reason: str) -> None:
    """What the person does in a browser: the same web flow, their own session."""
    from unrelease.indexes import open_index
    from unrelease.indexes.warehouse_session import PypiCredentials

    browser = open_index(
        wh.url, "warehouse", pypi_auth="session", pypi_creds=PypiCredentials(USER, PASSWORD, TOTP)
    )
    browser.yank(PKG, version, reason)


def test_manual_path_pending_then_a_rerun_completes(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    result = run(wh, gh, env={})
    assert result.exit_code == 3, result.stderr
    step = next(s for s in result.json["steps"] if s["name"] == "index:1.2.0")
    assert step["status"] == "pending"
    issue_url = result.json["issue"]["url"]
    manage = f"{wh.url}/manage/project/{PKG}/release/1.2.0/"
    assert manage in step["detail"] and "'1.2.0'" in step["detail"] and issue_url in step["detail"]
    body = str(the_issue(gh)["body"])
    assert "Waiting on a person" in body and manage.replace("_", "\\_") in body
    assert "waiting on a person" in result.stderr
    assert result.statuses["tag"] == "done" and result.statuses["verify"] == "pending"
    assert wh.journal == []
    assert wh.count("POST") == 0

    person_yanks(wh, "1.2.0", f"{REASON} (details: {issue_url})")
    again = run(wh, gh, env={})
    assert again.exit_code == 0, again.stderr
    assert again.statuses["index:1.2.0"] == "already-done"
    assert again.statuses["verify"] == "already-done"
    body = str(the_issue(gh)["body"])
    assert "Waiting on a person" not in body


def test_manual_path_waits_and_completes_in_one_run(
    wh: FakeWarehouse, gh: FakeGitHub, clock: FakeClock
) -> None:
    real_sleep = clock.sleep
    acted: list[float] = []

    def sleep(seconds: float) -> None:  # the person acts while the tool waits
        if not acted:
            acted.append(seconds)
            person_yanks(wh, "1.2.0", REASON)
        real_sleep(seconds)

    clock.sleep = sleep  # type: ignore[method-assign]
    result = run(wh, gh, "--wait-manual", "600", env={})
    assert result.exit_code == 0, result.stderr
    assert result.statuses["index:1.2.0"] == "done"
    assert "done by hand" in next(
        s["detail"] for s in result.json["steps"] if s["name"] == "index:1.2.0"
    )
    assert acted


def test_manual_wait_gives_up_when_bounded(
    wh: FakeWarehouse, gh: FakeGitHub, clock: FakeClock
) -> None:
    before = clock.time()
    result = run(wh, gh, "--wait-manual", "60", env={})
    assert result.exit_code == 3
    assert 60 <= clock.time() - before <= 90


def test_manual_wait_is_one_bound_for_all_versions(
    wh: FakeWarehouse, gh: FakeGitHub, clock: FakeClock
) -> None:
    real_sleep = clock.sleep
    acted: list[float] = []

    def sleep(seconds: float) -> None:  # the person yanks 1.2.0 only, during the first wait
        if not acted:
            acted.append(seconds)
            person_yanks(wh, "1.2.0", REASON)
        real_sleep(seconds)

    clock.sleep = sleep  # type: ignore[method-assign]
    before = clock.time()
    result = run(wh, gh, "--wait-manual", "60", "--to", "1.0.0", env={})
    assert result.exit_code == 3
    statuses = [s["status"] for s in result.json["steps"][:2]]
    assert statuses == ["done", "pending"]
    assert 60 <= clock.time() - before <= 61  # not 60 s more for the second version
    assert wh.count("GET", f"/pypi/{PKG}/json") <= 12


def test_wait_manual_without_a_manual_step_is_bad_input(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    result = run(wh, gh, "--wait-manual", "60")
    assert result.exit_code == 2
    assert "--wait-manual" in result.stderr
    assert gh.writes() == []


# --- pypi-login ----------------------------------------------------------------------------------
def test_pypi_login_prints_a_remembered_device_that_a_rollback_can_use(
    wh: FakeWarehouse, gh: FakeGitHub, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from unrelease.cli import main

    monkeypatch.setattr(clock_mod, "SystemClock", lambda: clock)
    code = pyotp.TOTP(TOTP).at(clock.time())
    out = CliRunner().invoke(
        main,
        ["pypi-login", "--index", wh.url, "--username", USER],
        input=f"{PASSWORD}\n{code}\n",
        env={"PYPI_USERNAME": None},
    )
    assert out.exit_code == 0, out.output
    value = out.stdout.strip().splitlines()[-1]
    assert value.startswith("unrelease-rd1.")
    assert "expires" in out.stderr
    assert PASSWORD not in out.output and code not in out.stdout
    wh.set_known_ip(USER, False)
    result = run(wh, gh, env=creds(PYPI_TOTP_SECRET="", PYPI_REMEMBER_DEVICE=value))
    assert result.exit_code == 0, result.stderr
    assert "expires" not in result.stderr  # 30 days left: no warning


def test_pypi_login_explains_the_confirmation_email(
    wh: FakeWarehouse, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    from click.testing import CliRunner

    from unrelease.cli import main

    monkeypatch.setattr(clock_mod, "SystemClock", lambda: clock)
    wh.set_known_ip(USER, False)
    out = CliRunner().invoke(
        main,
        ["pypi-login", "--index", wh.url, "--username", USER],
        input=f"{PASSWORD}\n{TOTP}\n",
    )
    assert out.exit_code == 3
    assert "Unrecognized login" in out.stderr
    assert "open the link in that e-mail from this machine" in out.stderr
    assert TOTP not in out.output


@pytest.mark.parametrize(
    ("args", "env", "needle"),
    [
        (["--pypi-auth", "session"], {}, "--pypi-auth session needs PYPI_USERNAME"),
        ([], {"PYPI_USERNAME": USER}, "PYPI_PASSWORD is not set"),
        ([], {**creds(), "PYPI_TOTP_SECRET": "short"}, "not a base32 TOTP secret"),
        ([], {**creds(), "PYPI_REMEMBER_DEVICE": "unrelease-rd1.x.y"}, "malformed"),
    ],
)
def test_bad_pypi_settings_are_one_line_exit_2_and_change_nothing(
    wh: FakeWarehouse, gh: FakeGitHub, args: list[str], env: dict[str, str], needle: str
) -> None:
    result = run(wh, gh, *args, env=env)
    assert result.exit_code == 2
    assert needle in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert gh.writes() == []
    assert wh.count("POST") == 0


def test_plan_on_the_manual_path_shows_what_a_person_will_do(
    wh: FakeWarehouse, gh: FakeGitHub
) -> None:
    result = run(wh, gh, command="plan", env={})
    assert result.exit_code == 0, result.stderr
    step = next(s for s in result.json["steps"] if s["name"] == "index:1.2.0")
    assert step["status"] == "pending"
    assert "Yank release" in step["detail"]
    assert gh.writes() == []
    assert wh.count("POST") == 0


def test_api_path_urls_are_refused_with_the_site_root_hint(gh: FakeGitHub) -> None:
    result = invoke(
        ["status", PKG, "--index", "https://pypi.org/simple/"], {"GITHUB_TOKEN": gh.token}
    )
    assert result.exit_code == 2
    assert "https://pypi.org/" in result.stderr


# --- the index adapter on its own: faults, unyank, manual steps ---------------------------------
@pytest.mark.parametrize(
    ("method", "path", "status", "action", "error", "needle"),
    [
        ("GET", r"^/account/login/", 500, "yank", "ServiceError", "login page has no login form"),
        ("POST", r"^/account/login/", 502, "yank", "ServiceError", "login answered HTTP 502"),
        ("POST", r"^/account/login/", 429, "yank", "WaitingOnPerson", "HTTP 429"),
        ("POST", r"^/account/two-factor/", 502, "yank", "ServiceError", "2FA answered HTTP 502"),
        # an outage during 2FA is an outage, not a security-key-only account
        ("*", r"^/account/two-factor/", 500, "yank", "ServiceError", "2FA answered HTTP 500"),
        ("GET", r"^/manage/project/", 404, "yank", "ServiceError", "(404)"),
        ("GET", r"^/manage/project/", 500, "yank", "ServiceError", "HTTP 500 for"),
        ("POST", r"^/manage/project/", 502, "yank", "ServiceError", "HTTP 502 to the form"),
        ("POST", r"^/manage/project/", 400, "yank", "ServiceError", "refused the form"),
        ("GET", r"^/_includes/", 500, "delete-file", "ServiceError", "flash messages: HTTP 500"),
        ("GET", r"^/pypi/", 503, "read", "ServiceError", "503"),
    ],
)
def test_faults_become_specific_errors_and_change_nothing(
    wh: FakeWarehouse,
    clock: FakeClock,
    method: str,
    path: str,
    status: int,
    action: str,
    error: str,
    needle: str,
) -> None:
    from unrelease import errors

    index = session_index(wh, clock)
    rels = index.releases(PKG)
    wh.fail(method, path, status, times=None if method == "*" or status == 503 else 1)
    (rel,) = [r for r in rels if r.version == "1.2.0"]
    call = {
        "yank": lambda: index.yank(PKG, "1.2.0", REASON),
        "delete-file": lambda: index.delete_file(PKG, "1.2.0", rel.files[0]),
        "read": lambda: index.releases(PKG),
    }[action]
    with pytest.raises(getattr(errors, error)) as err:
        call()
    assert needle in str(err.value)
    if action == "yank":
        assert wh.journal == []


def test_unyank_reverses_a_yank_and_reruns_are_no_ops(wh: FakeWarehouse, clock: FakeClock) -> None:
    index = session_index(wh, clock)
    index.yank(PKG, "1.2.0", REASON)
    index.yank(PKG, "1.2.0", REASON)  # already yanked: no second action
    assert [a for _, _, a, _ in wh.journal] == ["yank release"]
    index.unyank(PKG, "1.2.0")
    index.unyank(PKG, "1.2.0")
    assert [a for _, _, a, _ in wh.journal] == ["yank release", "unyank release"]
    assert wh.release_state(PKG, "1.2.0")["yanked"] is False


def test_a_file_missing_from_the_page_is_an_error(wh: FakeWarehouse, clock: FakeClock) -> None:
    from unrelease.errors import ServiceError
    from unrelease.model import DistFile

    index = session_index(wh, clock)
    ghost = DistFile("demo_pkg-1.2.0-cp99-none-any.whl", f"{wh.url}/x")
    with pytest.raises(ServiceError, match=r"no delete form for demo_pkg-1\.2\.0-cp99"):
        index.delete_file(PKG, "1.2.0", ghost)
    assert wh.journal == []


def test_manual_steps_name_the_button_and_the_exact_text(wh: FakeWarehouse) -> None:
    from unrelease.indexes import open_index

    index = open_index(wh.url, "warehouse", pypi_auth="manual")
    assert index.manual
    assert index.simple_url == wh.url + "/simple/"
    unyank = index.manual_step(PKG, "1.2.0", "unyank")
    assert unyank.url == f"{wh.url}/manage/project/{PKG}/releases/"
    assert "Un-yank" in unyank.button and unyank.type_text == "1.2.0"
    delete = index.manual_step(PKG, "1.2.0", "delete")
    assert delete.button == "Delete release"
    one = index.manual_step(PKG, "1.2.0", "delete", filename="demo_pkg-1.2.0.tar.gz")
    assert one.type_text == PKG and "demo_pkg-1.2.0.tar.gz" in one.button
    assert "paste the reason 'why'" in index.manual_step(PKG, "1.2.0", "yank", "why").line()


def test_unknown_pypi_auth_mode_is_bad_input() -> None:
    import requests

    from unrelease.errors import BadInput

    with pytest.raises(BadInput, match="unknown --pypi-auth"):
        warehouse_mod.WarehouseIndex("https://pypi.org/", requests.Session(), auth_mode="web")


@pytest.mark.slow
def test_rollback_verified_by_real_pip_which_warns_pinned_users(
    clock: FakeClock, gh: FakeGitHub, dist_factory: object, tmp_path: Path
) -> None:
    """Real distributions: after the rollback pip installs the target, and a pinned install
    of the bad version shows the yank reason, which names the incident issue."""
    import subprocess
    import sys
    import venv

    with FakeWarehouse(clock=clock.time) as site:
        site.add_user(USER, PASSWORD, totp_secret=TOTP)
        site.add_project(PKG, owner=USER)
        for v in VERSIONS:
            paths = dist_factory(PKG.lower(), v)  # type: ignore[operator]
            site.add_release(PKG, v, {p.name: p.read_bytes() for p in paths})
        result = run(site, gh, "--verify-install")
        assert result.exit_code == 0, result.stderr
        verify = next(s for s in result.json["steps"] if s["name"] == "verify")
        assert "pip installs 1.1.0" in verify["detail"]
        env_dir = tmp_path / "pinned"
        venv.EnvBuilder(with_pip=False).create(env_dir)
        cmd = [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python")]
        cmd += ["install", "--no-deps", "--no-cache-dir", "--disable-pip-version-check"]
        cmd += ["--index-url", f"{site.url}/simple/", f"{PKG}==1.2.0"]
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=180, check=False)
        assert proc.returncode == 0, proc.stderr
        said = " ".join(proc.stderr.split())
        assert "yanked" in said and result.json["issue"]["url"] in said


# --- undo ----------------------------------------------------------------------------------------
def test_undo_of_a_yank_on_pypi_unyanks_and_cleans_up(wh: FakeWarehouse, gh: FakeGitHub) -> None:
    done = run(wh, gh)
    assert done.exit_code == 0, done.stderr
    tag = done.json["tag"]["name"]
    args = ["undo", PKG, "1.2.0", "--index", wh.url, "--index-kind", "warehouse"]
    args += ["--repo", gh.full_name, "--github-url", gh.api_url, "--yes", "--json"]
    env = {"GITHUB_TOKEN": gh.token, **creds()}
    result = invoke(args, env)
    assert result.exit_code == 0, result.stderr + result.stdout
    assert wh.release_state(PKG, "1.2.0")["yanked"] is False
    assert [a for _, _, a, _ in wh.journal] == ["yank release", "unyank release"]
    assert f"refs/tags/{tag}" not in gh.state.refs
    assert not [r for r in gh.state.releases.values() if r["draft"]]
    assert the_issue(gh)["state"] == "closed"
    again = invoke(args, env)
    assert again.exit_code == 0
    assert len(wh.journal) == 2


def test_undo_of_a_delete_on_pypi_is_refused(
    wh: FakeWarehouse, gh: FakeGitHub, tmp_path: Path
) -> None:
    done = run(wh, gh, "--mode", "delete", "--backup-dir", str(tmp_path / "b"))
    assert done.exit_code == 0, done.stderr
    args = ["undo", PKG, "1.2.0", "--index", wh.url, "--index-kind", "warehouse"]
    args += ["--repo", gh.full_name, "--github-url", gh.api_url, "--yes", "--json"]
    gh.clear_log()
    result = invoke(args, {"GITHUB_TOKEN": gh.token, **creds()})
    assert result.exit_code == 2
    assert "file name" in result.stderr.lower() or "filename" in result.stderr.lower()
    assert gh.writes() == []


def test_a_second_run_never_reuses_the_totp_step_of_the_first(
    wh: FakeWarehouse, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two processes (a rollback, then its undo) inside one 30 s step: PyPI would refuse the
    same code, so the second waits for the next step instead of failing."""
    session_index(wh, clock).check_auth()
    monkeypatch.setattr(warehouse_session, "_used_steps", {})  # a new process
    before = clock.time()
    session_index(wh, clock).check_auth()
    assert 0 < clock.time() - before <= 31
    assert sorted(wh.logged_in_users()) == [USER]


def test_an_expired_two_factor_step_is_reported_not_taken_for_a_login(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    import requests

    from unrelease.errors import ServiceError
    from unrelease.indexes.warehouse_session import PypiCredentials, WebSession

    def slow_person() -> str:
        clock.advance(400)  # the 2FA step is valid for 300 s
        return pyotp.TOTP(TOTP).at(clock.time())

    web = WebSession(
        wh.url, requests.Session(), PypiCredentials(USER, PASSWORD), clock, totp=slow_person
    )
    with pytest.raises(ServiceError, match="did not finish the 2FA step") as err:
        web.login(remember=True)
    assert err.value.hint and "5 minutes" in err.value.hint
    assert not web.logged_in


def test_reruns_on_a_stale_api_see_the_change_done(wh: FakeWarehouse, clock: FakeClock) -> None:
    index = session_index(wh, clock)
    index.yank(PKG, "1.2.0", REASON)
    index.delete_release(PKG, "1.1.0")
    wh.stale_reads = 5  # the CDN still shows both as they were
    again = session_index(wh, clock)
    again.yank(PKG, "1.2.0", REASON)  # no yank form: yanked already
    again.delete_release(PKG, "1.1.0")  # its page is gone: deleted already
    assert [a for _, _, a, _ in wh.journal] == ["yank release", "remove release"]


def test_each_write_raises_the_serial_reads_wait_for(wh: FakeWarehouse, clock: FakeClock) -> None:
    index = session_index(wh, clock)
    index.releases(PKG)
    index.yank(PKG, "1.2.0", REASON)
    index.yank(PKG, "1.1.0", REASON)
    wh.stale_reads = 1  # one answer from before the second yank
    rels = {r.version: r for r in index.releases(PKG)}
    assert rels["1.2.0"].yanked and rels["1.1.0"].yanked


def test_secrets_stay_out_of_reprs() -> None:
    from unrelease.indexes.warehouse_session import PypiCredentials, RememberedDevice

    creds = PypiCredentials(USER, PASSWORD, TOTP, RememberedDevice("cookie-xyz", 1.0))
    assert PASSWORD not in repr(creds) and TOTP not in repr(creds)
    assert "cookie-xyz" not in repr(creds) and "cookie-xyz" not in repr(creds.remember_device)


def test_auto_probe_recognises_a_warehouse_site(wh: FakeWarehouse) -> None:
    from unrelease.indexes import open_index

    index = open_index(wh.url, "auto", pypi_auth="manual")
    assert isinstance(index, warehouse_mod.WarehouseIndex)
    assert index.probe_note and "warehouse" in index.probe_note
    assert [r.version for r in index.releases(PKG)] == list(VERSIONS)
