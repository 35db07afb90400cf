#!/usr/bin/env python3
"""Self-test of the crossrep emulator: `python3 emulator/test_emulator.py` (no pytest needed).

Starts `emulator/run` on free ports as subprocesses, exercises every fix with boto3, stops the
servers (by their own PIDs) and exits non-zero on the first failure.
"""

from __future__ import annotations

import io
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
import zlib
from pathlib import Path

import base64

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.config import Config
from botocore.exceptions import ClientError

HERE = Path(__file__).resolve().parent
CREDS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}
ACC_A, ACC_B, ACC_C = "111111111111", "222222222222", "333333333333"
DEFAULT_ACCOUNT = "123456789012"


def free_port() -> int:
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port != 5003:  # reserved for benchmarks
            return port


class Emulator:
    def __init__(self, latency_ms: int = 0) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        args = [str(HERE / "run"), "--port", str(self.port)]
        if latency_ms:
            args += ["--latency-ms", str(latency_ms)]
        env = dict(os.environ)
        env.pop("MOTO_ACCOUNT_ID", None)
        self.proc = subprocess.Popen(args, cwd="/", env=env)
        deadline = time.time() + 120  # first run may pip-install
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"emulator exited with {self.proc.returncode}")
            try:
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("emulator not ready in time")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def http(self, method: str, path: str) -> dict:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read() or b"{}")

    def client(self, service: str, account: str | None = None, region: str = "us-east-1", **creds):
        c = boto3.client(
            service,
            endpoint_url=self.url,
            region_name=region,
            config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
            **(creds or CREDS),
        )
        if account:
            def add_header(request, **_):
                request.headers["x-moto-account-id"] = account

            c.meta.events.register("before-send.*.*", add_header)
        return c


def expect_error(code: str, fn, *args, **kwargs) -> ClientError:
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        got = e.response["Error"]["Code"]
        assert got == code, f"expected {code}, got {got}: {e}"
        return e
    raise AssertionError(f"expected {code}, call succeeded")


REPLICATION = {
    "Role": f"arn:aws:iam::{ACC_A}:role/crossrep-replication",
    "Rules": [
        {
            "ID": "crossrep-replicated-src",
            "Priority": 7,
            "Status": "Enabled",
            "Filter": {"And": {"Prefix": "logs/", "Tags": [{"Key": "team", "Value": "a"}]}},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {
                "Bucket": "arn:aws:s3:::replicated-src",
                "Account": ACC_B,
                "StorageClass": "STANDARD_IA",
                "AccessControlTranslation": {"Owner": "Destination"},
            },
        },
        {
            "ID": "other-team-rule",
            "Priority": 1,
            "Status": "Enabled",
            "Filter": {"Prefix": "data/"},
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "SourceSelectionCriteria": {"SseKmsEncryptedObjects": {"Status": "Enabled"}},
            "Destination": {
                "Bucket": "arn:aws:s3:::replicated-src",
                "Account": ACC_B,
                "EncryptionConfiguration": {"ReplicaKmsKeyID": f"arn:aws:kms:us-east-1:{ACC_B}:key/abc"},
            },
        },
    ],
}


