"""S3 and S3-compatible object storage (AWS, R2, B2, MinIO, Wasabi, SeaweedFS) through boto3.

- Credentials come only from boto3's standard chain (environment, profile,
  role). They are never printed, logged or written: messages name the bucket,
  the endpoint and where boto3 found the credentials, never a key.
- Every upload is verified: the server checks ``Content-MD5`` against the bytes
  it received (``BadDigest`` otherwise) and the returned ETag is compared with
  the file's MD5. Large files go up in parts (boto3's transfer manager, each
  part checksummed); their multipart ETag is computed locally and compared.
- Transient faults (503 SlowDown, 500, connection resets, timeouts) are retried
  with backoff by botocore's ``standard`` retry mode. The first request of a run
  is made without retries, so an endpoint that cannot be reached at all is
  reported in a second or two rather than after a minute of backoff.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import boto3
import botocore.exceptions as bx
from boto3.s3.transfer import TransferConfig
from botocore import UNSIGNED
from botocore.config import Config
from s3transfer.utils import ChunksizeAdjuster

from pipeline import defaults
from pipeline.errors import Problem, StoreError
from pipeline.store.contract import ObjectInfo, check_key, normal_prefix
from pipeline.store.locks import Lease, holder, locked_error, machine_id, process_alive

log = logging.getLogger(__name__)

T = TypeVar("T")

_HEX_MD5 = re.compile(r"^[0-9a-f]{32}$")
_MULTIPART = re.compile(r"^[0-9a-f]{32}-(\d+)$")
_CREDENTIAL_CODES = {
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "InvalidToken",
    "ExpiredToken",
    "TokenRefreshRequired",
    "AuthorizationHeaderMalformed",
    "InvalidSecurity",
}
_DENIED_CODES = {"AccessDenied", "AllAccessDisabled", "403", "Forbidden"}
_MISSING_BUCKET_CODES = {"NoSuchBucket"}
_UNSUPPORTED_CODES = {"NotImplemented", "MethodNotAllowed", "501", "405", "XNotImplemented"}
_UNREACHABLE = (bx.EndpointConnectionError, bx.ConnectTimeoutError)
_CHUNK = 1024 * 1024


class S3Store:
    """Keys live under ``prefix/`` in ``bucket``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        path_style: bool = False,
        multipart_threshold: int = defaults.S3_MULTIPART_THRESHOLD,
        multipart_chunksize: int = defaults.S3_MULTIPART_CHUNKSIZE,
        max_attempts: int = defaults.S3_MAX_ATTEMPTS,
    ) -> None:
        self.bucket = bucket
        self.prefix = normal_prefix(prefix)
        self.endpoint_url = endpoint_url
        self.description = f"s3://{bucket}/{self.prefix}" + (
            f" at {endpoint_url}" if endpoint_url else ""
        )
        self._session = boto3.session.Session()
        region_name = region or self._session.region_name or "us-east-1"

        def config(attempts: int) -> Config:
            return Config(
                region_name=region_name,
                signature_version="s3v4",
                s3={"addressing_style": "path" if path_style else "auto"},
                retries={"mode": "standard", "max_attempts": attempts},
                connect_timeout=defaults.S3_CONNECT_TIMEOUT,
                read_timeout=defaults.S3_READ_TIMEOUT,
                max_pool_connections=max(10, defaults.S3_MAX_CONCURRENCY * 2),
            )

        self.client: Any = self._session.client(
            "s3", endpoint_url=endpoint_url, config=config(max_attempts)
        )
        # a listener's view: no credentials at all (``open_to_anyone``)
        self._anonymous: Any = self._session.client(
            "s3",
            endpoint_url=endpoint_url,
            config=config(1).merge(Config(signature_version=UNSIGNED)),
        )
        # For the first request only: no retries, so "cannot connect at all" is quick.
        self._first_client: Any = self._session.client(
            "s3", endpoint_url=endpoint_url, config=config(1)
        )
        self._contacted = False
        self._keeps_versions: bool | None = None  # the bucket's versioning (None: unknown)
        self._open: bool | None = None  # ``open_to_anyone``'s answer, once it gave one
        self._checked_versions = False
        self.multipart_threshold = multipart_threshold
        self.transfer = TransferConfig(
            multipart_threshold=multipart_threshold,
            multipart_chunksize=multipart_chunksize,
            max_concurrency=defaults.S3_MAX_CONCURRENCY,
        )

    # --- keys and calls ------------------------------------------------------------------

    def _full(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _short(self, full: str) -> str:
        return full[len(self.prefix) + 1 :] if self.prefix else full

    def _call(self, action: str, key: str | None, fn: Callable[[Any], T]) -> T:
        """Run one boto3 call, turning what went wrong into a message a producer can act on."""
        try:
            if self._contacted:
                return fn(self.client)
            try:
                result = fn(self._first_client)
            except _UNREACHABLE:
                time.sleep(1.0)  # one more try before calling the endpoint unreachable
                result = fn(self._first_client)
            except (bx.ConnectionError, bx.HTTPClientError, bx.ClientError) as exc:
                if isinstance(exc, bx.ClientError) and not _transient(exc):
                    raise
                result = fn(self.client)  # a transient fault: retried with backoff
            self._contacted = True
            return result
        except StoreError:
            raise
        except Exception as exc:
            raise self._error(exc, action, key) from exc

    def _credential_source(self) -> str:
        try:
            creds = self._session.get_credentials()
        except Exception:
            return "unknown"
        return str(getattr(creds, "method", "unknown")) if creds is not None else "none"

    def _error(self, exc: Exception, action: str, key: str | None) -> StoreError:
        where = f"bucket `{self.bucket}`" + (
            f" at {self.endpoint_url}" if self.endpoint_url else " (AWS)"
        )
        what = f"could not {action}" + (f" `{key}`" if key else "")
        env = "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE"
        if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError):
            return StoreError(
                Problem(
                    None,
                    f"storage: {what} in {where}: no credentials were found.",
                    f"Set {env} (or run where an IAM role is available). "
                    "Credentials never go in the show file.",
                )
            )
        if isinstance(exc, _UNREACHABLE):
            return StoreError(
                Problem(
                    None,
                    f"storage: {what}: the endpoint {self.endpoint_url or 'AWS S3'} "
                    f"cannot be reached ({type(exc).__name__}).",
                    "Check `endpoint_url` in the show file's `storage:` and the network, "
                    "then publish again. Nothing was changed.",
                )
            )
        if isinstance(exc, bx.ClientError):
            code, status, message = _code(exc)
            if code in _CREDENTIAL_CODES:
                return StoreError(
                    Problem(
                        None,
                        f"storage: {what} in {where}: the service refused the credentials "
                        f"({code}; boto3 found them in: {self._credential_source()}).",
                        f"Check {env} for this service, then publish again. Nothing was changed.",
                    )
                )
            if code in _MISSING_BUCKET_CODES or (status == 404 and key is None):
                return StoreError(
                    Problem(
                        None,
                        f"storage: {what}: the bucket `{self.bucket}` does not exist"
                        + (f" at {self.endpoint_url}" if self.endpoint_url else "")
                        + ".",
                        "Create it with the storage service's console or CLI (e.g. "
                        f"`aws s3 mb s3://{self.bucket}`), or correct `target:` in the show "
                        "file's `storage:`.",
                    )
                )
            if code in _DENIED_CODES:
                return StoreError(
                    Problem(
                        None,
                        f"storage: {what} in {where}: access denied "
                        f"(credentials from: {self._credential_source()}).",
                        "Give these credentials permission to list, read, write and delete "
                        f"objects under `{self.prefix or '/'}`, then publish again.",
                    )
                )
            return StoreError(
                Problem(
                    None,
                    f"storage: {what} in {where}: the service answered {code} "
                    f"(HTTP {status}): {message}",
                    "If it is a temporary fault, publish again: nothing half-written is "
                    "ever listed in the feed.",
                )
            )
        if isinstance(exc, bx.BotoCoreError):
            return StoreError(
                Problem(
                    None,
                    f"storage: {what} in {where}: {type(exc).__name__}: {exc}",
                    "Publish again; if it repeats, check the storage service and network.",
                )
            )
        text = str(exc)
        return StoreError(
            Problem(
                None,
                f"storage: {what} in {where}: {type(exc).__name__}: {text}",
                "Publish again; if it repeats, check the storage service and network.",
            )
        )

    # --- the ObjectStore contract --------------------------------------------------------

    def put_file(self, key: str, path: Path, content_type: str, cache_control: str) -> ObjectInfo:
        size = path.stat().st_size
        full = self._full(key)
        if size < self.multipart_threshold:
            md5 = _md5_file(path)

            def put(client: Any) -> dict[str, Any]:
                with path.open("rb") as body:
                    return client.put_object(  # type: ignore[no-any-return]
                        Bucket=self.bucket,
                        Key=full,
                        Body=body,
                        ContentMD5=base64.b64encode(md5).decode(),
                        ContentType=content_type,
                        CacheControl=cache_control,
                    )

            response = self._call("upload", key, put)
            checked = self._check_etag(key, size, _etag(response), md5.hex())
            self._no_history(key, full)
            return checked
        extra = {"ContentType": content_type, "CacheControl": cache_control}
        self._call(
            "upload",
            key,
            lambda c: c.upload_file(
                str(path), self.bucket, full, ExtraArgs=extra, Config=self.transfer
            ),
        )
        info = self.head(key)
        if info is None or info.size != size:
            raise _mismatch(self, key, f"{info.size if info else 'no'} bytes, not {size}")
        expected = self._multipart_etag(path, size)
        if _MULTIPART.match(info.version) and info.version != expected:
            raise _mismatch(self, key, f"ETag {info.version}, not {expected}")
        self._no_history(key, full)
        return info

    def put_bytes(self, key: str, data: bytes, content_type: str, cache_control: str) -> ObjectInfo:
        md5 = hashlib.md5(data)
        response = self._call(
            "upload",
            key,
            lambda c: c.put_object(
                Bucket=self.bucket,
                Key=self._full(key),
                Body=data,
                ContentMD5=base64.b64encode(md5.digest()).decode(),
                ContentType=content_type,
                CacheControl=cache_control,
            ),
        )
        checked = self._check_etag(key, len(data), _etag(response), md5.hexdigest())
        self._no_history(key, self._full(key))
        return checked

    def _check_etag(self, key: str, size: int, etag: str, md5_hex: str) -> ObjectInfo:
        # The server already refused a body whose MD5 differs (BadDigest); some services
        # (SSE-KMS on AWS) return an ETag that is not the MD5, and then there is nothing to add.
        if _HEX_MD5.match(etag) and etag != md5_hex:
            raise _mismatch(self, key, f"ETag {etag}, not the MD5 {md5_hex}")
        return ObjectInfo(key, size, etag)

    def head(self, key: str) -> ObjectInfo | None:
        def call(client: Any) -> dict[str, Any] | None:
            try:
                return client.head_object(  # type: ignore[no-any-return]
                    Bucket=self.bucket, Key=self._full(key)
                )
            except bx.ClientError as exc:
                if _code(exc)[1] == 404 and _code(exc)[0] not in _MISSING_BUCKET_CODES:
                    return None
                raise

        found = self._call("read", key, call)
        if found is None:
            return None
        return ObjectInfo(key, int(found["ContentLength"]), _etag(found))

    def get_bytes(self, key: str) -> bytes | None:
        def call(client: Any) -> bytes | None:
            try:
                response = client.get_object(Bucket=self.bucket, Key=self._full(key))
            except bx.ClientError as exc:
                if _code(exc)[0] == "NoSuchKey":
                    return None
                raise
            return response["Body"].read()  # type: ignore[no-any-return]

        return self._call("read", key, call)

    def get_file(self, key: str, dest: Path) -> bool:
        def call(client: Any) -> bool:
            try:
                client.download_file(self.bucket, self._full(key), str(dest), Config=self.transfer)
            except bx.ClientError as exc:
                if _code(exc)[0] in ("NoSuchKey", "404"):
                    return False
                raise
            return True

        return self._call("read", key, call)

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        full_prefix = f"{self.prefix}/{prefix}" if self.prefix else prefix

        def call(client: Any) -> list[ObjectInfo]:
            found: list[ObjectInfo] = []
            pages = client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=full_prefix
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    found.append(ObjectInfo(self._short(obj["Key"]), int(obj["Size"]), _etag(obj)))
            return found

        return self._call("list", prefix or None, call)

    def delete(self, key: str) -> None:
        """The object gone; in a bucket that keeps old versions (versioning on, or suspended
        after it was on), every version of it and every delete marker too: a plain delete
        there only hides it, and what is taken down must not stay retrievable by its
        version id (or restorable by anyone who can list versions)."""
        full = self._full(key)
        self._call("delete", key, lambda c: c.delete_object(Bucket=self.bucket, Key=full))
        self._no_history(key, full, keep_latest=False)

    def _no_history(self, key: str, full: str, *, keep_latest: bool = True) -> None:
        """In a bucket that keeps old versions, the key's older versions deleted (all of
        them, delete markers too, unless ``keep_latest``): a feed or manifest rewritten
        without a withdrawn episode must not keep, one version back, the one that listed
        it. Nothing is asked of a bucket known to keep none."""
        keeps = self.keeps_versions()
        if keeps is False:
            return
        try:
            self._delete_versions(key, full, keep_latest)
        except StoreError as exc:
            if keeps:
                raise
            # the setting could not be read, nor the versions listed: most likely
            # credentials allowed objects only, on a bucket without versioning. Said once;
            # not asked again this run.
            log.warning("%s", exc)
            self._keeps_versions = False

    def keeps_versions(self) -> bool | None:
        """Whether the bucket keeps old versions of what is overwritten or deleted (None:
        its setting cannot be read with these credentials; old versions are then looked
        for anyway)."""
        if self._checked_versions:
            return self._keeps_versions

        def call(client: Any) -> bool:
            status = client.get_bucket_versioning(Bucket=self.bucket).get("Status")
            return status in ("Enabled", "Suspended")

        try:
            self._keeps_versions = self._call("read the versioning of", None, call)
        except StoreError:
            self._keeps_versions = None
        self._checked_versions = True
        return self._keeps_versions

    def _delete_versions(self, key: str, full: str, keep_latest: bool) -> None:
        def call(client: Any) -> None:
            pages = client.get_paginator("list_object_versions").paginate(
                Bucket=self.bucket, Prefix=full
            )
            for page in pages:
                for item in [*page.get("Versions", []), *page.get("DeleteMarkers", [])]:
                    if item["Key"] != full:  # another key that starts with this one
                        continue
                    if keep_latest and item.get("IsLatest"):
                        continue
                    client.delete_object(Bucket=self.bucket, Key=full, VersionId=item["VersionId"])

        try:
            self._call("delete the old versions of", key, call)
        except StoreError as exc:
            raise StoreError(
                Problem(
                    None,
                    f"storage: `{key}` was written or deleted, but the bucket `{self.bucket}` "
                    "keeps old versions of what is overwritten or deleted, and they could not "
                    "be deleted: "
                    f"{exc.problems[0].message if exc.problems else exc}",
                    "Give storycast's credentials permission to list and delete object "
                    "versions (s3:ListBucketVersions, s3:DeleteObjectVersion), or turn "
                    "versioning off for this bucket (a lifecycle rule expiring noncurrent "
                    "versions at once does too), then publish again.",
                )
            ) from exc

    def holds(self, info: ObjectInfo, path: Path) -> bool:
        try:
            size = path.stat().st_size
        except OSError:
            return False
        if info.size != size:
            return False
        if _HEX_MD5.match(info.version):
            return info.version == _md5_file(path).hex()
        if _MULTIPART.match(info.version):
            return info.version == self._multipart_etag(path, size)
        return False  # an ETag we cannot reproduce proves nothing

    def _multipart_etag(self, path: Path, size: int) -> str:
        chunk = ChunksizeAdjuster().adjust_chunksize(self.transfer.multipart_chunksize, size)
        digests = b""
        parts = 0
        with path.open("rb") as fh:
            while part := fh.read(chunk):
                digests += hashlib.md5(part).digest()
                parts += 1
        return f"{hashlib.md5(digests).hexdigest()}-{parts}"

    def lock(self, name: str) -> Lease:
        """A lock object (``locks/NAME.json``) written with a conditional put, renewed while
        this run goes on; see ``S3Lease``."""
        return S3Lease(self, f"locks/{name}.json", f"`{name}`")

    def open_to_anyone(self) -> bool | None:
        """Whether a request with no credentials at all can read what is written here (a
        public bucket, or a bucket policy granting everyone reads under this prefix): a
        small object is written, asked for as anyone would ask, and deleted. None: the
        answer said neither (the service could not be reached without credentials).
        Asked once for the store's life (a run): a raw recording and the audit log written
        in one run need one check, not one each."""
        if self._open is not None:
            return self._open
        self._open = self._ask_anonymously()
        return self._open

    def _ask_anonymously(self) -> bool | None:
        key = "storycast-privacy-check.txt"
        self.put_bytes(
            key,
            b"storycast checks that nobody without credentials can read this place.\n",
            "text/plain",
            "no-store",
        )
        try:
            self._anonymous.head_object(Bucket=self.bucket, Key=self._full(key))
            return True
        except bx.ClientError as exc:
            _, status, _ = _code(exc)
            return False if status in (401, 403, 404) else None
        except (bx.BotoCoreError, OSError):
            return None
        finally:
            try:
                self.delete(key)
            except StoreError as exc:
                log.warning("%s", exc)

    def allow_cross_origin(self) -> str:
        """Add a GET/HEAD rule for any origin to the bucket's CORS rules (kept if present)."""
        origins = list(defaults.CORS_ALLOWED_ORIGINS)
        rule: dict[str, Any] = {
            "AllowedMethods": ["GET", "HEAD"],
            "AllowedOrigins": origins,
            "AllowedHeaders": ["*"],
            "ExposeHeaders": ["Content-Length", "Content-Range", "ETag"],
            "MaxAgeSeconds": defaults.CORS_MAX_AGE_SECONDS,
        }

        def call(client: Any) -> str:
            try:
                rules: list[dict[str, Any]] = client.get_bucket_cors(Bucket=self.bucket)[
                    "CORSRules"
                ]
            except bx.ClientError as exc:
                code = _code(exc)[0]
                if code in _UNSUPPORTED_CODES:
                    return f"not supported by this service ({code})"
                if code != "NoSuchCORSConfiguration":
                    raise
                rules = []
            for have in rules:
                if set(origins) <= set(have.get("AllowedOrigins", [])) and {
                    "GET",
                    "HEAD",
                } <= set(have.get("AllowedMethods", [])):
                    return "already allowed"
            try:
                client.put_bucket_cors(
                    Bucket=self.bucket, CORSConfiguration={"CORSRules": [*rules, rule]}
                )
            except bx.ClientError as exc:
                code = _code(exc)[0]
                if code in _UNSUPPORTED_CODES or code in _DENIED_CODES:
                    return f"could not be set ({code}): allow GET and HEAD from any origin "
                    "in the service's console"
                raise
            return "allowed GET and HEAD from any origin"

        return self._call("set cross-origin rules (CORS) on", None, call)


