#!/usr/bin/env python3
"""crossrep's local AWS emulator: moto (server mode, pinned 5.2.1) plus the fixes below.

Run it through ``emulator/run --port P [--latency-ms L]``; it listens on 127.0.0.1 only.
It is test infrastructure (SPEC section 7) and never part of the shipped binary.

Fixes and additions, each with the reason:

1. Replication configuration stored and returned exactly as put.
   moto's GetBucketReplication is lossy (every rule comes back with ``Filter{Prefix:""}``,
   ``DeleteMarkerReplication Disabled``; ``SourceSelectionCriteria`` is dropped) and a 0-rule
   configuration makes it answer 500. crossrep reads, merges by rule ID and diffs
   configurations, so a lossy read would make every ``plan`` show drift.
   PutBucketReplication (``PUT /<bucket>?replication``) now validates like AWS and stores the
   raw XML body on the bucket (so it is keyed by (owning account, bucket), disappears with the
   bucket and with ``/moto-api/reset``); GetBucketReplication returns it verbatim;
   DeleteBucketReplication removes it. Validation, in order:
     - bucket missing -> 404 NoSuchBucket; bucket owned by another account -> 403 AccessDenied;
     - body not XML, no ``<Role>``, 0 or more than 1,000 ``<Rule>``, or any
       ``ExistingObjectReplication`` -> 400 MalformedXML (AWS no longer accepts the latter);
     - source versioning not Enabled -> 400 InvalidRequest "Versioning must be 'Enabled' on
       the bucket to apply a replication configuration";
     - duplicate rule ``ID`` -> 400 InvalidArgument; V2 rule (has ``Filter``) without
       ``DeleteMarkerReplication`` or ``Priority``, duplicate priorities among V2 rules, a Tag
       filter with delete-marker replication Enabled -> 400 InvalidRequest;
     - destination bucket (``arn:aws:s3:::name``) missing -> 400 InvalidRequest "Destination
       bucket must exist."; destination versioning not Enabled -> 400 InvalidRequest
       "Destination bucket must have versioning enabled." (AWS checks both, across accounts).
   moto's own (lossy) copy is still written, best effort, so moto internals see a config.

2. DeleteBucketInventoryConfiguration (``DELETE /<bucket>?inventory&id=..``) no longer deletes
   the bucket. moto has Put/Get/List inventory but no Delete, so the request fell through to
   DeleteBucket: a test that cleans up an inventory config lost the whole bucket. Now it removes
   the config (204), or 404 NoSuchConfiguration. The same fall-through existed for every bucket
   DELETE sub-resource moto does not implement (``?metrics``, ``?analytics``,
   ``?intelligent-tiering``, ...): those now answer 501 NotImplemented and never delete the bucket.

3. ListBuckets pagination. moto cuts the list at ``max-buckets`` but never returns a
   ``ContinuationToken`` and ignores ``continuation-token``: a paginating client (the Rust SDK
   paginator) silently sees only the first page; it also lists in creation order. ListBuckets
   now answers in name order like AWS, pages with ``max-buckets`` (1..10,000) and an opaque
   ``ContinuationToken``, and honours ``prefix`` and ``bucket-region``.

4. IAM quotas that moto declares but does not enforce, which crossrep's role-policy packing
   (SPEC 4.3) must respect: inline policies of one role <= 10,240 characters in total
   (whitespace not counted) -> LimitExceeded "Maximum policy size of 10240 bytes exceeded for
   role R"; a managed policy document <= 6,144 -> LimitExceeded "Cannot exceed quota for
   PolicySize: 6144"; <= 10 managed policies attached per role -> LimitExceeded "Cannot exceed
   quota for PoliciesPerRole: 10".

5. ``--latency-ms L``: every AWS request sleeps L ms before being handled (the server is
   threaded, so concurrent requests overlap, like network latency). Used by benchmarks to make
   concurrency visible. Not applied to ``/moto-api/`` nor ``/_crossrep/``.

6. Request log for tests and benchmarks: every AWS request (not ``/moto-api/``, not
   ``/_crossrep/``) is recorded as {service, operation, account, region, method, path, write,
   status}. Tests use it to prove e.g. "a second apply makes zero write calls".
     GET  /_crossrep/requests[?account=ID]          -> {"requests": [...]}
     GET  /_crossrep/requests/summary[?account=ID]  -> counts by operation / account
     POST /_crossrep/requests/reset                 -> clears the log
   ``POST /moto-api/reset`` also clears the log (moto's reset drops the buckets and therefore the
   stored replication XML).

7. S3 Batch Replication: ``/v20180820/jobs...`` (CreateJob, DescribeJob, ListJobs, UpdateJobStatus,
   GetJobTagging) is served by ``batch.py``, which runs jobs in background threads, replicates
   versions with their ids, writes completion reports and checks permissions with
   ``permissions.py``; ``GET /_crossrep/replication-failures`` lists failed tasks.

8. Live replication: after PutObject, CopyObject, CompleteMultipartUpload and DeleteObject(s)
   (delete markers) on a bucket with a replication configuration, ``replicate.py`` copies the new
   version to each matching rule's destination in a background thread (PENDING -> COMPLETED /
   FAILED, the copy REPLICA); ``GET /_crossrep/replication/idle`` tells tests when it is done.

9. SSE-C: moto ignores the customer-key headers. ``encryption.py`` validates them, refuses reads
   of SSE-C objects without (400) or with another key (403), models ``BlockedEncryptionTypes``
   and the April 2026 default (new buckets block SSE-C writes: 403 AccessDenied), and makes
   replication of SSE-C objects into such buckets fail (README "SSE-C").

10. Replication failure events and notification destinations: ``events.py`` sends
   ``s3:Replication:OperationFailedReplication`` events when live replication fails a version
   (rules with metrics), and ``PutBucketNotificationConfiguration`` refuses destinations that do
   not exist or do not let S3 send, as AWS does.

11. CloudWatch over Smithy RPCv2 CBOR (``aws-sdk-cloudwatch``), which moto does not serve:
   ``cloudwatch.py`` translates it to moto's awsJson 1.0 handler, and fixes DescribeAlarms
   (filters, AlarmTypes, pagination) and PutMetricAlarm validation.

12. AWS Organizations (``organizations.py``): who may call what (management account, delegated
   administrator, member, no organization), pages of at most 20 with optional empty pages,
   account ``State`` (``Status`` only before its retirement), asynchronous CreateAccount; and
   the test knob ``/_crossrep/sts/deny`` that makes one role impossible to assume.

13. STS credentials that expire (``sts.py``): AssumeRole's ``DurationSeconds`` bounds (900..43200,
   the role's MaxSessionDuration, one hour for role chaining) and requests signed with expired
   credentials refused as AWS refuses them (S3 400 ``ExpiredToken``, others 403); the test knob
   ``/_crossrep/sts/lifetime`` shortens the credentials issued from then on.

14. Opt-in Regions and quotas (``regions.py``): the Account Management region API (moto serves
   only alternate contacts) with per-account ``ENABLED_BY_DEFAULT`` / ``DISABLED`` /
   ``ENABLING`` / ``ENABLED`` / ``DISABLING`` and AWS's refusals (ValidationException,
   ConflictException, AccessDeniedException in the organizations context); requests signed
   for an opt-in Region the caller's account has not enabled refused as AWS refuses them (S3
   403 ``InvalidAccessKeyId``, query 403 ``InvalidClientTokenId``, awsJson 400
   ``UnrecognizedClientException``; AssumeRole there into an account without it 403
   ``AccessDenied``); the S3 general purpose bucket quota (400 ``TooManyBuckets``, Service
   Quotas ``s3``/``L-DC2B2D3D``: default 10,000, ``NoSuchResourceException`` from
   GetServiceQuota until a quota is applied) and the IAM role quota (GetAccountSummary
   ``RolesQuota``, 409 ``LimitExceeded`` "Cannot exceed quota for RolesPerAccount: N"). Knobs
   ``/_crossrep/regions``, ``/_crossrep/regions/settle-seconds``,
   ``/_crossrep/s3/bucket-quota``, ``/_crossrep/iam/role-quota``.

15. IAM policy simulator (``simulate.py``): ``SimulatePrincipalPolicy``, which moto does not
   implement, for a role, user or group of the caller's account, from its identity policies (a
   user's groups' too) and a role's permissions boundary, with ``permissions.py``: one
   ``EvaluationResult`` per action (``allowed`` / ``explicitDeny`` / ``implicitDeny``, the most
   restrictive across ``ResourceSpecificResults``), ``MissingContextValues`` for every condition
   key not given, approximated ``MatchedStatements``, ``MaxItems`` / ``Marker`` pages; AWS's
   refusals (400 ``ValidationError``, 400 ``InvalidInput`` for a session ARN or a resource that
   is not an ARN, 404 ``NoSuchEntity``) and 501 ``EmulatorUnsupported`` for what it does not
   model (IAM API reference SimulatePrincipalPolicy / EvaluationResult; README "IAM policy
   simulator"). The caller's own permission is not evaluated: tests inject ``AccessDenied``.

16. SendMessage in constant time. moto's ``SQSBackend.send_message`` reads
   ``queue.attributes`` for one of them (``ContentBasedDeduplication``), and that property
   computes every attribute, three of which scan every message of the queue (approximate
   counts): sending N messages to one queue cost O(N^2). One account's alert queue receives an
   ``s3:TestEvent`` per source bucket (event notifications, fix 10), so an account of 10,000
   sources spent most of an apply in these scans (BENCHMARKS, "Organizations"). While a message
   is being sent the approximate counts are not computed (nothing in sending reads them);
   GetQueueAttributes still counts exactly. Behaviour is unchanged; only the time.

17. moto's module list, listed once. moto's server finds the backend of every request while
   holding one global lock, and on the way lists its own package directory (``os.listdir`` and
   an ``isdir`` per entry, ~170 of them): about a quarter of the emulator's time under load
   (``py-spy``), serialised across request threads. The list cannot change while the server
   runs, so it is computed once. Behaviour is unchanged; only the time.

Nothing here sets MOTO_ACCOUNT_ID: accounts come from the ``x-moto-account-id`` header or from
credentials (STS AssumeRole into ``arn:aws:iam::<account>:role/<any>``, IAM user keys).
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import logging
import os
import re
import sys
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, unquote

if "MOTO_ACCOUNT_ID" in os.environ:
    # It would force every request into one account: multi-account tests would silently lie.
    del os.environ["MOTO_ACCOUNT_ID"]

from werkzeug.serving import run_simple  # noqa: E402

from moto.core import DEFAULT_ACCOUNT_ID  # noqa: E402
from moto.moto_server.werkzeug_app import (  # noqa: E402
    DomainDispatcherApplication,
    create_backend_app,
)
from moto.iam.exceptions import LimitExceededException as IAMLimitExceeded  # noqa: E402
from moto.iam.models import IAMBackend  # noqa: E402
from moto.s3.models import S3Backend  # noqa: E402
from moto.s3.responses import S3Response  # noqa: E402

import encryption as crossrep_encryption  # noqa: E402,F401  (SSE-C, installs its patches; see encryption.py)
import batch as crossrep_batch  # noqa: E402  (S3 Batch Replication jobs, see batch.py)
import cloudwatch as crossrep_cloudwatch  # noqa: E402  (CloudWatch RPCv2 CBOR, see cloudwatch.py)
import events as crossrep_events  # noqa: E402  (replication failure events, see events.py)
import replicate as crossrep_replicate  # noqa: E402  (live replication, see replicate.py)
import organizations as crossrep_organizations  # noqa: E402  (Organizations, STS deny; see organizations.py)
import permissions  # noqa: E402  (the IAM evaluator, see permissions.py)
import sts as crossrep_sts  # noqa: E402  (credentials that expire, DurationSeconds; see sts.py)
import regions as crossrep_regions  # noqa: E402  (opt-in Regions, bucket and role quotas; see regions.py)
import simulate as crossrep_simulate  # noqa: E402,F401  (IAM SimulatePrincipalPolicy, installs its hook; see simulate.py)

LOG = logging.getLogger("crossrep_emulator")

# --------------------------------------------------------------------------------------------
# S3 fixes (monkeypatch of S3Response._bucket_response: runs after moto parsed the request,
# so account, region, bucket name and a de-chunked body are already known)
# --------------------------------------------------------------------------------------------

REPLICATION_ATTR = "crossrep_replication_xml"
MAX_RULES = 1000


class _S3Error(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _error_response(err: _S3Error, bucket: str) -> tuple[int, dict[str, str], bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
        f"<Code>{err.code}</Code><Message>{_xml_escape(err.message)}</Message>"
        f"<BucketName>{_xml_escape(bucket)}</BucketName>"
        f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>"
    )
    return err.status, {"content-type": "application/xml"}, body.encode()


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    found = _children(el, name)
    return found[0] if found else None


def _text(el: ET.Element | None, name: str) -> str | None:
    c = _child(el, name)
    return None if c is None else (c.text or "").strip()


MALFORMED = "The XML you provided was not well-formed or did not validate against our published schema"


def _body(resp: S3Response) -> bytes:
    """The request body as bytes (moto keeps it as str or bytes)."""
    return resp.body if isinstance(resp.body, bytes) else (resp.body or "").encode()


def _owned_bucket(resp: S3Response, name: str) -> Any:
    """The bucket if it exists and belongs to the caller's account, else the AWS error."""
    from moto.s3.models import s3_backends

    entry = s3_backends.bucket_accounts.get(name)
    if entry is None:
        raise _S3Error(404, "NoSuchBucket", "The specified bucket does not exist")
    partition, owner = entry
    if owner != resp.current_account:
        raise _S3Error(403, "AccessDenied", "Access Denied")
    return s3_backends[owner][partition].get_bucket(name)


