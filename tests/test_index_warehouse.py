"""The warehouse adapter against the fake warehouse: today's delete forms (acknowledgment
boxes), PEP 792 project status and display name, and how few requests a withdrawal takes."""

from __future__ import annotations

from collections.abc import Iterator

import pyotp
import pytest
import requests

from tests.fakes.clock import FakeClock
from tests.fakes.warehouse import (
    DELETE_FILE_ACKNOWLEDGMENTS,
    DELETE_RELEASE_ACKNOWLEDGMENTS,
    FakeWarehouse,
)
from unrelease.errors import NotFound, Refused, ServiceError
from unrelease.indexes import open_index, warehouse_session
from unrelease.indexes import warehouse as warehouse_mod
from unrelease.indexes.warehouse_session import PypiCredentials

PKG = "Demo-Pkg"
USER = "alice"
PASSWORD = "correct horse battery staple 71"
TOTP = pyotp.random_base32()
VERSIONS = ("1.0.0", "1.1.0", "1.2.0")


def files_for(version: str) -> dict[str, bytes]:
    stem = f"demo_pkg-{version}"
    return {
        f"{stem}.tar.gz": f"sdist {version}".encode(),
        f"{stem}-py3-none-any.whl": f"wheel {version}".encode(),
    }


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> FakeClock:
    c = FakeClock()
    monkeypatch.setattr(warehouse_mod, "SystemClock", lambda: c)
    monkeypatch.setattr(warehouse_session, "_used_steps", {})
    return c


@pytest.fixture
def wh(clock: FakeClock, tmp_path_factory: pytest.TempPathFactory) -> Iterator[FakeWarehouse]:
    with FakeWarehouse(clock=clock.time) as site:
        site.add_user(USER, PASSWORD, totp_secret=TOTP)
        site.add_project(PKG, owner=USER)
        for v in VERSIONS:
            site.add_release(PKG, v, files_for(v))
        yield site
        assert not site.server_errors, site.server_errors[0]


def session_index(wh: FakeWarehouse, clock: FakeClock) -> warehouse_mod.WarehouseIndex:
    index = open_index(
        wh.url,
        "warehouse",
        pypi_auth="session",
        pypi_creds=PypiCredentials(USER, PASSWORD, TOTP),
        clock=clock,
    )
    assert isinstance(index, warehouse_mod.WarehouseIndex)
    return index


def delete_posts(wh: FakeWarehouse) -> list[dict[str, str]]:
    return [form for path, form in wh.posted if "/release/" in path]


