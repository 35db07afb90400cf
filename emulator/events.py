"""S3 event notifications for replication failures, for the crossrep emulator (test
infrastructure only; see README.md, "Replication failure events" and "Notification
configuration validation").

Three things moto 5.2.1 does not do, and crossrep's alerts (SPEC section 10) depend on:

1. **Replication failure events.** When live replication (replicate.py) fails a version for a
   destination, :func:`replication_failed` sends an ``s3:Replication:OperationFailedReplication``
   event to every SQS queue and SNS topic of the source bucket's notification configuration
   whose events (``s3:Replication:OperationFailedReplication`` or ``s3:Replication:*``) and key
   filters (prefix / suffix) match -- only when the rule that applied has replication metrics
   enabled (``Destination/Metrics/Status = Enabled``). AWS "Receiving replication failure
   events with Amazon S3 Event Notifications" (``replication-metrics-events``): "To receive
   replication failure event notifications (s3:Replication:OperationFailedReplication), you
   must enable S3 Replication metrics on your replication rule. You do not need to enable S3
   Replication Time Control (S3 RTC)". The payload is the example of that page (event version
   2.2). Delivery is checked when the event is sent, as S3 does: the queue / topic must still
   exist, be in the bucket's region, and its policy must let ``s3.amazonaws.com`` send from the
   bucket (``aws:SourceArn`` = bucket ARN, ``aws:SourceAccount`` = bucket owner); else the event
   is dropped, as AWS drops it (logged, and listed by ``GET /_crossrep/notification-deliveries``).
   Batch Replication sends none (its failures are in the completion report).

2. **PutBucketNotificationConfiguration validation.** S3 API reference: "Amazon S3 first
   verifies that any Amazon SNS or Amazon SQS destination exists, and that the bucket owner has
   permission to publish to it by sending a test notification". moto 5.2.1 checks only the
   region (after storing the configuration) and sends the test message to a queue of the
   *bucket's* account, ignoring the queue's policy. :func:`check_put_notification` refuses like
   AWS: 400 ``InvalidArgument`` "Unable to validate the following destination configurations"
   with ``ArgumentName1`` (the ARN) / ``ArgumentValue1`` (why). ``x-amz-skip-destination-
   validation: true`` skips it (and the test message). The ``s3:TestEvent`` message itself is
   sent by :func:`send_test_events` (patched over moto's) to the queue / topic named by the ARN.

3. **PutBucketReplication and metrics** (:func:`check_replication_metrics`): ``EventThreshold``
   only with RTC, RTC only with metrics (S3 API reference, ``Destination.ReplicationTime``:
   "Must be specified together with a Metrics block").

``POST /moto-api/reset`` calls :func:`reset`.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
import uuid
import xml.etree.ElementTree as ET
from typing import Any
from urllib.parse import quote_plus

import permissions

LOG = logging.getLogger("crossrep_emulator.events")

FAILED_EVENT = "s3:Replication:OperationFailedReplication"
REPLICATION_WILDCARD = "s3:Replication:*"
S3_PRINCIPAL = "s3.amazonaws.com"
VALIDATION_MESSAGE = "Unable to validate the following destination configurations"

_LOCK = threading.Lock()
_DELIVERIES: list[dict[str, Any]] = []  # every event sent or dropped, for tests
_LOCAL = threading.local()  # the PutBucketNotificationConfiguration being handled


# --------------------------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element | None, name: str) -> list[ET.Element]:
    return [] if el is None else [c for c in el if _local(c.tag) == name]


def _child(el: ET.Element | None, name: str) -> ET.Element | None:
    found = _children(el, name)
    return found[0] if found else None


def _text(el: ET.Element | None, name: str) -> str | None:
    c = _child(el, name)
    return None if c is None else (c.text or "").strip()


def _esc(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _iso_ms(t: dt.datetime) -> str:
    t = t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)
    t = t.astimezone(dt.timezone.utc)
    return t.strftime("%Y-%m-%dT%H:%M:%S.") + f"{t.microsecond // 1000:03d}Z"


def _split_arn(arn: str) -> tuple[str, str, str, str] | None:
    """(service, region, account, resource) of ``arn:aws:<svc>:<region>:<account>:<name>``."""
    parts = (arn or "").split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        return None
    return parts[2], parts[3], parts[4], parts[5]


def _error(status: int, code: str, message: str, bucket: str,
           argument: tuple[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    extra = ""
    if argument is not None:
        extra = (f"<ArgumentName1>{_esc(argument[0])}</ArgumentName1>"
                 f"<ArgumentValue1>{_esc(argument[1])}</ArgumentValue1>")
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<Error>'
            f"<Code>{code}</Code><Message>{_esc(message)}</Message>{extra}"
            f"<BucketName>{_esc(bucket)}</BucketName>"
            f"<RequestId>{uuid.uuid4().hex[:16].upper()}</RequestId></Error>")
    return status, {"content-type": "application/xml"}, body.encode()


# --------------------------------------------------------------------------------------------
# destinations: existence and whether S3 may send from a bucket
# --------------------------------------------------------------------------------------------


class Destination:
    """An SQS queue or SNS topic named by a notification configuration's ARN."""

    def __init__(self, kind: str, arn: str) -> None:
        self.kind, self.arn = kind, arn  # kind: "queue" | "topic"
        parts = _split_arn(arn)
        self.region, self.account, self.name = (parts[1], parts[2], parts[3]) if parts else ("", "", "")

    def find(self) -> Any | None:
        try:
            if self.kind == "queue":
                from moto.sqs.models import sqs_backends

                return sqs_backends[self.account][self.region].queues.get(self.name)
            from moto.sns.models import sns_backends

            return sns_backends[self.account][self.region].topics.get(self.arn)
        except Exception:  # noqa: BLE001 - unknown account / region: not there
            return None

    def is_fifo(self, target: Any) -> bool:
        return bool(getattr(target, "fifo_queue", False) or getattr(target, "fifo_topic", False))

    def policy(self, target: Any) -> Any:
        return getattr(target, "policy", None)

    def refusal(self, bucket: Any) -> str | None:
        """Why S3 could not send to this destination from ``bucket`` (None: it can). The texts
        for a missing destination and a refusing policy are those AWS answers in
        ``ArgumentValue1`` (aws-cli issue 8162 shows the policy one)."""
        noun = "queue" if self.kind == "queue" else "topic"
        target = self.find()
        if target is None:
            return f"The destination {noun} does not exist"
        if self.is_fifo(target):
            # AWS "Supported event destinations": only standard queues and topics; AWS names no
            # reason text, so this one is the emulator's.
            return (f"The destination {noun} is a FIFO {noun}; S3 event notifications support only "
                    f"standard {noun}s (EmulatorFifoDestination)")
        try:
            allowed = _s3_may_send(self, target, bucket)
        except permissions.UnsupportedCondition as exc:
            LOG.error("cannot evaluate the condition %s of %s's policy", exc, self.arn)
            return f"crossrep emulator cannot evaluate {exc} (EmulatorUnsupportedCondition)"
        if not allowed:
            return (f"Permissions on the destination {noun} do not allow S3 to publish "
                    "notifications from this bucket")
        return None

    def send(self, body: str) -> None:
        target = self.find()
        if self.kind == "queue":
            from moto.sqs.models import sqs_backends

            sqs_backends[self.account][self.region].send_message(self.name, body)
        else:
            from moto.sns.models import sns_backends

            sns_backends[self.account][self.region].publish(
                message=body, arn=target.arn if target is not None else self.arn,
                subject="Amazon S3 Notification")