def _find_bucket(name: str) -> Any | None:
    from moto.s3.models import s3_backends

    entry = s3_backends.bucket_accounts.get(name)
    if entry is None:
        return None
    partition, owner = entry
    return s3_backends[owner][partition].buckets.get(name)


def _validate_replication(body: bytes, bucket: Any) -> None:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise _S3Error(400, "MalformedXML", MALFORMED)
    if _local(root.tag) != "ReplicationConfiguration" or not _text(root, "Role"):
        raise _S3Error(400, "MalformedXML", MALFORMED)
    rules = _children(root, "Rule")
    if not rules or len(rules) > MAX_RULES:
        raise _S3Error(400, "MalformedXML", MALFORMED)
    if any(_local(e.tag) == "ExistingObjectReplication" for e in root.iter()):
        raise _S3Error(400, "MalformedXML", MALFORMED)
    for rule in rules:
        if _child(rule, "Destination") is None or not _text(_child(rule, "Destination"), "Bucket"):
            raise _S3Error(400, "MalformedXML", MALFORMED)
        if _text(rule, "Status") not in ("Enabled", "Disabled"):
            raise _S3Error(400, "MalformedXML", MALFORMED)

    if not bucket.is_versioned:
        raise _S3Error(
            400,
            "InvalidRequest",
            "Versioning must be 'Enabled' on the bucket to apply a replication configuration",
        )

    ids: set[str] = set()
    priorities: set[str] = set()
    for rule in rules:
        rid = _text(rule, "ID")
        if rid:
            if rid in ids:
                raise _S3Error(400, "InvalidArgument", "Rule Id must be unique.")
            ids.add(rid)
        filt = _child(rule, "Filter")
        if filt is not None:  # V2 rule
            dmr = _child(rule, "DeleteMarkerReplication")
            if dmr is None:
                raise _S3Error(
                    400,
                    "InvalidRequest",
                    "DeleteMarkerReplication must be specified for this version of "
                    "Cross Region Replication configuration schema.",
                )
            prio = _text(rule, "Priority")
            if prio is None:
                raise _S3Error(
                    400,
                    "InvalidRequest",
                    "Priority must be specified for this version of Cross Region "
                    "Replication configuration schema.",
                )
            if prio in priorities:
                raise _S3Error(
                    400, "InvalidRequest", f"Found overlapping priority: {prio}"
                )
            priorities.add(prio)
            has_tag = _child(filt, "Tag") is not None or _children(
                _child(filt, "And") or ET.Element("x"), "Tag"
            )
            if has_tag and _text(dmr, "Status") == "Enabled":
                raise _S3Error(
                    400,
                    "InvalidRequest",
                    "Delete marker replication is not supported if any Tag filter is "
                    "specified. Please refer to S3 Developer Guide for more information.",
                )
        ssc = _child(_child(rule, "SourceSelectionCriteria"), "SseKmsEncryptedObjects")
        replica_key = _text(_child(_child(rule, "Destination"), "EncryptionConfiguration"),
                            "ReplicaKmsKeyID")
        if _text(ssc, "Status") == "Enabled" and not replica_key:
            # S3 API reference, Destination.EncryptionConfiguration: "If SourceSelectionCriteria
            # is specified, you must specify this element." The key itself is not validated
            # here (AWS-NOTES: 200, then replication fails).
            raise _S3Error(400, "InvalidRequest", "ReplicaKmsKeyID must be specified if "
                           "SseKmsEncryptedObjects tag is present.")
        refused = crossrep_events.check_replication_metrics([rule])  # Metrics / RTC pairing
        if refused is not None:
            raise _S3Error(400, *refused)
        dest_arn = _text(_child(rule, "Destination"), "Bucket") or ""
        dest_name = dest_arn.split(":::", 1)[-1].split("/", 1)[0]
        dest = _find_bucket(dest_name)
        if dest is None:
            raise _S3Error(400, "InvalidRequest", "Destination bucket must exist.")
        if not dest.is_versioned:
            raise _S3Error(
                400, "InvalidRequest", "Destination bucket must have versioning enabled."
            )