# --- 1. the delete forms' acknowledgment boxes --------------------------------------------------
def test_delete_release_sends_each_box_of_its_form_checked(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    index = session_index(wh, clock)
    index.delete_release(PKG, "1.2.0")
    assert wh.release_state(PKG, "1.2.0")["deleted"] is True
    (form,) = delete_posts(wh)
    sent = {k: v for k, v in form.items() if k.startswith("acknowledge_")}
    assert sent == dict.fromkeys(DELETE_RELEASE_ACKNOWLEDGMENTS, "on")


def test_delete_file_sends_each_box_of_its_form_checked(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    index = session_index(wh, clock)
    (release,) = [r for r in index.releases(PKG) if r.version == "1.2.0"]
    wheel = next(f for f in release.files if f.filename.endswith(".whl"))
    index.delete_file(PKG, "1.2.0", wheel)
    assert wh.release_state(PKG, "1.2.0")["files"] == ["demo_pkg-1.2.0.tar.gz"]
    (form,) = delete_posts(wh)
    sent = {k: v for k, v in form.items() if k.startswith("acknowledge_")}
    assert sent == dict.fromkeys(DELETE_FILE_ACKNOWLEDGMENTS, "on")


def _browser_session(wh: FakeWarehouse) -> tuple[requests.Session, str]:
    """A logged-in session and the release page's HTML, as a person's browser has them."""
    index = open_index(
        wh.url, "warehouse", pypi_auth="session", pypi_creds=PypiCredentials(USER, PASSWORD, TOTP)
    )
    assert isinstance(index, warehouse_mod.WarehouseIndex) and index.web is not None
    path = f"/manage/project/{PKG}/release/1.2.0/"
    return index.session, index.web.manage_page(path)


@pytest.mark.parametrize("what", ["release", "file"])
def test_the_fake_refuses_a_delete_with_a_box_unchecked(wh: FakeWarehouse, what: str) -> None:
    from unrelease.indexes import html

    session, page = _browser_session(wh)
    field = "confirm_delete_version" if what == "release" else "file_id"
    form = html.find_form(page, field)
    assert form is not None
    boxes = form.checked("acknowledge_")
    assert set(boxes) == set(wh.acknowledgments[what])
    boxes.pop(next(iter(boxes)))  # one box left unchecked: a browser does not send it
    confirm = {"confirm_delete_version": "1.2.0"} if what == "release" else {}
    if what == "file":
        confirm = {"confirm_project_name": PKG}
    url = f"{wh.url}/manage/project/{PKG}/release/1.2.0/"
    resp = session.post(
        url,
        data={**form.fields, **boxes, **confirm},
        headers={"Origin": wh.url, "Referer": url},
        allow_redirects=False,
    )
    assert resp.status_code == 303
    flash = session.get(f"{wh.url}/_includes/unauthed/flash-messages/").text
    assert f"Could not delete {what} - acknowledge all of the consequences to continue" in flash
    assert wh.release_state(PKG, "1.2.0")["files"] == sorted(files_for("1.2.0"))
    assert wh.journal == []


def test_a_box_of_another_form_on_the_page_is_never_sent(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    wh.acknowledgments["file"] = (*DELETE_FILE_ACKNOWLEDGMENTS, "acknowledge_other_form_only")
    index = session_index(wh, clock)
    index.delete_release(PKG, "1.2.0")
    assert wh.release_state(PKG, "1.2.0")["deleted"] is True
    (form,) = delete_posts(wh)
    assert "acknowledge_other_form_only" not in form
    assert "acknowledge_file_only" not in form


def test_a_new_box_on_the_release_form_is_read_from_the_page(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    wh.acknowledgments["release"] = (*DELETE_RELEASE_ACKNOWLEDGMENTS, "acknowledge_new_in_2027")
    index = session_index(wh, clock)
    index.delete_release(PKG, "1.2.0")
    assert wh.release_state(PKG, "1.2.0")["deleted"] is True


# --- 2. PEP 792 project status and the display name ---------------------------------------------
def test_project_gives_display_name_and_status_in_one_read(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    index = session_index(wh, clock)
    wh.clear_log()
    project = index.project("demo_pkg")
    assert (project.name, project.status, project.status_reason) == (PKG, "active", None)
    assert [r.version for r in project.releases] == list(VERSIONS)
    assert [p for _, p, _ in wh.requests] == ["/pypi/demo-pkg/json"]
    assert [r.version for r in index.releases(PKG)] == list(VERSIONS)


def test_archived_project_is_reported(wh: FakeWarehouse, clock: FakeClock) -> None:
    wh.archived.add(PKG)
    project = session_index(wh, clock).project(PKG)
    assert (project.name, project.status) == (PKG, "archived")
    assert len(project.releases) == 3


def test_status_from_the_simple_page_when_the_json_api_has_none(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    wh.archived.add(PKG)
    wh.json_project_status = False
    index = session_index(wh, clock)
    wh.clear_log()
    assert index.project(PKG).status == "archived"
    assert [p for _, p, _ in wh.requests] == ["/pypi/demo-pkg/json", "/simple/demo-pkg/"]


def test_quarantined_project_comes_with_its_status_not_as_missing(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    wh.quarantine.add(PKG)
    index = session_index(wh, clock)
    project = index.project(PKG)
    assert (project.status, project.releases) == ("quarantined", [])
    with pytest.raises(Refused, match="quarantine"):
        index.releases(PKG)
    with pytest.raises(NotFound):
        index.project("no-such-project")


# --- 7. few requests ----------------------------------------------------------------------------
def test_an_unread_success_is_never_taken_for_a_later_outcome(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    index = session_index(wh, clock)
    index.yank(PKG, "1.2.0", "first")  # outcome from its 303: the flash stays queued
    index.unyank(PKG, "1.2.0")
    assert wh.count("GET", "/_includes/") == 0
    release = f"/manage/project/{PKG}/release/1.2.0/"
    wh.fail("POST", "/release/1.2.0/", status=303, headers={"Location": release})
    with pytest.raises(ServiceError, match="no message"):
        index.yank(PKG, "1.2.0", "second")  # queued: "Yanked release '1.2.0'" of the first
    assert wh.release_state(PKG, "1.2.0")["yanked"] is False


def test_a_failed_delete_is_read_from_the_flash(wh: FakeWarehouse, clock: FakeClock) -> None:
    index = session_index(wh, clock)
    index.yank(PKG, "1.2.0", "first")
    wh.deletion_disabled.add(PKG)
    with pytest.raises(Refused, match="deletion disabled"):
        index.delete_release(PKG, "1.2.0")
    assert wh.release_state(PKG, "1.2.0")["deleted"] is False


def test_five_versions_take_one_login_and_one_read_of_each_page(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    for v in ("1.3.0", "1.4.0", "1.5.0"):
        wh.add_release(PKG, v, files_for(v))
    index = session_index(wh, clock)
    index.releases(PKG)
    index.check_auth(PKG, "1.5.0")
    clock.advance(31 * 60)  # the password confirmation goes stale midway: one re-auth
    for v in ("1.5.0", "1.4.0", "1.3.0", "1.2.0", "1.1.0"):
        index.yank(PKG, v, "bad")
    assert [r.version for r in index.releases(PKG) if r.files[0].yanked] == [
        "1.1.0",
        "1.2.0",
        "1.3.0",
        "1.4.0",
        "1.5.0",
    ]
    paths = [f"{m} {p.split('?')[0]}" for m, p, _ in wh.requests]
    assert paths.count("POST /account/login/") == 1
    assert paths.count("POST /account/reauthenticate/") == 1
    # the first from the page the preflight read (read again to answer the re-auth); the
    # other four from one read of the releases list
    assert paths.count(f"GET /manage/project/{PKG}/releases/") == 1
    assert {p for p in paths if p.startswith("GET /manage/project/") and "/release/" in p} == {
        f"GET /manage/project/{PKG}/release/1.5.0/"
    }
    assert len([p for p in paths if p.startswith("POST /manage/")]) == 6  # 1.5.0 twice
    assert len(paths) < 21  # pypi-cleanup 0.1.12 needs 21 to delete five
    assert len(wh.journal) == 5


def test_a_release_posted_to_from_the_list_is_read_again_before_the_next_change(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    index = session_index(wh, clock)
    index.yank(PKG, "1.2.0", "one")  # from the releases list
    index.unyank(PKG, "1.2.0")  # the list is read again: its row for 1.2.0 changed
    index.yank(PKG, "1.2.0", "two")
    index.yank(PKG, "1.2.0", "two")  # yanked already: the list (read again) says so
    index.yank(PKG, "1.1.0", "three")  # its row did not change: no new read
    assert [a for _, v, a, _ in wh.journal] == [
        "yank release",
        "unyank release",
        "yank release",
        "yank release",
    ]
    assert [v for _, v, _, _ in wh.journal][-1] == "1.1.0"
    assert wh.release_state(PKG, "1.2.0")["yanked_reason"] == "two"
    lists = [p for m, p, _ in wh.requests if m == "GET" and p.endswith("/releases/")]
    assert len(lists) == 4


def test_a_quarantined_project_is_refused_on_the_list_path_too(
    wh: FakeWarehouse, clock: FakeClock
) -> None:
    index = session_index(wh, clock)
    index.releases(PKG)
    wh.quarantine.add(PKG)
    with pytest.raises(Refused, match="quarantine"):
        index.yank(PKG, "1.2.0", "x")
    assert wh.journal == []
