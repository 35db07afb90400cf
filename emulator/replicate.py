"""Live S3 replication for the crossrep emulator (test infrastructure only; see README.md).

moto 5.2.1 stores replication configurations but never replicates. ``crossrep_emulator.py``'s
middleware calls :func:`after_write` after every S3 request moto answered; for a successful

  PutObject, CopyObject, CompleteMultipartUpload,
  DeleteObject / DeleteObjects without a version id (they create a delete marker)

on a bucket whose stored replication XML (fix 1) has a matching *enabled* rule, the new version is
marked ``x-amz-replication-status: PENDING`` before the response leaves, and one task per
destination is queued. Rule choice, like S3: the rules whose filter (V1 ``Prefix``; V2 ``Filter``
empty / ``Prefix`` / ``Tag`` / ``And``, tags = the new version's tags) matches; per destination
bucket the one with the highest ``Priority`` wins (several destinations = multi-destination
replication); a delete marker only goes to destinations whose winning rule has
``DeleteMarkerReplication`` ``Enabled`` (V1 rules: always). Deleting a specific version
(``versionId``) is never replicated, and neither are replicas (they are written straight into
moto, never through HTTP, so they never reach this hook).

One daemon worker thread runs the tasks, each ``CROSSREP_EMULATOR_REPLICATION_MS`` (server
environment, default 50) after the write, in order: :func:`permissions.check_replication` with
service ``s3`` (trust principal ``s3.amazonaws.com``, no ``s3:InitiateReplication``), then
``batch.write_replica`` (same version id, content, metadata, tags, the rule's storage class, status
``REPLICA``). When every destination of a version is done, the source version becomes
``COMPLETED``, or ``FAILED`` if any failed; failures go to ``GET /_crossrep/replication-failures``
(``source: "live"``, served by batch.py) and, as ``s3:Replication:OperationFailedReplication``
events, to the source bucket's notification destinations when the rule has metrics (events.py).

  GET /_crossrep/replication/idle[?timeout=S] -> {"pending": N}  queued + running tasks; with
      ``timeout`` it first waits (up to S seconds) for the queue to drain.

``POST /moto-api/reset`` calls :func:`reset`: the queue and the bookkeeping are dropped.
"""

from __future__ import annotations

import collections
import datetime as dt
import logging
import os
import threading
import time
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, unquote

import batch
import encryption
import events
import permissions

LOG = logging.getLogger("crossrep_emulator.replicate")
WRITE_OPERATIONS = {"PutObject", "CopyObject", "CompleteMultipartUpload", "DeleteObject",
                    "DeleteObjects"}

Task = collections.namedtuple("Task", "due generation account bucket key version_id role_arn rule")

_COND = threading.Condition()  # guards _QUEUE, _RUNNING, _GENERATION; lock order: batch._LOCK, then _COND
_QUEUE: collections.deque[Task] = collections.deque()
_RUNNING = 0
_GENERATION = 0
_WORKER: threading.Thread | None = None
# (bucket, key, version id) -> [destinations left, any failed]; guarded by batch._LOCK
_OUTSTANDING: dict[tuple[str, str, str], list[Any]] = {}


def _delay() -> float:
    try:
        return max(0.0, float(os.environ.get("CROSSREP_EMULATOR_REPLICATION_MS", "50"))) / 1000.0
    except ValueError:
        return 0.05


# --------------------------------------------------------------------------------------------
# the hook (request thread)
# --------------------------------------------------------------------------------------------


def after_write(environ: dict[str, Any], entry: dict[str, Any], answered: dict[str, Any],
                result: Any) -> Any:
    """Middleware hook after moto answered; returns the (possibly buffered) WSGI result.
    Never raises: replication problems must not break the request."""
    if entry.get("service") != "s3" or entry.get("operation") not in WRITE_OPERATIONS:
        return result
    if not 200 <= answered.get("status", 500) < 300:
        return result
    body = None
    if entry["operation"] == "DeleteObjects":  # the created markers are only in the response body
        body = b"".join(result)
        if hasattr(result, "close"):
            result.close()
        result = [body]
    try:
        headers = {k.lower(): v for k, v in answered.get("headers") or []}
        _enqueue_new_versions(environ, entry["operation"], headers, body)
    except Exception:  # noqa: BLE001
        LOG.exception("live replication hook failed")
    return result


