"""A deliberately small IAM evaluator for the crossrep emulator (test infrastructure only).

It answers one question the way S3 Replication / S3 Batch Replication would: *may this role
replicate this object version from this source bucket to this destination bucket, and if not,
which replication failure code does AWS report?* (codes: AWS S3 user guide,
``replication-failure-codes.md``). Live replication and batch jobs share it through
:func:`check_replication`.

What is evaluated
-----------------
* **Trust**: the role (looked up in the account of its ARN, which must be the source bucket's
  account) must exist and its trust policy must ``Allow`` ``sts:AssumeRole`` (or ``sts:*`` /
  ``*``) to the service principal ``batchoperations.s3.amazonaws.com`` (jobs) or
  ``s3.amazonaws.com`` (live replication). Else ``AssumeRoleNotPermitted``.
* **Identity policies**: the role's inline policies and attached managed policies (default
  version). ``Action`` / ``NotAction`` and ``Resource`` / ``NotResource`` with ``*`` and ``?``
  wildcards (actions case-insensitive, ARNs case-sensitive); an explicit ``Deny`` wins over any
  ``Allow``; no ``Allow`` means denied.
* **Destination bucket policy**: an explicit ``Deny`` that matches the role always wins; when the
  destination bucket belongs to another account, a matching ``Allow`` is also required. A
  statement matches the role when ``Principal`` is ``"*"``, ``{"AWS": "*"}``, the role ARN, the
  role's account id or ``arn:aws:iam::<account>:root``.
* **Conditions**: operators ``StringEquals``, ``StringNotEquals``, ``StringLike``,
  ``StringNotLike``, ``ArnEquals``, ``ArnLike``, ``ArnNotEquals``, ``ArnNotLike`` (with optional
  ``IfExists``; ``ForAnyValue:``/``ForAllValues:`` set operators, with AWS's meaning for an absent
  key: ForAnyValue fails, ForAllValues holds) on the keys ``aws:SourceAccount``,
  ``aws:SourceArn``, ``s3:ResourceAccount``, ``aws:ResourceAccount``, ``aws:PrincipalAccount``,
  ``aws:PrincipalArn``; ``Bool`` on ``aws:SecureTransport`` (always ``true``: S3 replicates over
  TLS) and on any key the caller's context names, and ``Null`` on those keys.
  A condition on any other key, or with any other operator, is never guessed: the version fails
  with ``EmulatorUnsupportedCondition`` (not an AWS code) and the emulator logs which.

Checks, in order, and their failure codes: see README.md ("Permissions", "KMS"); in short
trust, source reads (object, tags, Object Lock retention/legal hold, source KMS key),
destination bucket (exists, versioned, Object Lock), destination writes (object, owner
override, replica KMS key, tags, retention/legal hold). ``caller_statements`` and
``role_allows`` serve ``iam:PassRole`` on PutBucketReplication and the Batch Operations job's
own writes (inventory configuration, manifest, report).

Not modelled: SCPs, permission boundaries, session policies, ACLs, grants (``CreateGrant``).
"""

from __future__ import annotations

import functools
import json
import re
from typing import Any, Iterable
from urllib.parse import unquote

BATCH_PRINCIPAL = "batchoperations.s3.amazonaws.com"
REPLICATION_PRINCIPAL = "s3.amazonaws.com"

# ------------------------------------------------------------------------------------------
# policy documents
# ------------------------------------------------------------------------------------------


def _as_list(v: Any) -> list[Any]:
    if v is None:
        return []
    return v if isinstance(v, list) else [v]


def parse_policy(doc: Any) -> list[dict[str, Any]]:
    """Statements of a policy given as str/bytes/dict (IAM may hand it URL-encoded).
    Parsed texts are cached (a batch job checks the same policies for every task)."""
    if doc is None:
        return []
    if isinstance(doc, bytes):
        doc = doc.decode("utf-8", "replace")
    if isinstance(doc, str):
        return list(_parse_text(doc))
    if not isinstance(doc, dict):
        return []
    return [s for s in _as_list(doc.get("Statement")) if isinstance(s, dict)]


