#!/usr/bin/env python3
"""Self-test of replication failure events, notification validation (events.py) and the
CloudWatch RPCv2 CBOR translation (cloudwatch.py): `python3 emulator/test_events.py` (no pytest).

Starts `emulator/run` on a free port, drives it with boto3 as two accounts (and with CBOR
requests built by hand, byte for byte as aws-sdk-cloudwatch sends them), stops the server and
exits non-zero on the first failure.
"""

from __future__ import annotations

import json
import os
import struct
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cbor2  # noqa: E402

from test_emulator import Emulator, expect_error  # noqa: E402
from test_replicate import dst_policy, role_policy, trust  # noqa: E402

SRC_ACC, DST_ACC, OTHER_ACC = "111111111111", "222222222222", "333333333333"
REGION = "us-east-1"
ROLE_NAME = "ev-role"
ROLE_ARN = f"arn:aws:iam::{SRC_ACC}:role/{ROLE_NAME}"
SRC, NOMETRICS, DST = "ev-src", "ev-src-nometrics", "ev-dst"
FAILED = "s3:Replication:OperationFailedReplication"


def queue_arn(name: str, account: str = SRC_ACC, region: str = REGION) -> str:
    return f"arn:aws:sqs:{region}:{account}:{name}"


def s3_may_send(resource: str, bucket: str, action: str = "sqs:SendMessage",
                account: str = SRC_ACC, **extra) -> str:
    """The statement AWS's notification walkthrough puts on a queue / topic."""
    cond = {"ArnLike": {"aws:SourceArn": f"arn:aws:s3:*:*:{bucket}"},
            "StringEquals": {"aws:SourceAccount": account}}
    cond.update(extra)
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "s3-send", "Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
        "Action": action, "Resource": resource, "Condition": cond}]})


def make_queue(sqs, name: str, policy: str | None = None) -> str:
    attrs = {"Policy": policy} if policy else {}
    return sqs.create_queue(QueueName=name, Attributes=attrs)["QueueUrl"]


def drain(sqs, url: str) -> list[dict]:
    out = []
    while True:
        got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", [])
        if not got:
            return out
        for m in got:
            out.append(json.loads(m["Body"]))
            sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])


def queue_conf(arn: str, events: list[str], cid: str, prefix: str | None = None,
               suffix: str | None = None) -> dict:
    conf: dict = {"Id": cid, "QueueArn": arn, "Events": events}
    rules = [{"Name": n, "Value": v} for n, v in (("prefix", prefix), ("suffix", suffix)) if v]
    if rules:
        conf["Filter"] = {"Key": {"FilterRules": rules}}
    return conf


def wait_idle(emu: Emulator) -> None:
    assert emu.http("GET", "/_crossrep/replication/idle?timeout=20") == {"pending": 0}


def rule(rid: str, prio: int, prefix: str, metrics: bool) -> dict:
    dest: dict = {"Bucket": f"arn:aws:s3:::{DST}", "Account": DST_ACC}
    if metrics:
        dest["Metrics"] = {"Status": "Enabled"}
    return {"ID": rid, "Priority": prio, "Status": "Enabled", "Filter": {"Prefix": prefix},
            "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": dest}


def setup(emu: Emulator) -> dict:
    s3a, s3b = emu.client("s3", account=SRC_ACC), emu.client("s3", account=DST_ACC)
    iama = emu.client("iam", account=SRC_ACC)
    for b in (SRC, NOMETRICS):
        s3a.create_bucket(Bucket=b)
        s3a.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3b.create_bucket(Bucket=DST)
    s3b.put_bucket_versioning(Bucket=DST, VersioningConfiguration={"Status": "Enabled"})
    iama.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=trust(["s3.amazonaws.com"], SRC_ACC))
    doc = json.loads(role_policy(SRC, [DST]))
    doc["Statement"][1]["Resource"] = [f"arn:aws:s3:::{SRC}/*", f"arn:aws:s3:::{NOMETRICS}/*"]
    iama.put_role_policy(RoleName=ROLE_NAME, PolicyName="p", PolicyDocument=json.dumps(doc))
    s3b.put_bucket_policy(Bucket=DST, Policy=dst_policy(DST, ROLE_ARN))
    s3a.put_bucket_replication(Bucket=SRC, ReplicationConfiguration={"Role": ROLE_ARN, "Rules": [
        rule("crossrep-metrics", 1, "", True)]})
    s3a.put_bucket_replication(Bucket=NOMETRICS, ReplicationConfiguration={"Role": ROLE_ARN, "Rules": [
        rule("no-metrics", 1, "", False)]})
    return {"s3a": s3a, "s3b": s3b, "sqsa": emu.client("sqs", account=SRC_ACC),
            "snsa": emu.client("sns", account=SRC_ACC)}