def _access_key(resp: S3Response) -> str | None:
    auth = resp.headers.get("Authorization") or ""
    m = re.search(r"Credential=([^/,\s]+)/", auth)
    return m.group(1) if m else None


def _check_pass_role(resp: S3Response, body: bytes) -> None:
    """The caller of PutBucketReplication needs `iam:PassRole` on the configuration's role
    (AWS-NOTES; S3 API reference, PutBucketReplication). Evaluated when the caller is an IAM
    identity the emulator models (an existing role it assumed, or a user); see README gaps."""
    caller = permissions.caller_statements(resp.current_account, _access_key(resp))
    if caller is None:
        return
    caller_arn, stmts = caller
    role = _text(ET.fromstring(body), "Role") or ""
    ctx = {"iam:PassedToService": "s3.amazonaws.com",
           "aws:PrincipalAccount": resp.current_account, "aws:PrincipalArn": caller_arn}
    try:
        verdict = permissions.evaluate(stmts, "iam:PassRole", role, ctx)
    except permissions.UnsupportedCondition as exc:
        raise _S3Error(403, "AccessDenied", f"crossrep emulator cannot evaluate {exc} "
                       "(EmulatorUnsupportedCondition)")
    if verdict != "Allow":
        raise _S3Error(403, "AccessDenied", f"User: {caller_arn} is not authorized to perform: "
                       f"iam:PassRole on resource: {role}")


def _put_replication(resp: S3Response, request: Any, bucket_name: str) -> Any:
    bucket = _owned_bucket(resp, bucket_name)
    body = _body(resp)
    _validate_replication(body, bucket)
    _check_pass_role(resp, body)
    setattr(bucket, REPLICATION_ATTR, body)
    try:  # best effort: keep moto's own (lossy) copy too
        resp.backend.put_bucket_replication(
            bucket_name, resp._replication_config_from_xml(body.decode())
        )
    except Exception:  # noqa: BLE001 - moto's parser is not the authority here
        pass
    return 200, {}, b""


def _get_replication(resp: S3Response, bucket_name: str) -> Any:
    bucket = _owned_bucket(resp, bucket_name)
    body = getattr(bucket, REPLICATION_ATTR, None)
    if body is None:
        raise _S3Error(
            404,
            "ReplicationConfigurationNotFoundError",
            "The replication configuration was not found",
        )
    return 200, {"content-type": "application/xml"}, body


def _delete_replication(resp: S3Response, bucket_name: str) -> Any:
    bucket = _owned_bucket(resp, bucket_name)
    setattr(bucket, REPLICATION_ATTR, None)
    bucket.replication = None
    return 204, {}, b""


def _delete_inventory(resp: S3Response, bucket_name: str, qs: dict[str, Any]) -> Any:
    bucket = _owned_bucket(resp, bucket_name)
    config_id = (qs.get("id") or [""])[0]
    if not config_id:
        raise _S3Error(400, "InvalidArgument", "Inventory configuration id is required")
    if bucket.inventory_configs.pop(config_id, None) is None:
        raise _S3Error(
            404, "NoSuchConfiguration", "The specified configuration does not exist."
        )
    return 204, {}, b""


_S3_NS = "http://s3.amazonaws.com/doc/2006-03-01/"


def _put_request_payment(resp: S3Response, bucket_name: str) -> Any:
    """PutBucketRequestPayment (AWS API reference): `Payer` is `Requester` or `BucketOwner`;
    anything else is `MalformedXML`. moto 5.2.1 keeps `bucket.payer` but has no handler."""
    bucket = _owned_bucket(resp, bucket_name)
    body = _body(resp)
    try:
        payer = _text(ET.fromstring(body), "Payer")
    except ET.ParseError:
        payer = None
    if payer not in ("Requester", "BucketOwner"):
        raise _S3Error(400, "MalformedXML", "The XML you provided was not well-formed or did "
                       "not validate against our published schema")
    bucket.payer = payer
    return 200, {}, b""


def _get_request_payment(resp: S3Response, bucket_name: str) -> Any:
    """GetBucketRequestPayment (AWS API reference): the bucket's payer, `BucketOwner` by
    default."""
    bucket = _owned_bucket(resp, bucket_name)
    payer = getattr(bucket, "payer", "BucketOwner") or "BucketOwner"
    body = (f'<?xml version="1.0" encoding="UTF-8"?><RequestPaymentConfiguration '
            f'xmlns="{_S3_NS}"><Payer>{payer}</Payer></RequestPaymentConfiguration>')
    return 200, {"content-type": "application/xml"}, body.encode()


# DELETE sub-resources moto implements itself (see S3Response._bucket_response_delete);
# any other sub-resource would fall through to DeleteBucket.
_MOTO_BUCKET_DELETE_SUBRESOURCES = {
    "policy", "tagging", "website", "cors", "lifecycle", "publicAccessBlock",
    "encryption", "replication", "ownershipControls", "delete",
}
_IGNORED_QUERY = {"x-id"}  # added by some SDKs to every request

# --------------------------------------------------------------------------------------------
# Eventual consistency (fix 13): a new role, and new versioning, take a while to be usable
# --------------------------------------------------------------------------------------------

# Per account (the account that owns the role or bucket): how long a new role is not yet a
# valid principal, and new versioning not yet visible to PutBucketReplication. 0 = at once.
# `CROSSREP_EMULATOR_PROPAGATION_MS` sets it for every account; `POST /_crossrep/propagation
# ?ms=N[&account=A]` for one (tests run in parallel against one emulator).
_PROPAGATION_DEFAULT_MS = float(os.environ.get("CROSSREP_EMULATOR_PROPAGATION_MS", "0") or 0)
_PROPAGATION_MS: dict[str, float] = {}
_ROLE_BORN: dict[str, tuple[str, float]] = {}  # role ARN -> (account, monotonic time created)
_VERSIONING_BORN: dict[str, tuple[str, float]] = {}  # bucket -> (account, time enabled)
_PROP_LOCK = threading.Lock()


def _young(born: tuple[str, float] | None) -> bool:
    if born is None:
        return False
    account, t = born
    ms = _PROPAGATION_MS.get(account, _PROPAGATION_DEFAULT_MS)
    return ms > 0 and (time.monotonic() - t) * 1000 < ms


def set_propagation(ms: float, account: str | None) -> None:
    with _PROP_LOCK:
        if account is None:
            global _PROPAGATION_DEFAULT_MS
            _PROPAGATION_DEFAULT_MS = ms
        else:
            _PROPAGATION_MS[account] = ms


def reset_propagation() -> None:
    with _PROP_LOCK:
        _PROPAGATION_MS.clear()
        _ROLE_BORN.clear()
        _VERSIONING_BORN.clear()


_orig_create_role = IAMBackend.create_role


