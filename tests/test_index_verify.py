"""--verify-install: pip runs with a scrubbed environment, wheels only, and the index password
only inside the index URL it is given (and never in what we keep of its output)."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
from pytest_mock import MockerFixture

from tests.servers import SeededPackage
from unrelease import verify
from unrelease.errors import ServiceError

LEAKY = {
    "PYPI_PASSWORD": "pypi-pass-1",
    "PYPI_TOTP_SECRET": "JBSWY3DPEHPK3PXP",
    "GITHUB_TOKEN": "ghs_token_2",
    "GH_TOKEN": "gh_token_3",
    "UNRELEASE_INDEX_PASSWORD": "index-pass-4",
    "UNRELEASE_INDEX_USERNAME": "rel",
    "TWINE_PASSWORD": "twine-pass-5",
    "DEPLOY_TOKEN": "deploy-token-6",
    "AWS_SECRET": "aws-secret-7",
    "PIP_INDEX_URL": "https://evil.example/simple/",
    "PIP_EXTRA_INDEX_URL": "https://mirror.example/simple/",
    "PIP_CONFIG_FILE": "/home/me/.pip/pip.conf",
    "HOME": "/home/me",
    "LANG": "C.UTF-8",
    "TMPDIR": "/tmp",
}
FORBIDDEN_PREFIXES = ("PYPI_", "GITHUB_", "UNRELEASE_", "TWINE_", "AWS_")
FORBIDDEN_SUFFIXES = ("_TOKEN", "_PASSWORD", "_SECRET")


def _calls(mocker: MockerFixture, fail: str | None = None) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    def fake_run(cmd: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        seen.append({"cmd": cmd, **kwargs})
        if fail is not None and "pip" in cmd:
            return subprocess.CompletedProcess(cmd, 1, "", f"ERROR: {fail}\n")
        return subprocess.CompletedProcess(cmd, 0, '"1.1.0"\n', "")

    mocker.patch.object(verify.subprocess, "run", side_effect=fake_run)
    return seen


def test_pip_gets_only_what_it_needs(
    mocker: MockerFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in LEAKY.items():
        monkeypatch.setenv(key, value)
    seen = _calls(mocker)
    got = verify.pip_resolves("demo", "http://127.0.0.1:9/simple/", auth=("rel", "index-pass-4"))
    assert got == "1.1.0"
    assert len(seen) == 2  # pip, then the version probe
    for call in seen:
        env = call["env"]
        for key in env:
            assert not key.startswith(FORBIDDEN_PREFIXES) or key.startswith("PIP_"), key
            assert not key.endswith(FORBIDDEN_SUFFIXES), key
        assert not {k for k in env if k.startswith("PIP_")} - {
            "PIP_CONFIG_FILE",
            "PIP_NO_INPUT",
            "PIP_DISABLE_PIP_VERSION_CHECK",
        }
        assert env["PIP_CONFIG_FILE"] != LEAKY["PIP_CONFIG_FILE"]
        assert env["HOME"] != "/home/me"
        assert "unrelease-verify-" in env["HOME"]
        assert env["LANG"] == "C.UTF-8" and env["TMPDIR"] == "/tmp"
        assert env["PATH"]
        for key, value in LEAKY.items():
            if key not in ("LANG", "TMPDIR", "HOME", "UNRELEASE_INDEX_USERNAME"):
                assert value not in " ".join(env.values()), key
    pip = seen[0]["cmd"]
    assert pip[pip.index("--only-binary") + 1] == ":all:"
    url = pip[pip.index("--index-url") + 1]
    assert url == "http://rel:index-pass-4@127.0.0.1:9/simple/"
    assert sum("index-pass-4" in part for part in pip) == 1  # in the URL, nowhere else


def test_allow_sdist_drops_only_binary(mocker: MockerFixture) -> None:
    seen = _calls(mocker)
    verify.pip_resolves("demo", "http://127.0.0.1:9/simple/", allow_sdist=True)
    assert "--only-binary" not in seen[0]["cmd"]


def test_a_failure_keeps_no_credentials(mocker: MockerFixture) -> None:
    _calls(mocker, fail="403 for http://rel:p%40ss-8@127.0.0.1:9/simple/demo/ (p@ss-8)")
    with pytest.raises(ServiceError) as exc:
        verify.pip_resolves("demo", "http://127.0.0.1:9/simple/", auth=("rel", "p@ss-8"))
    assert "p@ss-8" not in str(exc.value)
    assert "p%40ss-8" not in str(exc.value)
    assert "could not install demo" in str(exc.value)


@pytest.mark.integration
def test_pip_still_resolves_on_a_real_pypiserver(
    pypiserver_pkg: SeededPackage, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/nowhere/")  # would break pip
    target = pypiserver_pkg.target
    got = verify.pip_resolves(pypiserver_pkg.name, target.url + "simple/", auth=target.auth)
    assert got == pypiserver_pkg.versions[-1]