def _principal_is_s3(stmt: dict[str, Any]) -> bool:
    principal = stmt.get("Principal")
    if principal == "*":
        return True
    if not isinstance(principal, dict):
        return False
    services = principal.get("Service")
    services = [services] if isinstance(services, str) else list(services or [])
    aws = principal.get("AWS")
    aws = [aws] if isinstance(aws, str) else list(aws or [])
    return S3_PRINCIPAL in services or "*" in aws


def _s3_may_send(dest: Destination, target: Any, bucket: Any) -> bool:
    """The queue / topic policy (a resource policy: S3 is a service principal, so no identity
    policy can grant it) must Allow ``sqs:SendMessage`` / ``sns:Publish`` on the ARN for
    ``s3.amazonaws.com``, with the context S3 sends: ``aws:SourceArn`` = the bucket ARN,
    ``aws:SourceAccount`` = its owner (AWS "Walkthrough: Configuring a bucket for notifications
    (SNS topic or SQS queue)"). ``aws:SourceOwner`` is known to be absent: the default SNS topic
    policy (``AWS:SourceOwner`` = the topic owner) does not let S3 publish, which is why AWS's
    walkthrough adds a statement. An explicit Deny wins."""
    statements = permissions.parse_policy(dest.policy(target))
    action = "sqs:SendMessage" if dest.kind == "queue" else "sns:Publish"
    context: dict[str, Any] = {
        "aws:SourceArn": f"arn:aws:s3:::{bucket.name}",
        "aws:SourceAccount": bucket.account_id,
        "aws:SourceOwner": None,  # known absent (permissions: a None value is an absent key)
    }
    return permissions.evaluate(statements, action, dest.arn, context, _principal_is_s3) == "Allow"