@functools.lru_cache(maxsize=512)
def _parse_text(text: str) -> tuple[dict[str, Any], ...]:
    text = text.strip()
    if text.startswith("%7B") or text.startswith("%7b"):
        text = unquote(text)
    try:
        doc = json.loads(text)
    except ValueError:
        return ()
    if not isinstance(doc, dict):
        return ()
    return tuple(s for s in _as_list(doc.get("Statement")) if isinstance(s, dict))


_WILDCARD_CACHE: dict[tuple[str, bool], re.Pattern[str]] = {}


def wildcard_match(pattern: str, value: str, case_insensitive: bool = False) -> bool:
    """IAM glob: ``*`` any run of characters, ``?`` exactly one; nothing else is special."""
    key = (pattern, case_insensitive)
    rx = _WILDCARD_CACHE.get(key)
    if rx is None:
        body = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
        rx = re.compile(f"^{body}$", re.IGNORECASE | re.DOTALL if case_insensitive else re.DOTALL)
        _WILDCARD_CACHE[key] = rx
    return rx.match(value) is not None


def _matches_any(patterns: Iterable[Any], value: str, ci: bool) -> bool:
    return any(isinstance(p, str) and wildcard_match(p, value, ci) for p in patterns)


def _action_matches(stmt: dict[str, Any], action: str) -> bool:
    if "Action" in stmt:
        return _matches_any(_as_list(stmt["Action"]), action, True)
    if "NotAction" in stmt:
        return not _matches_any(_as_list(stmt["NotAction"]), action, True)
    return False


def _resource_matches(stmt: dict[str, Any], resource: str) -> bool:
    if "Resource" in stmt:
        return _matches_any(_as_list(stmt["Resource"]), resource, False)
    if "NotResource" in stmt:
        return not _matches_any(_as_list(stmt["NotResource"]), resource, False)
    return False


_KNOWN_KEYS = {
    "aws:sourceaccount", "aws:sourcearn", "s3:resourceaccount", "aws:resourceaccount",
    "aws:principalaccount", "aws:principalarn",
}


class UnsupportedCondition(Exception):
    """A condition this evaluator cannot decide. Never "satisfied": a guess could make a test
    pass where AWS fails (or fail where it succeeds); the replication attempt fails with
    ``EmulatorUnsupportedCondition`` instead, naming the operator and key, so the evaluator gets
    extended rather than the test believed."""


_STRING_OPS = ("StringEquals", "StringNotEquals", "StringLike", "StringNotLike",
               "ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike")


def _value_matches(op: str, value: str, wanted: list[str]) -> bool:
    """One request value against the policy values of a string or ARN operator."""
    if op == "StringEquals":
        return value in wanted
    if op == "StringNotEquals":
        return value not in wanted
    if op in ("StringLike", "ArnLike", "ArnEquals"):
        return _matches_any(wanted, value, False)
    return not _matches_any(wanted, value, False)  # StringNotLike, ArnNotLike, ArnNotEquals