def test_replication(emu: Emulator) -> None:
    a, b = emu.client("s3", ACC_A), emu.client("s3", ACC_B)
    a.create_bucket(Bucket="src")
    b.create_bucket(Bucket="replicated-src")
    b.put_bucket_versioning(Bucket="replicated-src", VersioningConfiguration={"Status": "Enabled"})

    # unversioned source -> InvalidRequest
    e = expect_error("InvalidRequest", a.put_bucket_replication, Bucket="src",
                     ReplicationConfiguration=REPLICATION)
    assert "Versioning must be 'Enabled'" in e.response["Error"]["Message"], e
    a.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})

    expect_error("ReplicationConfigurationNotFoundError", a.get_bucket_replication, Bucket="src")
    # 0 rules -> MalformedXML (not a 500)
    expect_error("MalformedXML", a.put_bucket_replication, Bucket="src",
                 ReplicationConfiguration={"Role": REPLICATION["Role"], "Rules": []})
    # ExistingObjectReplication -> MalformedXML
    rule = dict(REPLICATION["Rules"][1], ExistingObjectReplication={"Status": "Enabled"})
    expect_error("MalformedXML", a.put_bucket_replication, Bucket="src",
                 ReplicationConfiguration={"Role": REPLICATION["Role"], "Rules": [rule]})
    # missing bucket / other account's bucket
    expect_error("NoSuchBucket", a.put_bucket_replication, Bucket="nope-missing",
                 ReplicationConfiguration=REPLICATION)
    expect_error("AccessDenied", b.get_bucket_replication, Bucket="src")
    # duplicate priority, missing destination
    dup = [REPLICATION["Rules"][0], dict(REPLICATION["Rules"][1], Priority=7)]
    expect_error("InvalidRequest", a.put_bucket_replication, Bucket="src",
                 ReplicationConfiguration={"Role": REPLICATION["Role"], "Rules": dup})
    nodest = dict(REPLICATION["Rules"][1], Destination=dict(
        REPLICATION["Rules"][1]["Destination"], Bucket="arn:aws:s3:::no-such-dest"))
    e = expect_error("InvalidRequest", a.put_bucket_replication, Bucket="src",
                     ReplicationConfiguration={"Role": REPLICATION["Role"], "Rules": [nodest]})
    assert "Destination bucket must exist" in e.response["Error"]["Message"]
    # SSE-KMS opt-in without a replica key (S3 API reference: EncryptionConfiguration is
    # required with SourceSelectionCriteria); the key itself is not validated (200, then fails)
    nokey = dict(REPLICATION["Rules"][1], Destination={"Bucket": "arn:aws:s3:::replicated-src"})
    e = expect_error("InvalidRequest", a.put_bucket_replication, Bucket="src",
                     ReplicationConfiguration={"Role": REPLICATION["Role"], "Rules": [nokey]})
    assert "ReplicaKmsKeyID" in e.response["Error"]["Message"], e

    a.put_bucket_replication(Bucket="src", ReplicationConfiguration=REPLICATION)
    got = a.get_bucket_replication(Bucket="src")["ReplicationConfiguration"]
    assert got == REPLICATION, f"round trip differs:\nput={REPLICATION}\ngot={got}"

    # with a replication configuration the versioning state cannot change (409
    # InvalidBucketState); re-enabling is no change; without the configuration it can
    e = expect_error("InvalidBucketState", a.put_bucket_versioning, Bucket="src",
                     VersioningConfiguration={"Status": "Suspended"})
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 409, e
    assert a.get_bucket_versioning(Bucket="src")["Status"] == "Enabled"
    a.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})

    # a bucket's config is its own; deleting it works; deleting the bucket forgets it
    a.delete_bucket_replication(Bucket="src")
    a.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Suspended"})
    a.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    expect_error("ReplicationConfigurationNotFoundError", a.get_bucket_replication, Bucket="src")
    a.put_bucket_replication(Bucket="src", ReplicationConfiguration=REPLICATION)
    a.delete_bucket(Bucket="src")
    a.create_bucket(Bucket="src")
    a.put_bucket_versioning(Bucket="src", VersioningConfiguration={"Status": "Enabled"})
    expect_error("ReplicationConfigurationNotFoundError", a.get_bucket_replication, Bucket="src")
    print("ok replication round trip + validation")