# --------------------------------------------------------------------------------------------
# PutBucketNotificationConfiguration: destinations must exist and let S3 send
# --------------------------------------------------------------------------------------------


def refused(fn, *args, **kwargs) -> dict:
    e = expect_error("InvalidArgument", fn, *args, **kwargs)
    return e.response["Error"]


def test_validation(emu: Emulator, env: dict) -> None:
    s3a, sqsa, snsa = env["s3a"], env["sqsa"], env["snsa"]
    put = s3a.put_bucket_notification_configuration

    make_queue(sqsa, "ev-nopolicy")
    err = refused(put, Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
        queue_conf(queue_arn("ev-nopolicy"), [FAILED], "c")]})
    assert err["Message"] == "Unable to validate the following destination configurations", err
    assert err.get("ArgumentName1") == queue_arn("ev-nopolicy"), err
    assert err.get("ArgumentValue1") == ("Permissions on the destination queue do not allow S3 to "
                                         "publish notifications from this bucket"), err
    err = refused(put, Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
        queue_conf(queue_arn("ev-missing"), [FAILED], "c")]})
    assert err.get("ArgumentValue1") == "The destination queue does not exist", err
    # a policy for another bucket, another account, or with a Deny does not let S3 send
    for i, policy in enumerate([
            s3_may_send(queue_arn("ev-wrong-bucket"), "some-other-bucket"),
            s3_may_send(queue_arn("ev-wrong-account"), SRC, account=OTHER_ACC)]):
        name = ["ev-wrong-bucket", "ev-wrong-account"][i]
        make_queue(sqsa, name, policy)
        refused(put, Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
            queue_conf(queue_arn(name), [FAILED], "c")]})
    deny = json.loads(s3_may_send(queue_arn("ev-denied"), SRC))
    deny["Statement"].append({"Effect": "Deny", "Principal": "*", "Action": "sqs:*",
                              "Resource": queue_arn("ev-denied")})
    make_queue(sqsa, "ev-denied", json.dumps(deny))
    refused(put, Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
        queue_conf(queue_arn("ev-denied"), [FAILED], "c")]})
    # a condition the evaluator cannot decide is never taken as satisfied
    make_queue(sqsa, "ev-vpce", s3_may_send(queue_arn("ev-vpce"), SRC,
                                            StringNotEquals={"aws:SourceVpce": "vpce-1"}))
    err = refused(put, Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
        queue_conf(queue_arn("ev-vpce"), [FAILED], "c")]})
    assert "EmulatorUnsupportedCondition" in err.get("ArgumentValue1", ""), err
    # another region than the bucket's
    refused(put, Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
        queue_conf(queue_arn("ev-west", region="us-west-2"), [FAILED], "c")]})
    assert "QueueConfigurations" not in s3a.get_bucket_notification_configuration(Bucket=SRC)

    # accepted: the test message reaches the queue (in the queue's own account, too)
    good = make_queue(sqsa, "ev-good", s3_may_send(queue_arn("ev-good"), SRC))
    sqso = emu.client("sqs", account=OTHER_ACC)
    foreign = make_queue(sqso, "ev-foreign", s3_may_send(queue_arn("ev-foreign", OTHER_ACC), SRC))
    put(Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
        queue_conf(queue_arn("ev-good"), [FAILED], "crossrep-failures"),
        queue_conf(queue_arn("ev-foreign", OTHER_ACC), ["s3:ObjectCreated:*"], "theirs")]})
    for c, url in ((sqsa, good), (sqso, foreign)):
        msgs = drain(c, url)
        assert [(m["Service"], m["Event"], m["Bucket"]) for m in msgs] == [
            ("Amazon S3", "s3:TestEvent", SRC)], msgs
        assert msgs[0]["Time"].endswith("Z") and "RequestId" in msgs[0] and "HostId" in msgs[0]
    got = s3a.get_bucket_notification_configuration(Bucket=SRC)["QueueConfigurations"]
    assert sorted(q["Id"] for q in got) == ["crossrep-failures", "theirs"], got
    # a refused configuration leaves the one in place
    refused(put, Bucket=SRC, NotificationConfiguration={"QueueConfigurations": [
        queue_conf(queue_arn("ev-missing"), [FAILED], "c")]})
    assert len(s3a.get_bucket_notification_configuration(Bucket=SRC)["QueueConfigurations"]) == 2

    # SkipDestinationValidation: accepted without checks, and no test message
    put(Bucket=NOMETRICS, SkipDestinationValidation=True, NotificationConfiguration={
        "QueueConfigurations": [queue_conf(queue_arn("ev-missing"), [FAILED], "c")]})
    assert len(s3a.get_bucket_notification_configuration(Bucket=NOMETRICS)["QueueConfigurations"]) == 1

    # SNS: the default topic policy does not let S3 publish; the walkthrough's statement does
    topic = snsa.create_topic(Name="ev-topic")["TopicArn"]
    err = refused(put, Bucket=NOMETRICS, NotificationConfiguration={"TopicConfigurations": [
        {"Id": "t", "TopicArn": topic, "Events": [FAILED]}]})
    assert err.get("ArgumentValue1") == ("Permissions on the destination topic do not allow S3 to "
                                         "publish notifications from this bucket"), err
    err = refused(put, Bucket=NOMETRICS, NotificationConfiguration={"TopicConfigurations": [
        {"Id": "t", "TopicArn": topic + "-missing", "Events": [FAILED]}]})
    assert err.get("ArgumentValue1") == "The destination topic does not exist", err
    print("ok notification configuration: refused unless the destination exists and lets S3 send")


