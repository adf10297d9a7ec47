"""Real index servers for integration tests: pypiserver and devpi on loopback, in tmp dirs.

Session fixtures start each server once per pytest session (on a free 127.0.0.1 port, in the
session's own tmp dir, with an account): under pytest-xdist every worker has its own servers.
``dist_factory`` builds real sdists and wheels with hatchling's builders, in-process (what
``python -m build --no-isolation`` runs, without a Python start per build); ``upload`` goes
through twine's Repository, in-process too. The function fixtures give every test its own
package name (unique across xdist workers as well), so tests share servers safely.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import os
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from time import monotonic

import pytest
import requests

# The tests import unrelease from src/ when it is not installed in the environment.
_SRC = str(Path(__file__).resolve().parent.parent / "src")
if _SRC not in sys.path:
    try:
        import unrelease  # noqa: F401
    except ImportError:
        sys.path.insert(0, _SRC)

__all__ = [
    "DEFAULT_VERSIONS",
    "DevpiServer",
    "DistFactory",
    "PypiserverServer",
    "SeededPackage",
    "Target",
    "devpi_dev_pkg",
    "devpi_server",
    "devpi_stable_pkg",
    "dist_factory",
    "package_name",
    "pypiserver_pkg",
    "pypiserver_server",
    "seed",
    "upload",
]

DEFAULT_VERSIONS = ("1.0.0", "1.1.0", "1.2.0")
PYPISERVER_USER, PYPISERVER_PASSWORD = "rel", "s3cret-pypiserver"
DEVPI_USER, DEVPI_PASSWORD = "rel", "s3cret-devpi"
DEVPI_ROOT_PASSWORD = "r00t-devpi"
_BIN = Path(sys.executable).parent


# --- what the fixtures yield --------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """One index: where to read (``url``, for open_index) and where to upload."""

    kind: str  # "pypiserver" or "devpi"
    url: str  # index base URL, ends with "/"
    upload_url: str
    username: str
    password: str

    @property
    def auth(self) -> tuple[str, str]:
        return (self.username, self.password)


@dataclass(frozen=True)
class PypiserverServer(Target):
    packages_dir: Path = Path()
    port: int = 0


@dataclass(frozen=True)
class DevpiServer:
    root_url: str  # http://127.0.0.1:PORT/ (the server, not an index)
    port: int
    serverdir: Path
    username: str
    password: str
    root_password: str
    dev: Target  # rel/dev, volatile
    stable: Target  # rel/stable, non-volatile


@dataclass(frozen=True)
class SeededPackage:
    name: str
    target: Target
    versions: tuple[str, ...]
    files: dict[str, list[Path]] = field(default_factory=dict)  # version → built files

    @property
    def all_files(self) -> list[Path]:
        return [p for v in self.versions for p in self.files[v]]

    def file(self, filename: str) -> Path:
        return next(p for p in self.all_files if p.name == filename)


# --- process helpers ----------------------------------------------------------------------------
def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _script(name: str) -> str:
    path = _BIN / name
    if not path.exists():
        raise RuntimeError(
            f"{name} is not installed next to {sys.executable} (pip install .[test])"
        )
    return str(path)


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWINE_", "DEVPI", "PIP_"))}
    env["HOME"] = str(home)
    env["PYTHON_KEYRING_BACKEND"] = "keyring.backends.null.Keyring"
    return env


class _Server:
    def __init__(self, cmd: list[str], log: Path, env: dict[str, str]) -> None:
        self.log = log
        self._log_fh = log.open("wb")
        self.proc = subprocess.Popen(
            cmd, stdout=self._log_fh, stderr=subprocess.STDOUT, env=env, cwd=log.parent
        )

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-30:])

    def wait_ready(self, url: str, timeout: float) -> None:
        """Poll URL until it answers 200, the process dies, or TIMEOUT passes."""
        deadline = monotonic() + timeout
        while monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}:\n{self.tail()}")
            try:
                if requests.get(url, timeout=2).status_code == 200:
                    return
            except requests.ConnectionError:
                pass
            # A bounded wait on the process, not a sleep: returns at once if the server dies.
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(timeout=0.1)
        self.stop()
        raise RuntimeError(f"server not ready at {url} after {timeout} s:\n{self.tail()}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)
        self._log_fh.close()


def _run(cmd: list[str], env: dict[str, str], what: str, timeout: float = 120) -> None:
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise RuntimeError(f"{what} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")


# --- servers ------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def pypiserver_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PypiserverServer]:
    with warnings.catch_warnings():  # passlib imports the deprecated stdlib crypt module
        warnings.simplefilter("ignore", DeprecationWarning)
        from passlib.apache import HtpasswdFile  # type: ignore[import-untyped]

    base = tmp_path_factory.mktemp("pypiserver")
    pkgs = base / "packages"
    pkgs.mkdir()
    htpasswd = HtpasswdFile(str(base / "htpasswd"), new=True)
    htpasswd.set_password(PYPISERVER_USER, PYPISERVER_PASSWORD)
    htpasswd.save()
    port = _free_port()
    cmd = [_script("pypi-server"), "run", "-i", "127.0.0.1", "-p", str(port)]
    cmd += ["-P", str(base / "htpasswd"), "-a", "update", "--disable-fallback", str(pkgs)]
    server = _Server(cmd, base / "server.log", _env(base))
    url = f"http://127.0.0.1:{port}/"
    try:
        server.wait_ready(url, timeout=30)
        yield PypiserverServer(
            kind="pypiserver",
            url=url,
            upload_url=url,
            username=PYPISERVER_USER,
            password=PYPISERVER_PASSWORD,
            packages_dir=pkgs,
            port=port,
        )
    finally:
        server.stop()


# devpi-server's own entry point, with user passwords hashed (when the fixture creates the user)
# and checked (on every authenticated request: each upload, each unrelease request) by argon2
# at its minimum cost instead of argon2-cffi's default 64 MiB x 3 passes, 0.1-0.3 s a request.
_DEVPI_SERVER = """
import sys
import devpi_server.auth
from passlib.context import CryptContext
if hasattr(devpi_server.auth, "pwd_context"):
    devpi_server.auth.pwd_context = CryptContext(
        schemes=["argon2"], deprecated="auto",
        argon2__memory_cost=8, argon2__time_cost=1, argon2__parallelism=1,
    )