def test_inventory(emu: Emulator) -> None:
    a = emu.client("s3", ACC_A)
    a.create_bucket(Bucket="inv-bucket")
    cfg = {
        "Id": "crossrep-inv",
        "IsEnabled": True,
        "IncludedObjectVersions": "All",
        "Schedule": {"Frequency": "Daily"},
        "Destination": {"S3BucketDestination": {"Bucket": "arn:aws:s3:::inv-bucket", "Format": "CSV"}},
    }
    a.put_bucket_inventory_configuration(Bucket="inv-bucket", Id="crossrep-inv", InventoryConfiguration=cfg)
    lst = a.list_bucket_inventory_configurations(Bucket="inv-bucket")
    assert [c["Id"] for c in lst.get("InventoryConfigurationList", [])] == ["crossrep-inv"], lst
    r = a.delete_bucket_inventory_configuration(Bucket="inv-bucket", Id="crossrep-inv")
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    a.head_bucket(Bucket="inv-bucket")  # still there
    lst = a.list_bucket_inventory_configurations(Bucket="inv-bucket")
    assert not lst.get("InventoryConfigurationList"), lst
    expect_error("NoSuchConfiguration", a.delete_bucket_inventory_configuration,
                 Bucket="inv-bucket", Id="crossrep-inv")
    # other unimplemented DELETE sub-resources must not delete the bucket either
    try:
        a.delete_bucket_metrics_configuration(Bucket="inv-bucket", Id="m")
    except ClientError:
        pass
    a.head_bucket(Bucket="inv-bucket")
    print("ok inventory delete keeps the bucket")


def test_location_and_objects(emu: Emulator) -> None:
    use1 = emu.client("s3", ACC_A, region="us-east-1")
    euw1 = emu.client("s3", ACC_A, region="eu-west-1")
    use1.create_bucket(Bucket="loc-us-east-1")
    euw1.create_bucket(Bucket="loc-eu-west-1",
                       CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    assert use1.get_bucket_location(Bucket="loc-us-east-1")["LocationConstraint"] is None
    assert euw1.get_bucket_location(Bucket="loc-eu-west-1")["LocationConstraint"] == "eu-west-1"
    expect_error("InvalidLocationConstraint", use1.create_bucket, Bucket="loc-bad",
                 CreateBucketConfiguration={"LocationConstraint": "us-east-1"})

    # PutObject with SDK checksums, Content-MD5 and aws-chunked streaming bodies
    use1.put_object(Bucket="loc-us-east-1", Key="a.txt", Body=b"hello", ChecksumAlgorithm="CRC32")
    use1.put_object(Bucket="loc-us-east-1", Key="b.txt", Body=b"md5", ContentMD5="Ri6Yl/nR5yoN8q3BjWkDpw==")

    # What the Rust SDK sends for a streaming PutObject: aws-chunked body with a trailing CRC32
    payload = b"x" * 70000
    crc = base64.b64encode(zlib.crc32(payload).to_bytes(4, "big")).decode()
    body = (f"{len(payload):x}\r\n".encode() + payload + b"\r\n0\r\n"
            + f"x-amz-checksum-crc32:{crc}\r\n\r\n".encode())
    req = AWSRequest(method="PUT", url=f"{emu.url}/loc-us-east-1/c.bin", data=body, headers={
        "Content-Encoding": "aws-chunked",
        "x-amz-content-sha256": "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        "x-amz-decoded-content-length": str(len(payload)),
        "x-amz-trailer": "x-amz-checksum-crc32",
        "x-amz-sdk-checksum-algorithm": "CRC32",
        "Content-Length": str(len(body)),
        "Content-Type": "application/octet-stream",  # urllib would default to a form type
        "x-moto-account-id": ACC_A,
    })
    SigV4Auth(Credentials("testing", "testing"), "s3", "us-east-1").add_auth(req)
    prepared = urllib.request.Request(req.url, data=body, method="PUT", headers=dict(req.headers))
    with urllib.request.urlopen(prepared, timeout=10) as r:
        assert r.status == 200, r.status
    for key, data in (("a.txt", b"hello"), ("b.txt", b"md5"), ("c.bin", payload)):
        body = use1.get_object(Bucket="loc-us-east-1", Key=key)["Body"].read()
        assert body == data, (key, len(body), body[:80])
    print("ok GetBucketLocation us-east-1/eu-west-1, checksummed/chunked PutObject")


def test_list_buckets_pagination(emu: Emulator) -> None:
    d = emu.client("s3", "444444444444")
    names = [f"page-{i:02d}" for i in range(7)]
    for n in reversed(names):
        d.create_bucket(Bucket=n)
    assert [b["Name"] for b in d.list_buckets()["Buckets"]] == names
    seen, token = [], None
    while True:
        kw = {"MaxBuckets": 3, **({"ContinuationToken": token} if token else {})}
        page = d.list_buckets(**kw)
        seen += [b["Name"] for b in page["Buckets"]]
        token = page.get("ContinuationToken")
        if not token:
            break
    assert seen == names, seen
    pag = [b["Name"] for p in d.get_paginator("list_buckets").paginate(PaginationConfig={"PageSize": 2})
           for b in p["Buckets"]]
    assert pag == names, pag
    print("ok ListBuckets pagination")


def test_iam_quotas(emu: Emulator) -> None:
    iam = emu.client("iam", ACC_A)
    iam.create_role(RoleName="quota-role", AssumeRolePolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "s3.amazonaws.com"},
                                                 "Action": "sts:AssumeRole"}]}))

    def doc(n: int, start: int = 0) -> str:
        return json.dumps({"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Action": "s3:GetObject",
            "Resource": [f"arn:aws:s3:::b{i:05d}/*" for i in range(start, start + n)]}]}, indent=2)

    iam.put_role_policy(RoleName="quota-role", PolicyName="p1", PolicyDocument=doc(150))      # ~3.7k
    iam.put_role_policy(RoleName="quota-role", PolicyName="p1", PolicyDocument=doc(150, 1))   # replace
    iam.put_role_policy(RoleName="quota-role", PolicyName="p2", PolicyDocument=doc(150))      # ~7.4k
    e = expect_error("LimitExceeded", iam.put_role_policy, RoleName="quota-role", PolicyName="p3",
                     PolicyDocument=doc(150))
    assert "10240" in e.response["Error"]["Message"], e
    expect_error("LimitExceeded", iam.create_policy, PolicyName="big", PolicyDocument=doc(300))
    small = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"}]})
    for i in range(10):
        arn = iam.create_policy(PolicyName=f"m{i}", PolicyDocument=small)["Policy"]["Arn"]
        iam.attach_role_policy(RoleName="quota-role", PolicyArn=arn)
    arn = iam.create_policy(PolicyName="m10", PolicyDocument=small)["Policy"]["Arn"]
    expect_error("LimitExceeded", iam.attach_role_policy, RoleName="quota-role", PolicyArn=arn)
    print("ok IAM policy size / attachment quotas")