# --------------------------------------------------------------------------------------------
# replication failure events
# --------------------------------------------------------------------------------------------


def test_notification_document(emu: Emulator, env: dict) -> None:
    """GetBucketNotificationConfiguration answers a `NotificationConfiguration` root, empty or
    not, with EventBridge and filters as they were written (S3 API reference)."""
    s3a, sqsa = env["s3a"], env["sqsa"]
    raw: list[bytes] = []
    s3a.meta.events.register("after-call.s3.GetBucketNotificationConfiguration",
                             lambda http_response, **_: raw.append(http_response.content))
    s3a.create_bucket(Bucket="ev-doc")
    got = s3a.get_bucket_notification_configuration(Bucket="ev-doc")
    assert b"<NotificationConfiguration " in raw[-1] and b"Response>" not in raw[-1], raw[-1]
    assert "QueueConfigurations" not in got and "EventBridgeConfiguration" not in got, got
    url = make_queue(sqsa, "ev-doc-q", s3_may_send(queue_arn("ev-doc-q"), "ev-doc"))
    assert url
    s3a.put_bucket_notification_configuration(Bucket="ev-doc", NotificationConfiguration={
        "QueueConfigurations": [queue_conf(queue_arn("ev-doc-q"), ["s3:ObjectCreated:*"], "uploads",
                                           prefix="in/")],
        "EventBridgeConfiguration": {}})
    got = s3a.get_bucket_notification_configuration(Bucket="ev-doc")
    assert b"<NotificationConfiguration " in raw[-1], raw[-1]
    q = got["QueueConfigurations"]
    assert [(c["Id"], c["QueueArn"], c["Events"]) for c in q] == [
        ("uploads", queue_arn("ev-doc-q"), ["s3:ObjectCreated:*"])], q
    assert q[0]["Filter"]["Key"]["FilterRules"] == [{"Name": "prefix", "Value": "in/"}], q
    assert got.get("EventBridgeConfiguration") == {}, got
    print("ok  notification document: NotificationConfiguration root, EventBridge and filters kept")


def failures(emu: Emulator, bucket: str) -> list[dict]:
    return emu.http("GET", f"/_crossrep/replication-failures?source=live&bucket={bucket}")["failures"]


def deliveries(emu: Emulator, bucket: str) -> list[dict]:
    return emu.http("GET", f"/_crossrep/notification-deliveries?bucket={bucket}")["deliveries"]


