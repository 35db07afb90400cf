"""SSE-C (server-side encryption with customer-provided keys) for the crossrep emulator.

Test infrastructure only (SPEC section 7; README.md, "SSE-C"). moto 5.2.1 ignores the
``x-amz-server-side-encryption-customer-*`` headers: it stores such objects as plain ones, hands
them to anyone without the key, and knows nothing of ``BlockedEncryptionTypes``, so an SSE-C
object replicated into a bucket that blocks SSE-C would "succeed". This module makes the
emulator fail where AWS fails. Importing it installs three patches on moto:

* ``S3Response._key_response`` (object requests, after moto parsed headers and body):
  validates the SSE-C headers of PutObject, CopyObject (destination and
  ``x-amz-copy-source-…`` source headers), CreateMultipartUpload, UploadPart(Copy),
  CompleteMultipartUpload, GetObject, HeadObject and GetObjectAttributes; refuses an SSE-C
  write into a bucket that blocks SSE-C (403 ``AccessDenied``); refuses reads of an SSE-C
  object without its key (400) or with another key (403); echoes the algorithm and key MD5 on
  success, never the key.
* ``S3Backend.put_object`` / ``create_multipart_upload``: while such a write is being handled
  (a thread-local set by the patch above), the object or upload it creates is marked SSE-C
  (:data:`MARK_ATTR` = ``(algorithm, key MD5)``), loses any SSE-S3/KMS default moto gave it, and
  (single-part) gets an ETag that is not the MD5 of its content, as on AWS.
* ``S3Response._bucket_response`` for ``?encryption``: ``BlockedEncryptionTypes`` on
  Put/GetBucketEncryption, and the default every bucket has since April 2026 (SSE-S3 with SSE-C
  blocked) where moto would answer ``ServerSideEncryptionConfigurationNotFoundError``.

Replication (``replicate.py`` and ``batch.py``, both through ``batch.write_replica``) asks
:func:`replica_refused` after the permission checks: an SSE-C version into a destination that
blocks SSE-C fails with :data:`FAILURE_CODE`. Replicas are deep copies, so they keep the mark.
"""

from __future__ import annotations

import base64
import hashlib
import os
import re
import threading
import uuid
import xml.etree.ElementTree as ET
from typing import Any, NamedTuple
from urllib.parse import parse_qs, unquote, urlparse

from moto.s3.models import FakeDeleteMarker, S3Backend
from moto.s3.responses import S3Response

import permissions

ALGORITHM = "AES256"
MARK_ATTR = "crossrep_sse_c"  # (algorithm, base64 key MD5) on a FakeKey or FakeMultipart
# On a FakeBucket: the EncryptionType values of its BlockedEncryptionTypes. Absent = the
# April 2026 default for new buckets (AWS "Default SSE-C setting for new buckets FAQ").
BLOCK_ATTR = "crossrep_blocked_encryption_types"
DEFAULT_BLOCKED = ("SSE-C",)

# AWS names no replication failure reason for a replica refused because the destination
# blocks SSE-C ("Amazon S3 replication failure reasons" lists none; "Blocking or unblocking
# SSE-C" says only "the replication will fail with an HTTP 403 AccessDenied error"). An
# emulator code, so no test takes it for AWS's; it ends in NotPermitted, so batch reports
# show HTTP 403 (batch._http_status_for).
FAILURE_CODE = "EmulatorDstSseCNotPermitted"
FAILURE_MESSAGES = {
    FAILURE_CODE: "The destination bucket blocks writes that specify SSE-C (BlockedEncryptionTypes "
                  "SSE-C) and the source object is SSE-C encrypted; AWS answers such replication "
                  "requests 403 AccessDenied (crossrep emulator code).",
}

H_ALG = "x-amz-server-side-encryption-customer-algorithm"
H_KEY = "x-amz-server-side-encryption-customer-key"
H_MD5 = "x-amz-server-side-encryption-customer-key-MD5"
COPY = "x-amz-copy-source-"
_SSE = "x-amz-server-side-encryption"
_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"
_MALFORMED = ("The XML you provided was not well-formed or did not validate against our "
              "published schema")

# Messages as S3 answers them (AWS-validated captures, see README "SSE-C").
_NEED = "Requests specifying Server Side Encryption with Customer provided keys must provide "
_STORED_ENCRYPTED = ("The object was stored using a form of Server Side Encryption. The correct "
                     "parameters must be provided to retrieve the object.")
_NOT_APPLICABLE = "The encryption parameters are not applicable to this object."