def test_request_log(emu: Emulator) -> None:
    emu.http("POST", "/_crossrep/requests/reset")
    a, b = emu.client("s3", ACC_A), emu.client("s3", ACC_B)
    a.create_bucket(Bucket="log-a")                         # write A
    a.put_bucket_versioning(Bucket="log-a", VersioningConfiguration={"Status": "Enabled"})  # write A
    a.get_bucket_versioning(Bucket="log-a")                  # read A
    a.list_buckets()                                         # read A
    b.create_bucket(Bucket="log-b")                          # write B
    b.head_bucket(Bucket="log-b")                            # read B
    b.get_bucket_location(Bucket="log-b")                    # read B
    b.get_bucket_tagging  # noqa: B018 (unused)

    sts = emu.client("sts")                                  # default account, "testing" creds
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{ACC_C}:role/x", RoleSessionName="test")["Credentials"]
    c_creds = {"aws_access_key_id": creds["AccessKeyId"],
               "aws_secret_access_key": creds["SecretAccessKey"],
               "aws_session_token": creds["SessionToken"]}
    ident = emu.client("sts", **c_creds).get_caller_identity()   # read C
    assert ident["Account"] == ACC_C, ident
    iam_c = emu.client("iam", **c_creds)
    iam_c.create_role(RoleName="r", AssumeRolePolicyDocument="{}")  # write C
    iam_c.get_role(RoleName="r")                                     # read C
    s3_c = emu.client("s3", **c_creds)
    s3_c.create_bucket(Bucket="log-c")                               # write C
    s3_c.put_object(Bucket="log-c", Key="k", Body=b"v")              # write C

    reqs = emu.http("GET", "/_crossrep/requests")["requests"]
    keys = {"service", "operation", "account", "method", "path", "write", "status"}
    assert all(keys <= set(r) for r in reqs), reqs[0]
    summary = emu.http("GET", "/_crossrep/requests/summary")
    acc = summary["by_account"]
    assert acc[ACC_A] == {"total": 4, "reads": 2, "writes": 2}, acc
    assert acc[ACC_B] == {"total": 3, "reads": 1 + 1, "writes": 1}, acc
    assert acc[ACC_C] == {"total": 5, "reads": 2, "writes": 3}, acc
    assert acc[DEFAULT_ACCOUNT] == {"total": 1, "reads": 1, "writes": 0}, acc  # AssumeRole
    ops = summary["by_operation"]
    for op in ("CreateBucket", "PutBucketVersioning", "GetBucketVersioning", "ListBuckets",
               "HeadBucket", "GetBucketLocation", "AssumeRole", "GetCallerIdentity",
               "CreateRole", "GetRole", "PutObject"):
        assert op in ops, (op, ops)
    assert ops["CreateBucket"]["count"] == 3 and ops["CreateBucket"]["write"], ops
    services = {r["operation"]: r["service"] for r in reqs}
    assert services["AssumeRole"] == "sts" and services["CreateRole"] == "iam"
    assert services["PutObject"] == "s3", services
    only_b = emu.http("GET", f"/_crossrep/requests?account={ACC_B}")["requests"]
    assert len(only_b) == 3 and all(r["account"] == ACC_B for r in only_b), only_b
    assert summary["total"] == 13 and summary["writes"] == 6 and summary["reads"] == 7, summary

    emu.http("POST", "/_crossrep/requests/reset")
    assert emu.http("GET", "/_crossrep/requests")["requests"] == []
    # moto's reset clears moto state and the log
    a.list_buckets()
    emu.http("POST", "/moto-api/reset")
    assert emu.http("GET", "/_crossrep/requests")["requests"] == []
    assert a.list_buckets()["Buckets"] == []
    print("ok request log per account, summary, resets")