def test_failure_event(emu: Emulator, env: dict) -> None:
    s3a, s3b, sqsa = env["s3a"], env["s3b"], env["sqsa"]
    good = sqsa.get_queue_url(QueueName="ev-good")["QueueUrl"]
    sqso = emu.client("sqs", account=OTHER_ACC)
    foreign = sqso.get_queue_url(QueueName="ev-foreign")["QueueUrl"]
    # replication works: no failure, no event
    s3a.put_object(Bucket=SRC, Key="ok.txt", Body=b"fine")
    wait_idle(emu)
    assert drain(sqsa, good) == []
    # the destination bucket policy goes away: the next writes fail with DstPutObjectNotPermitted
    s3b.delete_bucket_policy(Bucket=DST)
    put = s3a.put_object(Bucket=SRC, Key="dir/a file.txt", Body=b"hello")
    wait_idle(emu)
    assert s3a.head_object(Bucket=SRC, Key="dir/a file.txt")["ReplicationStatus"] == "FAILED"
    msgs = drain(sqsa, good)
    assert len(msgs) == 1, msgs
    (record,) = msgs[0]["Records"]
    assert set(record) == {"eventVersion", "eventSource", "awsRegion", "eventTime", "eventName",
                           "userIdentity", "requestParameters", "responseElements", "s3",
                           "replicationEventData"}, record
    assert (record["eventVersion"], record["eventSource"], record["awsRegion"], record["eventName"]) == (
        "2.2", "aws:s3", REGION, "Replication:OperationFailedReplication"), record
    assert record["userIdentity"] == {"principalId": "s3.amazonaws.com"}, record
    assert record["requestParameters"] == {"sourceIPAddress": "s3.amazonaws.com"}, record
    assert set(record["responseElements"]) == {"x-amz-request-id", "x-amz-id-2"}, record
    assert record["eventTime"].endswith("Z") and len(record["eventTime"]) == 24, record
    s3 = record["s3"]
    assert (s3["s3SchemaVersion"], s3["configurationId"]) == ("1.0", "crossrep-failures"), s3
    assert s3["bucket"] == {"name": SRC, "ownerIdentity": {"principalId": SRC_ACC},
                            "arn": f"arn:aws:s3:::{SRC}"}, s3
    obj = s3["object"]
    assert (obj["key"], obj["size"], obj["eTag"], obj["versionId"]) == (
        "dir/a+file.txt", 5, put["ETag"].strip('"'), put["VersionId"]), obj  # key URL-encoded
    assert isinstance(obj["sequencer"], str) and obj["sequencer"], obj
    data = record["replicationEventData"]
    assert set(data) == {"replicationRuleId", "destinationBucket", "s3Operation", "requestTime",
                         "failureReason"}, data
    (row,) = failures(emu, SRC)
    assert (data["replicationRuleId"], data["destinationBucket"], data["s3Operation"],
            data["failureReason"]) == ("crossrep-metrics", f"arn:aws:s3:::{DST}", "OBJECT_PUT",
                                       row["failure_code"]), (data, row)
    assert row["failure_code"] == "DstPutObjectNotPermitted", row
    assert data["requestTime"].endswith("Z") and data["requestTime"] <= record["eventTime"], data
    # the foreign ObjectCreated entry has nothing to do with replication events
    assert all("Records" not in m or not m["Records"][0]["eventName"].startswith("Replication")
               for m in drain(sqso, foreign))
    print("ok a failed version sends OperationFailedReplication with AWS's payload and reason")


def test_no_metrics(emu: Emulator, env: dict) -> None:
    """replication-metrics-events: failure events need replication metrics on the rule."""
    s3a, sqsa = env["s3a"], env["sqsa"]
    url = make_queue(sqsa, "ev-nometrics", s3_may_send(queue_arn("ev-nometrics"), NOMETRICS))
    s3a.put_bucket_notification_configuration(Bucket=NOMETRICS, NotificationConfiguration={
        "QueueConfigurations": [queue_conf(queue_arn("ev-nometrics"), ["s3:Replication:*"], "all")]})
    drain(sqsa, url)  # the test message
    s3a.put_object(Bucket=NOMETRICS, Key="x.txt", Body=b"x")
    wait_idle(emu)
    assert [r["failure_code"] for r in failures(emu, NOMETRICS)] == ["DstPutObjectNotPermitted"]
    assert drain(sqsa, url) == []
    assert [(d["delivered"], d["reason"]) for d in deliveries(emu, NOMETRICS)] == [
        (False, "rule has no replication metrics")]
    print("ok no event when the rule has no replication metrics")