# --------------------------------------------------------------------------------------------
# PutBucketNotificationConfiguration
# --------------------------------------------------------------------------------------------

_KINDS = (("QueueConfiguration", "Queue", "queue"), ("TopicConfiguration", "Topic", "topic"))


def _destinations(body: bytes) -> list[Destination] | None:
    """The distinct SQS / SNS destinations of a NotificationConfiguration body, in order
    (None when it is not XML: moto's parser answers that)."""
    try:
        root = ET.fromstring(body or b"<NotificationConfiguration/>")
    except ET.ParseError:
        return None
    seen: dict[str, Destination] = {}
    for element, arn_name, kind in _KINDS:
        for conf in _children(root, element):
            arn = _text(conf, arn_name) or ""
            if arn and arn not in seen:
                seen[arn] = Destination(kind, arn)
    return list(seen.values())


def check_put_notification(resp: Any, bucket_name: str, body: bytes) -> Any | None:
    """Hook for ``PUT /<bucket>?notification`` before moto handles it: an S3 error response
    tuple when AWS would refuse the configuration, else None (moto then stores it and calls
    :func:`send_test_events`)."""
    _LOCAL.validated = None
    bucket = permissions.find_bucket(bucket_name)
    if bucket is None or bucket.account_id != resp.current_account:
        return None  # moto answers NoSuchBucket (another account's bucket: README gap)
    dests = _destinations(body)
    if dests is None:
        return None
    for dest in dests:
        if dest.region and dest.region != bucket.region_name:
            # moto checks this too, but only after storing the configuration: refuse first.
            return _error(400, "InvalidArgument", "The notification destination service region "
                          "is not valid for the bucket location constraint", bucket_name)
    skip = (resp.headers.get("x-amz-skip-destination-validation") or "").lower() == "true"
    if skip:
        # S3 API reference, SkipDestinationValidation: "Skips validation of Amazon SQS, Amazon
        # SNS, and Lambda destinations." No test message either: it is the validation.
        _LOCAL.validated = []
        return None
    for dest in dests:
        why = dest.refusal(bucket)
        if why is not None:
            return _error(400, "InvalidArgument", VALIDATION_MESSAGE, bucket_name, (dest.arn, why))
    _LOCAL.validated = dests
    return None


def send_test_events(account_id: str, bucket: Any) -> None:
    """Replaces ``moto.s3.notifications.send_test_event``: one ``s3:TestEvent`` message to each
    destination validated by :func:`check_put_notification` (AWS "Event message structure",
    test message), in the account and region of its ARN."""
    dests = getattr(_LOCAL, "validated", None)
    _LOCAL.validated = None
    if dests is None:  # not through the HTTP hook (moto internals): validate nothing, send all
        conf = bucket.notification_configuration
        dests = [Destination("queue", n.arn) for n in conf.queue] + \
            [Destination("topic", n.arn) for n in conf.topic] if conf else []
    message = json.dumps({
        "Service": "Amazon S3", "Event": "s3:TestEvent",
        "Time": _iso_ms(dt.datetime.now(dt.timezone.utc)), "Bucket": bucket.name,
        "RequestId": uuid.uuid4().hex[:16].upper(), "HostId": uuid.uuid4().hex})
    for dest in dests:
        try:
            dest.send(message)
        except Exception:  # noqa: BLE001 - validated a moment ago; a race is not an error
            LOG.warning("could not send the test message to %s", dest.arn)