def test_request_payment(emu: Emulator) -> None:
    """Get/PutBucketRequestPayment (moto 5.2.1 has no handler: GET answered a listing)."""
    s3 = emu.client("s3", ACC_B)
    s3.create_bucket(Bucket="rp-dest")
    assert s3.get_bucket_request_payment(Bucket="rp-dest")["Payer"] == "BucketOwner"
    s3.put_bucket_request_payment(
        Bucket="rp-dest", RequestPaymentConfiguration={"Payer": "Requester"}
    )
    assert s3.get_bucket_request_payment(Bucket="rp-dest")["Payer"] == "Requester"
    s3.put_bucket_request_payment(
        Bucket="rp-dest", RequestPaymentConfiguration={"Payer": "BucketOwner"}
    )
    assert s3.get_bucket_request_payment(Bucket="rp-dest")["Payer"] == "BucketOwner"
    expect_error("NoSuchBucket", s3.get_bucket_request_payment, Bucket="rp-nope")
    print("ok request payment")


def test_cross_account_head_bucket(emu: Emulator) -> None:
    """HeadBucket of another account's bucket is 403 (moto answered 200)."""
    a, b = emu.client("s3", ACC_A), emu.client("s3", ACC_B)
    a.create_bucket(Bucket="hb-owned-by-a")
    a.head_bucket(Bucket="hb-owned-by-a")
    try:
        b.head_bucket(Bucket="hb-owned-by-a")
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403, e.response
    else:
        raise AssertionError("cross-account HeadBucket succeeded")
    try:
        b.head_bucket(Bucket="hb-nobody")
    except ClientError as e:
        assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 404, e.response
    print("ok cross-account HeadBucket 403")