def _create_role(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
    role = _orig_create_role(self, *args, **kwargs)
    with _PROP_LOCK:
        _ROLE_BORN[role.arn] = (self.account_id, time.monotonic())
    return role


IAMBackend.create_role = _create_role  # type: ignore[method-assign]

_orig_put_bucket_versioning = S3Backend.put_bucket_versioning


def _put_bucket_versioning(self: S3Backend, bucket_name: str, status: str) -> None:
    bucket = self.get_bucket(bucket_name)
    was = bucket.versioning_status
    _orig_put_bucket_versioning(self, bucket_name, status)
    if status == "Enabled" and was != "Enabled":
        with _PROP_LOCK:
            _VERSIONING_BORN[bucket_name] = (self.account_id, time.monotonic())


S3Backend.put_bucket_versioning = _put_bucket_versioning  # type: ignore[method-assign]


def _principals(doc: Any) -> list[str]:
    out: list[str] = []
    statements = doc.get("Statement", []) if isinstance(doc, dict) else []
    for st in statements if isinstance(statements, list) else [statements]:
        p = st.get("Principal") if isinstance(st, dict) else None
        aws = p.get("AWS") if isinstance(p, dict) else None
        out.extend([aws] if isinstance(aws, str) else list(aws or []))
    return out


def _check_propagation_policy(resp: S3Response) -> None:
    """A role created moments ago is not yet a valid principal (AWS-NOTES: `MalformedPolicy:
    Invalid principal in policy` until IAM has propagated it)."""
    body = _body(resp)
    try:
        doc = json.loads(body or b"{}")
    except ValueError:
        return
    for arn in _principals(doc):
        if _young(_ROLE_BORN.get(arn)):
            raise _S3Error(400, "MalformedPolicy", "Invalid principal in policy")


def _check_propagation_replication(resp: S3Response, bucket_name: str) -> None:
    """New versioning is not yet visible (`InvalidRequest … Versioning must be 'Enabled'`), and
    a new role cannot yet be validated (`InvalidArgument`), as AWS-NOTES describe."""
    if _young(_VERSIONING_BORN.get(bucket_name)):
        raise _S3Error(400, "InvalidRequest", "Versioning must be 'Enabled' on the bucket to "
                       "apply a replication configuration")
    body = _body(resp)
    try:
        role = _text(ET.fromstring(body), "Role")
    except ET.ParseError:
        return
    if role and _young(_ROLE_BORN.get(role)):
        raise _S3Error(400, "InvalidArgument", "Invalid argument: the role cannot be assumed yet "
                       "(IAM propagation)")


_orig_bucket_response = S3Response._bucket_response


def _check_versioning_change(resp: S3Response, bucket_name: str) -> None:
    """A bucket with a replication configuration keeps its versioning state: AWS refuses the
    change with 409 `InvalidBucketState` "A replication configuration is present on this bucket,
    so you cannot change the versioning state. To change the versioning state, first delete the
    replication configuration." (AWS-NOTES, Buckets; S3 User Guide, "Requirements and
    considerations for replication": versioning must stay enabled on the source). moto lets it
    be suspended, which a source with rules can never be on AWS."""
    bucket = _owned_bucket(resp, bucket_name)
    if getattr(bucket, REPLICATION_ATTR, None) is None:
        return
    try:
        wanted = _text(ET.fromstring(_body(resp) or b"<x/>"), "Status")
    except ET.ParseError:
        return  # moto answers MalformedXML
    if wanted and wanted != bucket.versioning_status:
        raise _S3Error(409, "InvalidBucketState", "A replication configuration is present on "
                       "this bucket, so you cannot change the versioning state. To change the "
                       "versioning state, first delete the replication configuration.")


def _patched_bucket_response(self: S3Response, request: Any, full_url: str) -> Any:
    qs = self._get_querystring(request, full_url)
    method = request.method
    bucket_name = self.parse_bucket_name_from_url(request, full_url)
    if bucket_name:
        try:
            if "policy" in qs and method == "PUT":
                _check_propagation_policy(self)
            if "notification" in qs and method == "GET":
                answered = crossrep_events.get_notification(self, bucket_name)
                if answered is not None:
                    return answered
            if "notification" in qs and method == "PUT":
                # destinations must exist and let S3 send (events.py); moto checks neither
                refused = crossrep_events.check_put_notification(self, bucket_name, _body(self))
                if refused is not None:
                    return refused
            if "versioning" in qs and method == "PUT":
                _check_versioning_change(self, bucket_name)
            if "replication" in qs:
                if method == "PUT":
                    _check_propagation_replication(self, bucket_name)
                    return _put_replication(self, request, bucket_name)
                if method == "GET":
                    return _get_replication(self, bucket_name)
                if method == "DELETE":
                    return _delete_replication(self, bucket_name)
            if method == "HEAD" and not set(qs) - _IGNORED_QUERY:
                # HeadBucket by another account is 403 with no body (AWS HeadBucket: "If the
                # bucket exists but you do not have permission to access it, the response is
                # 403 Forbidden"); moto answers 200. A bucket policy granting that account
                # `s3:ListBucket` is not evaluated (README, known gaps).
                from moto.s3.models import s3_backends

                entry = s3_backends.bucket_accounts.get(bucket_name)
                if entry is not None and entry[1] != self.current_account:
                    return 403, {}, b""
            if "requestPayment" in qs:
                if method == "PUT":
                    return _put_request_payment(self, bucket_name)
                if method == "GET":
                    return _get_request_payment(self, bucket_name)
            if method == "DELETE":
                if "inventory" in qs:
                    return _delete_inventory(self, bucket_name, qs)
                unknown = set(qs) - _MOTO_BUCKET_DELETE_SUBRESOURCES - _IGNORED_QUERY
                if unknown:
                    raise _S3Error(
                        501,
                        "NotImplemented",
                        f"crossrep emulator: DELETE ?{sorted(unknown)[0]} is not implemented "
                        "(refusing to fall through to DeleteBucket)",
                    )
        except _S3Error as err:
            return _error_response(err, bucket_name)
    return _orig_bucket_response(self, request, full_url)


S3Response._bucket_response = _patched_bucket_response  # type: ignore[method-assign]
crossrep_batch.REPLICATION_ATTR = REPLICATION_ATTR  # batch.py reads the stored raw XML


# GetBucketVersioning of a bucket that never had versioning: moto answers with an empty
# `<GetBucketVersioningResponse/>` root, which the AWS SDKs reject (they expect
# `<VersioningConfiguration/>`, which is what S3 sends). Answer like S3 for every state.

def _patched_get_bucket_versioning(self: S3Response) -> Any:
    status = self.backend.get_bucket_versioning(self.bucket_name)
    inner = f"<Status>{status}</Status>" if status else ""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<VersioningConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">{inner}'
        "</VersioningConfiguration>"
    )
    return 200, {"Content-Type": "application/xml"}, body


S3Response.get_bucket_versioning = _patched_get_bucket_versioning  # type: ignore[method-assign]


# ListObjectVersions: moto deep-copies and sorts every version of the bucket for every page
# (quadratic in the bucket size: ~2.3 s a page at 20,000 objects), where S3 answers a page in
# time proportional to the page. Same algorithm and answers, but it starts at the key marker
# (bisect over the sorted key names), walks keys lazily, and makes shallow copies of only the
# versions it returns (the copy exists so `is_latest` can be set without touching the store).

def _fast_list_object_versions(
    self: Any,
    bucket_name: str,
    delimiter: str | None = None,
    key_marker: str | None = None,
    max_keys: int | None = 1000,
    prefix: str = "",
    version_id_marker: str | None = None,
) -> Any:
    import bisect
    import copy as _copy

    from moto.core.utils import unix_time_millis
    from moto.s3.models import FakeKey

    bucket = self.get_bucket(bucket_name)
    names = sorted(k for k in bucket.keys.keys() if k.startswith(prefix or ""))
    start = bisect.bisect_left(names, key_marker) if key_marker else 0

    def versions() -> Any:
        for name in names[start:]:
            vs = [_copy.copy(v) for v in bucket.keys.getlist(name)]
            vs.sort(key=lambda r: -unix_time_millis(r.last_modified))
            for i, v in enumerate(vs):
                v.is_latest = i == 0
                yield v

    common_prefixes: set[str] = set()
    requested_versions: list[Any] = []
    delete_markers: list[Any] = []
    next_key_marker: str | None = None
    next_version_id_marker: str | None = None
    skip_versions = True
    last_item_added: Any = None
    for version in versions():
        name = version.name
        if skip_versions:
            if key_marker is None:
                skip_versions = False
            elif not version_id_marker:
                skip_versions = version.name < key_marker
                continue
            elif version.name == key_marker and version.version_id == version_id_marker:
                skip_versions = False
                continue
            else:
                continue
        is_common_prefix = False
        if delimiter and delimiter in name[len(prefix):]:
            end = len(prefix) + name[len(prefix):].index(delimiter) + len(delimiter)
            prefix_including_delimiter = name[0:end]
            if prefix_including_delimiter == key_marker:
                continue
            common_prefixes.add(prefix_including_delimiter)
            name = prefix_including_delimiter
            is_common_prefix = True
        elif last_item_added:
            name = last_item_added.name
        if max_keys is not None and len(requested_versions) + len(delete_markers) + len(common_prefixes) >= max_keys:
            next_key_marker = name
            if is_common_prefix:
                next_version_id_marker = None
            elif last_item_added is not None:
                next_version_id_marker = last_item_added.version_id
            else:
                next_version_id_marker = None
            break
        if not is_common_prefix:
            last_item_added = version
            if not isinstance(version, FakeKey):
                delete_markers.append(version)
            else:
                requested_versions.append(version)
    return (requested_versions, sorted(common_prefixes), delete_markers, next_key_marker, next_version_id_marker)