def get_notification(resp: Any, bucket_name: str) -> Any | None:
    """``GET /<bucket>?notification``: the document as S3 returns it (S3 API reference,
    GetBucketNotificationConfiguration: root ``NotificationConfiguration``, with
    ``TopicConfiguration``, ``QueueConfiguration``, ``CloudFunctionConfiguration`` and
    ``EventBridgeConfiguration``). moto 5.2.1 names the root of an empty configuration
    ``GetBucketNotificationResponse`` (SDKs that check the root fail to parse it) and never
    returns ``EventBridgeConfiguration``. None: not ours to answer (moto's errors)."""
    bucket = permissions.find_bucket(bucket_name)
    if bucket is None or bucket.account_id != resp.current_account:
        return None
    conf = bucket.notification_configuration
    parts: list[str] = []

    def entry(tag: str, arn_tag: str, n: Any) -> str:
        out = [f"<{tag}>"]
        if n.id:
            out.append(f"<Id>{_esc(n.id)}</Id>")
        out.append(f"<{arn_tag}>{_esc(n.arn)}</{arn_tag}>")
        out.extend(f"<Event>{_esc(e)}</Event>" for e in n.events)
        rules = (n.filters or {}).get("S3Key", {}).get("FilterRule", [])
        if isinstance(rules, dict):
            rules = [rules]
        if rules:
            out.append("<Filter><S3Key>")
            out.extend(f"<FilterRule><Name>{_esc(r['Name'])}</Name><Value>{_esc(r['Value'])}"
                       "</Value></FilterRule>" for r in rules)
            out.append("</S3Key></Filter>")
        out.append(f"</{tag}>")
        return "".join(out)

    if conf is not None:
        parts.extend(entry("TopicConfiguration", "Topic", n) for n in conf.topic)
        parts.extend(entry("QueueConfiguration", "Queue", n) for n in conf.queue)
        parts.extend(entry("CloudFunctionConfiguration", "CloudFunction", n)
                     for n in conf.cloud_function)
        if conf.event_bridge is not None:
            parts.append("<EventBridgeConfiguration/>")
    body = ('<?xml version="1.0" encoding="UTF-8"?>\n<NotificationConfiguration '
            'xmlns="http://s3.amazonaws.com/doc/2006-03-01/">' + "".join(parts)
            + "</NotificationConfiguration>")
    return 200, {"Content-Type": "application/xml"}, body.encode()


def _install_test_event_patch() -> None:
    from moto.s3 import notifications

    notifications.send_test_event = send_test_events  # type: ignore[assignment]


_install_test_event_patch()


# --------------------------------------------------------------------------------------------
# PutBucketReplication: metrics and RTC
# --------------------------------------------------------------------------------------------


def check_replication_metrics(rules: list[ET.Element]) -> tuple[str, str] | None:
    """(code, message) when a rule's ``Metrics`` / ``ReplicationTime`` pair is refused by S3:
    ``Destination.ReplicationTime`` "Must be specified together with a Metrics block" (S3 API
    reference, Destination); an ``EventThreshold`` without RTC answers ``InvalidArgument``
    "Metrics cannot contain an event threshold when ReplicationTime is not specified or
    Disabled" (the AWS answer quoted in crossplane-contrib/provider-aws issue 1117)."""
    for rule in rules:
        dest = _child(rule, "Destination")
        metrics, rtc = _child(dest, "Metrics"), _child(dest, "ReplicationTime")
        rtc_on = _text(rtc, "Status") == "Enabled"
        if rtc is not None and metrics is None:
            return "InvalidRequest", "Replication Time Control must be used in conjunction with metrics"
        if _child(metrics, "EventThreshold") is not None and not rtc_on:
            return ("InvalidArgument", "Metrics cannot contain an event threshold when "
                    "ReplicationTime is not specified or Disabled")
        if rtc_on and _text(metrics, "Status") != "Enabled":
            return "InvalidRequest", "Replication Time Control must be used in conjunction with metrics"
    return None


# --------------------------------------------------------------------------------------------
# replication failure events (live replication)
# --------------------------------------------------------------------------------------------


def _matches(notification: Any, key: str) -> bool:
    events = list(getattr(notification, "events", []) or [])
    if FAILED_EVENT not in events and REPLICATION_WILDCARD not in events:
        return False
    filters = getattr(notification, "filters", None) or {}
    rules = (filters.get("S3Key") or {}).get("FilterRule") or []
    for r in rules if isinstance(rules, list) else [rules]:
        name, value = str(r.get("Name", "")).lower(), r.get("Value") or ""
        if name == "prefix" and not key.startswith(value):
            return False
        if name == "suffix" and not key.endswith(value):
            return False
    return True


