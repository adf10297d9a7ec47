"""Reading job logs: the failed step, the failure class, the excerpt, redaction, and the files
the log names — on realistic GitHub Actions logs (tests/fixtures/logs/, one per class)."""

from __future__ import annotations

from pathlib import Path

import pytest

from unrelease import secrets
from unrelease.detect import classify, logs

FIXTURES = Path(__file__).parent / "fixtures" / "logs"


def fixture(stem: str, dist: str = "demo_pkg", version: str = "1.2.0") -> str:
    text = (FIXTURES / f"{stem}.txt").read_text("utf-8")
    return text.replace("{dist}", dist).replace("{version}", version)


def read(stem: str, job: str, step: str) -> tuple[classify.Verdict, str, list[str]]:
    lines = logs.clean_lines(fixture(stem))
    region = logs.failed_region(lines)
    verdict = classify.classify(job, step, region.lines)
    return verdict, logs.excerpt(region.lines, verdict.hits), lines


# (fixture, job, failed step, class, a line the excerpt must show)
CASES = [
    (
        "tests",
        "test (3.12)",
        "Run pytest --cov=src --cov-fail-under=85",
        "tests",
        "FAILED tests/test_api.py::test_get_widget - assert 404 == 200",
    ),
    (
        "dependency-conflict",
        "test (3.12)",
        "Install dependencies",
        "dependency-conflict",
        "ERROR: ResolutionImpossible",
    ),
    ("type-check", "lint", "Run mypy --strict src", "type-check", "Found 3 errors in 2 files"),
    (
        "build",
        "build",
        "Build sdist and wheel",
        "build",
        "ERROR Backend subprocess exited when trying to invoke build_wheel",
    ),
    (
        "publish-partial",
        "publish",
        "Upload to PyPI",
        "publish",
        "HTTPError: 503 Service Unavailable from https://upload.pypi.org/legacy/",
    ),
    (
        "publish-trusted",
        "publish",
        "Publish to PyPI",
        "publish",
        "`invalid-publisher`: valid token, but no corresponding publisher",
    ),
    ("docs", "docs", "Build the docs", "docs", "build finished with problems, 2 warnings"),
    ("unknown", "release", "Run ./scripts/smoke.sh", "unknown", "Killed"),
]


@pytest.mark.parametrize(("stem", "job", "step", "key", "shown"), CASES)
def test_each_failure_class_from_a_real_looking_log(
    stem: str, job: str, step: str, key: str, shown: str
) -> None:
    verdict, excerpt, _ = read(stem, job, step)
    assert verdict.cls.key == key
    assert shown in excerpt
    assert excerpt.splitlines()[-1].startswith("Error: ")  # the runner's failure line closes it
    assert len(excerpt.splitlines()) <= logs.MAX_EXCERPT_LINES
    assert len(excerpt) <= logs.MAX_EXCERPT_CHARS
    assert "##[" not in excerpt and "\x1b" not in excerpt
    assert not any(line[:4].isdigit() and "T" in line[:12] for line in excerpt.splitlines())


@pytest.mark.parametrize(("stem", "job", "step", "key", "shown"), CASES)
def test_the_log_decides_over_misleading_names(
    stem: str, job: str, step: str, key: str, shown: str
) -> None:
    """A job called "build" whose step "Run checks" failed is classified by what the log says."""
    verdict, _, _ = read(stem, "build", "Run checks")
    assert verdict.cls.key == (key if key != "unknown" else "unknown")


def test_names_decide_when_there_is_no_log() -> None:
    assert classify.classify("release", "Run mypy", []).cls.key == "type-check"
    assert classify.classify("release", "Publish to TestPyPI", []).cls.key == "publish"
    assert classify.classify("docs", "Build the docs", []).cls.key == "docs"
    # a job's name alone is no evidence: it is too often "build" or "release"
    assert classify.classify("docs", "Run make", []).cls.key == "unknown"
    assert classify.classify(None, None, []).cls.key == "unknown"