def _bucket_and_key(environ: dict[str, Any]) -> tuple[str, str]:
    raw = environ.get("RAW_URI") or environ.get("REQUEST_URI")
    if raw:
        path = unquote(raw.split("?", 1)[0])
    else:  # PEP 3333: PATH_INFO is already unquoted, as latin-1
        path = environ.get("PATH_INFO", "").encode("latin-1").decode("utf-8", "replace")
    if "://" in path:  # absolute-form request target
        path = "/" + path.split("://", 1)[1].split("/", 1)[-1]
    parts = path.lstrip("/").split("/", 1)
    return parts[0], (parts[1] if len(parts) > 1 else "")


def _enqueue_new_versions(environ: dict[str, Any], operation: str, headers: dict[str, str],
                          body: bytes | None) -> None:
    bucket_name, key = _bucket_and_key(environ)
    qs = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    if operation == "DeleteObject" and "versionId" in qs:
        return  # deleting a specific version is never replicated (AWS)
    bucket = permissions.find_bucket(bucket_name)
    if bucket is None or not getattr(bucket, batch.REPLICATION_ATTR, None):
        return
    if operation == "DeleteObjects":
        new = []
        root = ET.fromstring(body or b"<x/>")
        for d in batch._children(root, "Deleted"):
            if batch._text(d, "VersionId") is None and batch._text(d, "DeleteMarkerVersionId"):
                new.append((batch._text(d, "Key") or "", batch._text(d, "DeleteMarkerVersionId")))
    else:
        new = [(key, headers.get("x-amz-version-id"))]  # CopyObject: may be absent -> latest
    with batch._LOCK:
        for k, vid in new:
            _enqueue(bucket, k, vid)


def _enqueue(bucket: Any, key: str, version_id: str | None) -> None:
    versions = bucket.keys.getlist(key, [])
    version = next((v for v in versions if v.version_id == version_id), None) if version_id else (
        versions[-1] if versions else None)
    if version is None or batch.replication_status(version, bucket.name) == "REPLICA":
        return
    rules = batch.replication_rules(bucket) or []
    root = ET.fromstring(getattr(bucket, batch.REPLICATION_ATTR))
    role_arn = batch._text(root, "Role") or ""
    marker = batch._is_delete_marker(version)
    if not marker and batch.archived(version):
        return  # not replicated, no status (see batch.archived)
    tags = {} if marker else batch._tags_of(batch._backend_of(bucket), version)
    kms = not marker and batch.kms_encrypted(version)
    winners: dict[str, batch.Rule] = {}  # destination bucket -> highest-priority matching rule
    for rule in rules:
        if rule.matches(key, tags, kms):
            best = winners.get(rule.dest_bucket)
            if best is None or rule.priority > best.priority:
                winners[rule.dest_bucket] = rule
    chosen = [r for r in winners.values() if not marker or r.delete_markers]
    if not chosen:
        return
    batch.set_replication_status(version, bucket.name, "PENDING")
    _OUTSTANDING[(bucket.name, key, version.version_id)] = [len(chosen), False]
    due = time.monotonic() + _delay()
    with _COND:
        for rule in chosen:
            _QUEUE.append(Task(due, _GENERATION, bucket.account_id, bucket.name, key,
                               version.version_id, role_arn, rule))
        _start_worker()
        _COND.notify_all()


# --------------------------------------------------------------------------------------------
# the worker
# --------------------------------------------------------------------------------------------


def _start_worker() -> None:  # caller holds _COND
    global _WORKER
    if _WORKER is None or not _WORKER.is_alive():
        _WORKER = threading.Thread(target=_work, name="live-replication", daemon=True)
        _WORKER.start()