def _conditions_hold(stmt: dict[str, Any], context: dict[str, Any]) -> bool:
    """Whether every condition of ``stmt`` holds in ``context``. A key mapped to ``None`` is
    known to be absent (evaluated, never unsupported): events.py uses it for keys S3 does not
    send to a notification destination, simulate.py for keys a simulation was not given. A key
    mapped to a list is multivalued: it needs a ``ForAnyValue:`` / ``ForAllValues:`` operator
    (IAM User Guide, "Set operators for multivalued context keys": ForAnyValue holds when at least
    one request value matches, and not for an absent key; ForAllValues holds when every request
    value matches, and also when the key is absent or empty). A single value under a set
    operator is a set of one."""
    cond = stmt.get("Condition")
    if not isinstance(cond, dict):
        return True
    ctx = {k.lower(): v for k, v in context.items()}
    # S3 replicates over TLS (the request the policy sees is a secure one).
    ctx.setdefault("aws:securetransport", "true")
    known = _KNOWN_KEYS | set(ctx)
    for raw_op, pairs in cond.items():
        if not isinstance(pairs, dict):
            raise UnsupportedCondition(f"{raw_op}: not a key/value block")
        qualifier, _, op = raw_op.rpartition(":")  # ForAnyValue:StringEquals -> StringEquals
        if qualifier not in ("", "ForAnyValue", "ForAllValues"):
            raise UnsupportedCondition(raw_op)
        if_exists = op.endswith("IfExists")
        if if_exists:
            op = op[: -len("IfExists")]
        if op == "Null":
            # {"Null": {"key": "true"}}: holds when the key is absent (IAM condition operators).
            if qualifier:
                raise UnsupportedCondition(raw_op)
            for key, expected in pairs.items():
                if key.lower() not in known:
                    raise UnsupportedCondition(f"Null on {key}")
                value = ctx.get(key.lower())
                absent = value is None or value == []  # a None value: known to be absent
                want_absent = str(_as_list(expected)[0]).lower() == "true"
                if absent != want_absent:
                    return False
            continue
        if op != "Bool" and op not in _STRING_OPS:
            raise UnsupportedCondition(raw_op)
        for key, expected in pairs.items():
            k = key.lower()
            if k not in known:
                raise UnsupportedCondition(f"{raw_op} on {key}")
            value = ctx.get(k)
            if op == "Bool":
                wanted = [str(e).lower() for e in _as_list(expected)]

                def one(v: Any) -> bool:
                    return str(v).lower() in wanted
            else:
                wanted = [str(e) for e in _as_list(expected)]

                def one(v: Any) -> bool:
                    return _value_matches(op, str(v), wanted)
            if isinstance(value, list) and not qualifier:
                # a single-valued operator on a multivalued key: not decided here
                raise UnsupportedCondition(f"{raw_op} on the multivalued key {key}")
            if value is None or value == []:
                if qualifier == "ForAllValues":
                    continue  # holds for an absent or empty key
                if qualifier == "ForAnyValue":
                    if if_exists:
                        continue
                    return False
                if if_exists:
                    continue
                if op.startswith(("StringNot", "ArnNot")):
                    continue  # negated operators match when the key is absent
                return False
            values = value if isinstance(value, list) else [value]
            if qualifier == "ForAllValues":
                ok = all(one(v) for v in values)
            else:  # ForAnyValue, or a single value
                ok = any(one(v) for v in values)
            if not ok:
                return False
    return True


def evaluate(statements: list[dict[str, Any]], action: str, resource: str,
             context: dict[str, Any], principal_ok: Any = None) -> str:
    """``"Deny"`` (explicit), ``"Allow"`` or ``"Implicit"`` for one action on one resource.

    ``principal_ok``: for resource policies, a callable telling whether a statement's
    ``Principal`` covers the caller; identity policies pass ``None``.
    """
    allowed = False
    for _, effect in _deciding(statements, action, resource, context, principal_ok):
        if effect == "Deny":
            return "Deny"
        if effect == "Allow":
            allowed = True
    return "Allow" if allowed else "Implicit"


def _deciding(statements: list[dict[str, Any]], action: str, resource: str,
              context: dict[str, Any], principal_ok: Any) -> Iterable[tuple[int, str]]:
    """(index, effect) of each statement that applies: its principal (resource policies), action
    and resource match and its conditions hold; lazily, in order, so :func:`evaluate` stops at
    the first ``Deny``. Conditions are evaluated only for statements whose action and resource
    match."""
    for i, stmt in enumerate(statements):
        if principal_ok is not None and not principal_ok(stmt):
            continue
        if not _action_matches(stmt, action) or not _resource_matches(stmt, resource):
            continue
        if not _conditions_hold(stmt, context):
            continue
        yield i, str(stmt.get("Effect", "")).capitalize()


def evaluate_detailed(statements: list[dict[str, Any]], action: str, resource: str,
                      context: dict[str, Any], principal_ok: Any = None) -> tuple[str, list[int]]:
    """:func:`evaluate`, and the indexes of the statements that decided it: every matching
    ``Deny`` statement when denied (an explicit deny is the only kind of statement the IAM
    policy simulator lists then), every matching ``Allow`` statement when allowed, none for an
    implicit deny."""
    allows: list[int] = []
    denies: list[int] = []
    for i, effect in _deciding(statements, action, resource, context, principal_ok):
        if effect == "Deny":
            denies.append(i)
        elif effect == "Allow":
            allows.append(i)
    if denies:
        return "Deny", denies
    return ("Allow", allows) if allows else ("Implicit", [])


# ------------------------------------------------------------------------------------------
# moto lookups
# ------------------------------------------------------------------------------------------


def _split_role_arn(role_arn: str) -> tuple[str, str] | None:
    m = re.fullmatch(r"arn:aws[\w-]*:iam::(\d{12}):role/(?:.*/)?([\w+=,.@-]+)", role_arn or "")
    return (m.group(1), m.group(2)) if m else None