from devpi_server.main import main
sys.argv[0] = "devpi-server"
sys.exit(main())
"""


def _devpi_cheap_secret() -> list[str]:
    """devpi-server derives its login-token key from a random secret with argon2 at 512 MiB
    and 16 passes: 2-25 s at every start, more than all the devpi tests together. Its own
    test suite lowers these (hidden) options; so do we, when this devpi-server has them."""
    from devpi_server import config

    if not hasattr(config, "DEFAULT_ARGON2_TIME_COST"):
        return []
    return ["--argon2-memory-cost", "8", "--argon2-time-cost", "1", "--argon2-parallelism", "1"]


@pytest.fixture(scope="session")
def devpi_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevpiServer]:
    base = tmp_path_factory.mktemp("devpi")
    serverdir = base / "server"
    env = _env(base)
    init = [_script("devpi-init"), "--serverdir", str(serverdir), "--no-root-pypi"]
    _run([*init, "--root-passwd", DEVPI_ROOT_PASSWORD], env, "devpi-init")
    port = _free_port()
    cmd = [sys.executable, "-c", _DEVPI_SERVER, "--serverdir", str(serverdir)]
    cmd += ["--host", "127.0.0.1"]
    cmd += ["--port", str(port), "--offline-mode", *_devpi_cheap_secret()]
    server = _Server(cmd, base / "server.log", env)
    root = f"http://127.0.0.1:{port}/"
    try:
        server.wait_ready(root + "+api", timeout=60)
        json_headers = {"Accept": "application/json", "Content-Type": "application/json"}
        auth = (DEVPI_USER, DEVPI_PASSWORD)
        resp = requests.put(
            root + DEVPI_USER,
            json={"password": DEVPI_PASSWORD, "email": "rel@example.invalid"},
            headers=json_headers,
            timeout=30,
        )
        assert resp.status_code == 201, resp.text
        targets = {}
        for index, volatile in (("dev", True), ("stable", False)):
            resp = requests.put(
                f"{root}{DEVPI_USER}/{index}",
                json={"bases": [], "volatile": volatile},
                headers=json_headers,
                auth=auth,
                timeout=30,
            )
            assert resp.status_code in (200, 201), resp.text
            url = f"{root}{DEVPI_USER}/{index}/"
            targets[index] = Target("devpi", url, url, DEVPI_USER, DEVPI_PASSWORD)
        yield DevpiServer(
            root_url=root,
            port=port,
            serverdir=serverdir,
            username=DEVPI_USER,
            password=DEVPI_PASSWORD,
            root_password=DEVPI_ROOT_PASSWORD,
            dev=targets["dev"],
            stable=targets["stable"],
        )
    finally:
        server.stop()


# --- distributions ------------------------------------------------------------------------------
class DistFactory:
    """Builds (once per session) the sdist and wheel of a tiny package NAME at VERSION."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self._cache: dict[tuple[str, str], list[Path]] = {}
        self._locks: dict[tuple[str, str], threading.Lock] = {}
        self._guard = threading.Lock()

    def __call__(self, name: str, version: str) -> list[Path]:
        key = (name, version)
        with self._guard:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            if key not in self._cache:
                self._cache[key] = self._build(name, version)
            return list(self._cache[key])

    def many(self, name: str, versions: Sequence[str]) -> dict[str, list[Path]]:
        """Several versions (an in-process build takes milliseconds: no thread pool)."""
        return {v: self(name, v) for v in versions}

    def _build(self, name: str, version: str) -> list[Path]:
        module = name.replace("-", "_").replace(".", "_").lower()
        project = self.root / "src" / f"{name}-{version}"
        (project / "src" / module).mkdir(parents=True)
        (project / "src" / module / "__init__.py").write_text(f'__version__ = "{version}"\n')
        (project / "pyproject.toml").write_text(
            "[build-system]\n"
            'requires = ["hatchling"]\n'
            'build-backend = "hatchling.build"\n\n'
            "[project]\n"
            f'name = "{name}"\n'
            f'version = "{version}"\n'
            'requires-python = ">=3.8"\n\n'
            "[tool.hatch.build.targets.wheel]\n"
            f'packages = ["src/{module}"]\n'
        )
        out = self.root / "dist" / f"{name}-{version}"
        from hatchling.builders.sdist import SdistBuilder
        from hatchling.builders.wheel import WheelBuilder

        try:
            for builder in (SdistBuilder, WheelBuilder):
                for _ in builder(str(project)).build(directory=str(out)):
                    pass
        except Exception as exc:  # a broken fixture project: say which one
            raise RuntimeError(f"building {name} {version} failed: {exc!r}") from exc
        files = sorted(out.iterdir())
        assert len(files) == 2, files
        return files