def test_a_twine_check_failure_in_the_publish_step_is_a_packaging_fault() -> None:
    region = [
        "##[group]Run pypa/gh-action-pypi-publish@release/v1",
        "##[endgroup]",
        "Checking dist/demo_pkg-1.2.0.tar.gz: FAILED",
        "ERROR    `long_description` has syntax errors in markup and would not be rendered",
        "##[error]Process completed with exit code 1.",
    ]
    verdict = classify.classify("publish", "Publish to PyPI", region)
    assert verdict.cls.key == "build"
    assert verdict.hits == [2, 3]


def test_clean_lines_drop_timestamps_and_colours() -> None:
    text = "2024-05-01T10:00:05.5010000Z \x1b[36;1mpip install -e .\x1b[0m  \n"
    text += "\ufeff2024-05-01T10:00:06Z ok"
    assert logs.clean_lines(text) == ["pip install -e .", "ok"]


def test_region_is_the_failed_step_only() -> None:
    lines = logs.clean_lines(fixture("tests"))
    region = logs.failed_region(lines)
    assert region.marked
    assert region.lines[0] == "##[group]Run pytest --cov=src --cov-fail-under=85"
    assert region.lines[-1] == "##[error]Process completed with exit code 1."
    assert "Successfully set up CPython (3.12.3)" not in region.lines  # an earlier step
    assert "Post job cleanup." not in region.lines  # after the failure


def test_an_error_annotation_keeps_its_following_lines() -> None:
    region = logs.failed_region(logs.clean_lines(fixture("publish-trusted"))).lines
    assert region[-1] == "##[error]Docker run failed with exit code 1"
    assert any("invalid-publisher" in line for line in region)


def test_no_error_marker_means_the_whole_log() -> None:
    lines = ["##[group]Run a", "##[endgroup]", "one", "two"]
    region = logs.failed_region(lines)
    assert not region.marked
    assert region.lines == lines
    assert logs.excerpt(region.lines, []) == "Run a\none\ntwo"


def test_excerpt_caps_long_lines_and_length() -> None:
    region = ["##[group]Run x", *[f"{i} " + "y" * 500 for i in range(40)], "##[error]boom"]
    text = logs.excerpt(region, [])
    assert len(text) <= logs.MAX_EXCERPT_CHARS
    assert all(len(line) <= logs.MAX_LINE_CHARS for line in text.splitlines())
    assert text.endswith("Error: boom")
    assert "…" in text


def test_excerpt_shows_other_markers_readably() -> None:
    region = ["##[warning]deprecated input", "##[error]bad"]
    assert logs.excerpt(region, []) == "Warning: deprecated input\nError: bad"


# --------------------------------------------------------------------------------- redaction
SECRET_VALUES = [
    "ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8",
    "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ",
    "pypi-AgEIcHlwaS5vcmcCJDEyMzQ1Njc4LTkwYWItY2RlZi0xMjM0LTU2Nzg5MGFiY2RlZg",
    "AKIAIOSFODNN7EXAMPLE",
    "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
    "hunter2-secret-pw",
    "s3cret-in-url",
]


def test_redaction_removes_every_token_shape_from_a_whole_log() -> None:
    text = logs.redact(fixture("secrets"))
    for value in SECRET_VALUES:
        assert value not in text, value
    assert "Authorization: Bearer ***" in text
    assert "password=***" in text
    assert "HTTPError: 403 Forbidden from https://upload.pypi.org/legacy/" in text  # kept


def test_the_excerpt_of_a_leaky_log_carries_no_secret() -> None:
    verdict, excerpt, _ = read("secrets", "release", "Run ./scripts/publish.sh")
    assert verdict.cls.key == "publish"
    assert "Invalid or non-existent authentication information" in excerpt
    for value in SECRET_VALUES:
        assert value not in excerpt
    # also when the excerpt falls back to the region's last lines
    region = logs.failed_region(logs.clean_lines(fixture("secrets"))).lines
    whole = logs.excerpt(region, [])
    for value in SECRET_VALUES:
        assert value not in whole