class SseC(NamedTuple):
    algorithm: str
    key_md5: str


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str, argument: tuple[str, str] | None = None
                 ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.argument = status, code, message, argument

    def response(self, head: bool) -> tuple[int, dict[str, str], bytes]:
        if head:  # HEAD errors have no body (HeadObject API reference)
            return self.status, {}, b""
        arg = ""
        if self.argument:
            arg = (f"<ArgumentName>{_esc(self.argument[0])}</ArgumentName>"
                   f"<ArgumentValue>{_esc(self.argument[1])}</ArgumentValue>")
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
                f"<Code>{self.code}</Code><Message>{_esc(self.message)}</Message>{arg}"
                f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>")
        return self.status, {"content-type": "application/xml"}, body.encode()


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _invalid(message: str, value: str = "null") -> _Refusal:
    return _Refusal(400, "InvalidArgument", message, (_SSE, value))


# --------------------------------------------------------------------------------------------
# the headers
# --------------------------------------------------------------------------------------------


def parse_headers(headers: Any, source: bool = False) -> SseC | None:
    """The SSE-C triple of a request (``source``: a copy's ``x-amz-copy-source-server-side-
    encryption-customer-*`` headers), or None when it has none of the three headers. A bad
    triple is the 400 S3 answers; when a request has several faults, which one is reported first
    is the emulator's choice."""
    alg, key, md5 = (headers.get(h.replace("x-amz-", COPY, 1) if source else h)
                     for h in (H_ALG, H_KEY, H_MD5))
    if alg is None and key is None and md5 is None:
        return None
    if alg is None:
        raise _invalid(_NEED + "a valid encryption algorithm.")
    if alg != ALGORITHM:
        raise _Refusal(400, "InvalidEncryptionAlgorithmError",
                       "The Encryption request you specified is not valid. Supported value: AES256.",
                       (_SSE, alg))
    if key is None:
        raise _invalid(_NEED + "an appropriate secret key.")
    if md5 is None:
        raise _invalid(_NEED + "the client calculated MD5 of the secret key.")
    try:
        raw = base64.b64decode(key, validate=True)
    except ValueError:
        raise _invalid("The secret key was invalid for the specified algorithm.")
    if base64.b64encode(hashlib.md5(raw).digest()).decode() != md5:
        raise _invalid("The calculated MD5 hash of the key did not match the hash that was provided.")
    if len(raw) != 32:  # AES256: a 256-bit key
        raise _invalid("The secret key was invalid for the specified algorithm.")
    return SseC(alg, md5)


def mark_of(obj: Any) -> SseC | None:
    """``(algorithm, key MD5)`` of an SSE-C object version or upload, else None."""
    mark = getattr(obj, MARK_ATTR, None)
    return SseC(*mark) if mark else None


def blocked_types(bucket: Any) -> tuple[str, ...]:
    return tuple(getattr(bucket, BLOCK_ATTR, DEFAULT_BLOCKED))


def blocks_sse_c(bucket: Any) -> bool:
    return "SSE-C" in blocked_types(bucket)


def _check_read(obj: Any, given: SseC | None) -> None:
    """GET / HEAD / GetObjectAttributes / a copy's source (AWS GetObject: "you must use the
    following headers"): the stored key MD5 must be the one given."""
    mark = mark_of(obj)
    if mark is None:
        if given is not None:
            raise _Refusal(400, "InvalidRequest", _NOT_APPLICABLE)
        return
    if given is None:
        raise _Refusal(400, "InvalidRequest", _STORED_ENCRYPTED)
    if given.key_md5 != mark.key_md5:
        raise _Refusal(403, "AccessDenied", _NEED + "the correct secret key.")


def _check_block(resp: S3Response, bucket: Any, key_name: str) -> None:
    """AWS "Blocking or unblocking SSE-C for a general purpose bucket": any PutObject,
    CopyObject, PostObject, multipart upload or replication request that specifies SSE-C is
    rejected with 403 AccessDenied (message as in AWS "Troubleshoot access denied (403
    Forbidden) errors")."""
    if not blocks_sse_c(bucket):
        return
    m = re.search(r"Credential=([^/,\s]+)/", resp.headers.get("Authorization") or "")
    caller = permissions.caller_statements(resp.current_account, m.group(1) if m else None)
    arn = caller[0] if caller else f"arn:aws:iam::{resp.current_account}:root"
    raise _Refusal(403, "AccessDenied",
                   f'User: {arn} is not authorized to perform: s3:PutObject on resource: '
                   f'"arn:aws:s3:::{bucket.name}/{key_name}" because this bucket has blocked upload '
                   "requests that specify Server Side Encryption with Customer provided keys (SSE-C). "
                   "Please specify a different server-side encryption type")