S3Backend.list_object_versions = _fast_list_object_versions  # type: ignore[method-assign]


# ListBuckets pagination (moto truncates at max-buckets but never returns a ContinuationToken
# and ignores continuation-token, so a paginating client silently loses buckets).

def _patched_all_buckets(self: S3Response) -> Any:
    max_buckets = self._get_param("max-buckets")
    token = self._get_param("continuation-token")
    self.data["Action"] = "ListAllMyBuckets"
    self._authenticate_and_authorize_s3_action()
    prefix = self._get_param("prefix") or ""
    region = self._get_param("bucket-region")
    refused = crossrep_regions.unpaginated_list_refused(self.current_account, max_buckets is not None,
                                                        token is not None)
    if refused is not None:  # an applied quota above 10,000 needs paginated ListBuckets (regions.py)
        return _error_response(_S3Error(400, "InvalidRequest", refused), "")
    try:
        limit = int(max_buckets or 10000)
        if not 1 <= limit <= 10000:
            raise ValueError
    except ValueError:
        return _error_response(_S3Error(400, "InvalidArgument", "Invalid max-buckets"), "")
    after = ""
    if token:
        try:
            after = base64.urlsafe_b64decode(token.encode()).decode()
        except (ValueError, UnicodeDecodeError):
            return _error_response(_S3Error(400, "InvalidArgument", "Invalid continuation token"), "")
    buckets = sorted(
        (b for b in list(self.backend.buckets.values())
         if b.name.startswith(prefix) and (not region or b.region_name == region) and b.name > after),
        key=lambda b: b.name,
    )
    page, more = buckets[:limit], len(buckets) > limit
    items = "".join(
        f"<Bucket><Name>{_xml_escape(b.name)}</Name>"
        f"<CreationDate>{b.creation_date_ISO8601}</CreationDate>"
        f"<BucketRegion>{b.region_name}</BucketRegion></Bucket>"
        for b in page
    )
    next_token = (
        f"<ContinuationToken>{base64.urlsafe_b64encode(page[-1].name.encode()).decode()}</ContinuationToken>"
        if more else ""
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<ListAllMyBucketsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
        "<Owner><ID>bcaf1ffd86f41161ca5fb16fd081034f</ID><DisplayName>webfile</DisplayName></Owner>"
        f"<Buckets>{items}</Buckets>{next_token}"
        + (f"<Prefix>{_xml_escape(prefix)}</Prefix>" if prefix else "")
        + "</ListAllMyBucketsResult>"
    )
    return 200, {"content-type": "application/xml"}, body.encode()


S3Response.all_buckets = _patched_all_buckets  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------
# SendMessage in constant time (fix 16)
# --------------------------------------------------------------------------------------------

def _install_constant_time_send() -> None:
    from moto.sqs.models import Queue, SQSBackend

    sending = threading.local()
    original_send = SQSBackend.send_message

    def send_message(self: Any, *args: Any, **kwargs: Any) -> Any:
        sending.on = True
        try:
            return original_send(self, *args, **kwargs)
        finally:
            sending.on = False

    def skipped_while_sending(prop: property) -> property:
        def get(queue: Any) -> Any:
            return 0 if getattr(sending, "on", False) else prop.fget(queue)  # type: ignore[misc]
        return property(get)

    for name in ("approximate_number_of_messages", "approximate_number_of_messages_delayed",
                 "approximate_number_of_messages_not_visible"):
        setattr(Queue, name, skipped_while_sending(getattr(Queue, name)))
    SQSBackend.send_message = send_message  # type: ignore[method-assign]


_install_constant_time_send()


# --------------------------------------------------------------------------------------------
# moto's module list, listed once (fix 17)
# --------------------------------------------------------------------------------------------

def _install_cached_module_list() -> None:
    import moto.backends as moto_backends

    modules = tuple(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: modules  # type: ignore[assignment]


_install_cached_module_list()


# --------------------------------------------------------------------------------------------
# IAM quotas moto declares but does not enforce (crossrep's role-policy packing must respect them)
# --------------------------------------------------------------------------------------------

ROLE_INLINE_QUOTA = 10240  # all inline policies of one role, whitespace not counted
MANAGED_POLICY_QUOTA = 6144  # one managed policy document, whitespace not counted
ATTACHED_PER_ROLE_QUOTA = 10  # managed policies attached to one role (default quota)


def _policy_size(doc: str) -> int:
    return len(re.sub(r"\s", "", doc or ""))


_orig_put_role_policy = IAMBackend.put_role_policy
_orig_create_policy = IAMBackend.create_policy
_orig_create_policy_version = IAMBackend.create_policy_version
_orig_attach_role_policy = IAMBackend.attach_role_policy


def _put_role_policy(self: IAMBackend, role_name: str, policy_name: str, policy_json: str) -> None:
    role = self.get_role(role_name)
    total = _policy_size(policy_json) + sum(
        _policy_size(doc) for name, doc in list(role.policies.items()) if name != policy_name
    )
    if total > ROLE_INLINE_QUOTA:
        raise IAMLimitExceeded(
            f"Maximum policy size of {ROLE_INLINE_QUOTA} bytes exceeded for role {role_name}"
        )
    _orig_put_role_policy(self, role_name, policy_name, policy_json)


def _create_policy(self: IAMBackend, description: str, path: str, policy_document: str,
                   policy_name: str, tags: Any) -> Any:
    if _policy_size(policy_document) > MANAGED_POLICY_QUOTA:
        raise IAMLimitExceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_QUOTA}")
    return _orig_create_policy(self, description, path, policy_document, policy_name, tags)


def _create_policy_version(self: IAMBackend, policy_arn: str, policy_document: str,
                           set_as_default: bool) -> Any:
    if _policy_size(policy_document) > MANAGED_POLICY_QUOTA:
        raise IAMLimitExceeded(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_QUOTA}")
    return _orig_create_policy_version(self, policy_arn, policy_document, set_as_default)


def _attach_role_policy(self: IAMBackend, policy_arn: str, role_name: str) -> None:
    role = self.get_role(role_name)
    attached = getattr(role, "managed_policies", {})
    if policy_arn not in attached and len(attached) >= ATTACHED_PER_ROLE_QUOTA:
        raise IAMLimitExceeded(f"Cannot exceed quota for PoliciesPerRole: {ATTACHED_PER_ROLE_QUOTA}")
    _orig_attach_role_policy(self, policy_arn, role_name)


IAMBackend.put_role_policy = _put_role_policy  # type: ignore[method-assign]
IAMBackend.create_policy = _create_policy  # type: ignore[method-assign]
IAMBackend.create_policy_version = _create_policy_version  # type: ignore[method-assign]
IAMBackend.attach_role_policy = _attach_role_policy  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------
# Request classification (service, operation, account, write)
# --------------------------------------------------------------------------------------------