def test_propagation(emu: Emulator) -> None:
    """With a propagation delay, a new role is not a valid principal and new versioning is not
    visible to PutBucketReplication until it has passed (AWS-NOTES, eventual consistency)."""
    emu.http("POST", f"/_crossrep/propagation?ms=1500&account={ACC_A}")
    iam, s3a = emu.client("iam", ACC_A), emu.client("s3", ACC_A)
    s3b = emu.client("s3", ACC_B)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                        "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
    arn = iam.create_role(RoleName="young", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    s3b.create_bucket(Bucket="prop-dst")
    policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                         "Principal": {"AWS": arn}, "Action": "s3:ReplicateObject",
                         "Resource": "arn:aws:s3:::prop-dst/*"}]})
    e = expect_error("MalformedPolicy", s3b.put_bucket_policy, Bucket="prop-dst", Policy=policy)
    assert "Invalid principal" in str(e), e
    s3a.create_bucket(Bucket="prop-src")
    s3a.put_bucket_versioning(Bucket="prop-src", VersioningConfiguration={"Status": "Enabled"})
    s3b.put_bucket_versioning(Bucket="prop-dst", VersioningConfiguration={"Status": "Enabled"})
    config = {"Role": arn, "Rules": [{"ID": "r", "Priority": 1, "Status": "Enabled", "Filter": {},
              "DeleteMarkerReplication": {"Status": "Disabled"},
              "Destination": {"Bucket": "arn:aws:s3:::prop-dst"}}]}
    e = expect_error("InvalidRequest", s3a.put_bucket_replication, Bucket="prop-src",
                     ReplicationConfiguration=config)
    assert "Versioning must be" in str(e), e
    time.sleep(1.6)
    s3b.put_bucket_policy(Bucket="prop-dst", Policy=policy)
    s3a.put_bucket_replication(Bucket="prop-src", ReplicationConfiguration=config)
    emu.http("POST", f"/_crossrep/propagation?ms=0&account={ACC_A}")
    print("ok propagation: new role and new versioning take their time")


def test_pass_role(emu: Emulator) -> None:
    """The caller of PutBucketReplication needs iam:PassRole on the role (S3 API reference),
    evaluated when the caller is a role that exists in IAM."""
    iam, sts = emu.client("iam", ACC_A), emu.client("sts", ACC_A)
    s3a = emu.client("s3", ACC_A)
    operator = iam.create_role(RoleName="operator", AssumeRolePolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                                                "Principal": {"AWS": f"arn:aws:iam::{ACC_A}:root"}}]}))
    iam.put_role_policy(RoleName="operator", PolicyName="s3", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))
    creds = sts.assume_role(RoleArn=operator["Role"]["Arn"], RoleSessionName="op")["Credentials"]
    s3op = emu.client("s3", None, aws_access_key_id=creds["AccessKeyId"],
                      aws_secret_access_key=creds["SecretAccessKey"],
                      aws_session_token=creds["SessionToken"])
    s3a.create_bucket(Bucket="pass-src")
    s3a.create_bucket(Bucket="pass-dst")
    for b in ("pass-src", "pass-dst"):
        s3a.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    role = f"arn:aws:iam::{ACC_A}:role/replicator"
    config = {"Role": role, "Rules": [{"ID": "r", "Priority": 1, "Status": "Enabled", "Filter": {},
              "DeleteMarkerReplication": {"Status": "Disabled"},
              "Destination": {"Bucket": "arn:aws:s3:::pass-dst"}}]}
    e = expect_error("AccessDenied", s3op.put_bucket_replication, Bucket="pass-src",
                     ReplicationConfiguration=config)
    assert "iam:PassRole" in str(e), e
    # Passing it to another service does not count.
    iam.put_role_policy(RoleName="operator", PolicyName="pass", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole",
                                                "Resource": role, "Condition": {"StringEquals": {
                                                    "iam:PassedToService": "ec2.amazonaws.com"}}}]}))
    expect_error("AccessDenied", s3op.put_bucket_replication, Bucket="pass-src",
                 ReplicationConfiguration=config)
    iam.put_role_policy(RoleName="operator", PolicyName="pass", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole",
                                                "Resource": role, "Condition": {"StringEquals": {
                                                    "iam:PassedToService": "s3.amazonaws.com"}}}]}))
    s3op.put_bucket_replication(Bucket="pass-src", ReplicationConfiguration=config)
    # A caller the emulator does not model (no such IAM identity) is not evaluated (README gap).
    s3a.put_bucket_replication(Bucket="pass-src", ReplicationConfiguration=config)
    print("ok PutBucketReplication needs iam:PassRole on the role")


