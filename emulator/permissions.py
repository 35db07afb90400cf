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
  ``IfExists``; ``ForAnyValue:``/``ForAllValues:`` prefixes are read as the plain operator) on the
  keys ``aws:SourceAccount``, ``aws:SourceArn``, ``s3:ResourceAccount``,
  ``aws:ResourceAccount``, ``aws:PrincipalAccount``, ``aws:PrincipalArn``; ``Bool`` on
  ``aws:SecureTransport`` (always ``true``: S3 replicates over TLS), and ``Null`` on those keys.
  A condition on any other key, or with any other operator, is never guessed: the version fails
  with ``EmulatorUnsupportedCondition`` (not an AWS code) and the emulator logs which.

Checks, in order, and their failure codes
-----------------------------------------
1. role missing / not trusted                                  -> ``AssumeRoleNotPermitted``
2. ``s3:GetObjectVersionForReplication`` on the source object  -> ``SrcGetObjectNotPermitted``
3. (batch only) ``s3:InitiateReplication`` on the source object -> ``InitiateReplicationNotPermitted``
4. destination bucket missing                                  -> ``DstBucketNotFound``
5. destination bucket not versioned                            -> ``DstBucketUnversioned``
5a. Object Lock source, destination without Object Lock         -> ``DstBucketObjectLockConfigMissing``
6. ``s3:ReplicateObject`` (``s3:ReplicateDelete`` for a delete marker) on the destination object,
   by the role's policies and by the destination bucket policy -> ``DstPutObjectNotPermitted``
   (``DstDelObjNotPermitted`` for a delete marker)
7. object has tags: ``s3:ReplicateTags`` likewise               -> ``DstPutTaggingNotPermitted``

Not modelled: SCPs, permission boundaries, session policies, KMS, ACLs, Object Lock, object
ownership override (``s3:ObjectOwnerOverrideToBucketOwner``), ``iam:PassRole``.
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


def _conditions_hold(stmt: dict[str, Any], context: dict[str, str]) -> bool:
    cond = stmt.get("Condition")
    if not isinstance(cond, dict):
        return True
    ctx = {k.lower(): v for k, v in context.items()}
    # S3 replicates over TLS (the request the policy sees is a secure one).
    ctx.setdefault("aws:securetransport", "true")
    for raw_op, pairs in cond.items():
        if not isinstance(pairs, dict):
            raise UnsupportedCondition(f"{raw_op}: not a key/value block")
        op = raw_op.split(":", 1)[-1]  # ForAnyValue:StringEquals -> StringEquals
        if_exists = op.endswith("IfExists")
        if if_exists:
            op = op[: -len("IfExists")]
        if op == "Null":
            # {"Null": {"key": "true"}}: holds when the key is absent (IAM condition operators).
            for key, expected in pairs.items():
                if key.lower() not in _KNOWN_KEYS | {"aws:securetransport"}:
                    raise UnsupportedCondition(f"Null on {key}")
                absent = key.lower() not in ctx
                want_absent = str(_as_list(expected)[0]).lower() == "true"
                if absent != want_absent:
                    return False
            continue
        if op == "Bool":
            for key, expected in pairs.items():
                k = key.lower()
                if k != "aws:securetransport":
                    raise UnsupportedCondition(f"Bool on {key}")
                wanted = [str(e).lower() for e in _as_list(expected)]
                if ctx[k] not in wanted:
                    return False
            continue
        if op not in _STRING_OPS:
            raise UnsupportedCondition(raw_op)
        for key, expected in pairs.items():
            k = key.lower()
            if k not in _KNOWN_KEYS:
                raise UnsupportedCondition(f"{raw_op} on {key}")
            value = ctx.get(k)
            if value is None:
                if if_exists:
                    continue
                if op.startswith(("StringNot", "ArnNot")):
                    continue  # negated operators match when the key is absent
                return False
            wanted = [str(e) for e in _as_list(expected)]
            if op == "StringEquals":
                ok = value in wanted
            elif op == "StringNotEquals":
                ok = value not in wanted
            elif op in ("StringLike", "ArnLike", "ArnEquals"):
                ok = _matches_any(wanted, value, False)
            else:  # StringNotLike, ArnNotLike, ArnNotEquals
                ok = not _matches_any(wanted, value, False)
            if not ok:
                return False
    return True


def evaluate(statements: list[dict[str, Any]], action: str, resource: str,
             context: dict[str, str], principal_ok: Any = None) -> str:
    """``"Deny"`` (explicit), ``"Allow"`` or ``"Implicit"`` for one action on one resource.

    ``principal_ok``: for resource policies, a callable telling whether a statement's
    ``Principal`` covers the caller; identity policies pass ``None``.
    """
    allowed = False
    for stmt in statements:
        if principal_ok is not None and not principal_ok(stmt):
            continue
        if not _action_matches(stmt, action) or not _resource_matches(stmt, resource):
            continue
        if not _conditions_hold(stmt, context):
            continue
        effect = str(stmt.get("Effect", "")).capitalize()
        if effect == "Deny":
            return "Deny"
        if effect == "Allow":
            allowed = True
    return "Allow" if allowed else "Implicit"


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
                      source_arn: str | None = None) -> str | None:
    """The AWS replication failure code for replicating ``src_bucket/key`` into
    ``dst_bucket`` with ``role_arn``, or ``None`` when everything AWS checks holds.

    ``service``: ``"batchoperations"`` (S3 Batch Replication job: trust principal
    ``batchoperations.s3.amazonaws.com`` and ``s3:InitiateReplication`` needed) or ``"s3"``
    (live replication: trust principal ``s3.amazonaws.com``). ``source_arn``: the job ARN or
    source bucket ARN, offered to ``aws:SourceArn`` conditions of the trust policy.
    """
    try:
        return _check_replication(src_account, role_arn, src_bucket, key, dst_bucket, service,
                                  is_delete_marker, has_tags, source_arn)
    except UnsupportedCondition as exc:
        import logging

        logging.getLogger("crossrep_emulator").error(
            "cannot evaluate the condition %s (replicating %s/%s): failing the version", exc,
            src_bucket, key)
        return "EmulatorUnsupportedCondition"


def _check_replication(src_account: str, role_arn: str, src_bucket: str, key: str,
                       dst_bucket: str, service: str, is_delete_marker: bool, has_tags: bool,
                       source_arn: str | None) -> str | None:
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

    dst = find_bucket(dst_bucket)
    if dst is None:
        return "DstBucketNotFound"
    if not dst.is_versioned:
        return "DstBucketUnversioned"
    # "To replicate objects from a source bucket with Object Lock enabled, the destination
    # bucket must also have Object Lock enabled" (AWS "Amazon S3 replication failure reasons").
    src = find_bucket(src_bucket)
    if getattr(src, "object_lock_enabled", False) and not getattr(dst, "object_lock_enabled", False):
        return "DstBucketObjectLockConfigMissing"
    dst_account = dst.account_id
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
    if has_tags and not allowed("s3:ReplicateTags"):
        return "DstPutTaggingNotPermitted"
    return None
