"""S3 Batch Operations (S3 Control job API subset) with S3 Batch Replication, for the emulator.

Test infrastructure (SPEC section 7). moto 5.2.1 has no batch jobs (``/v20180820/jobs`` -> 404)
and never replicates. ``crossrep_emulator.py`` hands every ``/v20180820/jobs...`` request to
:func:`handle` (after its latency, request log and fault injection) and ``/_crossrep/
replication-failures`` to :func:`crossrep_endpoint`; ``POST /moto-api/reset`` calls :func:`reset`.

Endpoints (path-style on the emulator's port, SigV4 service ``s3``; the job's account is the
``x-amz-account-id`` header (else the caller's account), its region the credential-scope region):

  POST /v20180820/jobs                        CreateJob        -> <CreateJobResult><JobId>
  GET  /v20180820/jobs?jobStatuses=&nextToken=&maxResults=     ListJobs
  GET  /v20180820/jobs/{id}                   DescribeJob
  POST /v20180820/jobs/{id}/status?requestedJobStatus=Ready|Cancelled[&statusUpdateReason=]
  GET  /v20180820/jobs/{id}/tagging           GetJobTagging

Only ``Operation/S3ReplicateObject`` with a ``ManifestGenerator/S3JobManifestGenerator`` (or a
``Manifest`` of format ``S3BatchOperations_CSV_20180820`` with fields Bucket, Key, VersionId) is
supported. Response XML follows the s3control model (lists serialised as ``<member>``, timestamps
ISO 8601 UTC); errors are ``<ErrorResponse><Error><Code>..`` (wrapped, as s3control clients expect).

Execution (one daemon thread per job): New -> Preparing -> (Suspended until UpdateJobStatus
Ready, when ConfirmationRequired) -> Ready -> Active -> Complete; Cancelled (Cancelling first)
on request; Failed with FailureReasons when preparing finds the source bucket in another region
(``SrcBucketInvalidRegion``), no replication configuration (``SrcBucketReplicationConfigMissing``),
etc. Each task sleeps ``CROSSREP_EMULATOR_TASK_MS`` (default 0) so progress is observable.
See README.md ("S3 Batch Replication") for the manifest and completion-report layouts.
"""

from __future__ import annotations

import base64
import copy
import csv
import datetime as dt
import gzip
import hashlib
import io
import json
import os
import re
import threading
import time
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import parse_qs, quote_plus

import encryption
import permissions

# Name of the bucket attribute holding the raw replication XML stored by crossrep_emulator.py
# (fix 1); crossrep_emulator sets this module attribute to its own constant at import.
REPLICATION_ATTR = "crossrep_replication_xml"
STATUS_ATTR = "crossrep_replication_status"  # (status, (bucket, key, version id)) on a version
NS = "http://awss3control.amazonaws.com/doc/2018-08-20/"
TERMINAL = {"Complete", "Cancelled", "Failed"}
REPORT_SCHEMA = "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"

_LOCK = threading.RLock()
_JOBS: dict[tuple[str, str], dict[str, "Job"]] = {}  # (account, region) -> id -> job
_TOKENS: dict[tuple[str, str, str], str] = {}  # (account, region, ClientRequestToken) -> id
_FAILURES: list[dict[str, Any]] = []  # every failed replication task, for tests

FAILURE_MESSAGES = {
    "AssumeRoleNotPermitted": "Amazon S3 can't assume the IAM role specified in the Batch Operations job.",
    "SrcGetObjectNotPermitted": "Amazon S3 is unable to access the object in the source bucket for replication; s3:GetObjectVersionForReplication may be missing.",
    "InitiateReplicationNotPermitted": "Amazon S3 is unable to initiate replication on the object; s3:InitiateReplication may be missing.",
    "DstBucketNotFound": "Amazon S3 is unable to find the destination bucket specified in the replication configuration.",
    "DstBucketUnversioned": "Versioning is not enabled on the S3 destination bucket.",
    "DstBucketObjectLockConfigMissing": "To replicate objects from a source bucket with Object Lock enabled, the destination bucket must also have Object Lock enabled.",
    "DstPutObjectNotPermitted": "Amazon S3 is unable to replicate objects to the destination bucket; s3:ReplicateObject may be missing.",
    "DstDelObjNotPermitted": "Amazon S3 is unable to replicate delete markers to the destination bucket; s3:ReplicateDelete may be missing.",
    "DstPutTaggingNotPermitted": "Amazon S3 is unable to write object tags to the destination bucket; s3:ReplicateTags may be missing.",
    "SrcObjectNotEligible": "The object is not eligible for replication: it matches no enabled rule of the replication configuration.",
    "SrcObjectNotFound": "The source object version no longer exists.",
}
FAILURE_MESSAGES.update(encryption.FAILURE_MESSAGES)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


# --------------------------------------------------------------------------------------------
# small XML helpers
# --------------------------------------------------------------------------------------------