def find_role(role_arn: str) -> Any | None:
    parts = _split_role_arn(role_arn)
    if parts is None:
        return None
    account, name = parts
    from moto.iam.models import iam_backends

    try:
        backend = iam_backends[account]["global"]
    except KeyError:
        return None
    for role in list(backend.roles.values()):
        if role.name == name:
            return role
    return None


def role_statements(role: Any) -> list[dict[str, Any]]:
    """Statements of the role's inline policies and attached managed policies."""
    stmts: list[dict[str, Any]] = []
    for doc in list(getattr(role, "policies", {}).values()):
        stmts += parse_policy(doc)
    for policy in list(getattr(role, "managed_policies", {}).values()):
        versions = getattr(policy, "versions", [])
        default = getattr(policy, "default_version_id", None)
        for v in versions:
            if getattr(v, "version_id", None) == default:
                stmts += parse_policy(v.document)
    return stmts


def find_bucket(name: str) -> Any | None:
    from moto.s3.models import s3_backends

    entry = s3_backends.bucket_accounts.get(name)
    if entry is None:
        return None
    partition, owner = entry
    return s3_backends[owner][partition].buckets.get(name)


def _principal_covers(stmt: dict[str, Any], role_arn: str, role_account: str) -> bool:
    principal = stmt.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    for p in _as_list(principal.get("AWS")):
        if p in ("*", role_arn, role_account, f"arn:aws:iam::{role_account}:root"):
            return True
    return False


# ------------------------------------------------------------------------------------------
# the check
# ------------------------------------------------------------------------------------------


def role_trusts(role: Any, service_principal: str, context: dict[str, str]) -> bool:
    for stmt in parse_policy(getattr(role, "assume_role_policy_document", None)):
        if str(stmt.get("Effect", "")).capitalize() != "Allow":
            continue
        principal = stmt.get("Principal")
        services = _as_list(principal.get("Service")) if isinstance(principal, dict) else []
        if principal != "*" and service_principal not in services:
            continue
        if not _matches_any(_as_list(stmt.get("Action")), "sts:AssumeRole", True):
            continue
        if _conditions_hold(stmt, context):
            return True
    return False


def check_replication(src_account: str, role_arn: str, src_bucket: str, key: str,
                      dst_bucket: str, service: str = "batchoperations",
                      is_delete_marker: bool = False, has_tags: bool = False,
                      source_arn: str | None = None, version: Any = None,
                      rule: Any = None) -> str | None:
    """The AWS replication failure code for replicating ``src_bucket/key`` into
    ``dst_bucket`` with ``role_arn``, or ``None`` when everything AWS checks holds.

    ``service``: ``"batchoperations"`` (S3 Batch Replication job: trust principal
    ``batchoperations.s3.amazonaws.com`` and ``s3:InitiateReplication`` needed) or ``"s3"``
    (live replication: trust principal ``s3.amazonaws.com``). ``source_arn``: the job ARN or
    source bucket ARN, offered to ``aws:SourceArn`` conditions of the trust policy.
    ``version`` (moto's FakeKey) and ``rule`` (``batch.Rule``), when given, add the checks that
    depend on the object and the rule: Object Lock retention and legal hold, SSE-KMS keys,
    replica owner override.
    """
    try:
        return _check_replication(src_account, role_arn, src_bucket, key, dst_bucket, service,
                                  is_delete_marker, has_tags, source_arn, version, rule)
    except UnsupportedCondition as exc:
        import logging

        logging.getLogger("crossrep_emulator").error(
            "cannot evaluate the condition %s (replicating %s/%s): failing the version", exc,
            src_bucket, key)
        return "EmulatorUnsupportedCondition"