def _version(bucket: Any, key_name: str, version_id: str | None) -> Any | None:
    """The version a read addresses (None: let moto answer 404/405)."""
    if version_id is not None:
        found = [v for v in bucket.keys.getlist(key_name, []) if str(v.version_id) == version_id]
        obj = found[0] if found else None
    else:
        obj = bucket.keys.get(key_name)
    return None if obj is None or isinstance(obj, FakeDeleteMarker) else obj


# --------------------------------------------------------------------------------------------
# object requests
# --------------------------------------------------------------------------------------------

_REQUEST = threading.local()  # .write: the SseC the write being handled stores, else None
_NOT_OBJECT_GET = {"acl", "tagging", "legal-hold", "retention", "torrent"}


def _operation(method: str, query: dict[str, list[str]], headers: Any) -> str | None:
    """The SSE-C-relevant object operation (moto's own dispatch order), else None."""
    copy = "x-amz-copy-source" in headers
    if method == "GET":
        if "uploadId" in query or _NOT_OBJECT_GET & set(query):
            return None  # ListParts, GetObjectTagging, …: no key needed
        return "GetObjectAttributes" if "attributes" in query else "GetObject"
    if method == "HEAD":
        return "HeadObject"
    if method == "PUT":
        if "uploadId" in query and "partNumber" in query:
            return "UploadPartCopy" if copy else "UploadPart"
        if {"retention", "legal-hold", "acl", "tagging"} & set(query):
            return None
        return "CopyObject" if copy else "PutObject"
    if method == "POST":
        if "uploads" in query:
            return "CreateMultipartUpload"
        if "uploadId" in query:
            return "CompleteMultipartUpload"
    return None


def _copy_source(resp: S3Response) -> Any | None:
    """The version ``x-amz-copy-source`` names (parsed as moto parses it), or None."""
    source = resp.headers.get("x-amz-copy-source") or ""
    if isinstance(source, bytes):
        source = source.decode("utf-8")
    parsed = urlparse(source)
    parts = unquote(parsed.path).lstrip("/").split("/", 1)
    bucket = permissions.find_bucket(parts[0]) if len(parts) == 2 else None
    if bucket is None:
        return None
    return _version(bucket, parts[1], (parse_qs(parsed.query).get("versionId") or [None])[0])


def _check_object_request(resp: S3Response, op: str, query: dict[str, list[str]],
                          bucket: Any, key_name: str) -> tuple[SseC | None, SseC | None]:
    """Raise the refusal AWS answers, else return (what the write stores, what to echo)."""
    reads = ("GetObject", "HeadObject", "GetObjectAttributes")
    if op not in reads and resp.headers.get(_SSE) is not None and \
            any(resp.headers.get(h) is not None for h in (H_ALG, H_KEY, H_MD5)):
        raise _invalid("Server Side Encryption with Customer provided key is incompatible with the "
                       "encryption method specified", resp.headers.get(_SSE))
    given = parse_headers(resp.headers)
    if op in reads:
        obj = _version(bucket, key_name, (query.get("versionId") or [None])[0])
        if obj is None:
            return None, None
        _check_read(obj, given)
        return None, (given if op != "GetObjectAttributes" else None)
    if op in ("CopyObject", "UploadPartCopy"):
        source_given = parse_headers(resp.headers, source=True)
        source = _copy_source(resp)
        if source is not None:
            _check_read(source, source_given)
    if op == "CompleteMultipartUpload":
        upload = bucket.multiparts.get((query.get("uploadId") or [""])[0])
        mark = mark_of(upload) if upload is not None else None
        if mark is not None:
            _check_block(resp, bucket, key_name)  # the upload would now write an SSE-C object
        return mark, None
    if given is None:
        if op in ("UploadPart", "UploadPartCopy"):
            _check_part(bucket, query, None)
        return None, None
    if op in ("UploadPart", "UploadPartCopy"):
        _check_part(bucket, query, given)
    _check_block(resp, bucket, key_name)
    return given, given


