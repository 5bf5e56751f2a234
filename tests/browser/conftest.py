"""One JupyterLab server and one headless Chromium for the browser tests.

JupyterLab serves a temporary copy of notebooks/ with throwaway config, runtime
and workspace dirs, on a free loopback port with a random token, and without
MPLBACKEND (which would hide the figures). Chromium is Debian's
/usr/bin/chromium, driven by Python playwright (never `playwright install`).
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))  # Debian's chromium
ARTIFACTS = ROOT / "artifacts" / "browser"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
# The "news" pop-up asks to fetch from the internet; nothing here should.
PAGE_CONFIG = {"disabledExtensions": {"@jupyterlab/apputils-extension:announcements": True}}
# Every cell in the DOM (no virtual scrolling), so every slider and output can be found.
USER_SETTINGS = {"@jupyterlab/notebook-extension/tracker.jupyterlab-settings": {"windowingMode": "none"}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Lab:
    """A running JupyterLab: ``url(path)`` for pages, ``api(method, path)`` for REST."""

    def __init__(self, root: Path, base: str, token: str, log: Path):
        self.root, self.base, self.token, self.log = root, base, token, log

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path}{sep}token={self.token}"

    def api(self, method: str, path: str):
        req = urllib.request.Request(
            f"{self.base}/api/{path}", method=method, headers={"Authorization": f"token {self.token}"}
        )
        with urllib.request.urlopen(req, timeout=30) as r:
            body = r.read()
        return json.loads(body) if body else None

    def shutdown_sessions(self) -> None:
        """Shut down every kernel (each notebook starts its own), so they do not pile up."""
        for s in self.api("GET", "sessions"):
            self.api("DELETE", f"sessions/{s['id']}")

    def log_tail(self, n: int = 40) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-n:])


@pytest.fixture(scope="session")
def chromium_path():
    if not CHROMIUM.exists():
        pytest.skip(
            f"{CHROMIUM} is missing: install Debian's chromium with "
            "`apt-get update && apt-get install -y chromium` (as root; `make test` does it "
            "when run as root), then `make test-browser`"
        )
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        pytest.skip("python playwright is missing: `make install`")
    return str(CHROMIUM)


@pytest.fixture(scope="session")
def lab_root(tmp_path_factory):
    """The folder JupyterLab serves: a copy of notebooks/ (course_lib comes from the venv)."""
    root = tmp_path_factory.mktemp("lab-root")
    src = ROOT / "notebooks"
    if src.is_dir():
        shutil.copytree(
            src, root, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__")
        )
    return root


@pytest.fixture(scope="session")
def lab(chromium_path, lab_root, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lab-home")
    for d in ("config/labconfig", "runtime", "workspaces", "ipython"):
        (tmp / d).mkdir(parents=True)
    (tmp / "config" / "labconfig" / "page_config.json").write_text(json.dumps(PAGE_CONFIG))
    for name, settings in USER_SETTINGS.items():
        f = tmp / "settings" / name
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text(json.dumps(settings))
    env = dict(os.environ)
    env.pop("MPLBACKEND", None)
    env.update(
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "settings"),
        IPYTHONDIR=str(tmp / "ipython"),
        PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}",
    )
    port, token = _free_port(), secrets.token_hex(16)
    log = tmp / "lab.log"
    cmd = [
        sys.executable,
        "-m",
        "jupyter",
        "lab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={lab_root}",
        "--ServerApp.allow_root=True",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.extension_manager=readonly",
    ]
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp, start_new_session=True)
    server = Lab(lab_root, f"http://127.0.0.1:{port}", token, log)
    deadline = time.monotonic() + 90
    while True:
        try:
            server.api("GET", "status")
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"JupyterLab did not start:\n{server.log_tail()}")
            time.sleep(0.3)
    yield server
    proc.send_signal(signal.SIGINT)  # jupyter server: shut down kernels, then exit
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)  # our own session: the server and its kernels
        proc.wait()


@pytest.fixture(scope="session")
def browser(chromium_path):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture(scope="session")
def artifacts():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def page(browser, lab):
    """A fresh browser page; the lab's kernels are shut down afterwards."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(60_000)
    pg.js_errors = []
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    yield pg
    context.close()
    lab.shutdown_sessions()
