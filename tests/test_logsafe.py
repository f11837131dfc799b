"""Verbose logs never show a credential: botocore's signed requests, masked whatever logs them."""

from __future__ import annotations

import http.client
import io
import logging
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import quote

import pytest
from botocore.auth import S3SigV4Auth, S3SigV4QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from pipeline.cli import logsafe
from pipeline.cli.logsafe import MASK, CredentialFilter

import kit.seaweed as sw
from kit.seaweed import ACCESS, PUBLIC, SECRET, Seaweed, s3_env

seaweed = sw.seaweed  # fixture: the session's SeaweedFS

ROOT = Path(__file__).resolve().parent.parent

KEY_ID = "AKIASTORYCASTLOGTEST"
KEY_SECRET = "storycast/Log+Secret/never-PRINT-me-0123456789"
TOKEN = "FwoGZXIvYXdzEStorycastSessionToken+with/slash==" + "x" * 300


@pytest.fixture
def log() -> Iterator[io.StringIO]:
    """Everything logged at DEBUG, through a handler with the filter on it (patterns only:
    no credentials are known from the environment here)."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(CredentialFilter())
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


def assert_hidden(text: str, *values: str) -> None:
    for value in values:
        for form in (value, quote(value, safe=""), value[4:20]):
            assert form not in text, (form, text)


def test_botocore_signing_logs_are_masked(log: io.StringIO) -> None:
    """A real SigV4 signature, with the log lines botocore writes while signing and sending."""
    creds = Credentials(KEY_ID, KEY_SECRET, TOKEN)
    request = AWSRequest("GET", "http://127.0.0.1:9/pub?list-type=2&prefix=show%2F")
    request.context["payload_signing_enabled"] = False
    S3SigV4Auth(creds, "s3", "us-east-1").add_auth(request)
    signature = re.search(r"Signature=([0-9a-f]{64})", request.headers["Authorization"])
    assert signature
    prepared = request.prepare()
    # botocore.endpoint's own line, with the request's headers as botocore prints them.
    logging.getLogger("botocore.endpoint").debug("Sending http request: %s", prepared)

    query = AWSRequest("GET", "http://127.0.0.1:9/pub/show/a.mp3")
    S3SigV4QueryAuth(creds, "s3", "us-east-1", expires=60).add_auth(query)
    presigned = query.prepare().url
    query_signature = re.search(r"X-Amz-Signature=([0-9a-f]{64})", presigned)
    assert query_signature and "X-Amz-Security-Token=" in presigned
    logging.getLogger("urllib3.connectionpool").debug(
        '%s "%s %s HTTP/1.1" 200 5', "http://127.0.0.1:9", "GET", presigned.split(":9", 1)[1]
    )

    text = log.getvalue()
    # botocore.auth logged the canonical request and the signature while signing.
    assert "botocore.auth: CanonicalRequest:" in text and "botocore.auth: Signature:" in text
    assert_hidden(text, KEY_ID, KEY_SECRET, TOKEN, signature.group(1), query_signature.group(1))
    assert f"x-amz-security-token:{MASK}\n" in text
    assert f"'X-Amz-Security-Token': '{MASK}'" in text  # str here; bytes when botocore sends
    assert f"Credential=AKIA{MASK}/" in text and f"Signature={MASK}'" in text
    assert f"botocore.auth: Signature:\n{MASK}\n" in text
    assert f"X-Amz-Credential=AKIA{MASK}%2F" in text
    assert f"X-Amz-Security-Token={MASK}&" in text and f"X-Amz-Signature={MASK}" in text
    # What is not a credential stays, so the log is still useful.
    assert "SignedHeaders=host;x-amz-content-sha256;x-amz-date;x-amz-security-token" in text
    assert "us-east-1/s3/aws4_request" in text and "GET /pub/show/a.mp3?" in text


@pytest.mark.parametrize(
    "message",
    [
        "aws_secret_access_key = {secret}",
        "AWS_SECRET_ACCESS_KEY={secret} AWS_SESSION_TOKEN={token}",
        "{{'aws_secret_access_key': '{secret}', 'aws_session_token': '{token}'}}",
        '{{"SecretAccessKey": "{secret}", "SessionToken": "{token}", "Token": "{token}"}}',
        "<SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken>",
        "secret_key: {secret}\nsecurity_token: {token}",
        "<SignatureProvided>{secret}</SignatureProvided>",
    ],
)
def test_secrets_and_tokens_are_masked_in_any_form(log: io.StringIO, message: str) -> None:
    logging.getLogger("anything").debug(message.format(secret=KEY_SECRET, token=TOKEN))
    text = log.getvalue()
    assert_hidden(text, KEY_SECRET, TOKEN)
    assert MASK in text


def test_key_ids_keep_only_their_first_characters(log: io.StringIO) -> None:
    logger = logging.getLogger("anything")
    logger.debug("aws_access_key_id=%s", "my-own-key-id-1234")
    logger.debug("<AccessKeyId>%s</AccessKeyId> and %s on its own", KEY_ID, "ASIAQWERTYUIOPASDFGH")
    logger.debug("Authorization: AWS %s:frJIUN8DYpKDtOLCwo//yllqDzg=", KEY_ID)
    lines = log.getvalue().splitlines()
    assert lines == [
        f"anything: aws_access_key_id=my-o{MASK}",
        f"anything: <AccessKeyId>AKIA{MASK}</AccessKeyId> and ASIA{MASK} on its own",
        f"anything: Authorization: AWS AKIA{MASK}:{MASK}",
    ]


def test_tracebacks_and_arguments_are_masked_and_nothing_else_changes(log: io.StringIO) -> None:
    logger = logging.getLogger("anything")
    try:
        raise RuntimeError(f"refused X-Amz-Security-Token={TOKEN}")
    except RuntimeError:
        logger.exception("upload failed with %s", {"aws_secret_access_key": KEY_SECRET})
    logger.info("100%% done: %d files, ContinuationToken=%s", 3, "abc")
    text = log.getvalue()
    assert_hidden(text, KEY_SECRET, TOKEN)
    assert "RuntimeError: refused X-Amz-Security-Token=****" in text
    assert "Traceback (most recent call last)" in text
    assert "anything: 100% done: 3 files, ContinuationToken=abc" in text


def test_credentials_from_the_environment_are_masked_anywhere() -> None:
    mask = CredentialFilter.from_environment(
        {"AWS_ACCESS_KEY_ID": "plain-key-id", "AWS_SECRET_ACCESS_KEY": KEY_SECRET, "HOME": "/x"}
    ).mask
    said = f"odd place {KEY_SECRET} or {quote(KEY_SECRET, safe='')} and plain-key-id /x"
    assert mask(said) == f"odd place {MASK} or {MASK} and plai{MASK} /x"


def test_install_puts_one_filter_on_each_root_handler(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", KEY_SECRET)
    logger = logging.getLogger("storycast-test-install")
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logsafe.install(logger)
        logsafe.install(logger)
        assert sum(isinstance(f, CredentialFilter) for f in handler.filters) == 1
        logger.warning("secret %s", KEY_SECRET)
    finally:
        logger.removeHandler(handler)
    assert out.getvalue() == f"secret {MASK}\n"


# --- end to end: `storycast -v publish` to a real SeaweedFS ----------------------------


class Recorder:
    """A forwarding HTTP proxy that keeps every Authorization header it passes on."""

    def __init__(self, upstream: int) -> None:
        self.authorizations: list[str] = []
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def _forward(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                recorder.authorizations.append(self.headers.get("Authorization", ""))
                conn = http.client.HTTPConnection("127.0.0.1", upstream, timeout=30)
                conn.putrequest(self.command, self.path, skip_host=True, skip_accept_encoding=True)
                for name, value in self.headers.items():
                    if name.lower() not in ("connection", "expect", "transfer-encoding"):
                        conn.putheader(name, value)
                conn.endheaders(body or None)
                resp = conn.getresponse()
                data = resp.read()
                self.send_response(resp.status, resp.reason)
                for name, value in resp.getheaders():
                    if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                        self.send_header(name, value)
                self.send_header("Content-Length", resp.getheader("Content-Length") or "0")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                conn.close()

            do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = _forward

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def signatures(self) -> list[str]:
        return [m for a in self.authorizations for m in re.findall(r"Signature=(\w+)", a)]


@pytest.fixture
def recorder(seaweed: Seaweed) -> Iterator[Recorder]:
    r = Recorder(seaweed.s3_port)
    yield r
    r.server.shutdown()
    r.server.server_close()


def empty_show(root: Path, endpoint: str, base_url: str, prefix: str) -> None:
    """The example show's file and artwork, no episodes, published to s3://PUBLIC/prefix."""
    (root / "feeds").mkdir(parents=True)
    (root / "episodes").mkdir()
    shutil.copy(ROOT / "feeds" / "riverside-voices.jpg", root / "feeds")
    text = (ROOT / "feeds" / "riverside-voices.yaml").read_text()
    storage = (
        f"storage:\n  target: s3://{PUBLIC}/{prefix}\n  endpoint_url: {endpoint}\n"
        "  region: us-east-1\n  path_style: true\n"
    )
    text = re.sub(r"^storage:.*$\n", storage, text, flags=re.M)
    text = re.sub(r"^base_url:.*$", f"base_url: {base_url}/{prefix}", text, flags=re.M)
    (root / "feeds" / "riverside-voices.yaml").write_text(text)


