"""Choosing the rollback target and the versions to withdraw (pure, no network)."""

from __future__ import annotations

import pytest
from packaging.version import Version

from unrelease.errors import BadInput, Refused
from unrelease.model import DistFile, Release
from unrelease.versions import (
    check_package_name,
    choose_target,
    find_release,
    latest_stable,
    parse_version,
    to_withdraw,
)


def rel(version: str, *, yanked: bool = False, files: bool = True) -> Release:
    if not files:
        return Release(version=version)
    f = DistFile(
        filename=f"pkg-{version}.tar.gz",
        url=f"http://127.0.0.1/pkg-{version}.tar.gz",
        yanked=yanked,
        yanked_reason="broken" if yanked else None,
    )
    return Release(version=version, files=(f,))


def versions(releases: list[Release]) -> list[str]:
    return [r.version for r in releases]


# --- parse_version / check_package_name ---------------------------------------------------------
@pytest.mark.parametrize("text", ["1.0", "1.2.3", "1.0rc1", "2.0.post1", "1.0.dev3", "1!2.0"])
def test_parse_version_accepts_pep440(text: str) -> None:
    assert parse_version(text) == Version(text)


@pytest.mark.parametrize("text", ["", "latest", "1.0 ; rm -rf /", "v1..2", "1.0\n2.0", "$(id)"])
def test_parse_version_rejects_with_one_line_bad_input(text: str) -> None:
    with pytest.raises(BadInput) as info:
        parse_version(text)
    message = str(info.value)
    assert "\n" not in message
    assert "not a valid version" in message
    assert info.value.exit_code == 2


def test_parse_version_names_what_it_parsed() -> None:
    with pytest.raises(BadInput, match=r"not a valid --to version: 'nope'"):
        parse_version("nope", what="--to version")


def test_parse_version_rejects_non_strings() -> None:
    with pytest.raises(BadInput):
        parse_version(None)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("name", "canonical"),
    [
        ("requests", "requests"),
        ("My_Package", "my-package"),
        ("zope.interface", "zope-interface"),
        ("a", "a"),
        ("Foo--Bar__baz", "foo-bar-baz"),
    ],
)
def test_check_package_name_canonicalizes(name: str, canonical: str) -> None:
    assert check_package_name(name) == canonical


@pytest.mark.parametrize(
    "name", ["", "-lead", "trail-", "has space", "semi;colon", "pkg\nx", "../etc", "ünï", "a/b"]
)
def test_check_package_name_rejects_with_one_line_bad_input(name: str) -> None:
    with pytest.raises(BadInput) as info:
        check_package_name(name)
    message = str(info.value)
    assert message.startswith("not a valid package name:")
    assert "\n" not in message


# --- choose_target: the default -----------------------------------------------------------------
def test_default_is_newest_final_non_yanked_older_than_bad() -> None:
    releases = [rel("1.0.0"), rel("1.1.0"), rel("1.2.0"), rel("1.3.0")]
    assert choose_target(releases, Version("1.2.0")).version == "1.1.0"


def test_default_ignores_order_of_the_index() -> None:
    releases = [rel("1.10.0"), rel("1.2.0"), rel("1.9.0"), rel("1.11.0")]
    assert choose_target(releases, Version("1.11.0")).version == "1.10.0"