def _check_replication(src_account: str, role_arn: str, src_bucket: str, key: str,
                       dst_bucket: str, service: str, is_delete_marker: bool, has_tags: bool,
                       source_arn: str | None, version: Any, rule: Any) -> str | None:
    batch = service.startswith("batch")
    parts = _split_role_arn(role_arn)
    role = find_role(role_arn)
    if parts is None or role is None or parts[0] != src_account:
        return "AssumeRoleNotPermitted"
    role_account = parts[0]
    trust_ctx = {"aws:SourceAccount": src_account}
    if source_arn:
        trust_ctx["aws:SourceArn"] = source_arn
    if not role_trusts(role, BATCH_PRINCIPAL if batch else REPLICATION_PRINCIPAL, trust_ctx):
        return "AssumeRoleNotPermitted"

    stmts = role_statements(role)
    src_obj = f"arn:aws:s3:::{src_bucket}/{key}"
    src_ctx = {"s3:ResourceAccount": src_account, "aws:ResourceAccount": src_account,
               "aws:PrincipalAccount": role_account, "aws:PrincipalArn": role_arn}
    if evaluate(stmts, "s3:GetObjectVersionForReplication", src_obj, src_ctx) != "Allow":
        return "SrcGetObjectNotPermitted"
    if batch and evaluate(stmts, "s3:InitiateReplication", src_obj, src_ctx) != "Allow":
        return "InitiateReplicationNotPermitted"
    if has_tags and evaluate(stmts, "s3:GetObjectVersionTagging", src_obj, src_ctx) != "Allow":
        return "SrcGetTaggingNotPermitted"
    src = find_bucket(src_bucket)
    src_locked = bool(getattr(src, "object_lock_enabled", False))
    if src_locked and not is_delete_marker:
        # "Amazon S3 replication failure reasons": SrcGetRetentionNotPermitted /
        # SrcGetLegalHoldNotPermitted (the role reads both for every object of a lock bucket).
        if evaluate(stmts, "s3:GetObjectRetention", src_obj, src_ctx) != "Allow":
            return "SrcGetRetentionNotPermitted"
        if evaluate(stmts, "s3:GetObjectLegalHold", src_obj, src_ctx) != "Allow":
            return "SrcGetLegalHoldNotPermitted"
    kms = version is not None and not is_delete_marker and rule is not None and \
        kms_encrypted(version)
    if kms:
        code = _check_source_key(version, src, role_arn, role_account, stmts, src_obj)
        if code:
            return code

    dst = find_bucket(dst_bucket)
    if dst is None:
        return "DstBucketNotFound"
    if not dst.is_versioned:
        return "DstBucketUnversioned"
    # "To replicate objects from a source bucket with Object Lock enabled, the destination
    # bucket must also have Object Lock enabled" (AWS "Amazon S3 replication failure reasons").
    if src_locked and not getattr(dst, "object_lock_enabled", False):
        return "DstBucketObjectLockConfigMissing"
    dst_account = dst.account_id
    if getattr(dst, "payer", "BucketOwner") == "Requester" and dst_account != role_account:
        # AWS-NOTES / S3 "Requester Pays buckets": cross-account replication into a Requester
        # Pays bucket is not supported. AWS names no failure reason: an emulator code.
        return "EmulatorDstRequesterPays"
    dst_obj = f"arn:aws:s3:::{dst_bucket}/{key}"
    dst_ctx = {"s3:ResourceAccount": dst_account, "aws:ResourceAccount": dst_account,
               "aws:PrincipalAccount": role_account, "aws:PrincipalArn": role_arn}
    bucket_policy = parse_policy(getattr(dst, "policy", None))

    def covers(stmt: dict[str, Any]) -> bool:
        return _principal_covers(stmt, role_arn, role_account)

    def allowed(action: str) -> bool:
        if evaluate(stmts, action, dst_obj, dst_ctx) != "Allow":
            return False
        by_bucket = evaluate(bucket_policy, action, dst_obj, dst_ctx, covers)
        if by_bucket == "Deny":
            return False
        return dst_account == role_account or by_bucket == "Allow"

    if is_delete_marker:
        return None if allowed("s3:ReplicateDelete") else "DstDelObjNotPermitted"
    if not allowed("s3:ReplicateObject"):
        return "DstPutObjectNotPermitted"
    # Replicas owned by the destination (AccessControlTranslation Owner=Destination): the
    # failure reasons list a missing s3:ObjectOwnerOverrideToBucketOwner under
    # DstPutObjectNotPermitted.
    if rule is not None and getattr(rule, "owner_override", False) and \
            not allowed("s3:ObjectOwnerOverrideToBucketOwner"):
        return "DstPutObjectNotPermitted"
    if kms:
        code = _check_replica_key(rule, dst, role_arn, role_account, stmts, dst_obj)
        if code:
            return code
    if has_tags and not allowed("s3:ReplicateTags"):
        return "DstPutTaggingNotPermitted"
    if version is not None and src_locked:
        # Immutable objects carry their retention and legal hold to the replica
        # (DstPutRetentionNotPermitted / DstPutLegalHoldNotPermitted).
        if getattr(version, "lock_mode", None) and getattr(version, "lock_until", None) and \
                not allowed("s3:PutObjectRetention"):
            return "DstPutRetentionNotPermitted"
        if getattr(version, "lock_legal_status", None) == "ON" and \
                not allowed("s3:PutObjectLegalHold"):
            return "DstPutLegalHoldNotPermitted"
    return None