def _transient(exc: bx.ClientError) -> bool:
    code, status, _ = _code(exc)
    return status >= 500 or code in {"SlowDown", "Throttling", "RequestTimeout", "InternalError"}


def _code(exc: bx.ClientError) -> tuple[str, int, str]:
    error = exc.response.get("Error", {})
    status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
    return str(error.get("Code", status)), status, str(error.get("Message", ""))


def _etag(response: dict[str, Any]) -> str:
    return str(response.get("ETag", "")).strip('"')


def _md5_file(path: Path) -> bytes:
    h = hashlib.md5()
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            h.update(chunk)
    return h.digest()


def _mismatch(store: S3Store, key: str, detail: str) -> StoreError:
    return StoreError(
        Problem(
            None,
            f"storage: uploaded `{key}` to {store.description} but the service reports {detail}.",
            "Publish again (the feed does not list it yet); if it repeats, check the service.",
        )
    )


_TAKEN = {"PreconditionFailed", "ConditionalRequestConflict", "412", "409"}


class S3Lease:
    """A publishing lease in an S3 bucket.

    Read first (so a bucket that does not exist is said so, and never made by a lock),
    then taken with ``If-None-Match: *`` (only one writer can create the object). It names
    its run and expires ``defaults.S3_LOCK_SECONDS`` after it was last renewed; a thread
    renews it with ``If-Match`` on the version it wrote. A run that was killed blocks the
    show until the expiry, or not at all on the machine it ran on: the lease names the
    machine (by a hash, as the bucket may be public) and the process, and a process that no
    longer runs there holds nothing. A stale lease is taken over with ``If-Match``, so
    exactly one run gets it.
    """

    def __init__(self, store: S3Store, key: str, what: str) -> None:
        self.store, self.key, self.what = store, key, what
        self.info = holder(host=False)
        self.info["machine"] = machine_id()
        self.lost = ""
        self._stop = threading.Event()
        existing = store._call("read the publishing lock", key, self._read)
        etag = self._create() if existing is None else None
        if etag is None and existing is None:  # another run got in first
            existing = self._read()
        if etag is None and existing is not None and self._stale(existing[0]):
            etag = self._put(existing[1])  # taken over: exactly one run gets it
        if etag is None:
            info = existing[0] if existing else {}
            raise locked_error(
                what,
                store.description,
                info,
                f"If that run was stopped on another machine, its lock ({key}) expires at "
                f"{str(info.get('expires', '?')).replace('T', ' ')}.",
            )
        self._etag = etag
        self._thread = threading.Thread(target=self._renew, daemon=True)
        self._thread.start()

    def _stale(self, info: dict[str, Any]) -> bool:
        """Expired, or held by a process of this machine that has ended."""
        if _expired(info):
            return True
        return info.get("machine") == self.info["machine"] and not process_alive(info.get("pid"))

    def _body(self) -> bytes:
        expires = datetime.now(UTC) + timedelta(seconds=defaults.S3_LOCK_SECONDS)
        self.info["expires"] = expires.replace(microsecond=0).isoformat()
        return json.dumps(self.info).encode()

    def _conditional(self, **condition: str) -> str | None:
        """Put the lease object under a condition; its ETag, or None if the condition failed."""
        try:
            response = self.store.client.put_object(
                Bucket=self.store.bucket,
                Key=self.store._full(self.key),
                Body=self._body(),
                ContentType="application/json",
                CacheControl=defaults.PRIVATE_CACHE_CONTROL,
                **condition,
            )
        except bx.ClientError as exc:
            if _code(exc)[0] in _TAKEN or _code(exc)[1] in (409, 412):
                return None
            raise self.store._error(exc, "write the publishing lock", self.key) from exc
        except Exception as exc:
            raise self.store._error(exc, "write the publishing lock", self.key) from exc
        return _etag(response)

    def _create(self) -> str | None:
        return self._conditional(IfNoneMatch="*")

    def _put(self, etag: str) -> str | None:
        return self._conditional(IfMatch=f'"{etag}"')

    def _read(self, client: Any = None) -> tuple[dict[str, Any], str] | None:
        try:
            response = (client or self.store.client).get_object(
                Bucket=self.store.bucket, Key=self.store._full(self.key)
            )
            data = json.loads(response["Body"].read() or b"{}")
        except bx.ClientError as exc:
            if _code(exc)[0] == "NoSuchKey":
                return None
            raise self.store._error(exc, "read the publishing lock", self.key) from exc
        except ValueError:
            data = {}
        return (data if isinstance(data, dict) else {}), _etag(response)

    def _renew(self) -> None:
        every = defaults.S3_LOCK_SECONDS / 4
        while not self._stop.wait(every):
            try:
                etag = self._put(self._etag)
            except StoreError as exc:
                etag, why = None, str(exc)
            else:
                why = "another run took it over"
            if etag is None:
                self.lost = why
                return
            self._etag = etag

    def check(self) -> None:
        if self.lost:
            raise StoreError(
                Problem(
                    None,
                    f"this run lost its publishing lock on {self.what} in "
                    f"{self.store.description} ({self.lost}), so it stopped before the "
                    "store step.",
                    "Publish again.",
                )
            )

    def release(self) -> None:
        self._stop.set()
        try:
            found = self._read()
            if found is not None and found[0].get("run") == self.info["run"]:
                full = self.store._full(self.key)
                self.store.client.delete_object(Bucket=self.store.bucket, Key=full)
                # in a bucket this run found to keep versions, the lease's too (a run that
                # wrote nothing does not ask: a lease holds no contributor's material)
                if self.store._checked_versions and self.store._keeps_versions:
                    self.store._no_history(self.key, full, keep_latest=False)
        except (StoreError, bx.BotoCoreError, bx.ClientError):
            pass  # it expires on its own


def _expired(info: dict[str, Any]) -> bool:
    try:
        expires = datetime.fromisoformat(str(info.get("expires")))
    except ValueError:
        return True  # not a lease we can read: treat as stale
    return expires <= datetime.now(UTC)