def _esc(s: Any) -> str:
    return (str(s).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"))


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    if el is None:
        return None
    for c in el:
        if _local(c.tag) == name:
            return c
    return None


def _children(el: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _text(el: ET.Element | None, name: str) -> str | None:
    c = _child(el, name)
    return None if c is None else (c.text or "").strip()


def _items(el: ET.Element | None) -> list[ET.Element]:
    """Members of a serialised list (``<member>`` or any element name)."""
    return [] if el is None else list(el)


def _bool(v: str | None, default: bool = False) -> bool:
    return default if v is None else v.strip().lower() == "true"


def _iso(t: dt.datetime | None) -> str:
    if t is None:
        return ""
    return t.astimezone(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _parse_time(s: str | None) -> dt.datetime | None:
    if not s:
        return None
    try:
        t = dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
    except ValueError:
        try:
            t = dt.datetime.fromtimestamp(float(s), dt.timezone.utc)
        except ValueError:
            raise ApiError(400, "InvalidRequest", f"Invalid timestamp: {s}")
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _as_utc(t: dt.datetime) -> dt.datetime:
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def _el(name: str, value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{_esc(value)}</{name}>"


def _bucket_from_arn(arn: str | None) -> str:
    if not arn:
        return ""
    return arn.split(":::", 1)[1].split("/", 1)[0] if ":::" in arn else arn


# --------------------------------------------------------------------------------------------
# replication status on object versions (GetObject / HeadObject header)
# --------------------------------------------------------------------------------------------


def _identity(version: Any) -> tuple[str, str, str]:
    return (getattr(version, "bucket_name", None) or "", version.name, version.version_id)


def set_replication_status(version: Any, bucket: str, status: str) -> None:
    """Mark a version (FakeKey or FakeDeleteMarker) COMPLETED / FAILED / REPLICA / PENDING."""
    setattr(version, STATUS_ATTR, (status, (bucket, version.name, version.version_id)))


def replication_status(version: Any, bucket: str) -> str:
    """``NONE`` for a version never touched by replication (the batch filter's notion)."""
    mark = getattr(version, STATUS_ATTR, None)
    if mark and mark[1] == (bucket, version.name, version.version_id):
        return mark[0]
    return "NONE"


def _install_header_patch() -> None:
    from moto.s3.models import FakeKey

    if getattr(FakeKey, "_crossrep_status_patched", False):
        return
    orig = FakeKey.response_dict

    def response_dict(self: Any) -> dict[str, Any]:
        res = orig.fget(self)
        mark = getattr(self, STATUS_ATTR, None)
        # a copy of a marked key (CopyObject deep-copies) has another identity: no header
        if mark and mark[1] == _identity(self):
            res["x-amz-replication-status"] = mark[0]
        return res

    FakeKey.response_dict = property(response_dict)  # type: ignore[assignment]
    FakeKey._crossrep_status_patched = True  # type: ignore[attr-defined]


_install_header_patch()


# --------------------------------------------------------------------------------------------
# replication configuration (raw XML stored by crossrep_emulator fix 1)
# --------------------------------------------------------------------------------------------


class Rule:
    def __init__(self, el: ET.Element, index: int) -> None:
        self.id = _text(el, "ID") or f"rule-{index}"
        self.enabled = _text(el, "Status") == "Enabled"
        self.priority = int(_text(el, "Priority") or 0)
        filt = _child(el, "Filter")
        self.v2 = filt is not None
        self.prefix = _text(el, "Prefix") or ""  # V1
        self.tags: dict[str, str] = {}
        if filt is not None:
            and_el = _child(filt, "And")
            base = and_el if and_el is not None else filt
            self.prefix = _text(base, "Prefix") or ""
            for t in _children(base, "Tag"):
                self.tags[_text(t, "Key") or ""] = _text(t, "Value") or ""
        dmr = _text(_child(el, "DeleteMarkerReplication"), "Status")
        # V1 rules replicate delete markers; V2 only with DeleteMarkerReplication Enabled
        self.delete_markers = (dmr == "Enabled") if self.v2 else True
        dest = _child(el, "Destination")
        self.dest_bucket = _bucket_from_arn(_text(dest, "Bucket"))
        self.storage_class = _text(dest, "StorageClass")
        ssc = _child(_child(el, "SourceSelectionCriteria"), "SseKmsEncryptedObjects")
        self.sse_kms = _text(ssc, "Status") == "Enabled"
        self.replica_kms_key = _text(_child(dest, "EncryptionConfiguration"), "ReplicaKmsKeyID")
        self.owner_override = _text(_child(dest, "AccessControlTranslation"), "Owner") == "Destination"
        # replication metrics: S3 publishes replication failure events only for such rules (events.py)
        self.metrics = _text(_child(dest, "Metrics"), "Status") == "Enabled"

    def matches(self, key: str, tags: dict[str, str], kms: bool = False) -> bool:
        """Whether the rule replicates this object. SSE-KMS and DSSE-KMS objects only with
        `SourceSelectionCriteria.SseKmsEncryptedObjects` Enabled (AWS "Replicating encrypted
        objects": "by default, Amazon S3 doesn't replicate objects that are stored at rest
        using server-side encryption with AWS KMS keys")."""
        return (self.enabled and key.startswith(self.prefix)
                and all(tags.get(k) == v for k, v in self.tags.items())
                and (not kms or self.sse_kms))


# Storage classes whose objects are not replicated until restored (AWS "What isn't replicated
# with replication configurations"): S3 Glacier Flexible Retrieval and Deep Archive.
_ARCHIVED = {"GLACIER", "DEEP_ARCHIVE"}


kms_encrypted = permissions.kms_encrypted


def archived(version: Any) -> bool:
    return getattr(version, "storage_class", None) in _ARCHIVED


def replication_rules(bucket: Any) -> list[Rule] | None:
    raw = getattr(bucket, REPLICATION_ATTR, None)
    if not raw:
        return None
    try:
        root = ET.fromstring(raw)
    except ET.ParseError:
        return None
    return [Rule(r, i) for i, r in enumerate(_children(root, "Rule"))]


def matching_rule(rules: list[Rule], key: str, tags: dict[str, str],
                  kms: bool = False) -> Rule | None:
    """The enabled rule that wins for this key: highest Priority (larger number wins)."""
    found = [r for r in rules if r.matches(key, tags, kms)]
    return max(found, key=lambda r: r.priority) if found else None


# --------------------------------------------------------------------------------------------
# jobs
# --------------------------------------------------------------------------------------------


class Job:
    def __init__(self, account: str, region: str, root: ET.Element) -> None:
        self.id = str(uuid.uuid4())
        self.account, self.region = account, region
        self.arn = f"arn:aws:s3:{region}:{account}:job/{self.id}"
        self.status = "New"
        self.created = dt.datetime.now(dt.timezone.utc)
        self.terminated: dt.datetime | None = None
        self.suspended_date: dt.datetime | None = None
        self.suspended_cause: str | None = None
        self.active_started: float | None = None
        self.active_seconds = 0.0
        self.status_update_reason: str | None = None
        self.failure_reasons: list[tuple[str, str]] = []
        self.total = self.succeeded = self.failed = 0
        self.generated_manifest: tuple[str, str] | None = None  # (object ARN, ETag)
        self.results: list[tuple[str, str, str, str, int, str, str]] = []
        self.ready = threading.Event()
        self.cancel = threading.Event()
        self.abandoned = False  # set by reset(): the thread stops touching moto state

        self.description = _text(root, "Description")
        self.role_arn = _text(root, "RoleArn") or ""
        self.confirmation_required = _bool(_text(root, "ConfirmationRequired"))
        self.priority = int(_text(root, "Priority") or 0)
        self.tags = [(_text(t, "Key") or "", _text(t, "Value") or "")
                     for t in _items(_child(root, "Tags"))]
        rep = _child(root, "Report")
        self.report_enabled = _bool(_text(rep, "Enabled"))
        self.report_bucket_arn = _text(rep, "Bucket")
        self.report_format = _text(rep, "Format")
        self.report_prefix = _text(rep, "Prefix")
        self.report_scope = _text(rep, "ReportScope")
        self.report_owner = _text(rep, "ExpectedBucketOwner")

        gen = _child(_child(root, "ManifestGenerator"), "S3JobManifestGenerator")
        self.has_generator = gen is not None
        self.manifest_el = _child(root, "Manifest")
        self.src_bucket = _bucket_from_arn(_text(gen, "SourceBucket"))
        self.src_bucket_arn = _text(gen, "SourceBucket")
        self.gen_expected_owner = _text(gen, "ExpectedBucketOwner")
        self.enable_manifest_output = _bool(_text(gen, "EnableManifestOutput"))
        out = _child(gen, "ManifestOutputLocation")
        self.out_bucket_arn = _text(out, "Bucket")
        self.out_prefix = _text(out, "ManifestPrefix")
        self.out_format = _text(out, "ManifestFormat")
        self.out_owner = _text(out, "ExpectedManifestBucketOwner")
        filt = _child(gen, "Filter")
        self.f_eligible = _bool(_text(filt, "EligibleForReplication"), False)
        self.f_after = _parse_time(_text(filt, "CreatedAfter"))
        self.f_before = _parse_time(_text(filt, "CreatedBefore"))
        self.f_statuses = [(s.text or "").strip() for s in _items(_child(filt, "ObjectReplicationStatuses"))]
        knc = _child(filt, "KeyNameConstraint")
        self.f_prefixes = [(s.text or "") for s in _items(_child(knc, "MatchAnyPrefix"))]
        self.f_suffixes = [(s.text or "") for s in _items(_child(knc, "MatchAnySuffix"))]
        self.f_substrings = [(s.text or "") for s in _items(_child(knc, "MatchAnySubstring"))]
        gt, lt = _text(filt, "ObjectSizeGreaterThanBytes"), _text(filt, "ObjectSizeLessThanBytes")
        self.f_size_gt = int(gt) if gt else None
        self.f_size_lt = int(lt) if lt else None
        self.f_storage = [(s.text or "").strip() for s in _items(_child(filt, "MatchAnyStorageClass"))]
        self.raw_filter = ET.tostring(filt, encoding="unicode") if filt is not None else ""

    # ---- XML -----------------------------------------------------------------------------

    def progress_xml(self) -> str:
        elapsed = self.active_seconds + (time.time() - self.active_started if self.active_started else 0)
        return ("<ProgressSummary>" + _el("TotalNumberOfTasks", self.total)
                + _el("NumberOfTasksSucceeded", self.succeeded)
                + _el("NumberOfTasksFailed", self.failed)
                + f"<Timers>{_el('ElapsedTimeInActiveSeconds', int(elapsed))}</Timers>"
                + "</ProgressSummary>")

    def generator_xml(self) -> str:
        if not self.has_generator:
            return ""
        out = ""
        if self.out_bucket_arn:
            out = ("<ManifestOutputLocation>" + _el("ExpectedManifestBucketOwner", self.out_owner)
                   + _el("Bucket", self.out_bucket_arn) + _el("ManifestPrefix", self.out_prefix)
                   + _el("ManifestFormat", self.out_format) + "</ManifestOutputLocation>")
        statuses = "".join(_el("member", s) for s in self.f_statuses)
        filt = ""
        if self.raw_filter:
            knc = ""
            if self.f_prefixes or self.f_suffixes or self.f_substrings:
                knc = ("<KeyNameConstraint>"
                       + ("<MatchAnyPrefix>" + "".join(_el("member", p) for p in self.f_prefixes) + "</MatchAnyPrefix>" if self.f_prefixes else "")
                       + ("<MatchAnySuffix>" + "".join(_el("member", p) for p in self.f_suffixes) + "</MatchAnySuffix>" if self.f_suffixes else "")
                       + ("<MatchAnySubstring>" + "".join(_el("member", p) for p in self.f_substrings) + "</MatchAnySubstring>" if self.f_substrings else "")
                       + "</KeyNameConstraint>")
            filt = ("<Filter>" + _el("EligibleForReplication", self.f_eligible)
                    + (_el("CreatedAfter", _iso(self.f_after)) if self.f_after else "")
                    + (_el("CreatedBefore", _iso(self.f_before)) if self.f_before else "")
                    + (f"<ObjectReplicationStatuses>{statuses}</ObjectReplicationStatuses>" if statuses else "")
                    + knc
                    + _el("ObjectSizeGreaterThanBytes", self.f_size_gt)
                    + _el("ObjectSizeLessThanBytes", self.f_size_lt)
                    + ("<MatchAnyStorageClass>" + "".join(_el("member", s) for s in self.f_storage) + "</MatchAnyStorageClass>" if self.f_storage else "")
                    + "</Filter>")
        return ("<ManifestGenerator><S3JobManifestGenerator>"
                + _el("ExpectedBucketOwner", self.gen_expected_owner)
                + _el("SourceBucket", self.src_bucket_arn) + out + filt
                + _el("EnableManifestOutput", self.enable_manifest_output)
                + "</S3JobManifestGenerator></ManifestGenerator>")

    def describe_xml(self) -> str:
        failures = "".join(
            f"<member>{_el('FailureCode', c)}{_el('FailureReason', r)}</member>"
            for c, r in self.failure_reasons)
        report = ("<Report>" + _el("Bucket", self.report_bucket_arn) + _el("Format", self.report_format)
                  + _el("Enabled", self.report_enabled) + _el("Prefix", self.report_prefix)
                  + _el("ReportScope", self.report_scope)
                  + _el("ExpectedBucketOwner", self.report_owner) + "</Report>")
        manifest = ""
        if self.manifest_el is not None:
            manifest = ET.tostring(self.manifest_el, encoding="unicode")
            manifest = re.sub(r"\s*xmlns(:\w+)?=\"[^\"]*\"", "", manifest)
            manifest = re.sub(r"<(/?)\w+:", r"<\1", manifest)
        gen_desc = ""
        if self.generated_manifest:
            arn, etag = self.generated_manifest
            gen_desc = ("<GeneratedManifestDescriptor>" + _el("Format", "S3InventoryReport_CSV_20211130")
                        + f"<Location>{_el('ObjectArn', arn)}{_el('ETag', etag)}</Location>"
                        + "</GeneratedManifestDescriptor>")
        return ("<Job>" + _el("JobId", self.id) + _el("ConfirmationRequired", self.confirmation_required)
                + _el("Description", self.description) + _el("JobArn", self.arn)
                + _el("Status", self.status) + manifest
                + "<Operation><S3ReplicateObject/></Operation>"
                + _el("Priority", self.priority) + self.progress_xml()
                + _el("StatusUpdateReason", self.status_update_reason)
                + (f"<FailureReasons>{failures}</FailureReasons>" if failures else "")
                + report + _el("CreationTime", _iso(self.created))
                + (_el("TerminationDate", _iso(self.terminated)) if self.terminated else "")
                + _el("RoleArn", self.role_arn)
                + (_el("SuspendedDate", _iso(self.suspended_date)) if self.suspended_date else "")
                + _el("SuspendedCause", self.suspended_cause)
                + self.generator_xml() + gen_desc + "</Job>")

    def list_xml(self) -> str:
        return ("<member>" + _el("JobId", self.id) + _el("Description", self.description)
                + _el("Operation", "S3ReplicateObject") + _el("Priority", self.priority)
                + _el("Status", self.status) + _el("CreationTime", _iso(self.created))
                + (_el("TerminationDate", _iso(self.terminated)) if self.terminated else "")
                + self.progress_xml() + "</member>")

    # ---- state -----------------------------------------------------------------------------

    def set_status(self, status: str) -> None:
        with _LOCK:
            if self.status == "Active" and self.active_started:
                self.active_seconds += time.time() - self.active_started
                self.active_started = None
            self.status = status
            if status == "Active":
                self.active_started = time.time()
            if status in TERMINAL:
                self.terminated = dt.datetime.now(dt.timezone.utc)

    def fail(self, code: str, reason: str) -> None:
        self.failure_reasons.append((code, reason))
        self.set_status("Failing")
        self.set_status("Failed")


# --------------------------------------------------------------------------------------------
# moto access
# --------------------------------------------------------------------------------------------


def _backend_of(bucket: Any) -> Any:
    from moto.s3.models import s3_backends

    entry = s3_backends.bucket_accounts.get(bucket.name)
    part = entry[0] if entry else "aws"
    return s3_backends[bucket.account_id][part]


def _tags_of(backend: Any, version: Any) -> dict[str, str]:
    try:
        tags = backend.tagger.list_tags_for_resource(version.arn).get("Tags", [])
    except Exception:  # noqa: BLE001
        return {}
    return {t["Key"]: t["Value"] for t in tags}


def _is_delete_marker(version: Any) -> bool:
    from moto.s3.models import FakeDeleteMarker

    return isinstance(version, FakeDeleteMarker)


def _put_report_object(bucket_name: str, key: str, data: bytes, content_type: str) -> str:
    bucket = permissions.find_bucket(bucket_name)
    if bucket is None:
        return ""
    backend = _backend_of(bucket)
    k = backend.put_object(bucket_name, key, data, disable_notification=True)
    k.set_metadata({"Content-Type": content_type})
    return k.etag


# --------------------------------------------------------------------------------------------
# the runner
# --------------------------------------------------------------------------------------------


def _task_delay() -> float:
    try:
        return max(0.0, float(os.environ.get("CROSSREP_EMULATOR_TASK_MS", "0"))) / 1000.0
    except ValueError:
        return 0.0


def _select_versions(job: Job, bucket: Any, rules: list[Rule]) -> list[tuple[Any, Rule | None]]:
    backend = _backend_of(bucket)
    chosen: list[tuple[Any, Rule | None]] = []
    for name, versions in sorted(list(bucket.keys.iterlists()), key=lambda kv: kv[0]):
        if job.f_prefixes and not any(name.startswith(p) for p in job.f_prefixes):
            continue
        if job.f_suffixes and not any(name.endswith(s) for s in job.f_suffixes):
            continue
        if job.f_substrings and not any(s in name for s in job.f_substrings):
            continue
        for v in sorted(list(versions), key=lambda x: _as_utc(x.last_modified)):
            marker = _is_delete_marker(v)
            if job.f_after and _as_utc(v.last_modified) < job.f_after:
                continue
            if job.f_before and _as_utc(v.last_modified) >= job.f_before:
                continue
            if not marker:
                if job.f_size_gt is not None and not v.size > job.f_size_gt:
                    continue
                if job.f_size_lt is not None and not v.size < job.f_size_lt:
                    continue
                if job.f_storage and v.storage_class not in job.f_storage:
                    continue
            if job.f_statuses and replication_status(v, bucket.name) not in job.f_statuses:
                continue
            tags = {} if marker else _tags_of(backend, v)
            kms = not marker and kms_encrypted(v)
            rule = None if (not marker and archived(v)) else matching_rule(rules, name, tags, kms)
            eligible = rule is not None and (not marker or rule.delete_markers)
            if not eligible:
                if job.f_eligible or marker:
                    continue
                rule = None
            chosen.append((v, rule))
    return chosen


def _write_generated_manifest(job: Job, tasks: list[tuple[Any, Rule | None]]) -> None:
    bucket = _bucket_from_arn(job.out_bucket_arn)
    base = f"{job.out_prefix.rstrip('/')}/job-{job.id}" if job.out_prefix else f"job-{job.id}"
    buf = io.StringIO()
    w = csv.writer(buf, quoting=csv.QUOTE_ALL, lineterminator="\n")
    for v, _ in tasks:
        w.writerow([job.src_bucket, quote_plus(v.name, safe="/"), v.version_id])
    data = gzip.compress(buf.getvalue().encode())
    data_key = f"{base}/data/{uuid.uuid4()}.csv.gz"
    _put_report_object(bucket, data_key, data, "application/x-gzip")
    manifest = {
        "sourceBucket": job.src_bucket,
        "destinationBucket": job.out_bucket_arn,
        "version": "2021-11-30",
        "creationTimestamp": str(int(time.time() * 1000)),
        "fileFormat": "CSV",
        "fileSchema": "Bucket, Key, VersionId",
        "files": [{"key": data_key, "size": len(data),
                   "MD5checksum": hashlib.md5(data).hexdigest()}],
    }
    etag = _put_report_object(bucket, f"{base}/manifest.json",
                              json.dumps(manifest, indent=2).encode(), "application/json")
    job.generated_manifest = (f"arn:aws:s3:::{bucket}/{base}/manifest.json", etag.strip('"'))


def _http_status_for(code: str) -> int:
    if code.endswith("NotPermitted"):
        return 403
    if code.endswith("NotFound"):
        return 404
    return 400


def _replicate(job: Job, src_bucket: Any, version: Any, rule: Rule | None) -> str | None:
    """One task. Returns the failure code, or None after writing the replica."""
    from moto.s3.models import FakeDeleteMarker

    src_backend = _backend_of(src_bucket)
    current = [v for v in src_bucket.keys.getlist(version.name, []) if v.version_id == version.version_id]
    if not current:
        return "SrcObjectNotFound"
    if rule is None:
        return "SrcObjectNotEligible"
    marker = isinstance(version, FakeDeleteMarker)
    tags = {} if marker else _tags_of(src_backend, version)
    code = permissions.check_replication(
        job.account, job.role_arn, src_bucket.name, version.name, rule.dest_bucket,
        service="batchoperations", is_delete_marker=marker, has_tags=bool(tags),
        source_arn=job.arn, version=version, rule=rule)
    code = code or encryption.replica_refused(version, rule.dest_bucket)  # SSE-C blocked
    if code:
        return code
    write_replica(version, rule.dest_bucket, rule.storage_class, tags, rule.replica_kms_key)
    return None


def write_replica(version: Any, dest_bucket: str, storage_class: str | None,
                  tags: dict[str, str], replica_kms_key: str | None = None) -> Any:
    """Write ``version`` (FakeKey or FakeDeleteMarker) into ``dest_bucket`` with the same version
    id, last-modified, content, ETag, metadata and tags, the given storage class (else the
    source's), inserted among the destination's versions by last-modified (the same version id
    is replaced: idempotent), marked ``REPLICA``. Shared with live replication (replicate.py).
    The caller holds ``_LOCK`` and has checked permissions (the bucket exists and is versioned)."""
    from moto.s3.models import FakeDeleteMarker

    dst_bucket = permissions.find_bucket(dest_bucket)
    dst_backend = _backend_of(dst_bucket)
    if isinstance(version, FakeDeleteMarker):
        replica = copy.copy(version)
        replica.__dict__.pop(STATUS_ATTR, None)
    else:
        replica = copy.deepcopy(version)
        replica.__dict__.pop(STATUS_ATTR, None)
        replica.bucket_name = dst_bucket.name
        replica.account_id = dst_bucket.account_id
        replica.region_name = dst_bucket.region_name
        replica._is_versioned = True
        if storage_class:
            replica._storage_class = storage_class
        if replica_kms_key and kms_encrypted(version):
            # SSE-KMS replicas are encrypted under the rule's replica key (AWS "Replicating
            # encrypted objects"); the key was checked by permissions.check_replication.
            replica.kms_key_id = replica_kms_key
    existing = [v for v in dst_bucket.keys.getlist(version.name, []) if v.version_id != version.version_id]
    merged = sorted(existing + [replica], key=lambda x: _as_utc(x.last_modified))
    dst_bucket.keys.setlist(version.name, merged)
    if tags:
        dst_backend.tagger.delete_all_tags_for_resource(replica.arn)
        dst_backend.tagger.tag_resource(replica.arn, [{"Key": k, "Value": v} for k, v in tags.items()])
    set_replication_status(replica, dst_bucket.name, "REPLICA")
    return replica


def _write_report(job: Job) -> None:
    if not job.report_enabled or not job.report_bucket_arn or not job.results:
        return
    bucket = _bucket_from_arn(job.report_bucket_arn)
    base = f"{job.report_prefix.rstrip('/')}/job-{job.id}" if job.report_prefix else f"job-{job.id}"
    results = []
    for status in ("succeeded", "failed"):
        if status == "succeeded" and job.report_scope == "FailedTasksOnly":
            continue
        rows = [r for r in job.results if r[3] == status]
        if not rows:
            continue
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        for b, k, vid, st, http, code, msg in rows:
            # column order as AWS writes the rows (see README): HTTP status before error code
            w.writerow([b, quote_plus(k, safe="/"), vid, st, http, code, msg])
        data = buf.getvalue().encode()
        key = f"{base}/results/{hashlib.sha1((job.id + status).encode()).hexdigest()}.csv"
        _put_report_object(bucket, key, data, "text/csv")
        results.append({"TaskExecutionStatus": status, "Bucket": bucket,
                        "MD5Checksum": hashlib.md5(data).hexdigest(), "Key": key})
    manifest = {"Format": job.report_format or "Report_CSV_20180820",
                "ReportCreationDate": _iso(dt.datetime.now(dt.timezone.utc)),
                "Results": results, "ReportSchema": REPORT_SCHEMA}
    _put_report_object(bucket, f"{base}/manifest.json",
                       json.dumps(manifest, indent=4).encode(), "application/json")


def _job_may_write(job: Job, src: Any) -> bool:
    """What Batch Replication with a generated manifest does in the role's name before any task
    (AWS "Configuring IAM policies for Batch Replication"): generate the manifest from an
    inventory of the source (``s3:PutInventoryConfiguration`` on the source bucket), write it
    (``s3:PutObject`` in the manifest bucket) and write the completion report (``s3:PutObject``
    in the report bucket). A role that cannot is a failed job, ``AccessDenied`` (AWS documents
    the permissions, not the job's failure text: the message here is the emulator's). A role
    that does not exist or does not trust Batch Operations is left to the tasks
    (``AssumeRoleNotPermitted``)."""
    role = permissions.find_role(job.role_arn)
    if role is None or not permissions.role_trusts(
            role, permissions.BATCH_PRINCIPAL,
            {"aws:SourceAccount": job.account, "aws:SourceArn": job.arn}):
        return True
    checks = [("s3:PutInventoryConfiguration", src, f"arn:aws:s3:::{src.name}")]
    for arn, prefix in ((job.out_bucket_arn if job.enable_manifest_output else None, job.out_prefix),
                        (job.report_bucket_arn if job.report_enabled else None, job.report_prefix)):
        bucket = permissions.find_bucket(_bucket_from_arn(arn)) if arn else None
        if bucket is not None:
            base = f"{prefix.rstrip('/')}/job-{job.id}" if prefix else f"job-{job.id}"
            checks.append(("s3:PutObject", bucket, f"arn:aws:s3:::{bucket.name}/{base}/manifest.json"))
    try:
        for action, bucket, resource in checks:
            if not permissions.role_allows(job.role_arn, action, resource, bucket):
                job.fail("AccessDenied", f"The job's role {job.role_arn} may not {action} on "
                         f"{resource} (crossrep emulator).")
                return False
    except permissions.UnsupportedCondition as exc:
        job.fail("EmulatorUnsupportedCondition", f"cannot evaluate {exc}")
        return False
    return True


def _prepare(job: Job) -> tuple[Any, list[tuple[Any, Rule | None]]] | None:
    """Preparing: the checks AWS makes before running, then the task list (None = job failed)."""
    if job.has_generator:
        src = permissions.find_bucket(job.src_bucket)
        if src is None:
            job.fail("SrcBucketNotFound", f"The source bucket {job.src_bucket} does not exist.")
            return None
        if src.account_id != job.account:
            job.fail("AccessDenied", f"The source bucket {job.src_bucket} is not owned by {job.account}.")
            return None
        if src.region_name != job.region:
            job.fail("SrcBucketInvalidRegion",
                     f"The source bucket {job.src_bucket} is in {src.region_name}; the job must be "
                     f"created in the source bucket's region, not {job.region}.")
            return None
        rules = replication_rules(src)
        if rules is None:
            job.fail("SrcBucketReplicationConfigMissing",
                     f"The source bucket {job.src_bucket} has no replication configuration.")
            return None
        if not _job_may_write(job, src):
            return None
        tasks = _select_versions(job, src, rules)
        if job.enable_manifest_output and job.out_bucket_arn:
            _write_generated_manifest(job, tasks)
        return src, tasks
    # a supplied CSV manifest: Bucket,Key[,VersionId] rows (keys URL-encoded)
    return _prepare_csv_manifest(job)


def _prepare_csv_manifest(job: Job) -> tuple[Any, list[tuple[Any, Rule | None]]] | None:
    from urllib.parse import unquote_plus

    loc = _child(job.manifest_el, "Location")
    arn = _text(loc, "ObjectArn") or ""
    m = re.fullmatch(r"arn:[^:]+:s3:::([^/]+)/(.+)", arn)
    mb = permissions.find_bucket(m.group(1)) if m else None
    key = mb.keys.get(m.group(2)) if (mb is not None and m) else None
    if key is None or _is_delete_marker(key):
        job.fail("ManifestNotFound", f"Manifest object {arn} not found.")
        return None
    src = None
    tasks: list[tuple[Any, Rule | None]] = []
    for row in csv.reader(io.StringIO(key.value.decode("utf-8", "replace"))):
        if len(row) < 2:
            continue
        b, k = row[0], unquote_plus(row[1])
        vid = row[2] if len(row) > 2 and row[2] else None
        src = src or permissions.find_bucket(b)
        if src is None or src.name != b:
            continue
        if src.region_name != job.region:
            job.fail("SrcBucketInvalidRegion", f"The source bucket {b} is not in {job.region}.")
            return None
        rules = replication_rules(src)
        if rules is None:
            job.fail("SrcBucketReplicationConfigMissing", f"The source bucket {b} has no replication configuration.")
            return None
        versions = src.keys.getlist(k, [])
        version = next((v for v in versions if v.version_id == vid), None) if vid else (versions[-1] if versions else None)
        if version is None:
            continue
        tags = {} if _is_delete_marker(version) else _tags_of(_backend_of(src), version)
        tasks.append((version, matching_rule(rules, k, tags)))
    return (src, tasks) if src is not None else (None, [])


def _run(job: Job) -> None:
    try:
        job.set_status("Preparing")
        prepared = _prepare(job)
        if prepared is None or job.abandoned:
            return
        src, tasks = prepared
        with _LOCK:
            job.total = len(tasks)
        if job.confirmation_required and not job.cancel.is_set():
            job.suspended_date = dt.datetime.now(dt.timezone.utc)
            job.suspended_cause = "AwaitingConfirmation"
            job.set_status("Suspended")
            while not job.ready.wait(0.2):
                if job.cancel.is_set() or job.abandoned:
                    break
        if job.cancel.is_set():
            job.set_status("Cancelling")
            job.set_status("Cancelled")
            return
        job.set_status("Ready")
        job.set_status("Active")
        delay = _task_delay()
        for version, rule in tasks:
            if job.abandoned:
                return
            if job.cancel.is_set():
                break
            if delay:
                time.sleep(delay)
            with _LOCK:
                try:
                    code = _replicate(job, src, version, rule)
                except Exception as exc:  # noqa: BLE001 - a task error must not kill the job
                    code = "InternalError"
                    FAILURE_MESSAGES.setdefault("InternalError", f"emulator error: {exc}")
                if code is None:
                    set_replication_status(version, src.name, "COMPLETED")
                    job.succeeded += 1
                    job.results.append((src.name, version.name, version.version_id, "succeeded", 200, "", "Successful"))
                else:
                    if code not in ("SrcObjectNotFound", "SrcObjectNotEligible"):
                        set_replication_status(version, src.name, "FAILED")
                    job.failed += 1
                    msg = FAILURE_MESSAGES.get(code, code)
                    job.results.append((src.name, version.name, version.version_id, "failed",
                                        _http_status_for(code), code, msg))
                    _FAILURES.append({"job_id": job.id, "account": job.account, "bucket": src.name,
                                      "key": version.name, "version_id": version.version_id,
                                      "failure_code": code, "destination_bucket": rule.dest_bucket if rule else None,
                                      "service": "batchoperations", "source": "batch",
                                      "time": _iso(dt.datetime.now(dt.timezone.utc))})
        if job.abandoned:
            return
        with _LOCK:
            _write_report(job)
        if job.cancel.is_set():
            job.set_status("Cancelling")
            job.set_status("Cancelled")
        else:
            job.set_status("Completing")
            job.set_status("Complete")
    except Exception as exc:  # noqa: BLE001
        if not job.abandoned:
            job.fail("InternalError", f"crossrep emulator: {type(exc).__name__}: {exc}")


# --------------------------------------------------------------------------------------------
# HTTP
# --------------------------------------------------------------------------------------------


def _xml_response(start_response: Any, status: int, root: str, inner: str) -> list[bytes]:
    body = (f'<?xml version="1.0" encoding="UTF-8"?>\n<{root} xmlns="{NS}">{inner}</{root}>').encode()
    start_response(f"{status} OK", [("Content-Type", "application/xml"),
                                    ("Content-Length", str(len(body))),
                                    ("x-amz-request-id", uuid.uuid4().hex[:16].upper())])
    return [body]


def _error(start_response: Any, err: ApiError) -> list[bytes]:
    # S3 Control errors are *wrapped* (unlike S3's): aws-sdk-s3control parses them with
    # rest_xml_wrapped_errors, which requires an <ErrorResponse> root; botocore reads both.
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<ErrorResponse><Error>'
            f"<Code>{_esc(err.code)}</Code><Message>{_esc(err.message)}</Message></Error>"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId><HostId></HostId>"
            "</ErrorResponse>").encode()
    start_response(f"{err.status} Error", [("Content-Type", "application/xml"),
                                           ("Content-Length", str(len(body)))])
    return [body]


def _read_body(environ: dict[str, Any]) -> bytes:
    from werkzeug.wrappers import Request

    return Request(environ).get_data()


def _job(account: str, region: str, job_id: str) -> Job:
    with _LOCK:
        job = _JOBS.get((account, region), {}).get(job_id)
    if job is None:
        raise ApiError(404, "NotFoundException", f"The specified job {job_id} does not exist.")
    return job


def _create_job(account: str, region: str, body: bytes) -> Job:
    try:
        root = ET.fromstring(body)
    except ET.ParseError:
        raise ApiError(400, "MalformedXML", "The XML you provided was not well-formed or did not "
                       "validate against our published schema")
    if _local(root.tag) != "CreateJobRequest":
        raise ApiError(400, "MalformedXML", "Expected a CreateJobRequest document")
    if not _text(root, "RoleArn"):
        raise ApiError(400, "InvalidRequest", "RoleArn is required")
    if not re.fullmatch(r"arn:aws[\w-]*:iam::\d{12}:role/\S+", _text(root, "RoleArn") or ""):
        raise ApiError(400, "InvalidRequest", "Invalid RoleArn")
    token = _text(root, "ClientRequestToken")
    if not token:
        raise ApiError(400, "InvalidRequest", "ClientRequestToken is required")
    with _LOCK:
        existing = _TOKENS.get((account, region, token))
        if existing:
            return _JOBS[(account, region)][existing]
    op = _child(root, "Operation")
    ops = [_local(c.tag) for c in op] if op is not None else []
    if not ops:
        raise ApiError(400, "InvalidRequest", "Operation is required")
    if len(ops) != 1:
        raise ApiError(400, "InvalidRequest", "Exactly one operation must be specified")
    if ops[0] != "S3ReplicateObject":
        raise ApiError(501, "NotImplemented",
                       f"crossrep emulator: only S3ReplicateObject jobs are implemented, not {ops[0]}")
    gen = _child(_child(root, "ManifestGenerator"), "S3JobManifestGenerator")
    manifest = _child(root, "Manifest")
    if gen is None and manifest is None:
        raise ApiError(400, "InvalidRequest", "Either Manifest or ManifestGenerator must be specified")
    if gen is not None and manifest is not None:
        raise ApiError(400, "InvalidRequest", "Manifest and ManifestGenerator cannot both be specified")
    if gen is not None:
        if not _text(gen, "SourceBucket", ) or not _text(gen, "SourceBucket", ).startswith("arn:"):
            raise ApiError(400, "InvalidRequest", "ManifestGenerator SourceBucket must be a bucket ARN")
        if _text(gen, "EnableManifestOutput") is None:
            raise ApiError(400, "InvalidRequest", "EnableManifestOutput is required")
        out = _child(gen, "ManifestOutputLocation")
        if _bool(_text(gen, "EnableManifestOutput")):
            if out is None or not _text(out, "Bucket"):
                raise ApiError(400, "InvalidRequest",
                               "ManifestOutputLocation is required when EnableManifestOutput is true")
            if _text(out, "ManifestFormat") != "S3InventoryReport_CSV_20211130":
                raise ApiError(400, "InvalidRequest", "ManifestFormat must be S3InventoryReport_CSV_20211130")
        statuses = _items(_child(_child(gen, "Filter"), "ObjectReplicationStatuses"))
        for s in statuses:
            if (s.text or "").strip() not in ("NONE", "FAILED", "COMPLETED", "REPLICA"):
                raise ApiError(400, "InvalidRequest", f"Invalid ObjectReplicationStatus {s.text}")
    else:
        fmt = _text(_child(manifest, "Spec"), "Format")
        if fmt != "S3BatchOperations_CSV_20180820" or not _text(_child(manifest, "Location"), "ObjectArn"):
            raise ApiError(501, "NotImplemented",
                           "crossrep emulator: only S3BatchOperations_CSV_20180820 manifests or a ManifestGenerator")
    rep = _child(root, "Report")
    if rep is None or _text(rep, "Enabled") is None:
        raise ApiError(400, "InvalidRequest", "Report is required")
    if _bool(_text(rep, "Enabled")):
        if not _text(rep, "Bucket") or _text(rep, "Format") != "Report_CSV_20180820":
            raise ApiError(400, "InvalidRequest", "An enabled Report needs Bucket and Format Report_CSV_20180820")
        if _text(rep, "ReportScope") not in (None, "AllTasks", "FailedTasksOnly"):
            raise ApiError(400, "InvalidRequest", "ReportScope must be AllTasks or FailedTasksOnly")
    prio = _text(root, "Priority")
    if prio is not None and not re.fullmatch(r"\d+", prio):
        raise ApiError(400, "InvalidRequest", "Priority must be a non-negative integer")
    job = Job(account, region, root)
    with _LOCK:
        existing = _TOKENS.get((account, region, token))
        if existing:
            return _JOBS[(account, region)][existing]
        _JOBS.setdefault((account, region), {})[job.id] = job
        _TOKENS[(account, region, token)] = job.id
    threading.Thread(target=_run, args=(job,), name=f"batch-job-{job.id[:8]}", daemon=True).start()
    return job


def _update_status(job: Job, requested: str, reason: str | None) -> None:
    with _LOCK:
        if requested == "Ready":
            if job.status != "Suspended" and not (job.status in ("New", "Preparing") and job.confirmation_required):
                raise ApiError(400, "JobStatusException",
                               f"Job {job.id} is {job.status}; only a Suspended job can be made Ready")
            job.ready.set()
        elif requested == "Cancelled":
            if job.status in TERMINAL or job.status in ("Cancelling", "Completing", "Failing"):
                raise ApiError(400, "JobStatusException", f"Job {job.id} is {job.status} and cannot be cancelled")
            job.cancel.set()
            if job.status in ("Suspended", "New", "Preparing", "Ready"):
                job.set_status("Cancelling")
        else:
            raise ApiError(400, "InvalidRequest", "requestedJobStatus must be Ready or Cancelled")
        if reason:
            job.status_update_reason = reason


def handle(environ: dict[str, Any], start_response: Any, entry: dict[str, Any]) -> list[bytes]:
    """WSGI handler for ``/v20180820/jobs...``; ``entry`` is the request-log entry (account,
    region) computed by crossrep_emulator.classify."""
    method = environ.get("REQUEST_METHOD", "GET").upper()
    path = environ.get("PATH_INFO", "").rstrip("/")
    qs = parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True)
    caller = entry.get("account")
    account = environ.get("HTTP_X_AMZ_ACCOUNT_ID") or caller
    region = entry.get("region") or "us-east-1"
    try:
        if caller and account != caller:
            raise ApiError(403, "AccessDenied", f"Account {caller} cannot act for account {account}")
        if path == "/v20180820/jobs" and method == "POST":
            job = _create_job(account, region, _read_body(environ))
            return _xml_response(start_response, 200, "CreateJobResult", _el("JobId", job.id))
        if path == "/v20180820/jobs" and method == "GET":
            wanted = [s for v in qs.get("jobStatuses", []) for s in v.split(",") if s]
            try:
                limit = int((qs.get("maxResults") or ["1000"])[0])
                offset = int(base64.urlsafe_b64decode((qs.get("nextToken") or [""])[0] or "MA==").decode())
            except ValueError:
                raise ApiError(400, "InvalidRequest", "Invalid maxResults or nextToken")
            if not 0 <= limit <= 1000:
                raise ApiError(400, "InvalidRequest", "maxResults must be 0..1000")
            with _LOCK:
                jobs = sorted(_JOBS.get((account, region), {}).values(), key=lambda j: j.created, reverse=True)
            jobs = [j for j in jobs if not wanted or j.status in wanted]
            page = jobs[offset: offset + limit]
            token = ""
            if offset + limit < len(jobs):
                token = _el("NextToken", base64.urlsafe_b64encode(str(offset + limit).encode()).decode())
            inner = token + "<Jobs>" + "".join(j.list_xml() for j in page) + "</Jobs>"
            return _xml_response(start_response, 200, "ListJobsResult", inner)
        m = re.fullmatch(r"/v20180820/jobs/([^/]+)(/status|/tagging)?", path)
        if m:
            job = _job(account, region, m.group(1))
            tail = m.group(2) or ""
            if not tail and method == "GET":
                return _xml_response(start_response, 200, "DescribeJobResult", job.describe_xml())
            if tail == "/status" and method == "POST":
                requested = (qs.get("requestedJobStatus") or [""])[0]
                reason = (qs.get("statusUpdateReason") or [None])[0]
                _update_status(job, requested, reason)
                inner = (_el("JobId", job.id) + _el("Status", job.status)
                         + _el("StatusUpdateReason", job.status_update_reason))
                return _xml_response(start_response, 200, "UpdateJobStatusResult", inner)
            if tail == "/tagging" and method == "GET":
                tags = "".join(f"<member>{_el('Key', k)}{_el('Value', v)}</member>" for k, v in job.tags)
                return _xml_response(start_response, 200, "GetJobTaggingResult", f"<Tags>{tags}</Tags>")
        raise ApiError(501, "NotImplemented", f"crossrep emulator: {method} {path} is not implemented")
    except ApiError as err:
        return _error(start_response, err)


def record_failure(failure: dict[str, Any]) -> None:
    """For live replication (replicate.py): make a failure visible to tests."""
    with _LOCK:
        _FAILURES.append(dict(failure))


def crossrep_endpoint(method: str, path: str, qs: dict[str, list[str]]) -> tuple[str, Any] | None:
    """``GET /_crossrep/replication-failures[?bucket=B&account=A&job_id=J&failure_code=C&source=
    live|batch]`` -> failures (batch tasks and live replication, see replicate.py);
    ``GET /_crossrep/batch-jobs`` -> every job's id/account/region/status/counters.
    None when the path is not ours."""
    if path == "/_crossrep/replication-failures" and method == "GET":
        one = {k: v[0] for k, v in qs.items() if v}
        with _LOCK:
            rows = [dict(f) for f in _FAILURES]
        for field in ("bucket", "account", "job_id", "failure_code", "source"):
            if field in one:
                rows = [r for r in rows if r.get(field) == one[field]]
        return "200 OK", {"failures": rows}
    if path == "/_crossrep/batch-jobs" and method == "GET":
        with _LOCK:
            jobs = [j for d in _JOBS.values() for j in d.values()]
        return "200 OK", {"jobs": [
            {"job_id": j.id, "account": j.account, "region": j.region, "status": j.status,
             "total": j.total, "succeeded": j.succeeded, "failed": j.failed,
             "failure_reasons": [list(f) for f in j.failure_reasons]} for j in jobs]}
    return None


def reset() -> None:
    """``POST /moto-api/reset``: forget every job and failure; running jobs stop."""
    with _LOCK:
        for d in _JOBS.values():
            for j in d.values():
                j.abandoned = True
                j.cancel.set()
        _JOBS.clear()
        _TOKENS.clear()
        _FAILURES.clear()