@pytest.mark.parametrize(
    ("raw", "redacted"),
    [
        ("token: ghs_abcdefghijklmnopqrstuvwx1234", "token: ***"),
        ("TWINE_PASSWORD='pypi-AgENdGVzdC5weXBpLm9yZwIkZmFrZQ'", "TWINE_PASSWORD='***'"),
        ('{"api_key": "abc123def456"}', '{"api_key": "***"}'),
        ("secret=already-masked ***", "secret=*** ***"),
        ("password: ***", "password: ***"),
        ("ACCESS_KEY=xyz&other=1", "ACCESS_KEY=***&other=1"),
        ("id_token eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJyZXBvIn0.c2lnbmF0dXJlLXZhbHVl", "id_token ***"),
        ("slack xoxb-1234567890-abcdefghij", "slack ***"),
        (
            "-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXk\n"
            "-----END OPENSSH PRIVATE KEY-----",
            "*** (private key) ***\n\n",  # one line each still: the excerpt's indexes hold
        ),
        (
            "-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nlQOYBGZhbGtleQEIAKx0\n=Zk8a\n"
            "-----END PGP PRIVATE KEY BLOCK-----",
            "*** (private key) ***\n\n\n\n",
        ),
        (  # a key's last lines, its BEGIN line cut off (a log keeps its last 8 MiB)
            "MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\n"
            "  Qz0fHnXo4Pl2m1Xo9sYw==\n-----END PRIVATE KEY-----",
            "*** (private key) ***\n  Qz0fHnXo4Pl2m1Xo9sYw==\n*** (private key) ***",
        ),
        # (unrelease.secrets strips URL credentials before the log patterns see them)
        ("https://user:pa/ss@host.example/simple/", "https://host.example/simple/"),
        (
            "git clone https://x-access:tok/en/x@github.com/a/b",
            "git clone https://github.com/a/b",
        ),
        ("+ curl -u admin:s3cr3t-pw https://h.example/", "+ curl -u *** https://h.example/"),
        ("curl --user 'admin:s3cr3t-pw' -X POST", "curl --user '***' -X POST"),
        ("+ mysql --password hunter2-pw -h db", "+ mysql --password *** -h db"),
        ("tool --token abc123def --verbose", "tool --token *** --verbose"),
        ("Cookie: session_id=abc123def; theme=dark", "Cookie: ***"),
        ("set remember_device=Zm9vYmFyYmF6 for 30 days", "set remember_device=*** for 30 days"),
        ("resp session_id=abc123def; Path=/", "resp session_id=***; Path=/"),
        (
            "//registry/:_authToken=npm_AbCdEf0123456789AbCdEf0123456789AbCd",
            "//registry/:_authToken=***",
        ),
        ("NPM npm_AbCdEf0123456789AbCdEf0123456789AbCd", "NPM ***"),
        ("gitlab glpat-xYz0123456789AbCdEfGh", "gitlab ***"),
        ("key=AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "key=***"),
        ("maps AIzaSyA1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q", "maps ***"),
        ("openai sk-proj-A1b2C3d4E5f6G7h8I9j0K1l2", "openai ***"),
        (
            "pip install scikit-learn-intelex-extra-long",
            "pip install scikit-learn-intelex-extra-long",
        ),
        ("curl -u https://h.example/ -o out", "curl -u https://h.example/ -o out"),
        (
            "a sha 0123456789abcdef0123456789abcdef01234567",
            "a sha 0123456789abcdef0123456789abcdef01234567",
        ),
        ("Token request failed: refused", "Token request failed: refused"),
    ],
)
def test_redaction_patterns(raw: str, redacted: str) -> None:
    assert logs.redact(raw) == redacted


def test_the_excerpt_is_redacted_before_lines_are_picked_or_cut() -> None:
    token = "ghp_" + "A1b2C3d4" * 4
    # a token the 300-character cut would leave half of
    cut = logs.excerpt(["##[group]Run x", "y" * 285 + " " + token, "##[error]boom"], [])
    assert "A1b2C3" not in cut and "***" in cut
    # a key whose BEGIN line lies before the lines picked (short body lines: no shape to see)
    body = [f"line{i}of-the-key-body" for i in range(30)]
    region = [
        "##[group]Run ./sign.sh",
        "##[endgroup]",
        "-----BEGIN RSA PRIVATE KEY-----",
        *body,
        "-----END RSA PRIVATE KEY-----",
        "signing failed",
        "##[error]Process completed with exit code 1.",
    ]
    text = logs.excerpt(region, [])
    assert "of-the-key-body" not in text and "signing failed" in text
    assert "*** (private key) ***" not in text or "BEGIN" not in text
    assert logs.redact_lines(region)[3:33] == [""] * 30


def test_a_multiline_known_secret_keeps_the_line_indexes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNRELEASE_INDEX_PASSWORD", "two-part\nlines-pw")
    assert logs.redact_lines(["a two-part", "lines-pw b", "c"]) == ["a ***", "*** b", "c"]
    assert logs.redact_lines(["x", "lines-pw", "y"]) == ["x", "***", "y"]


def test_long_lines_are_matched_on_their_start_only() -> None:
    """The file and class patterns backtrack: a 100 000-character line took seconds."""
    import time

    long = "Uploading " + "a-1" * 33_000
    started = time.perf_counter()
    assert logs.artifacts([long, "Uploading demo_pkg-1.2.0.tar.gz" + " x" * 50_000]) == [
        logs.Artifact("demo_pkg-1.2.0.tar.gz", "demo-pkg", "1.2.0")
    ]
    verdict = classify.classify("job", "step", ["= " + "1 failed " * 20_000, "##[error]x"])
    assert verdict.cls.key in ("tests", "unknown")
    assert time.perf_counter() - started < 2.0  # about 11 s for the first line before


def test_redaction_knows_this_process_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("UNRELEASE_INDEX_PASSWORD", "plain words secret 42")
    assert logs.redact("login with plain words secret 42 ok") == "login with *** ok"
    secrets.register("zz-registered-zz")
    assert logs.redact("x zz-registered-zz y") == "x *** y"


# --------------------------------------------------------------------------------- artifacts
def test_artifacts_from_twine_and_the_publish_action() -> None:
    for stem in ("publish-partial", "publish-trusted"):
        found = logs.artifacts(logs.clean_lines(fixture(stem)))
        assert [a.filename for a in found] == [
            "demo_pkg-1.2.0-py3-none-any.whl",
            "demo_pkg-1.2.0.tar.gz",
        ]
        assert {(a.name, a.version) for a in found} == {("demo-pkg", "1.2.0")}


def test_artifacts_ignore_dependencies_and_non_distributions() -> None:
    lines = [
        "  Downloading urllib3-1.26.18-py2.py3-none-any.whl.metadata (48 kB)",
        "Collecting requests==2.31.0",
        "Uploading distributions to https://upload.pypi.org/legacy/",
        "Uploading notes.txt",
        "Checking dist/not-a-dist.whl: PASSED",
        "Processing ./dist/demo_pkg-1.3.0-py3-none-any.whl",
        "Uploading demo_pkg-1.3.0.tar.gz",
        "Uploading demo_pkg-1.3.0.tar.gz",
    ]
    found = logs.artifacts(lines)
    assert [a.filename for a in found] == [
        "demo_pkg-1.3.0-py3-none-any.whl",
        "demo_pkg-1.3.0.tar.gz",
    ]
    assert logs.artifact("weird-.tar.gz") is None
    assert logs.artifact("demo_pkg-1.0-py3.whl") is None