# ------------------------------------------------------------------------------------------
# KMS (AWS "Replicating encrypted objects", "Amazon S3 replication failure reasons")
# ------------------------------------------------------------------------------------------

# Key states a key can be used in; any other (Disabled, PendingDeletion, PendingImport,
# Unavailable, ...) is an invalid state for encryption and decryption (KMS "Key states").
_USABLE = {"Enabled"}
# The replica key must encrypt data keys: a symmetric encryption key.
_SYMMETRIC = {"SYMMETRIC_DEFAULT"}


def kms_encrypted(version: Any) -> bool:
    """SSE-KMS or DSSE-KMS at rest (moto applies the bucket default at write time)."""
    return str(getattr(version, "encryption", None) or "").startswith("aws:kms")


def find_key(key_ref: str, account: str, region: str) -> Any | None:
    """A KMS key by ARN (key or alias ARN: their own account and region) or by key id / alias
    name (resolved in ``account`` and ``region``, the requester's, as S3 does)."""
    from moto.kms.models import kms_backends

    m = re.fullmatch(r"arn:aws[\w-]*:kms:([\w-]+):(\d{12}):(key|alias)/(.+)", key_ref or "")
    if m:
        region, account = m.group(1), m.group(2)
    try:
        backend = kms_backends[account][region]
        key_id = backend.any_id_to_key_id(key_ref)
    except Exception:  # noqa: BLE001 - unknown account/region/alias: not found
        return None
    return backend.keys.get(key_id) if key_id else None


def _key_policy_allows(key: Any, action: str, role_arn: str, role_account: str,
                       ctx: dict[str, str]) -> bool:
    """The key policy: an explicit Deny for the role wins; an Allow must name the role, or its
    account when the key is in that account (the default policy's root statement, which hands
    the decision to IAM). A cross-account key must name the role or its account explicitly."""
    stmts = parse_policy(getattr(key, "policy", None))

    def covers(stmt: dict[str, Any]) -> bool:
        return _principal_covers(stmt, role_arn, role_account)

    return evaluate(stmts, action, key.arn, ctx, covers) == "Allow"


def _kms_context(region: str, role_account: str, context_arn: str) -> dict[str, str]:
    return {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": role_account,
            "kms:EncryptionContext:aws:s3:arn": context_arn,
            "aws:PrincipalAccount": role_account}


def _check_source_key(version: Any, src: Any, role_arn: str, role_account: str,
                      stmts: list[dict[str, Any]], src_obj: str) -> str | None:
    """Replication decrypts the source object: its key must be usable and the role allowed
    ``kms:Decrypt`` by IAM and by the key policy. An object under the AWS managed ``aws/s3`` key
    (no key id recorded) needs no grant: that key's policy lets every principal of the account
    use it through S3."""
    key_ref = getattr(version, "kms_key_id", None)
    if not key_ref:
        return None
    key = find_key(key_ref, src.account_id, src.region_name)
    if key is None or getattr(key, "key_state", "Enabled") not in _USABLE:
        # AWS lists no SrcKmsKeyNotFound: a missing key is a key in an invalid state.
        return "SrcKmsKeyInvalidState"
    context_arn = f"arn:aws:s3:::{src.name}" if _truthy(getattr(version, "bucket_key_enabled", None)) \
        else src_obj
    ctx = _kms_context(src.region_name, role_account, context_arn)
    if evaluate(stmts, "kms:Decrypt", key.arn, ctx) != "Allow" or \
            not _key_policy_allows(key, "kms:Decrypt", role_arn, role_account, ctx):
        # AWS names no reason for this; an emulator code, so no test mistakes it for AWS's.
        return "EmulatorSrcKmsDecryptNotPermitted"
    return None