def _check_part(bucket: Any, query: dict[str, list[str]], given: SseC | None) -> None:
    """AWS UploadPart: an SSE-C upload's parts carry the same key as its initiation."""
    upload = bucket.multiparts.get((query.get("uploadId") or [""])[0])
    if upload is None:
        return  # moto answers NoSuchUpload
    mark = mark_of(upload)
    if (mark is None) != (given is None):
        raise _Refusal(400, "InvalidRequest", "The multipart upload initiate requested encryption. "
                       "Subsequent part requests must include the appropriate encryption parameters.")
    if mark is not None and given is not None and mark.key_md5 != given.key_md5:
        raise _Refusal(400, "InvalidRequest",
                       "The provided encryption parameters did not match the ones used originally.")


def _echo(response: Any, sse: SseC) -> Any:
    """A successful SSE-C request's answer names the algorithm and key MD5 and no other
    server-side encryption (PutObject / GetObject / HeadObject response headers)."""
    if not isinstance(response, tuple) or len(response) != 3 or not 200 <= int(response[0]) < 300:
        return response
    status, headers, body = response
    headers = {k: v for k, v in dict(headers or {}).items()
               if not k.lower().startswith(_SSE) or k.lower().startswith(_SSE + "-customer")}
    headers[H_ALG] = sse.algorithm
    headers[H_MD5] = sse.key_md5
    return status, headers, body


_orig_key_response = S3Response._key_response


def _key_response(self: S3Response, request: Any, full_url: str) -> Any:
    query = parse_qs(urlparse(full_url).query, keep_blank_values=True)
    op = _operation(request.method, query, self.headers)
    bucket = permissions.find_bucket(self.parse_bucket_name_from_url(request, full_url)) if op else None
    if bucket is None:
        return _orig_key_response(self, request, full_url)
    try:
        write, echo = _check_object_request(self, op, query, bucket, self.parse_key_name())
    except _Refusal as refusal:
        return refusal.response(request.method == "HEAD")
    _REQUEST.write = write
    try:
        response = _orig_key_response(self, request, full_url)
    finally:
        _REQUEST.write = None
    return _echo(response, echo) if echo is not None else response


_orig_put_object = S3Backend.put_object
_orig_create_multipart_upload = S3Backend.create_multipart_upload


def _mark(obj: Any, sse: SseC) -> None:
    setattr(obj, MARK_ATTR, tuple(sse))
    # An SSE-C object is not also SSE-S3/KMS (moto applies the bucket default to every put).
    for attr, value in (("encryption", None), ("kms_key_id", None), ("bucket_key_enabled", None),
                        ("sse_encryption", None)):
        if hasattr(obj, attr):
            setattr(obj, attr, value)


def _put_object(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
    key = _orig_put_object(self, *args, **kwargs)
    sse = getattr(_REQUEST, "write", None)
    if sse is not None:
        _mark(key, sse)
        if kwargs.get("multipart") is None and kwargs.get("etag") is None:
            # AWS "Object" (ETag): objects created by PUT or Copy and encrypted with SSE-C "have
            # ETags that are not an MD5 digest of their object data".
            key._etag = hashlib.md5(os.urandom(16) + key.value).hexdigest()
    return key


def _create_multipart_upload(self: S3Backend, *args: Any, **kwargs: Any) -> Any:
    upload = _orig_create_multipart_upload(self, *args, **kwargs)
    sse = getattr(_REQUEST, "write", None)
    if sse is not None:
        _mark(upload, sse)
    return upload


# --------------------------------------------------------------------------------------------
# bucket encryption (Put / Get / DeleteBucketEncryption)
# --------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _blocked_xml(bucket: Any) -> str:
    return ("<BlockedEncryptionTypes>"
            + "".join(f"<EncryptionType>{t}</EncryptionType>" for t in blocked_types(bucket))
            + "</BlockedEncryptionTypes>")


def _get_encryption(self: S3Response, request: Any, full_url: str, bucket: Any) -> Any:
    """AWS GetBucketEncryption: "By default, all buckets have a default encryption
    configuration that uses server-side encryption with Amazon S3 managed keys (SSE-S3). This
    operation also returns the BucketKeyEnabled and BlockedEncryptionTypes statuses." moto
    answers ServerSideEncryptionConfigurationNotFoundError for a bucket never configured."""
    if not bucket.encryption:
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f'<ServerSideEncryptionConfiguration xmlns="{_S3_NS}"><Rule>'
                f"<ApplyServerSideEncryptionByDefault><SSEAlgorithm>{ALGORITHM}</SSEAlgorithm>"
                "</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled>"
                f"{_blocked_xml(bucket)}</Rule></ServerSideEncryptionConfiguration>")
        return 200, {"content-type": "application/xml"}, body.encode()
    status, headers, body = S3Response._send_response(_orig_bucket_response(self, request, full_url))
    if status == 200:  # moto's own answer, the rule's BlockedEncryptionTypes added
        text = body.decode() if isinstance(body, bytes) else body
        body = text.replace("</Rule>", _blocked_xml(bucket) + "</Rule>", 1).encode()
        headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    return status, headers, body