def _work() -> None:
    global _RUNNING
    while True:
        with _COND:
            while not _QUEUE or _QUEUE[0].due > time.monotonic():
                _COND.wait(None if not _QUEUE else max(0.001, _QUEUE[0].due - time.monotonic()))
            task = _QUEUE.popleft()
            _RUNNING += 1
        try:
            _run(task)
        except Exception:  # noqa: BLE001 - the worker must survive anything
            LOG.exception("live replication task failed")
        finally:
            with _COND:
                _RUNNING -= 1
                _COND.notify_all()


def _run(task: Task) -> None:
    with batch._LOCK:
        if task.generation != _GENERATION:
            return  # reset since
        ident = (task.bucket, task.key, task.version_id)
        src = permissions.find_bucket(task.bucket)
        versions = src.keys.getlist(task.key, []) if src is not None else []
        version = next((v for v in versions if v.version_id == task.version_id), None)
        if version is None:  # deleted (by version id) before it replicated: nothing to do
            _OUTSTANDING.pop(ident, None)
            return
        marker = batch._is_delete_marker(version)
        tags = {} if marker else batch._tags_of(batch._backend_of(src), version)
        rule = task.rule
        try:
            code = permissions.check_replication(
                task.account, task.role_arn, task.bucket, task.key, rule.dest_bucket, service="s3",
                is_delete_marker=marker, has_tags=bool(tags), source_arn=f"arn:aws:s3:::{task.bucket}",
                version=version, rule=rule)
            code = code or encryption.replica_refused(version, rule.dest_bucket)  # SSE-C blocked
            if code is None:
                batch.write_replica(version, rule.dest_bucket, rule.storage_class, tags,
                                    rule.replica_kms_key)
        except Exception as exc:  # noqa: BLE001
            LOG.exception("live replication of %s failed", ident)
            code = "InternalError"
            batch.FAILURE_MESSAGES.setdefault("InternalError", f"emulator error: {exc}")
        if code:
            batch.record_failure({
                "job_id": None, "account": task.account, "bucket": task.bucket, "key": task.key,
                "version_id": task.version_id, "failure_code": code,
                "destination_bucket": rule.dest_bucket, "rule_id": rule.id, "service": "s3",
                "source": "live", "time": batch._iso(dt.datetime.now(dt.timezone.utc))})
            # the failure event to the bucket's notification destinations (events.py)
            events.replication_failed(src, version, rule, code, marker)
        state = _OUTSTANDING.setdefault(ident, [1, False])
        state[0] -= 1
        state[1] = state[1] or bool(code)
        if state[0] <= 0:
            del _OUTSTANDING[ident]
            batch.set_replication_status(version, task.bucket, "FAILED" if state[1] else "COMPLETED")


# --------------------------------------------------------------------------------------------
# endpoints and reset
# --------------------------------------------------------------------------------------------


def pending() -> int:
    with _COND:
        return len(_QUEUE) + _RUNNING


def crossrep_endpoint(method: str, path: str, qs: dict[str, list[str]]) -> tuple[str, Any] | None:
    """``GET /_crossrep/replication/idle[?timeout=S]`` -> ``{"pending": N}``; None if not ours."""
    if path != "/_crossrep/replication/idle" or method != "GET":
        return None
    try:
        timeout = min(60.0, float((qs.get("timeout") or ["0"])[0]))
    except ValueError:
        return "400 Bad Request", {"error": "timeout must be a number of seconds"}
    deadline = time.monotonic() + timeout
    with _COND:
        while len(_QUEUE) + _RUNNING and time.monotonic() < deadline:
            _COND.wait(deadline - time.monotonic())
        return "200 OK", {"pending": len(_QUEUE) + _RUNNING}


def reset() -> None:
    """``POST /moto-api/reset``: drop queued tasks; a running one finishes without effect."""
    global _GENERATION
    with batch._LOCK:
        _OUTSTANDING.clear()
        with _COND:
            _GENERATION += 1
            _QUEUE.clear()
            _COND.notify_all()