def _check_replica_key(rule: Any, dst: Any, role_arn: str, role_account: str,
                       stmts: list[dict[str, Any]], dst_obj: str) -> str | None:
    """The rule's ``ReplicaKmsKeyID``: it must exist in the destination bucket's region
    (``DstKmsKeyNotFound``), be enabled (``DstKmsKeyInvalidState``) and be a symmetric
    encryption key; the role must be allowed ``kms:Encrypt`` and ``kms:GenerateDataKey`` by IAM,
    and those and ``kms:Decrypt`` by the key policy (AWS-NOTES; a refusal shows up as
    ``DstPutObjectNotPermitted``, as AWS documents)."""
    key_ref = getattr(rule, "replica_kms_key", None)
    if not key_ref:
        return "DstKmsKeyNotFound"  # PutBucketReplication refuses this; kept for safety
    key = find_key(key_ref, role_account, dst.region_name)
    if key is None or key.region != dst.region_name:
        return "DstKmsKeyNotFound"
    if getattr(key, "key_state", "Enabled") not in _USABLE:
        return "DstKmsKeyInvalidState"
    if getattr(key, "key_spec", None) not in _SYMMETRIC or \
            (getattr(key, "key_usage", None) or "ENCRYPT_DECRYPT") != "ENCRYPT_DECRYPT":
        # An asymmetric or HMAC key cannot encrypt data keys; AWS names no reason for it.
        return "EmulatorDstKmsKeyNotSymmetric"
    ctx = _kms_context(dst.region_name, role_account, dst_obj)
    for action in ("kms:Encrypt", "kms:GenerateDataKey"):
        if evaluate(stmts, action, key.arn, ctx) != "Allow":
            return "DstPutObjectNotPermitted"
    for action in ("kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"):
        if not _key_policy_allows(key, action, role_arn, role_account, ctx):
            return "DstPutObjectNotPermitted"
    return None


def _truthy(v: Any) -> bool:
    return v is True or str(v).lower() == "true"


# ------------------------------------------------------------------------------------------
# the caller (iam:PassRole) and a role's plain permissions (Batch Operations' own writes)
# ------------------------------------------------------------------------------------------


def caller_statements(account: str, access_key: str | None) -> tuple[str, list[dict[str, Any]]] | None:
    """The ARN and identity-policy statements of the caller behind ``access_key``, when the
    emulator models it: an assumed role that exists in IAM, or an IAM user (inline and attached
    policies) that is in no group. ``None`` otherwise: the emulator lets tests assume roles that
    do not exist, and such a caller has no policies to evaluate (README gap)."""
    from moto.iam.models import iam_backends

    try:
        backend = iam_backends[account]["global"]
        ak = backend.access_keys.get(access_key or "")
    except KeyError:
        return None
    if ak is None:
        return None
    if getattr(ak, "role_arn", None):
        role = find_role(ak.role_arn)
        return (ak.role_arn, role_statements(role)) if role is not None else None
    user = backend.users.get(getattr(ak, "user_name", None) or "")
    if user is None or any(user in getattr(g, "users", []) for g in backend.groups.values()):
        return None
    return user.arn, role_statements(user)


def role_allows(role_arn: str, action: str, resource: str, bucket: Any) -> bool:
    """Whether ``role_arn`` may perform ``action`` on ``resource`` of ``bucket``: its own
    policies allow it, the bucket policy does not deny it, and (another account's bucket) the
    bucket policy allows it. A role that does not exist may do nothing."""
    role = find_role(role_arn)
    parts = _split_role_arn(role_arn)
    if role is None or parts is None:
        return False
    role_account = parts[0]
    ctx = {"s3:ResourceAccount": bucket.account_id, "aws:ResourceAccount": bucket.account_id,
           "aws:PrincipalAccount": role_account, "aws:PrincipalArn": role_arn}
    if evaluate(role_statements(role), action, resource, ctx) != "Allow":
        return False
    by_bucket = evaluate(parse_policy(getattr(bucket, "policy", None)), action, resource, ctx,
                         lambda st: _principal_covers(st, role_arn, role_account))
    if by_bucket == "Deny":
        return False
    return bucket.account_id == role_account or by_bucket == "Allow"