_CRED_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# sub-resource -> S3 operation suffix; "Bucket" ops take Get/Put/Delete + suffix
_BUCKET_SUBRESOURCES = {
    "policy": "BucketPolicy",
    "policyStatus": "BucketPolicyStatus",
    "versioning": "BucketVersioning",
    "tagging": "BucketTagging",
    "ownershipControls": "BucketOwnershipControls",
    "location": "BucketLocation",
    "lifecycle": "BucketLifecycleConfiguration",
    "replication": "BucketReplication",
    "inventory": "BucketInventoryConfiguration",
    "metrics": "BucketMetricsConfiguration",
    "analytics": "BucketAnalyticsConfiguration",
    "intelligent-tiering": "BucketIntelligentTieringConfiguration",
    "encryption": "BucketEncryption",
    "acl": "BucketAcl",
    "cors": "BucketCors",
    "website": "BucketWebsite",
    "logging": "BucketLogging",
    "notification": "BucketNotificationConfiguration",
    "accelerate": "BucketAccelerateConfiguration",
    "requestPayment": "BucketRequestPayment",
    "publicAccessBlock": "PublicAccessBlock",
    "object-lock": "ObjectLockConfiguration",
}
_OBJECT_SUBRESOURCES = {
    "tagging": "ObjectTagging",
    "acl": "ObjectAcl",
    "retention": "ObjectRetention",
    "legal-hold": "ObjectLegalHold",
    "attributes": "ObjectAttributes",
}
_VERB = {"GET": "Get", "PUT": "Put", "DELETE": "Delete", "HEAD": "Head"}
_READ_PREFIXES = ("Get", "List", "Describe", "Head", "Lookup", "Search", "BatchGet")
_READ_ACTIONS = {"AssumeRole", "GetCallerIdentity", "AssumeRoleWithWebIdentity",
                 "AssumeRoleWithSAML", "GetSessionToken", "GetFederationToken",
                 "SimulatePrincipalPolicy", "SimulateCustomPolicy", "ReceiveMessage",
                 "Decrypt", "GenerateDataKey", "Encrypt"}
_STS_ACTIONS = {"AssumeRole", "GetCallerIdentity", "AssumeRoleWithWebIdentity",
                "AssumeRoleWithSAML", "GetSessionToken", "GetFederationToken",
                "GetAccessKeyInfo", "DecodeAuthorizationMessage"}


_RPCV2_RE = re.compile(r"/service/[^/]+/operation/(\w+)$")
_RESTJSON_OP_RE = re.compile(r"/([a-z][A-Za-z]+)")


def _is_write(operation: str) -> bool:
    """Reads are told by the operation, whatever the protocol (SPEC §7): a KMS `DescribeKey` or an
    SQS `ReceiveMessage` over POST is a read (ReceiveMessage changes visibility, but writes no
    configuration)."""
    return not (operation.startswith(_READ_PREFIXES) or operation in _READ_ACTIONS)


def _s3_operation(method: str, path: str, qs: dict[str, list[str]], headers: dict[str, str]) -> str:
    parts = path.lstrip("/").split("/", 1)
    bucket = parts[0]
    key = parts[1] if len(parts) > 1 else ""
    sub = [k for k in qs if k not in _IGNORED_QUERY]
    if not bucket:
        return "ListBuckets" if method == "GET" else f"S3:{method} /"
    if not key:
        if method == "HEAD":
            return "HeadBucket"
        if method == "POST":
            return "DeleteObjects" if "delete" in qs else f"S3:POST {' '.join(sub)}".strip()
        if method == "GET":
            if "list-type" in qs:
                return "ListObjectsV2"
            if "versions" in qs:
                return "ListObjectVersions"
            if "uploads" in qs:
                return "ListMultipartUploads"
            if "inventory" in qs and "id" not in qs:
                return "ListBucketInventoryConfigurations"
            if "metrics" in qs and "id" not in qs:
                return "ListBucketMetricsConfigurations"
            if "analytics" in qs and "id" not in qs:
                return "ListBucketAnalyticsConfigurations"
        for s in sub:
            if s in _BUCKET_SUBRESOURCES and method in _VERB:
                return _VERB[method] + _BUCKET_SUBRESOURCES[s]
        if method == "GET":
            # remaining GETs with only list parameters (prefix, delimiter, marker, ...)
            return "ListObjects"
        if method == "PUT" and not sub:
            return "CreateBucket"
        if method == "DELETE" and not sub:
            return "DeleteBucket"
        return f"S3:{method} {' '.join(sub)}".strip()
    # object level
    copy = "x-amz-copy-source" in headers
    if method == "POST":
        if "uploads" in qs:
            return "CreateMultipartUpload"
        if "uploadId" in qs:
            return "CompleteMultipartUpload"
        if "restore" in qs:
            return "RestoreObject"
        if "select" in qs:
            return "SelectObjectContent"
        return f"S3:POST {' '.join(sub)}".strip()
    if method == "PUT" and "partNumber" in qs and "uploadId" in qs:
        return "UploadPartCopy" if copy else "UploadPart"
    if method == "GET" and "uploadId" in qs:
        return "ListParts"
    if method == "DELETE" and "uploadId" in qs:
        return "AbortMultipartUpload"
    for s in sub:
        if s in _OBJECT_SUBRESOURCES and method in _VERB:
            return _VERB[method] + _OBJECT_SUBRESOURCES[s]
    if method == "PUT" and not sub:
        return "CopyObject" if copy else "PutObject"
    if method in ("GET", "HEAD", "DELETE") and not [s for s in sub if s != "versionId"]:
        return {"GET": "GetObject", "HEAD": "HeadObject", "DELETE": "DeleteObject"}[method]
    return f"S3:{method} {' '.join(sub)}".strip()


def _s3control_operation(method: str, path: str) -> str:
    p = path[len("/v20180820"):]
    if p.rstrip("/") == "/jobs":
        return {"POST": "CreateJob", "GET": "ListJobs"}.get(method, f"S3Control:{method} /jobs")
    m = re.fullmatch(r"/jobs/[^/]+(/\w+)?/?", p)
    if m:
        tail = m.group(1) or ""
        if not tail:
            return "DescribeJob" if method == "GET" else f"S3Control:{method} /jobs/{{id}}"
        if tail == "/status" and method == "POST":
            return "UpdateJobStatus"
        if tail == "/priority" and method == "POST":
            return "UpdateJobPriority"
        if tail == "/tagging":
            return {"GET": "GetJobTagging", "PUT": "PutJobTagging",
                    "DELETE": "DeleteJobTagging"}.get(method, f"S3Control:{method} /jobs/{{id}}{tail}")
    if p.startswith("/configuration/publicAccessBlock"):
        return f"{_VERB.get(method, method)}PublicAccessBlock"
    return f"S3Control:{method} {p}"


def _account_for(environ: dict[str, Any], access_key: str | None) -> str:
    """Same resolution as moto's BaseResponse.get_current_account (minus MOTO_ACCOUNT_ID)."""
    hdr = environ.get("HTTP_X_MOTO_ACCOUNT_ID")
    if hdr:
        return hdr
    if access_key:
        from moto.iam.models import get_account_id_from

        try:
            return get_account_id_from(access_key)
        except Exception:  # noqa: BLE001
            return DEFAULT_ACCOUNT_ID
    return DEFAULT_ACCOUNT_ID


def _read_form_body(environ: dict[str, Any]) -> str:
    """Read a form-encoded body and put it back so moto can read it again."""
    if not environ.get("CONTENT_TYPE", "").startswith("application/x-www-form-urlencoded"):
        return ""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return ""
    if length <= 0:
        return ""
    data = environ["wsgi.input"].read(length)
    environ["wsgi.input"] = io.BytesIO(data)
    return data.decode("utf-8", "replace")