def test_request_classification() -> None:
    """Reads and writes are told by operation for every protocol, not by HTTP method (SPEC §7)."""
    import crossrep_emulator as ce

    def env(method: str, path: str, service: str, **headers: str) -> dict:
        e = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": "",
             "HTTP_AUTHORIZATION": f"AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20261201/us-east-1/{service}/aws4_request",
             "wsgi.input": io.BytesIO(b""), "CONTENT_LENGTH": "0"}
        e.update({"HTTP_" + k.upper().replace("-", "_"): v for k, v in headers.items()})
        return e

    cases = [
        (env("POST", "/", "kms", **{"x-amz-target": "TrentService.DescribeKey"}), "DescribeKey", False),
        (env("POST", "/", "kms", **{"x-amz-target": "TrentService.PutKeyPolicy"}), "PutKeyPolicy", True),
        (env("POST", "/", "sqs", **{"x-amz-target": "AmazonSQS.GetQueueAttributes"}), "GetQueueAttributes", False),
        (env("POST", "/", "sqs", **{"x-amz-target": "AmazonSQS.ReceiveMessage"}), "ReceiveMessage", False),
        (env("POST", "/", "organizations", **{"x-amz-target": "AWSOrganizationsV20161128.ListAccounts"}), "ListAccounts", False),
        (env("POST", "/service/GraniteServiceVersion20100801/operation/DescribeAlarms", "monitoring"), "DescribeAlarms", False),
        (env("POST", "/service/GraniteServiceVersion20100801/operation/PutMetricAlarm", "monitoring"), "PutMetricAlarm", True),
        (env("POST", "/getRegionOptStatus", "account"), "GetRegionOptStatus", False),
        (env("POST", "/enableRegion", "account"), "EnableRegion", True),
    ]
    for environ, op, write in cases:
        got = ce.classify(environ)
        assert (got["operation"], got["write"]) == (op, write), (op, got)
    print("ok request classification by operation")


def test_latency() -> None:
    emu = Emulator(latency_ms=200)
    try:
        s3 = emu.client("s3", ACC_A)
        s3.list_buckets()  # warm the connection
        t0 = time.monotonic()
        s3.list_buckets()
        took = time.monotonic() - t0
        assert took >= 0.2, took
        t0 = time.monotonic()
        emu.http("GET", "/_crossrep/requests")
        assert time.monotonic() - t0 < 0.2, "latency applied to /_crossrep/"
        print(f"ok latency 200ms -> {took:.3f}s")
    finally:
        emu.stop()


def main() -> int:
    emu = Emulator()
    try:
        test_replication(emu)
        test_inventory(emu)
        test_location_and_objects(emu)
        test_list_buckets_pagination(emu)
        test_iam_quotas(emu)
        test_request_log(emu)
        test_request_payment(emu)
        test_cross_account_head_bucket(emu)
        test_propagation(emu)
        test_pass_role(emu)
        test_request_classification()
    finally:
        emu.stop()
    test_latency()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