def test_policy_and_filters(emu: Emulator, env: dict) -> None:
    s3a, sqsa, snsa = env["s3a"], env["sqsa"], env["snsa"]
    logs = make_queue(sqsa, "ev-logs", s3_may_send(queue_arn("ev-logs"), SRC))
    topic = snsa.create_topic(Name="ev-alerts")["TopicArn"]
    snsa.set_topic_attributes(TopicArn=topic, AttributeName="Policy",
                              AttributeValue=s3_may_send(topic, SRC, action="SNS:Publish"))
    via_topic = make_queue(sqsa, "ev-via-topic")
    snsa.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn("ev-via-topic"))
    good = sqsa.get_queue_url(QueueName="ev-good")["QueueUrl"]
    s3a.put_bucket_notification_configuration(Bucket=SRC, NotificationConfiguration={
        "QueueConfigurations": [
            queue_conf(queue_arn("ev-good"), [FAILED], "crossrep-failures"),
            queue_conf(queue_arn("ev-logs"), ["s3:Replication:*"], "logs", prefix="logs/",
                       suffix=".txt")],
        "TopicConfigurations": [{"Id": "topic", "TopicArn": topic, "Events": [FAILED]}]})
    for url in (good, logs, via_topic):
        drain(sqsa, url)  # test messages
    for key in ("logs/a.txt", "logs/a.bin", "other/b.txt"):
        s3a.put_object(Bucket=SRC, Key=key, Body=b"k")
    wait_idle(emu)

    def keys(url: str, wrapped: bool = False) -> list[str]:
        out = []
        for m in drain(sqsa, url):
            body = json.loads(m["Message"]) if wrapped else m
            out.append(body["Records"][0]["s3"]["object"]["key"])
        return sorted(out)

    assert keys(logs) == ["logs/a.txt"]
    assert keys(good) == ["logs/a.bin", "logs/a.txt", "other/b.txt"]
    assert keys(via_topic, wrapped=True) == ["logs/a.bin", "logs/a.txt", "other/b.txt"]
    # the queue policy changes afterwards: S3 checks it for every event, and drops it
    sqsa.set_queue_attributes(QueueUrl=logs, Attributes={"Policy": s3_may_send(queue_arn("ev-logs"), "elsewhere")})
    s3a.put_object(Bucket=SRC, Key="logs/c.txt", Body=b"c")
    wait_idle(emu)
    assert keys(logs) == [] and keys(good) == ["logs/c.txt"]
    dropped = [d for d in deliveries(emu, SRC) if not d["delivered"]]
    assert [(d["key"], d["destination"]) for d in dropped] == [("logs/c.txt", queue_arn("ev-logs"))], dropped
    assert dropped[0]["reason"].startswith("Permissions on the destination queue"), dropped
    # the queue is deleted: dropped too
    sqsa.delete_queue(QueueUrl=logs)
    s3a.put_object(Bucket=SRC, Key="logs/d.txt", Body=b"d")
    wait_idle(emu)
    (gone,) = [d for d in deliveries(emu, SRC) if d["key"] == "logs/d.txt" and d["destination"] == queue_arn("ev-logs")]
    assert (gone["delivered"], gone["reason"]) == (False, "The destination queue does not exist"), gone
    drain(sqsa, good), drain(sqsa, via_topic)
    print("ok filters, wildcard, SNS topics; a policy changed later drops the event")