@pytest.fixture(scope="session")
def dist_factory(tmp_path_factory: pytest.TempPathFactory) -> DistFactory:
    return DistFactory(tmp_path_factory.mktemp("dists"))


def upload(target: Target, files: Sequence[Path]) -> None:
    """Upload FILES to TARGET with twine (its Repository, in-process: no interpreter start)."""
    from twine.package import PackageFile
    from twine.repository import Repository

    repo = Repository(target.upload_url, target.username, target.password, True)
    try:
        for path in files:
            package = PackageFile.from_filename(str(path), None)
            with contextlib.redirect_stdout(io.StringIO()):  # twine prints "Uploading NAME"
                resp = repo.upload(package)
            if resp.status_code != 200:
                raise RuntimeError(
                    f"twine upload of {Path(path).name} to {target.upload_url} failed: "
                    f"{resp.status_code} {resp.reason}\n{resp.text[:2000]}"
                )
    finally:
        repo.close()


# --- a fresh package per test -------------------------------------------------------------------
_counter = itertools.count(1)
# "gw0", "gw1", ... under pytest-xdist; no infix in a plain run.
_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "")
_PREFIX = f"pkg-{_WORKER}-" if _WORKER else "pkg-"


def _fresh_name() -> str:
    return f"{_PREFIX}{next(_counter)}"


@pytest.fixture
def package_name() -> str:
    """A package name no other test uses, in any xdist worker: ``pkg-<n>``, ``pkg-gw1-<n>``."""
    return _fresh_name()


class _Seeder:
    def __init__(self, dists: DistFactory) -> None:
        self.dists = dists

    def __call__(
        self, target: Target, versions: Sequence[str] = DEFAULT_VERSIONS, name: str | None = None
    ) -> SeededPackage:
        name = name or _fresh_name()
        files = self.dists.many(name, versions)
        upload(target, [p for v in versions for p in files[v]])
        return SeededPackage(name=name, target=target, versions=tuple(versions), files=files)


@pytest.fixture
def seed(dist_factory: DistFactory) -> _Seeder:
    """``seed(target, versions=DEFAULT_VERSIONS, name=None)`` uploads a fresh package."""
    return _Seeder(dist_factory)


@pytest.fixture
def pypiserver_pkg(pypiserver_server: PypiserverServer, seed: _Seeder) -> SeededPackage:
    return seed(pypiserver_server)


@pytest.fixture
def devpi_dev_pkg(devpi_server: DevpiServer, seed: _Seeder) -> SeededPackage:
    return seed(devpi_server.dev)


@pytest.fixture
def devpi_stable_pkg(devpi_server: DevpiServer, seed: _Seeder) -> SeededPackage:
    return seed(devpi_server.stable)
