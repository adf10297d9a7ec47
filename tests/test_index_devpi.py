"""devpi: one login (a token devpi checks cheaply) instead of a password devpi hashes with
argon2 on every request; reads stay anonymous."""

from __future__ import annotations

from typing import Any

import pytest
import requests

from tests.servers import DevpiServer, SeededPackage
from unrelease import secrets
from unrelease.errors import AuthError
from unrelease.indexes import DevpiIndex, open_index


def _record(index: Any) -> list[requests.PreparedRequest]:
    seen: list[requests.PreparedRequest] = []
    index.session.hooks["response"].append(lambda r, *a, **k: seen.append(r.request))
    return seen


@pytest.mark.integration
def test_one_login_then_a_token_and_anonymous_reads(devpi_server: DevpiServer, seed: Any) -> None:
    pkg: SeededPackage = seed(devpi_server.dev)
    index = open_index(pkg.target.url, kind="devpi", auth=pkg.target.auth)
    assert isinstance(index, DevpiIndex)
    assert index.credentials == pkg.target.auth
    seen = _record(index)
    releases = index.releases(pkg.name)
    assert "Authorization" not in seen[-1].headers
    assert "X-Devpi-Auth" not in seen[-1].headers
    index.check_auth(pkg.name, "1.2.0")
    wheel = next(f for f in releases[-1].files if f.filename.endswith(".whl"))
    index.delete_file(pkg.name, "1.2.0", wheel)
    index.delete_release(pkg.name, "1.1.0")
    logins = [r for r in seen if r.url and r.url.endswith("/+login")]
    assert len(logins) == 1
    assert all("Authorization" not in r.headers for r in seen)
    writes = [r for r in seen if r.method == "DELETE"]
    assert len(writes) == 2 and all("X-Devpi-Auth" in r.headers for r in writes)
    token = str(writes[0].headers["X-Devpi-Auth"])
    assert token in secrets.known()
    assert pkg.target.password not in token
    assert [r.version for r in index.releases(pkg.name)] == ["1.0.0", "1.2.0"]


@pytest.mark.integration
def test_a_wrong_password_fails_at_the_login(devpi_server: DevpiServer) -> None:
    index = open_index(devpi_server.dev.url, kind="devpi", auth=("rel", "wrong-pass-31"))
    with pytest.raises(AuthError, match="did not accept the credentials of rel") as exc:
        index.check_auth()
    assert "wrong-pass-31" not in str(exc.value)
    with pytest.raises(AuthError, match="no credentials"):
        open_index(devpi_server.dev.url, kind="devpi").check_auth()