@pytest.mark.parametrize("pre", ["1.1.0rc1", "1.1.0a1", "1.1.0b2", "1.1.0.dev1", "1.1.0rc1.post1"])
def test_pre_and_dev_releases_are_never_a_default_target(pre: str) -> None:
    releases = [rel("1.0.0"), rel(pre), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0")).version == "1.0.0"


def test_post_releases_count() -> None:
    releases = [rel("1.0.0"), rel("1.1.0"), rel("1.1.0.post1"), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0")).version == "1.1.0.post1"


def test_yanked_releases_are_skipped() -> None:
    releases = [rel("1.0.0"), rel("1.1.0", yanked=True), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0")).version == "1.0.0"


def test_partly_yanked_release_is_still_a_target() -> None:
    files = (
        DistFile("p-1.1.0.tar.gz", "http://127.0.0.1/a", yanked=True),
        DistFile("p-1.1.0-py3-none-any.whl", "http://127.0.0.1/b"),
    )
    releases = [rel("1.0.0"), Release("1.1.0", files), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0")).version == "1.1.0"


def test_releases_without_files_are_skipped() -> None:
    releases = [rel("1.0.0"), rel("1.1.0", files=False), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0")).version == "1.0.0"


def test_bad_version_need_not_be_in_the_list() -> None:
    assert choose_target([rel("1.0.0")], Version("2.0")).version == "1.0.0"


@pytest.mark.parametrize(
    "releases",
    [
        [],
        [rel("1.2.0")],
        [rel("1.2.0"), rel("1.3.0")],
        [rel("1.0.0", yanked=True), rel("1.2.0")],
        [rel("1.1.0rc1"), rel("1.2.0")],
        [rel("1.0.0", files=False), rel("1.2.0")],
    ],
)
def test_no_target_is_refused(releases: list[Release]) -> None:
    with pytest.raises(Refused, match=r"no release older than 1\.2\.0 to roll back to"):
        choose_target(releases, Version("1.2.0"))


# --- choose_target: --to ------------------------------------------------------------------------
def test_explicit_target_is_used() -> None:
    releases = [rel("1.0.0"), rel("1.1.0"), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0"), Version("1.0.0")).version == "1.0.0"


def test_explicit_prerelease_target_is_allowed() -> None:
    releases = [rel("1.0.0"), rel("1.1.0rc1"), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0"), Version("1.1.0rc1")).version == "1.1.0rc1"


def test_explicit_target_matches_equal_versions() -> None:
    releases = [rel("1.0"), rel("1.2.0")]
    assert choose_target(releases, Version("1.2.0"), Version("1.0.0")).version == "1.0"


@pytest.mark.parametrize("to", ["1.2.0", "1.3.0", "1.2.0.post1"])
def test_explicit_target_not_older_is_refused(to: str) -> None:
    releases = [rel("1.0.0"), rel("1.2.0"), rel("1.2.0.post1"), rel("1.3.0")]
    with pytest.raises(Refused, match=r"is not older than 1\.2\.0"):
        choose_target(releases, Version("1.2.0"), Version(to))


def test_explicit_target_not_on_the_index_is_bad_input() -> None:
    releases = [rel("1.0.0"), rel("1.2.0")]
    with pytest.raises(BadInput, match=r"target version 1\.1\.0 is not on the index"):
        choose_target(releases, Version("1.2.0"), Version("1.1.0"))


def test_explicit_yanked_target_is_refused() -> None:
    releases = [rel("1.0.0"), rel("1.1.0", yanked=True), rel("1.2.0")]
    with pytest.raises(Refused, match=r"1\.1\.0 is yanked"):
        choose_target(releases, Version("1.2.0"), Version("1.1.0"))


# --- to_withdraw --------------------------------------------------------------------------------
def test_to_withdraw_default_is_only_the_bad_version() -> None:
    releases = [rel("1.0.0"), rel("1.1.0"), rel("1.2.0"), rel("1.3.0")]
    assert versions(to_withdraw(releases, Version("1.2.0"), Version("1.1.0"))) == ["1.2.0"]


def test_to_withdraw_incremental_range_newest_first() -> None:
    releases = [rel("1.0.0"), rel("1.1.0"), rel("1.1.1"), rel("1.2.0"), rel("1.3.0")]
    got = to_withdraw(releases, Version("1.2.0"), Version("1.0.0"))
    assert versions(got) == ["1.2.0", "1.1.1", "1.1.0"]


def test_to_withdraw_sorts_whatever_the_input_order() -> None:
    releases = [rel("1.1.0"), rel("1.3.0"), rel("1.0.0"), rel("1.2.0")]
    got = to_withdraw(releases, Version("1.3.0"), Version("1.0.0"))
    assert versions(got) == ["1.3.0", "1.2.0", "1.1.0"]


def test_to_withdraw_leaves_prereleases_and_yanked_between_alone() -> None:
    releases = [
        rel("1.0.0"),
        rel("1.1.0rc1"),
        rel("1.1.0.dev2"),
        rel("1.1.0", yanked=True),
        rel("1.1.5"),
        rel("1.2.0"),
    ]
    got = to_withdraw(releases, Version("1.2.0"), Version("1.0.0"))
    assert versions(got) == ["1.2.0", "1.1.5"]


def test_to_withdraw_always_includes_the_bad_version_even_a_prerelease() -> None:
    releases = [rel("1.0.0"), rel("1.1.0"), rel("2.0.0rc1", yanked=True)]
    got = to_withdraw(releases, Version("2.0.0rc1"), Version("1.1.0"))
    assert versions(got) == ["2.0.0rc1"]


def test_to_withdraw_never_touches_target_or_newer() -> None:
    releases = [rel("1.0.0"), rel("1.1.0"), rel("1.2.0"), rel("1.3.0")]
    got = versions(to_withdraw(releases, Version("1.2.0"), Version("1.0.0")))
    assert "1.0.0" not in got
    assert "1.3.0" not in got


# --- latest_stable / find_release ---------------------------------------------------------------
def test_latest_stable_is_newest_final_with_files_not_yanked() -> None:
    releases = [
        rel("1.0.0"),
        rel("1.1.0"),
        rel("1.2.0", yanked=True),
        rel("1.3.0", files=False),
        rel("2.0.0rc1"),
    ]
    got = latest_stable(releases)
    assert got is not None
    assert got.version == "1.1.0"


def test_latest_stable_counts_post_releases() -> None:
    got = latest_stable([rel("1.0.0"), rel("1.0.0.post2")])
    assert got is not None
    assert got.version == "1.0.0.post2"


@pytest.mark.parametrize(
    "releases", [[], [rel("1.0rc1")], [rel("1.0", yanked=True)], [rel("1.0", files=False)]]
)
def test_latest_stable_none(releases: list[Release]) -> None:
    assert latest_stable(releases) is None


def test_find_release_compares_versions_not_strings() -> None:
    releases = [rel("1.0"), rel("2.0.0")]
    found = find_release(releases, Version("1.0.0"))
    assert found is not None
    assert found.version == "1.0"
    assert find_release(releases, Version("3")) is None
