"""Logs that never show a credential, however verbose.

``storycast -v`` logs at DEBUG, and then botocore logs every request it signs:
the ``Authorization`` header (``Credential=<access key id>/...``,
``Signature=<hex>``), the ``X-Amz-Security-Token`` header (the whole session
token), the canonical request (``x-amz-security-token:<token>``), the signature
on its own (``Signature:`` and the hex on the next line), presigned query
strings (``X-Amz-Credential``, ``X-Amz-Signature``, ``X-Amz-Security-Token``)
and response bodies (an STS answer holds ``<SecretAccessKey>``).

``CredentialFilter`` rewrites each record's message (and its traceback and
stack, if any) before a handler writes it, whatever logger it came from:

- an access key id keeps its first ``KEY_ID_KEPT`` characters (``AKIA****``),
  so a producer can still tell which key was used;
- a secret access key, a session or security token and a signature are
  replaced whole by ``MASK``, in every form: header, query string, canonical
  request, ``name=value``, ``name: value``, a Python or JSON mapping, XML;
- the credentials in the environment (``AWS_ACCESS_KEY_ID``,
  ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``, ``AWS_SECURITY_TOKEN``) are
  also masked wherever they appear, as written or URL-encoded.

``install()`` puts the filter on the root logger's handlers (``cli.main`` calls
it right after ``logging.basicConfig``).
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Iterable, Mapping
from urllib.parse import quote

MASK = "****"
KEY_ID_KEPT = 4
# Shorter values in the environment are not masked wherever they appear (they would
# hide ordinary words); the patterns below still mask them where they are credentials.
MIN_ENV_VALUE = 8

ENV_KEY_IDS = ("AWS_ACCESS_KEY_ID",)
ENV_SECRETS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")

# Between a field's name and its value: `=` or `:` with the quotes and the bytes prefix a
# Python or JSON mapping adds (`'X-Amz-Security-Token': b'...'`), or `>` (an XML element).
_SEP = r"""(?:['"]?\s*[:=]\s*b?['"]?|>)"""
# A name starts a word and is not a closing tag's (`</SessionToken>`).
_START = r"(?<![/\w-])"
# A value runs to whitespace, a quote, or what ends a query parameter, header or element.
_VALUE = r"""[^\s'"&,;<>(){}\[\]]+"""

_SECRET_NAMES = (
    rf"{_START}[\w-]*(?:security[-_]?token|session[-_]?token|secret[-_]?access[-_]?key|secret[-_]?key)"
    rf"|{_START}token"  # the container and instance credential answers' "Token"
    rf"|{_START}signatureprovided"  # S3's SignatureDoesNotMatch answer
)
# Not a secret access key's name: "secret" never comes just before "access".
_KEY_ID_NAMES = rf"{_START}[\w-]*(?<!secret)(?<!secret[-_])access[-_]?key(?:[-_]?id)?(?![\w-])"

Rule = tuple[re.Pattern[str], Callable[[re.Match[str]], str]]


def _key_id(value: str) -> str:
    return value[:KEY_ID_KEPT] + MASK if len(value) > KEY_ID_KEPT else MASK


def _keep_key(m: re.Match[str]) -> str:
    return m.group("pre") + _key_id(m.group("value"))


def _hide(m: re.Match[str]) -> str:
    return m.group("pre") + MASK


RULES: tuple[Rule, ...] = (
    # Authorization: AWS4-HMAC-SHA256 Credential=AKIA.../date/region/s3/aws4_request
    # and presigned X-Amz-Credential=AKIA...%2Fdate%2F...
    (re.compile(r"(?P<pre>credential=)(?P<value>[^/%\s,&'\"]+)", re.I), _keep_key),
    # Signature=<hex> (header) and X-Amz-Signature=<hex> (query)
    (re.compile(rf"(?P<pre>signature=)(?P<value>{_VALUE})", re.I), _hide),
    # botocore.auth: "Signature:\n<hex>"
    (re.compile(r"(?P<pre>signature:\s*)(?P<value>[0-9a-f]{16,})", re.I), _hide),
    # Signature version 2: "Authorization: AWS AKIA...:<signature>"
    (
        re.compile(r"(?P<pre>\bAWS )(?P<key>[A-Z0-9]{16,}):(?P<value>[A-Za-z0-9+/=%]+)"),
        lambda m: m.group("pre") + _key_id(m.group("key")) + ":" + MASK,
    ),
    # Tokens, secret keys: x-amz-security-token:..., aws_secret_access_key = ...,
    # "SessionToken": "...", <SecretAccessKey>...</SecretAccessKey>, AWS_SESSION_TOKEN=...
    (re.compile(rf"(?P<pre>(?:{_SECRET_NAMES}){_SEP})(?P<value>{_VALUE})", re.I), _hide),
    # Key ids by name: aws_access_key_id=..., <AccessKeyId>...</AccessKeyId>, AWSAccessKeyId=
    (re.compile(rf"(?P<pre>{_KEY_ID_NAMES}{_SEP})(?P<value>{_VALUE})", re.I), _keep_key),
    # Key ids on their own, by their AWS prefixes.
    (
        re.compile(
            r"(?P<pre>)(?P<value>\b(?:AKIA|ASIA|AIDA|AROA|AGPA|ANPA|ANVA|AIPA)[A-Z0-9]{12,})"
        ),
        _keep_key,
    ),
)


class CredentialFilter(logging.Filter):
    """Masks credentials in every record it sees; never drops a record."""

    def __init__(self, secrets: Iterable[str] = (), key_ids: Iterable[str] = ()) -> None:
        super().__init__()
        known: dict[str, str] = {}
        for value in key_ids:
            for form in _forms(value):
                known[form] = _key_id(form)
        for value in secrets:
            for form in _forms(value):
                known[form] = MASK
        # Longest first, so a value inside another is not masked half-way.
        self._known = sorted(known.items(), key=lambda kv: -len(kv[0]))

    @classmethod
    def from_environment(cls, env: Mapping[str, str] | None = None) -> CredentialFilter:
        env = os.environ if env is None else env
        return cls(
            secrets=[env[n] for n in ENV_SECRETS if env.get(n)],
            key_ids=[env[n] for n in ENV_KEY_IDS if env.get(n)],
        )

    def mask(self, text: str) -> str:
        for value, shown in self._known:
            text = text.replace(value, shown)
        for pattern, replace in RULES:
            text = pattern.sub(replace, text)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:
            return True  # the handler reports a message that cannot be formatted
        masked = self.mask(message)
        if masked != message:
            record.msg, record.args = masked, ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.mask(record.exc_text)
        if record.stack_info:
            record.stack_info = self.mask(record.stack_info)
        return True


def _forms(value: str) -> set[str]:
    """A credential as written and as a query string carries it."""
    if len(value) < MIN_ENV_VALUE:
        return set()
    return {value, quote(value, safe=""), quote(value, safe="/")}


def install(logger: logging.Logger | None = None) -> CredentialFilter:
    """Put one CredentialFilter (credentials from the environment) on each of the
    logger's handlers (the root logger's by default); a handler that has one keeps it."""
    target = logger or logging.getLogger()
    found = CredentialFilter.from_environment()
    for handler in target.handlers:
        if not any(isinstance(f, CredentialFilter) for f in handler.filters):
            handler.addFilter(found)
    return found


__all__ = ["KEY_ID_KEPT", "MASK", "CredentialFilter", "install"]