def _put_encryption(self: S3Response, request: Any, full_url: str, bucket: Any) -> Any:
    """PutBucketEncryption with the rule's ``BlockedEncryptionTypes`` (AWS API reference;
    ``EncryptionType`` ``SSE-C`` blocks, ``NONE`` unblocks). A configuration without the element
    leaves the block as it was (not documented by AWS; see README "SSE-C"). A rule without
    ``ApplyServerSideEncryptionByDefault`` (AWS's example body for unblocking) leaves SSE-S3, the
    base level every bucket has, as the default."""
    raw = self.body if isinstance(self.body, bytes) else (self.body or "").encode()
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        raise _Refusal(400, "MalformedXML", _MALFORMED)
    rules = [c for c in root if _local(c.tag) == "Rule"]
    if _local(root.tag) != "ServerSideEncryptionConfiguration" or len(rules) != 1:
        raise _Refusal(400, "MalformedXML", _MALFORMED)
    rule = rules[0]
    default = [c for c in rule if _local(c.tag) == "ApplyServerSideEncryptionByDefault"]
    blocked_el = [c for c in rule if _local(c.tag) == "BlockedEncryptionTypes"]
    blocked: tuple[str, ...] | None = None
    if blocked_el:
        blocked = tuple((c.text or "").strip() for c in blocked_el[0]
                        if _local(c.tag) == "EncryptionType")
        # Valid values NONE | SSE-C (API BlockedEncryptionTypes); the emulator refuses an
        # empty list and NONE with SSE-C rather than guess what they mean.
        if len(blocked_el) > 1 or not blocked or set(blocked) - {"NONE", "SSE-C"} or \
                ("NONE" in blocked and len(set(blocked)) > 1):
            raise _Refusal(400, "MalformedXML", _MALFORMED)
    if not default and blocked is None:
        raise _Refusal(400, "MalformedXML", _MALFORMED)
    if default:
        response = _orig_bucket_response(self, request, full_url)  # moto stores the default
    else:
        self.backend.delete_bucket_encryption(bucket.name)
        response = (200, {}, b"")
    if blocked is not None:
        setattr(bucket, BLOCK_ATTR, tuple(dict.fromkeys(blocked)))
    return response


_orig_bucket_response = S3Response._bucket_response


def _bucket_response(self: S3Response, request: Any, full_url: str) -> Any:
    querystring = self._get_querystring(request, full_url)
    name = self.parse_bucket_name_from_url(request, full_url)
    bucket = permissions.find_bucket(name) if name and "encryption" in querystring else None
    if bucket is None or request.method not in ("GET", "PUT"):
        # DeleteBucketEncryption: moto resets the default to SSE-S3; the block stays (README).
        return _orig_bucket_response(self, request, full_url)
    try:
        if request.method == "GET":
            return _get_encryption(self, request, full_url, bucket)
        return _put_encryption(self, request, full_url, bucket)
    except _Refusal as refusal:
        return refusal.response(False)


# --------------------------------------------------------------------------------------------
# replication
# --------------------------------------------------------------------------------------------


def replica_refused(version: Any, dest_bucket: str) -> str | None:
    """:data:`FAILURE_CODE` when ``version`` is SSE-C and ``dest_bucket`` blocks SSE-C writes
    (AWS "Blocking or unblocking SSE-C": "If a destination bucket for replication has SSE-C
    blocked and the source objects being replicated are encrypted with SSE-C, the replication
    will fail with an HTTP 403 AccessDenied error"). SSE-C needs no other permission (AWS
    "Replicating encrypted objects")."""
    if mark_of(version) is None:
        return None
    dst = permissions.find_bucket(dest_bucket)
    return FAILURE_CODE if dst is not None and blocks_sse_c(dst) else None


def _install() -> None:
    if getattr(S3Response, "_crossrep_sse_c", False):
        return
    S3Response._key_response = _key_response  # type: ignore[method-assign]
    S3Response._bucket_response = _bucket_response  # type: ignore[method-assign]
    S3Backend.put_object = _put_object  # type: ignore[method-assign]
    S3Backend.create_multipart_upload = _create_multipart_upload  # type: ignore[method-assign]
    S3Response._crossrep_sse_c = True  # type: ignore[attr-defined]


_install()