def failure_event(bucket: Any, version: Any, rule: Any, failure_code: str,
                  configuration_id: str, is_delete_marker: bool) -> dict[str, Any]:
    """The message of AWS's ``replication-metrics-events`` example, field for field."""
    request_time = getattr(version, "last_modified", None) or dt.datetime.now(dt.timezone.utc)
    # "The object key name value is URL encoded" (Event message structure): "red flower.jpg"
    # becomes "red+flower.jpg"; "/" stays as it is in real events.
    obj: dict[str, Any] = {"key": quote_plus(version.name, safe="/")}
    if not is_delete_marker:
        obj["size"] = version.size
        obj["eTag"] = (version.etag or "").strip('"')
    obj["versionId"] = version.version_id
    obj["sequencer"] = f"{int(request_time.timestamp() * 1e6):X}".rjust(18, "0")
    return {"Records": [{
        "eventVersion": "2.2",
        "eventSource": "aws:s3",
        "awsRegion": bucket.region_name,
        "eventTime": _iso_ms(dt.datetime.now(dt.timezone.utc)),
        "eventName": FAILED_EVENT[len("s3:"):],
        "userIdentity": {"principalId": S3_PRINCIPAL},
        "requestParameters": {"sourceIPAddress": S3_PRINCIPAL},
        "responseElements": {"x-amz-request-id": str(uuid.uuid4()),
                             "x-amz-id-2": uuid.uuid4().hex},
        "s3": {
            "s3SchemaVersion": "1.0",
            "configurationId": configuration_id,
            "bucket": {"name": bucket.name, "ownerIdentity": {"principalId": bucket.account_id},
                       "arn": f"arn:aws:s3:::{bucket.name}"},
            "object": obj,
        },
        "replicationEventData": {
            "replicationRuleId": rule.id,
            "destinationBucket": f"arn:aws:s3:::{rule.dest_bucket}",
            # AWS documents only OBJECT_PUT; what a delete marker's failure says is not
            # documented, so the emulator marks it as its own.
            "s3Operation": "EMULATOR_DELETE_MARKER" if is_delete_marker else "OBJECT_PUT",
            "requestTime": _iso_ms(request_time),
            "failureReason": failure_code,
        },
    }]}


def replication_failed(bucket: Any, version: Any, rule: Any, failure_code: str,
                       is_delete_marker: bool) -> None:
    """Called by replicate.py when live replication fails ``version`` for ``rule``'s
    destination. Never raises."""
    try:
        _replication_failed(bucket, version, rule, failure_code, is_delete_marker)
    except Exception:  # noqa: BLE001 - an event problem must not break replication
        LOG.exception("replication failure event for %s/%s failed", bucket.name, version.name)


def _record(entry: dict[str, Any]) -> None:
    with _LOCK:
        _DELIVERIES.append(entry)


def _replication_failed(bucket: Any, version: Any, rule: Any, failure_code: str,
                        is_delete_marker: bool) -> None:
    conf = getattr(bucket, "notification_configuration", None)
    if conf is None:
        return
    base = {"bucket": bucket.name, "account": bucket.account_id, "key": version.name,
            "version_id": version.version_id, "rule_id": rule.id,
            "destination_bucket": rule.dest_bucket, "failure_code": failure_code,
            "time": _iso_ms(dt.datetime.now(dt.timezone.utc))}
    targets = [("queue", n) for n in conf.queue] + [("topic", n) for n in conf.topic]
    for kind, notification in targets:
        if not _matches(notification, version.name):
            continue
        entry = dict(base, configuration_id=notification.id, destination=notification.arn)
        if not getattr(rule, "metrics", False):
            # replication-metrics-events: failure events need metrics on the rule.
            _record(dict(entry, delivered=False, reason="rule has no replication metrics"))
            continue
        dest = Destination(kind, notification.arn)
        why = "not in the bucket's region" if dest.region != bucket.region_name else dest.refusal(bucket)
        if why is not None:
            LOG.warning("replication failure event for %s/%s to %s dropped: %s", bucket.name,
                        version.name, dest.arn, why)
            _record(dict(entry, delivered=False, reason=why))
            continue
        message = failure_event(bucket, version, rule, failure_code, notification.id,
                                is_delete_marker)
        dest.send(json.dumps(message))
        _record(dict(entry, delivered=True, reason=None))


# --------------------------------------------------------------------------------------------
# endpoint and reset
# --------------------------------------------------------------------------------------------


def crossrep_endpoint(method: str, path: str, qs: dict[str, list[str]]) -> tuple[str, Any] | None:
    """``GET /_crossrep/notification-deliveries[?bucket=B&delivered=true|false]`` -> every
    replication failure event sent or dropped (``reason`` says why). None if not ours."""
    if path != "/_crossrep/notification-deliveries" or method != "GET":
        return None
    one = {k: v[0] for k, v in qs.items() if v}
    with _LOCK:
        rows = [dict(d) for d in _DELIVERIES]
    if "bucket" in one:
        rows = [r for r in rows if r["bucket"] == one["bucket"]]
    if "delivered" in one:
        rows = [r for r in rows if r["delivered"] == (one["delivered"].lower() == "true")]
    return "200 OK", {"deliveries": rows}


def reset() -> None:
    with _LOCK:
        _DELIVERIES.clear()