def classify(environ: dict[str, Any]) -> dict[str, Any]:
    method = environ.get("REQUEST_METHOD", "GET").upper()
    raw_path = environ.get("PATH_INFO", "") or "/"
    path = unquote(raw_path) if "%" in raw_path else raw_path
    qs = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    auth = environ.get("HTTP_AUTHORIZATION", "")
    m = _CRED_RE.search(auth)
    access_key, region, signing = (m.group(1), m.group(2), m.group(3).lower()) if m else (None, None, None)

    action = (qs.get("Action") or [None])[0]
    form: dict[str, list[str]] = qs
    if action is None and method == "POST":
        form = parse_qs(_read_form_body(environ), keep_blank_values=True)
        action = (form.get("Action") or [None])[0]

    if signing is None:  # unsigned: guess
        if action:
            signing = "sts" if action in _STS_ACTIONS else "iam"
        else:
            signing = "s3"

    headers = {k[5:].lower().replace("_", "-"): v for k, v in environ.items() if k.startswith("HTTP_")}
    if signing == "s3" and raw_path.startswith("/v20180820/"):
        service, operation = "s3control", _s3control_operation(method, raw_path)
        write = method in ("PUT", "POST", "DELETE")
    elif signing == "s3":
        service, operation = "s3", _s3_operation(method, path, qs, headers)
        write = method in ("PUT", "POST", "DELETE")
    elif action:  # query protocol (IAM, STS, SQS query, SNS, CloudWatch query)
        service, operation = signing, action
        write = _is_write(action)
    elif headers.get("x-amz-target"):  # awsJson (KMS, SQS JSON, Organizations, CloudWatch Logs…)
        operation = headers["x-amz-target"].rsplit(".", 1)[-1]
        service, write = signing, _is_write(operation)
    elif m_op := _RPCV2_RE.search(raw_path):  # RPCv2 CBOR: /service/<Service>/operation/<Op>
        operation = m_op.group(1)
        service, write = signing, _is_write(operation)
    elif method == "POST" and (m_op := _RESTJSON_OP_RE.fullmatch(raw_path)):
        # restJson operations named by their path (Account Management: POST /getRegionOptStatus)
        operation = m_op.group(1)[0].upper() + m_op.group(1)[1:]
        service, write = signing, _is_write(operation)
    else:
        service, operation = signing, f"{signing}:{method} {raw_path}"
        write = method in ("PUT", "POST", "DELETE", "PATCH")

    entry = {
        "service": service,
        "operation": operation,
        "account": _account_for(environ, access_key),
        "region": region,
        "method": method,
        "path": raw_path,
        "write": write,
    }
    if headers.get("x-amz-target") and not action:
        entry["json"] = True  # awsJson: an injected fault must answer JSON (_fault_response)
    if action == "AssumeRole":
        # Which role: faults can target one account's role (all accounts' base credentials
        # are the same in tests, so the caller's account cannot tell them apart).
        entry["role_arn"] = (form.get("RoleArn") or [None])[0]
        # validated against AWS's bounds (sts.py), and what tests assert crossrep asks for
        entry["duration_seconds"] = (form.get("DurationSeconds") or [None])[0]
    return entry


# --------------------------------------------------------------------------------------------
# WSGI middleware: latency, request log, /_crossrep/ endpoints, reset hook
# --------------------------------------------------------------------------------------------


class RequestLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: list[dict[str, Any]] = []

    def add(self, entry: dict[str, Any]) -> None:
        with self._lock:
            self._entries.append(entry)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def snapshot(self, account: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            entries = list(self._entries)
        return [e for e in entries if account is None or e["account"] == account]

    def summary(self, account: str | None = None) -> dict[str, Any]:
        entries = self.snapshot(account)
        by_op: dict[str, dict[str, Any]] = {}
        by_account: dict[str, dict[str, int]] = {}
        by_service: dict[str, int] = {}
        for e in entries:
            op = by_op.setdefault(e["operation"], {"count": 0, "write": e["write"]})
            op["count"] += 1
            acc = by_account.setdefault(e["account"], {"total": 0, "reads": 0, "writes": 0})
            acc["total"] += 1
            acc["writes" if e["write"] else "reads"] += 1
            by_service[e["service"]] = by_service.get(e["service"], 0) + 1
        writes = sum(1 for e in entries if e["write"])
        return {
            "total": len(entries),
            "reads": len(entries) - writes,
            "writes": writes,
            "by_operation": dict(sorted(by_op.items())),
            "by_account": dict(sorted(by_account.items())),
            "by_service": dict(sorted(by_service.items())),
        }


class Faults:
    """Injected failures, for tests of crossrep's error handling and retries.

    `POST /_crossrep/faults?operation=PutBucketPolicy&bucket=B&code=AccessDenied&status=403
    [&account=A][&times=N][&message=M]` makes the next N matching requests (all of them when
    `times` is absent) fail with that AWS error instead of reaching moto. A request matches when
    its operation is `operation` and, if given, its bucket (first path segment) is `bucket`, its
    account is `account` and (STS `AssumeRole`) the role it assumes is `role_arn`. `DELETE /_crossrep/faults[?bucket=B]` removes them all (or those of
    bucket B, so parallel tests do not clear each other's).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._faults: list[dict[str, Any]] = []

    def add(self, qs: dict[str, list[str]]) -> dict[str, Any]:
        one = {k: v[0] for k, v in qs.items() if v}
        fault = {
            "operation": one["operation"],
            "bucket": one.get("bucket"),
            "account": one.get("account"),
            "role_arn": one.get("role_arn"),
            "code": one.get("code", "InternalError"),
            "status": int(one.get("status", "500")),
            "message": one.get("message", "injected by the crossrep emulator"),
            "times": int(one["times"]) if "times" in one else None,
        }
        with self._lock:
            self._faults.append(fault)
        return fault

    def take(self, entry: dict[str, Any]) -> dict[str, Any] | None:
        bucket = entry["path"].lstrip("/").split("/", 1)[0] if entry["service"] == "s3" else None
        with self._lock:
            for fault in self._faults:
                if fault["operation"] != entry["operation"]:
                    continue
                if fault["bucket"] is not None and fault["bucket"] != bucket:
                    continue
                if fault["account"] is not None and fault["account"] != entry["account"]:
                    continue
                if fault["role_arn"] is not None and fault["role_arn"] != entry.get("role_arn"):
                    continue
                if fault["times"] is not None:
                    fault["times"] -= 1
                    if fault["times"] <= 0:
                        self._faults.remove(fault)
                return dict(fault)
        return None

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(f) for f in self._faults]

    def clear(self, bucket: str | None = None, role_arn: str | None = None) -> None:
        with self._lock:
            if role_arn is not None:
                self._faults = [f for f in self._faults if f["role_arn"] != role_arn]
            else:
                self._faults = [f for f in self._faults if bucket is not None and f["bucket"] != bucket]


def _fault_response(fault: dict[str, Any], entry: dict[str, Any], start_response: Any) -> list[bytes]:
    if crossrep_cloudwatch.is_cbor_request(entry["path"]):
        # an RPCv2 CBOR client (aws-sdk-cloudwatch) parses only a CBOR error
        return crossrep_cloudwatch.error_response(start_response, fault["status"], fault["code"],
                                                  fault["message"])
    if entry.get("json"):
        # awsJson clients (SQS, KMS, …) parse `__type` / `message`; query-compatible ones
        # (aws-sdk-sqs) take the code from `x-amzn-query-error`.
        data = json.dumps({"__type": fault["code"], "message": fault["message"]}).encode()
        start_response(f"{fault['status']} Injected", [
            ("Content-Type", "application/x-amz-json-1.0"),
            ("x-amzn-query-error", f"{fault['code']};{'Receiver' if fault['status'] >= 500 else 'Sender'}"),
            ("Content-Length", str(len(data)))])
        return [data]
    code, message = _xml_escape(fault["code"]), _xml_escape(fault["message"])
    # S3 answers a bare <Error>; S3 Control and the query protocols wrap it in <ErrorResponse>.
    if entry["service"] == "s3":
        body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    else:
        body = (f'<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>'
                '</Error><RequestId>crossrep-emulator-fault</RequestId></ErrorResponse>')
    data = body.encode()
    start_response(f"{fault['status']} Injected", [("Content-Type", "application/xml"),
                                                   ("Content-Length", str(len(data)))])
    return [data]


class CrossrepMiddleware:
    def __init__(self, app: Any, latency_ms: float = 0.0) -> None:
        self.app = app
        self.latency = max(0.0, latency_ms) / 1000.0
        self.log = RequestLog()
        self.faults = Faults()
        # Random faults for the reliability benchmark (bench/faults.py), off by default:
        # `POST /_crossrep/chaos?rate=R&seed=S`, `DELETE /_crossrep/chaos`.
        self._chaos: tuple[float, Any] | None = None
        self._chaos_lock = threading.Lock()

    def _chaos_draw(self, entry: dict[str, Any]) -> str | None:
        if self._chaos is None or entry["service"] == "s3control":
            return None
        with self._chaos_lock:
            if self._chaos is None:
                return None
            rate, rng = self._chaos
            return _chaos_kind(rng, rate)

    def _json(self, start_response: Any, status: str, obj: Any) -> list[bytes]:
        body = json.dumps(obj).encode()
        start_response(status, [("Content-Type", "application/json"),
                                ("Content-Length", str(len(body)))])
        return [body]

    def _crossrep(self, environ: dict[str, Any], start_response: Any) -> list[bytes]:
        path = environ.get("PATH_INFO", "").rstrip("/")
        method = environ.get("REQUEST_METHOD", "GET").upper()
        qs = parse_qs(environ.get("QUERY_STRING", ""))
        account = (qs.get("account") or [None])[0]
        if path == "/_crossrep/requests" and method == "GET":
            return self._json(start_response, "200 OK", {"requests": self.log.snapshot(account)})
        if path == "/_crossrep/requests/summary" and method == "GET":
            return self._json(start_response, "200 OK", self.log.summary(account))
        if path == "/_crossrep/requests/reset" and method == "POST":
            self.log.clear()
            return self._json(start_response, "200 OK", {"status": "ok"})
        if path == "/_crossrep/faults" and method == "POST":
            try:
                fault = self.faults.add(qs)
            except (KeyError, ValueError) as exc:
                return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            return self._json(start_response, "200 OK", fault)
        if path == "/_crossrep/chaos" and method == "POST":
            import random

            rate = float((qs.get("rate") or ["0.1"])[0])
            seed = int((qs.get("seed") or ["0"])[0])
            with self._chaos_lock:
                self._chaos = (rate, random.Random(seed))
            return self._json(start_response, "200 OK", {"rate": rate, "seed": seed})
        if path == "/_crossrep/chaos" and method == "DELETE":
            with self._chaos_lock:
                self._chaos = None
            return self._json(start_response, "200 OK", {"status": "ok"})
        if path == "/_crossrep/propagation" and method == "POST":
            try:
                ms = float((qs.get("ms") or ["0"])[0])
            except ValueError as exc:
                return self._json(start_response, "400 Bad Request", {"error": str(exc)})
            set_propagation(ms, account)
            return self._json(start_response, "200 OK", {"ms": ms, "account": account})
        if path == "/_crossrep/faults" and method == "GET":
            return self._json(start_response, "200 OK", {"faults": self.faults.snapshot()})
        if path == "/_crossrep/faults" and method == "DELETE":
            self.faults.clear((qs.get("bucket") or [None])[0], (qs.get("role_arn") or [None])[0])
            return self._json(start_response, "200 OK", {"status": "ok"})
        events_answer = crossrep_events.crossrep_endpoint(method, path, qs)
        if events_answer is not None:
            return self._json(start_response, *events_answer)
        live_answer = crossrep_replicate.crossrep_endpoint(method, path, qs)
        if live_answer is not None:
            return self._json(start_response, *live_answer)
        sts_answer = crossrep_sts.crossrep_endpoint(method, path, qs)
        if sts_answer is not None:
            return self._json(start_response, *sts_answer)
        org_answer = crossrep_organizations.crossrep_endpoint(method, path, qs)
        if org_answer is not None:
            return self._json(start_response, *org_answer)
        batch_answer = crossrep_batch.crossrep_endpoint(method, path, qs)
        if batch_answer is not None:
            return self._json(start_response, *batch_answer)
        regions_answer = crossrep_regions.crossrep_endpoint(method, path, qs, _knob_body(environ))
        if regions_answer is not None:
            return self._json(start_response, *regions_answer)
        return self._json(start_response, "404 Not Found",
                          {"error": f"unknown endpoint {method} {path}"})

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith("/_crossrep/"):
            return self._crossrep(environ, start_response)
        if path.startswith("/moto-api") or path == "/favicon.ico":
            result = self.app(environ, start_response)
            if path.rstrip("/") == "/moto-api/reset" and environ.get("REQUEST_METHOD") == "POST":
                self.log.clear()
                self.faults.clear()
                self._chaos = None
                reset_propagation()
                crossrep_batch.reset()
                crossrep_replicate.reset()
                crossrep_events.reset()
                crossrep_organizations.reset()
                crossrep_sts.reset()
                crossrep_regions.reset()
            return result

        if self.latency:
            time.sleep(self.latency)
        try:
            entry = classify(environ)
        except Exception as exc:  # noqa: BLE001 - logging must never break a request
            LOG.warning("could not classify request %s: %s", path, exc)
            entry = {"service": "unknown", "operation": "unknown", "account": DEFAULT_ACCOUNT_ID,
                     "region": None, "method": environ.get("REQUEST_METHOD"), "path": path,
                     "write": False}
        status_holder: dict[str, int] = {}

        def _start_response(status: str, headers: Any, exc_info: Any = None) -> Any:
            status_holder["status"] = int(status.split(" ", 1)[0])
            status_holder["headers"] = headers
            return start_response(status, headers, exc_info)

        try:
            # Authentication first: a request signed with expired credentials is refused before
            # anything else (sts.py), and AssumeRole's DurationSeconds is validated.
            refused = crossrep_sts.check(environ, entry, _start_response)
            if refused is not None:
                return refused
            # A Region the account has not enabled: its credentials are not valid there, and STS
            # there issues none for it (regions.py)
            refused = crossrep_regions.check(environ, entry, _start_response)
            if refused is not None:
                return refused
            fault = self.faults.take(entry)
            if fault is not None:
                return _fault_response(fault, entry, _start_response)
            denied = crossrep_organizations.sts_denied(environ, entry, _start_response)
            if denied is not None:  # a role made impossible to assume (/_crossrep/sts/deny)
                return denied
            chaos = self._chaos_draw(entry)
            if chaos == "refuse":
                # Throttled before anything happened (the SDK retries it).
                code = "SlowDown" if entry["service"] == "s3" else "Throttling"
                return _fault_response({"code": code, "status": 503, "message": "chaos: refused"},
                                       entry, _start_response)
            if chaos == "lose":
                # The request is carried out, then its answer is lost: 500 to the client.
                held: dict[str, Any] = {}

                def _silent(status: str, headers: Any, exc_info: Any = None) -> Any:
                    held["status"] = int(status.split(" ", 1)[0])
                    return lambda _data: None

                done = self.app(environ, _silent)
                done = crossrep_replicate.after_write(environ, entry, held, done)
                for _ in done:
                    pass
                if hasattr(done, "close"):
                    done.close()
                return _fault_response({"code": "InternalError", "status": 500,
                                        "message": "chaos: the write happened, the answer was lost"},
                                       entry, _start_response)
            if path.startswith("/v20180820/jobs"):
                return crossrep_batch.handle(environ, _start_response, entry)
            if entry["service"] == "account":
                # Account Management's region API, which moto does not serve (regions.py)
                answered = crossrep_regions.handle_account(environ, entry, _start_response)
                if answered is not None:
                    return answered
            if crossrep_cloudwatch.is_cbor_request(path):
                # RPCv2 CBOR (aws-sdk-cloudwatch), which moto does not serve: translated
                return crossrep_cloudwatch.handle(environ, _start_response, self.app)
            result = self.app(environ, _start_response)
            # live replication: queue the version a successful write created (replicate.py)
            return crossrep_replicate.after_write(environ, entry, status_holder, result)
        finally:
            entry["status"] = status_holder.get("status", 500)
            self.log.add(entry)


def _knob_body(environ: dict[str, Any]) -> bytes:
    """The JSON body of a knob request (`/_crossrep/regions`, the quota knobs)."""
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return b""
    return environ["wsgi.input"].read(length) if length > 0 else b""


def _chaos_kind(rng: Any, rate: float) -> str | None:
    x = rng.random()
    if x < rate / 2:
        return "refuse"
    if x < rate:
        return "lose"
    return None


def build_app(latency_ms: float = 0.0) -> CrossrepMiddleware:
    moto_app = DomainDispatcherApplication(create_backend_app)
    return CrossrepMiddleware(moto_app, latency_ms)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=0.0)
    parser.add_argument("--verbose", action="store_true", help="log every request (werkzeug)")
    parser.add_argument("--exit-with-parent", action="store_true",
                        help="exit when the process that started us exits (test harnesses)")
    args = parser.parse_args(argv)

    os.environ.setdefault("MOTO_PORT", str(args.port))
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.INFO if args.verbose else logging.WARNING)

    import signal

    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    signal.signal(signal.SIGINT, lambda *_: sys.exit(0))

    if args.exit_with_parent:
        # A test binary cannot always stop what it started (a panic, a killed run): the server
        # watches its parent and leaves with it, so no emulator outlives its tests.
        import threading

        parent = os.getppid()

        def _watch() -> None:
            while os.getppid() == parent:
                time.sleep(0.5)
            os._exit(0)

        threading.Thread(target=_watch, daemon=True).start()

    app = build_app(args.latency_ms)
    print(f"crossrep emulator (moto) on http://127.0.0.1:{args.port} "
          f"latency={args.latency_ms:g}ms pid={os.getpid()}", file=sys.stderr, flush=True)
    run_simple("127.0.0.1", args.port, app, threaded=True, use_reloader=False)


if __name__ == "__main__":
    main()
