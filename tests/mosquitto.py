"""Debian's mosquitto, started by the test run on 127.0.0.1 (a free port, no persistence).

Outside CI a missing /usr/sbin/mosquitto skips the test with the reason; with the CI environment
variable set it fails, because `make system-deps` installs it there.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support import free_port, skip_or_fail

MOSQUITTO = os.environ.get("FALLWATCH_MOSQUITTO", "/usr/sbin/mosquitto")


def require_mosquitto() -> str:
    """The broker binary, or skip (fail on CI) naming the package to install."""
    if Path(MOSQUITTO).is_file():
        return MOSQUITTO
    skip_or_fail(f"mosquitto not found at {MOSQUITTO}: apt-get install mosquitto (or make system-deps)")


def make_certificates(folder: Path) -> Path:
    """A throwaway CA (ca.pem) and a server certificate for 127.0.0.1 (server.pem, server.key), made
    with the openssl command; returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=folder)

    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=FallWatch test CA",
            "-keyout", "ca.key", "-out", "ca.pem")  # fmt: skip
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", "server.key",
            "-out", "server.csr")  # fmt: skip
    (folder / "san.cnf").write_text("subjectAltName = IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", "server.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial",
            "-days", "2", "-extfile", "san.cnf", "-out", "server.pem")  # fmt: skip
    return folder


@contextmanager
def running_mosquitto(
    folder: Path, port: int | None = None, users: dict[str, str] | None = None, tls: Path | None = None
) -> Iterator[int]:
    """Run a broker on 127.0.0.1:`port` (a free one if None) until the block ends; yields the port.

    users: {name: password} to require a login (anonymous clients are then refused).
    tls: a folder from `make_certificates`: the listener then speaks TLS only.
    """
    binary = require_mosquitto()
    port = port or free_port()
    lines = [f"listener {port} 127.0.0.1", "persistence false", "log_dest stderr"]
    if tls is not None:
        lines += [f"cafile {tls / 'ca.pem'}", f"certfile {tls / 'server.pem'}", f"keyfile {tls / 'server.key'}"]
    if os.geteuid() == 0:
        lines.append("user root")  # else mosquitto drops to its own user and cannot read tmp files
    if users:
        passwords = folder / "passwords"
        for i, (name, password) in enumerate(users.items()):
            create = ["-c"] if i == 0 else []
            passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
            subprocess.run([passwd, *create, "-b", str(passwords), name, password], check=True)
        lines += ["allow_anonymous false", f"password_file {passwords}"]
    else:
        lines.append("allow_anonymous true")
    conf = folder / f"mosquitto-{port}.conf"
    conf.write_text("\n".join(lines) + "\n")
    log = open(folder / f"mosquitto-{port}.log", "wb")  # noqa: SIM115 (closed below)
    broker = subprocess.Popen([binary, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 10
        while True:
            if broker.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(folder / f'mosquitto-{port}.log').read_text()[-500:]}")
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"mosquitto did not listen on port {port}") from None
                time.sleep(0.05)
        yield port
    finally:
        broker.terminate()
        broker.wait(timeout=10)
        log.close()