@pytest.mark.parametrize("session_token", [False, True], ids=["keys", "keys-and-token"])
def test_verbose_publish_logs_requests_but_no_credential(
    tmp_path: Path, seaweed: Seaweed, recorder: Recorder, session_token: bool
) -> None:
    """`storycast -v publish` of a show with no episodes: it lists, reads and writes the
    bucket with signed requests, and botocore logs each of them."""
    prefix = f"logsafe-{'token' if session_token else 'keys'}"
    empty_show(tmp_path, recorder.endpoint, seaweed.public_url(""), prefix)
    env = s3_env(ACCESS, SECRET)
    if session_token:
        env["AWS_SESSION_TOKEN"] = TOKEN  # SeaweedFS refuses it: the run stops at its first request
    run = subprocess.run(
        [sys.executable, "-m", "pipeline", "-v", "--root", str(tmp_path), "publish"],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=ROOT,
    )
    output = run.stdout + run.stderr
    signatures = recorder.signatures()
    assert signatures, "no signed request reached the server"
    assert_hidden(output, ACCESS, SECRET, TOKEN, *signatures)
    # The debug log is there, with the credentials' places masked.
    assert "botocore.auth: CanonicalRequest:" in output
    assert f"Credential=stor{MASK}/" in output and f"Signature={MASK}" in output
    assert f"botocore.auth: Signature:\n{MASK}\n" in output
    if session_token:
        assert run.returncode == 1
        assert "the service refused the credentials" in output
        assert f"'X-Amz-Security-Token': b'{MASK}'" in output
        assert f"x-amz-security-token:{MASK}\n" in output
    else:
        assert run.returncode == 0, output[-3000:]
        assert "(4 written, 0 removed)" in output  # feed, artwork, show page, manifest
        assert len(signatures) >= 4  # list, read the manifest, put feed and artwork, CORS