def test_batch_sends_no_event(emu: Emulator, env: dict) -> None:
    """A Batch Replication re-drive that fails reports in its completion report, not as events."""
    from test_batch import job_request, s3control, wait_job

    s3a, sqsa, iama = env["s3a"], env["sqsa"], emu.client("iam", account=SRC_ACC)
    good = sqsa.get_queue_url(QueueName="ev-good")["QueueUrl"]
    drain(sqsa, good)
    before = len(deliveries(emu, SRC))
    s3a.create_bucket(Bucket="ev-reports")
    iama.create_role(RoleName="ev-batch", AssumeRolePolicyDocument=trust(
        ["batchoperations.s3.amazonaws.com"], SRC_ACC))
    iama.put_role_policy(RoleName="ev-batch", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:InitiateReplication"],
             "Resource": f"arn:aws:s3:::{SRC}/*"},
            {"Effect": "Allow", "Action": "s3:PutInventoryConfiguration", "Resource": f"arn:aws:s3:::{SRC}"},
            {"Effect": "Allow", "Action": "s3:ReplicateObject", "Resource": f"arn:aws:s3:::{DST}/*"},
            {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::ev-reports/*"}]}))
    req = job_request("ev-redrive", statuses=["FAILED"], src=SRC)
    req["RoleArn"] = f"arn:aws:iam::{SRC_ACC}:role/ev-batch"
    req["Report"]["Bucket"] = "arn:aws:s3:::ev-reports"
    req["ManifestGenerator"]["S3JobManifestGenerator"]["ManifestOutputLocation"]["Bucket"] = "arn:aws:s3:::ev-reports"
    ctl = s3control(emu, SRC_ACC)
    job = wait_job(ctl, ctl.create_job(**req)["JobId"])
    progress = job["ProgressSummary"]
    assert job["Status"] == "Complete" and progress["NumberOfTasksFailed"] > 0, job
    assert drain(sqsa, good) == [] and len(deliveries(emu, SRC)) == before
    print("ok a failed Batch Replication task sends no event")


def test_replication_metrics_validation(emu: Emulator, env: dict) -> None:
    s3a = env["s3a"]
    threshold = rule("t", 1, "", True)
    threshold["Destination"]["Metrics"]["EventThreshold"] = {"Minutes": 15}
    e = expect_error("InvalidArgument", s3a.put_bucket_replication, Bucket=NOMETRICS,
                     ReplicationConfiguration={"Role": ROLE_ARN, "Rules": [threshold]})
    assert "event threshold" in str(e)
    rtc = rule("t", 1, "", False)
    rtc["Destination"]["ReplicationTime"] = {"Status": "Enabled", "Time": {"Minutes": 15}}
    expect_error("InvalidRequest", s3a.put_bucket_replication, Bucket=NOMETRICS,
                 ReplicationConfiguration={"Role": ROLE_ARN, "Rules": [rtc]})
    rtc["Destination"]["Metrics"] = {"Status": "Enabled", "EventThreshold": {"Minutes": 15}}
    s3a.put_bucket_replication(Bucket=NOMETRICS, ReplicationConfiguration={"Role": ROLE_ARN, "Rules": [rtc]})
    print("ok PutBucketReplication: EventThreshold only with RTC, RTC only with metrics")


# --------------------------------------------------------------------------------------------
# CloudWatch over Smithy RPCv2 CBOR, as aws-sdk-cloudwatch 1.140.0 sends it
# --------------------------------------------------------------------------------------------
# aws-smithy-cbor's Encoder: structures with optional members are indefinite-length maps
# (0xbf ... 0xff), lists definite-length arrays, strings definite-length text, integers the
# shortest CBOR integer, doubles always 64-bit floats (0xfb), booleans 0xf5 / 0xf4.


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([major | n])
    if n <= 0xFF:
        return bytes([major | 24, n])
    if n <= 0xFFFF:
        return bytes([major | 25]) + struct.pack(">H", n)
    return bytes([major | 26]) + struct.pack(">I", n)


def c_str(x: str) -> bytes:
    b = x.encode()
    return _head(0x60, len(b)) + b


def c_int(n: int) -> bytes:
    return _head(0x00, n) if n >= 0 else _head(0x20, -1 - n)


def c_double(x: float) -> bytes:
    return b"\xfb" + struct.pack(">d", x)


def c_bool(b: bool) -> bytes:
    return b"\xf5" if b else b"\xf4"


def c_list(items: list[bytes]) -> bytes:
    return _head(0x80, len(items)) + b"".join(items)


def c_struct(*members: tuple[str, bytes]) -> bytes:
    return b"\xbf" + b"".join(c_str(k) + v for k, v in members) + b"\xff"


QUERY = ('SELECT SUM(OperationsFailedReplication) FROM SCHEMA("AWS/S3", DestinationBucket,'
         'RuleId,SourceBucket) WHERE RuleId = \'crossrep-metrics\'')


def cw_call(emu: Emulator, op: str, body: bytes, headers: dict | None = None) -> tuple[int, dict, bytes]:
    hdrs = {"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor",
            "accept": "application/cbor", "x-amzn-query-mode": "true",
            "authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{REGION}/monitoring/"
                             "aws4_request, SignedHeaders=host, Signature=0",
            "x-moto-account-id": SRC_ACC}
    hdrs.update(headers or {})
    req = urllib.request.Request(f"{emu.url}/service/GraniteServiceVersion20100801/operation/{op}",
                                 data=body, method="POST", headers={k: v for k, v in hdrs.items() if v})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def put_alarm(name: str) -> bytes:
    return c_struct(
        ("AlarmName", c_str(name)),
        ("AlarmDescription", c_str("crossrep: replication failures")),
        ("ActionsEnabled", c_bool(True)),
        ("AlarmActions", c_list([c_str(f"arn:aws:sns:{REGION}:{SRC_ACC}:crossrep-alerts")])),
        ("EvaluationPeriods", c_int(1)),
        ("Threshold", c_double(0.0)),
        ("ComparisonOperator", c_str("GreaterThanThreshold")),
        ("TreatMissingData", c_str("notBreaching")),
        ("Metrics", c_list([c_struct(("Id", c_str("failed")), ("Expression", c_str(QUERY)),
                                     ("Label", c_str("OperationsFailedReplication")),
                                     ("ReturnData", c_bool(True)), ("Period", c_int(300)))])),
        ("Tags", c_list([c_struct(("Key", c_str("managed-by")), ("Value", c_str("crossrep")))])))


def test_cloudwatch_cbor(emu: Emulator) -> None:
    emu.http("POST", "/_crossrep/requests/reset")
    for name in ("crossrep-a", "crossrep-b", "crossrep-c", "other"):
        status, headers, body = cw_call(emu, "PutMetricAlarm", put_alarm(name))
        assert status == 200 and headers["content-type"] == "application/cbor", (status, body)
        assert headers["smithy-protocol"] == "rpc-v2-cbor" and body == b"", headers

    status, headers, body = cw_call(emu, "DescribeAlarms", c_struct(("AlarmNames", c_list([c_str("crossrep-b")]))))
    assert status == 200, body
    out = cbor2.loads(body)
    (alarm,) = out["MetricAlarms"]
    assert alarm["AlarmName"] == "crossrep-b" and alarm["StateValue"] == "INSUFFICIENT_DATA", alarm
    assert alarm["AlarmActions"] == [f"arn:aws:sns:{REGION}:{SRC_ACC}:crossrep-alerts"], alarm
    assert alarm["AlarmArn"] == f"arn:aws:cloudwatch:{REGION}:{SRC_ACC}:alarm:crossrep-b", alarm
    assert alarm["Metrics"] == [{"Id": "failed", "Expression": QUERY, "Label": "OperationsFailedReplication",
                                 "ReturnData": True, "Period": 300}], alarm
    # typed as the SDK reads them: a double is a 64-bit float, a timestamp tag 1 (epoch seconds)
    assert c_str("AlarmConfigurationUpdatedTimestamp") + b"\xc1\xfb" in body, body  # tag 1, f64
    assert b"\x69Threshold\xfb" in body, body  # "Threshold" then an f64
    assert b"\x71EvaluationPeriods\x01" in body, body

    # pagination: pages of MaxRecords in name order, an opaque NextToken
    names, token, pages = [], None, 0
    while True:
        members = [("AlarmNamePrefix", c_str("crossrep-")), ("MaxRecords", c_int(2))]
        if token:
            members.append(("NextToken", c_str(token)))
        status, _, body = cw_call(emu, "DescribeAlarms", c_struct(*members))
        assert status == 200, body
        page = cbor2.loads(body)
        pages += 1
        names += [a["AlarmName"] for a in page["MetricAlarms"]]
        token = page.get("NextToken")
        if not token:
            break
    assert (pages, names) == (2, ["crossrep-a", "crossrep-b", "crossrep-c"]), (pages, names)

    status, _, body = cw_call(emu, "ListTagsForResource", c_struct(
        ("ResourceARN", c_str(f"arn:aws:cloudwatch:{REGION}:{SRC_ACC}:alarm:crossrep-a"))))
    assert cbor2.loads(body) == {"Tags": [{"Key": "managed-by", "Value": "crossrep"}]}, body

    # errors: RPCv2 CBOR body (__type, message) and the query-compatible code in a header
    status, headers, body = cw_call(emu, "ListTagsForResource", c_struct(
        ("ResourceARN", c_str(f"arn:aws:cloudwatch:{REGION}:{SRC_ACC}:alarm:nope"))))
    err = cbor2.loads(body)
    assert status == 404 and err["__type"] == "com.amazonaws.cloudwatch#ResourceNotFoundException", (status, err)
    assert headers["x-amzn-query-error"] == "ResourceNotFoundException;Sender", headers
    status, headers, body = cw_call(emu, "DescribeAlarms", c_struct(
        ("AlarmNames", c_list([c_str("crossrep-a")])), ("AlarmNamePrefix", c_str("crossrep-"))))
    assert status == 400 and headers["x-amzn-query-error"].startswith("InvalidParameterCombination;"), headers
    assert cbor2.loads(body)["__type"] == "com.amazonaws.cloudwatch#InvalidParameterCombinationException"
    status, headers, body = cw_call(emu, "DescribeAlarms", c_struct(("NextToken", c_str("bogus"))))
    assert status == 400 and headers["x-amzn-query-error"].startswith("InvalidNextToken;"), headers
    bad = c_struct(("AlarmName", c_str("bad")), ("EvaluationPeriods", c_int(1)), ("Threshold", c_double(1.0)),
                   ("ComparisonOperator", c_str("GreaterThanThreshold")))
    status, headers, body = cw_call(emu, "PutMetricAlarm", bad)
    assert status == 400 and headers["x-amzn-query-error"].startswith("ValidationError;"), (status, headers)
    no_return = c_struct(("AlarmName", c_str("bad")), ("EvaluationPeriods", c_int(1)),
                         ("Threshold", c_double(1.0)), ("ComparisonOperator", c_str("GreaterThanThreshold")),
                         ("Metrics", c_list([c_struct(("Id", c_str("q")), ("Expression", c_str(QUERY)),
                                                      ("Period", c_int(300)))])))
    status, _, body = cw_call(emu, "PutMetricAlarm", no_return)
    assert status == 400 and "Exactly one element" in cbor2.loads(body)["message"], body
    status, _, body = cw_call(emu, "PutMetricAlarm", put_alarm("x"), {"smithy-protocol": ""})
    assert status == 400, "the smithy-protocol header is required"

    status, _, _ = cw_call(emu, "DeleteAlarms", c_struct(("AlarmNames", c_list(
        [c_str("crossrep-a"), c_str("crossrep-b"), c_str("crossrep-c"), c_str("never-existed")]))))
    assert status == 200
    status, _, body = cw_call(emu, "DescribeAlarms", b"")
    assert [a["AlarmName"] for a in cbor2.loads(body)["MetricAlarms"]] == ["other"], body

    # the request log names the operation and tells reads from writes
    summary = emu.http("GET", f"/_crossrep/requests/summary?account={SRC_ACC}")["by_operation"]
    assert summary["PutMetricAlarm"]["write"] and not summary["DescribeAlarms"]["write"], summary
    assert summary["DeleteAlarms"]["count"] == 1 and not summary["ListTagsForResource"]["write"], summary
    # injected faults reach a CBOR client as a CBOR error
    emu.http("POST", "/_crossrep/faults?operation=DescribeAlarms&code=Throttling&status=400&times=1")
    status, headers, body = cw_call(emu, "DescribeAlarms", b"")
    assert status == 400 and headers["x-amzn-query-error"] == "Throttling;Sender", headers
    assert cbor2.loads(body)["message"], body
    # and an awsJson client (aws-sdk-sqs) gets a JSON error with the query-compatible code
    emu.http("POST", "/_crossrep/faults?operation=GetQueueUrl&code=QueueDeletedRecently&status=400&times=1")
    sqs = emu.client("sqs", account=SRC_ACC)
    e = expect_error("QueueDeletedRecently", sqs.get_queue_url, QueueName="ev-good")
    assert e.response["Error"]["Message"] == "injected by the crossrep emulator", e.response
    print("ok CloudWatch over RPCv2 CBOR: put, describe (names, prefix, pages), tags, delete, errors")


def test_send_counts(emu: Emulator) -> None:
    """Fix 16: SendMessage no longer computes the approximate counts; they stay exact."""
    sqs = emu.client("sqs", account=SRC_ACC)
    url = make_queue(sqs, "ev-counts")
    for i in range(3):
        sqs.send_message(QueueUrl=url, MessageBody=f"m{i}")
    got = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, VisibilityTimeout=60)
    assert len(got.get("Messages", [])) == 1, got
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessages"] == "2", attrs
    assert attrs["ApproximateNumberOfMessagesNotVisible"] == "1", attrs
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "0", attrs
    sqs.send_message(QueueUrl=url, MessageBody="late", DelaySeconds=60)
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert attrs["ApproximateNumberOfMessagesDelayed"] == "1", attrs
    print("ok SendMessage: the approximate counts stay exact")


def main() -> int:
    os.environ.setdefault("CROSSREP_EMULATOR_REPLICATION_MS", "20")
    emu = Emulator()
    try:
        env = setup(emu)
        test_validation(emu, env)
        test_notification_document(emu, env)
        test_failure_event(emu, env)
        test_no_metrics(emu, env)
        test_policy_and_filters(emu, env)
        test_batch_sends_no_event(emu, env)
        test_replication_metrics_validation(emu, env)
        test_cloudwatch_cbor(emu)
        test_send_counts(emu)
        emu.http("POST", "/moto-api/reset")
        assert emu.http("GET", "/_crossrep/notification-deliveries")["deliveries"] == []
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
