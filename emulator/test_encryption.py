#!/usr/bin/env python3
"""Self-test of the emulator's SSE-C model (encryption.py): `python3 emulator/test_encryption.py`
(no pytest needed).

Starts `emulator/run` on a free port, drives it with boto3 as two accounts, stops the server and
exits non-zero on the first failure. Every rule of README "SSE-C" has a check here: new buckets
block SSE-C, `NONE` unblocks, the headers are validated, reads need the right key, and live and
Batch Replication fail into a destination that blocks SSE-C.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import sys
from pathlib import Path
from urllib.parse import unquote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent))

from botocore.exceptions import ClientError  # noqa: E402

from test_batch import s3control, wait_job  # noqa: E402
from test_emulator import Emulator, expect_error  # noqa: E402

SRC_ACC, DST_ACC = "111111111111", "222222222222"
ROLE_NAME = "crossrep-ssec"
ROLE_ARN = f"arn:aws:iam::{SRC_ACC}:role/{ROLE_NAME}"
CODE = "EmulatorDstSseCNotPermitted"
KEY, OTHER_KEY = b"k" * 32, b"o" * 32
SSE_C = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": KEY}
WRONG = {"SSECustomerAlgorithm": "AES256", "SSECustomerKey": OTHER_KEY}
COPY_SSE_C = {"CopySourceSSECustomerAlgorithm": "AES256", "CopySourceSSECustomerKey": KEY}
KEY_MD5 = base64.b64encode(hashlib.md5(KEY).digest()).decode()

SRC, OK_DST, BLOCKED_DST, REPORTS = "sc-src", "sc-dst-ok", "sc-dst-blocked", "sc-reports"
BATCH_SRC = "sc-batch-src"


def unblock(s3, bucket: str) -> None:
    """AWS's example body for allowing SSE-C again: a rule with only BlockedEncryptionTypes."""
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}]})


def rule_of(s3, bucket: str) -> dict:
    rules = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert len(rules) == 1, rules
    return rules[0]


def raw_answer(client) -> dict:
    """The last HTTP answer of `client` (status, headers, body), for what boto3 hides."""
    last: dict = {}

    def keep(http_response, **_):
        last.update(status=http_response.status_code, headers=dict(http_response.headers),
                    body=http_response.content)

    client.meta.events.register("after-call.s3.*", keep)  # also emitted before an error is raised
    return last


def status_of(err: ClientError) -> int:
    return err.response["ResponseMetadata"]["HTTPStatusCode"]


def expect_status(status: int, code: str, fn, *args, **kwargs) -> ClientError:
    e = expect_error(code, fn, *args, **kwargs)
    assert status_of(e) == status, (status, e.response)
    return e


def test_new_bucket_blocks(emu: Emulator) -> None:
    s3 = emu.client("s3", account=SRC_ACC)
    last = raw_answer(s3)
    s3.create_bucket(Bucket="sc-new")
    # GetBucketEncryption: the SSE-S3 default (2023) with SSE-C blocked (April 2026), where moto
    # alone answers ServerSideEncryptionConfigurationNotFoundError.
    assert rule_of(s3, "sc-new") == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": False,
        "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}, rule_of(s3, "sc-new")
    assert last["body"].endswith(
        b"<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>AES256</SSEAlgorithm>"
        b"</ApplyServerSideEncryptionByDefault><BucketKeyEnabled>false</BucketKeyEnabled>"
        b"<BlockedEncryptionTypes><EncryptionType>SSE-C</EncryptionType></BlockedEncryptionTypes>"
        b"</Rule></ServerSideEncryptionConfiguration>"), last["body"]
    # every SSE-C write is 403 AccessDenied ...
    e = expect_status(403, "AccessDenied", s3.put_object, Bucket="sc-new", Key="c", Body=b"c", **SSE_C)
    assert "blocked upload requests that specify Server Side Encryption with Customer provided keys" \
        in e.response["Error"]["Message"], e.response
    expect_status(403, "AccessDenied", s3.create_multipart_upload, Bucket="sc-new", Key="m", **SSE_C)
    s3.put_object(Bucket="sc-new", Key="plain", Body=b"p")  # ... others are not
    expect_status(403, "AccessDenied", s3.copy_object, Bucket="sc-new", Key="copy",
                  CopySource={"Bucket": "sc-new", "Key": "plain"}, **SSE_C)
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="sc-new")["Contents"]] == ["plain"]
    # a bucket that was never created has no encryption configuration to show
    expect_status(404, "NoSuchBucket", s3.get_bucket_encryption, Bucket="sc-missing")
    print("ok new buckets block SSE-C: GetBucketEncryption shows it, SSE-C writes 403")


def test_block_and_unblock(emu: Emulator) -> None:
    s3 = emu.client("s3", account=SRC_ACC)
    s3.create_bucket(Bucket="sc-toggle")
    unblock(s3, "sc-toggle")
    assert rule_of(s3, "sc-toggle")["BlockedEncryptionTypes"] == {"EncryptionType": ["NONE"]}
    assert rule_of(s3, "sc-toggle")["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    s3.put_object(Bucket="sc-toggle", Key="c", Body=b"c", **SSE_C)
    # A configuration without BlockedEncryptionTypes leaves the block as it was (see README).
    s3.put_bucket_encryption(Bucket="sc-toggle", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]})
    assert rule_of(s3, "sc-toggle")["BlockedEncryptionTypes"] == {"EncryptionType": ["NONE"]}
    s3.put_object(Bucket="sc-toggle", Key="c", Body=b"c2", **SSE_C)
    # block again: new SSE-C writes 403, existing SSE-C objects stay readable with their key
    s3.put_bucket_encryption(Bucket="sc-toggle", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"},
         "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]})
    expect_status(403, "AccessDenied", s3.put_object, Bucket="sc-toggle", Key="c", Body=b"c3", **SSE_C)
    assert s3.get_object(Bucket="sc-toggle", Key="c", **SSE_C)["Body"].read() == b"c2"
    # DeleteBucketEncryption resets the default to SSE-S3 and keeps the block
    s3.delete_bucket_encryption(Bucket="sc-toggle")
    assert rule_of(s3, "sc-toggle")["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    # KMS defaults keep their shape (moto's answer) and gain the rule's BlockedEncryptionTypes
    kms = f"arn:aws:kms:us-east-1:{SRC_ACC}:key/sc"
    s3.put_bucket_encryption(Bucket="sc-toggle", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms},
         "BucketKeyEnabled": True}]})
    assert rule_of(s3, "sc-toggle") == {
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": kms},
        "BucketKeyEnabled": True, "BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}
    # Only NONE and SSE-C are valid, one rule, something in it
    for rules in ([{"BlockedEncryptionTypes": {"EncryptionType": ["SSE-KMS"]}}],
                  [{"BlockedEncryptionTypes": {"EncryptionType": ["NONE", "SSE-C"]}}],
                  [{"BlockedEncryptionTypes": {"EncryptionType": ["NONE"]}}] * 2, [{}]):
        expect_status(400, "MalformedXML", s3.put_bucket_encryption, Bucket="sc-toggle",
                      ServerSideEncryptionConfiguration={"Rules": rules})
    assert rule_of(s3, "sc-toggle")["BlockedEncryptionTypes"] == {"EncryptionType": ["SSE-C"]}
    # unblocking a KMS bucket with a rule that names no default leaves SSE-S3 (the base level)
    unblock(s3, "sc-toggle")
    assert rule_of(s3, "sc-toggle")["ApplyServerSideEncryptionByDefault"] == {"SSEAlgorithm": "AES256"}
    print("ok PutBucketEncryption: NONE unblocks, SSE-C blocks, omitted keeps, Delete keeps, "
          "KMS shape kept, bad values MalformedXML")


def test_headers(emu: Emulator) -> None:
    s3 = emu.client("s3", account=SRC_ACC)
    s3.create_bucket(Bucket="sc-headers")
    unblock(s3, "sc-headers")
    b64 = base64.b64encode(KEY).decode()
    put = dict(Bucket="sc-headers", Key="h", Body=b"h")
    cases = [
        ("InvalidArgument", "calculated MD5 hash of the key did not match",
         dict(SSECustomerAlgorithm="AES256", SSECustomerKey=b64, SSECustomerKeyMD5="AAAAAAAAAAAAAAAAAAAAAA==")),
        ("InvalidEncryptionAlgorithmError", "Supported value: AES256",
         dict(SSECustomerAlgorithm="AES128", SSECustomerKey=KEY)),
        ("InvalidArgument", "must provide a valid encryption algorithm", dict(SSECustomerKey=KEY)),
        ("InvalidArgument", "must provide an appropriate secret key", dict(SSECustomerAlgorithm="AES256")),
        ("InvalidArgument", "secret key was invalid for the specified algorithm",
         dict(SSECustomerAlgorithm="AES256", SSECustomerKey=b"short")),
        ("InvalidArgument", "incompatible with the encryption method specified",
         dict(ServerSideEncryption="AES256", **SSE_C)),
        ("InvalidArgument", "incompatible with the encryption method specified",  # checked first
         dict(ServerSideEncryption="aws:kms", SSECustomerAlgorithm="AES128", SSECustomerKey=KEY)),
    ]
    for code, text, kw in cases:
        e = expect_status(400, code, s3.put_object, **put, **kw)
        assert text in e.response["Error"]["Message"], (kw, e.response["Error"])
    # the MD5 header left out (boto3 always computes it: drop it on the way out)
    bare = emu.client("s3", account=SRC_ACC)
    bare.meta.events.register("before-send.s3.PutObject", lambda request, **_: request.headers.__delitem__(
        "x-amz-server-side-encryption-customer-key-MD5"))
    e = expect_status(400, "InvalidArgument", bare.put_object, **put, **SSE_C)
    assert "client calculated MD5" in e.response["Error"]["Message"], e.response
    assert "Contents" not in s3.list_objects_v2(Bucket="sc-headers")
    print("ok SSE-C headers: bad MD5, algorithm, missing parts, key size, SSE conflict -> 400")


def test_reads(emu: Emulator) -> None:
    s3 = emu.client("s3", account=SRC_ACC)
    raw = emu.client("s3", account=SRC_ACC)  # a client that reads each answer's body itself
    last = raw_answer(raw)
    s3.create_bucket(Bucket="sc-reads")
    unblock(s3, "sc-reads")
    s3.put_bucket_versioning(Bucket="sc-reads", VersioningConfiguration={"Status": "Enabled"})
    put = raw.put_object(Bucket="sc-reads", Key="secret", Body=b"secret", Tagging="team=a", **SSE_C)
    assert (put["SSECustomerAlgorithm"], put["SSECustomerKeyMD5"]) == ("AES256", KEY_MD5), put
    assert "ServerSideEncryption" not in put, put
    # "Objects created by PUT … encrypted by SSE-C have ETags that are not an MD5 digest"
    assert put["ETag"].strip('"') != hashlib.md5(b"secret").hexdigest(), put["ETag"]
    assert not any(KEY in v.encode() or base64.b64encode(KEY).decode() in v
                   for v in last["headers"].values()), last["headers"]  # the key is never echoed
    # with the key: 200, algorithm and key MD5, no other server-side encryption
    head = s3.head_object(Bucket="sc-reads", Key="secret", **SSE_C)
    assert (head["SSECustomerAlgorithm"], head["SSECustomerKeyMD5"]) == ("AES256", KEY_MD5), head
    assert "ServerSideEncryption" not in head and head["ETag"] == put["ETag"], head
    got = s3.get_object(Bucket="sc-reads", Key="secret", VersionId=put["VersionId"], **SSE_C)
    assert got["Body"].read() == b"secret" and got["SSECustomerKeyMD5"] == KEY_MD5, got
    # without the key: 400 (HEAD: no body); with another key: 403
    expect_status(400, "400", raw.head_object, Bucket="sc-reads", Key="secret")
    assert last["status"] == 400 and last["body"] == b"", last
    e = expect_status(400, "InvalidRequest", s3.get_object, Bucket="sc-reads", Key="secret")
    assert "stored using a form of Server Side Encryption" in e.response["Error"]["Message"], e.response
    expect_status(403, "403", raw.head_object, Bucket="sc-reads", Key="secret", **WRONG)
    assert last["status"] == 403 and last["body"] == b"", last
    expect_status(403, "AccessDenied", s3.get_object, Bucket="sc-reads", Key="secret", **WRONG)
    expect_status(400, "InvalidRequest", s3.get_object_attributes, Bucket="sc-reads", Key="secret",
                  ObjectAttributes=["ETag"])
    # what needs no key: tags, listings, deleting
    tags = s3.get_object_tagging(Bucket="sc-reads", Key="secret")["TagSet"]
    assert tags == [{"Key": "team", "Value": "a"}], tags
    listed = s3.list_object_versions(Bucket="sc-reads")["Versions"]
    assert [(v["Key"], v["VersionId"]) for v in listed] == [("secret", put["VersionId"])], listed
    # SSE-C headers on an object that is not SSE-C: 400
    s3.put_object(Bucket="sc-reads", Key="plain", Body=b"p")
    e = expect_status(400, "InvalidRequest", s3.get_object, Bucket="sc-reads", Key="plain", **SSE_C)
    assert "not applicable to this object" in e.response["Error"]["Message"], e.response
    # an SSE-C object in a bucket whose default is SSE-KMS is SSE-C only
    s3.put_bucket_encryption(Bucket="sc-reads", ServerSideEncryptionConfiguration={"Rules": [
        {"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    s3.put_object(Bucket="sc-reads", Key="kms-default", Body=b"k", **SSE_C)
    head = s3.head_object(Bucket="sc-reads", Key="kms-default", **SSE_C)
    assert "ServerSideEncryption" not in head and "SSEKMSKeyId" not in head, head
    assert s3.head_object(Bucket="sc-reads", Key="plain")["ResponseMetadata"]["HTTPStatusCode"] == 200
    s3.delete_object(Bucket="sc-reads", Key="secret")
    print("ok SSE-C reads: key -> 200 + MD5, none -> 400, wrong -> 403 (HEAD without body); "
          "tags/listing need no key")


def test_copy_and_multipart(emu: Emulator) -> None:
    s3 = emu.client("s3", account=SRC_ACC)
    s3.create_bucket(Bucket="sc-copy")
    unblock(s3, "sc-copy")
    s3.put_object(Bucket="sc-copy", Key="src", Body=b"source", **SSE_C)
    source = {"Bucket": "sc-copy", "Key": "src"}
    expect_status(400, "InvalidRequest", s3.copy_object, Bucket="sc-copy", Key="d", CopySource=source)
    expect_status(403, "AccessDenied", s3.copy_object, Bucket="sc-copy", Key="d", CopySource=source,
                  CopySourceSSECustomerAlgorithm="AES256", CopySourceSSECustomerKey=OTHER_KEY)
    # decrypted with the source key, stored without SSE-C: readable without a key
    s3.copy_object(Bucket="sc-copy", Key="plain-copy", CopySource=source, **COPY_SSE_C)
    assert s3.get_object(Bucket="sc-copy", Key="plain-copy")["Body"].read() == b"source"
    # re-encrypted under another customer key
    r = s3.copy_object(Bucket="sc-copy", Key="other-copy", CopySource=source, **COPY_SSE_C, **WRONG)
    assert r["SSECustomerKeyMD5"] == base64.b64encode(hashlib.md5(OTHER_KEY).digest()).decode(), r
    expect_status(403, "AccessDenied", s3.get_object, Bucket="sc-copy", Key="other-copy", **SSE_C)
    assert s3.get_object(Bucket="sc-copy", Key="other-copy", **WRONG)["Body"].read() == b"source"
    # multipart: every part carries the initiation's key; the object is SSE-C
    up = s3.create_multipart_upload(Bucket="sc-copy", Key="mp", **SSE_C)
    assert up["SSECustomerKeyMD5"] == KEY_MD5, up
    part = dict(Bucket="sc-copy", Key="mp", UploadId=up["UploadId"], PartNumber=1, Body=b"p" * 10)
    expect_status(400, "InvalidRequest", s3.upload_part, **part)
    expect_status(400, "InvalidRequest", s3.upload_part, **part, **WRONG)
    etag = s3.upload_part(**part, **SSE_C)["ETag"]
    s3.complete_multipart_upload(Bucket="sc-copy", Key="mp", UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]})
    expect_status(400, "400", s3.head_object, Bucket="sc-copy", Key="mp")
    assert s3.head_object(Bucket="sc-copy", Key="mp", **SSE_C)["SSECustomerKeyMD5"] == KEY_MD5
    # an upload started while SSE-C was allowed cannot write once the bucket blocks it
    up = s3.create_multipart_upload(Bucket="sc-copy", Key="late", **SSE_C)
    s3.put_bucket_encryption(Bucket="sc-copy", ServerSideEncryptionConfiguration={"Rules": [
        {"BlockedEncryptionTypes": {"EncryptionType": ["SSE-C"]}}]})
    late = dict(Bucket="sc-copy", Key="late", UploadId=up["UploadId"])
    expect_status(403, "AccessDenied", s3.upload_part, **late, PartNumber=1, Body=b"l", **SSE_C)
    expect_status(403, "AccessDenied", s3.complete_multipart_upload, **late,
                  MultipartUpload={"Parts": [{"ETag": etag, "PartNumber": 1}]})
    s3.abort_multipart_upload(**late)
    print("ok SSE-C copies (source key needed, destination re-encrypted) and multipart uploads")


# --------------------------------------------------------------------------------------------
# replication
# --------------------------------------------------------------------------------------------


TRUST = json.dumps({"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": ["s3.amazonaws.com", "batchoperations.s3.amazonaws.com"]},
    "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"aws:SourceAccount": SRC_ACC}}}]})


def role_policy(sources: list[str], dsts: list[str]) -> str:
    # deliberately no SSE-C-specific permission: AWS "Replicating encrypted objects" needs none
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket",
                                       "s3:PutInventoryConfiguration"],
         "Resource": [f"arn:aws:s3:::{s}" for s in sources]},
        {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionTagging",
                                       "s3:InitiateReplication"],
         "Resource": [f"arn:aws:s3:::{s}/*" for s in sources]},
        {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
         "Resource": [f"arn:aws:s3:::{d}/*" for d in dsts]},
        {"Effect": "Allow", "Action": ["s3:PutObject"], "Resource": f"arn:aws:s3:::{REPORTS}/*"},
    ]})


def dst_policy(bucket: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": ROLE_ARN},
        "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def rule(rid: str, prio: int, prefix: str, dst: str) -> dict:
    return {"ID": rid, "Priority": prio, "Status": "Enabled", "Filter": {"Prefix": prefix},
            "DeleteMarkerReplication": {"Status": "Disabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{dst}", "Account": DST_ACC}}


def setup_replication(emu: Emulator) -> dict:
    s3a, s3b = emu.client("s3", account=SRC_ACC), emu.client("s3", account=DST_ACC)
    iam = emu.client("iam", account=SRC_ACC)
    for c, b in ((s3a, SRC), (s3a, BATCH_SRC), (s3b, OK_DST), (s3b, BLOCKED_DST)):
        c.create_bucket(Bucket=b)
        c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    s3a.create_bucket(Bucket=REPORTS)
    for c, b in ((s3a, SRC), (s3a, BATCH_SRC), (s3b, OK_DST)):
        unblock(c, b)  # BLOCKED_DST keeps the default
    for b in (OK_DST, BLOCKED_DST):
        s3b.put_bucket_policy(Bucket=b, Policy=dst_policy(b))
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="p",
                        PolicyDocument=role_policy([SRC, BATCH_SRC], [OK_DST, BLOCKED_DST]))
    s3a.put_bucket_replication(Bucket=SRC, ReplicationConfiguration={"Role": ROLE_ARN, "Rules": [
        rule("ok", 1, "ok/", OK_DST), rule("blocked", 2, "blocked/", BLOCKED_DST)]})
    return {"s3a": s3a, "s3b": s3b}


def wait_idle(emu: Emulator) -> None:
    assert emu.http("GET", "/_crossrep/replication/idle?timeout=20") == {"pending": 0}


def test_live_replication(emu: Emulator, env: dict) -> None:
    s3a, s3b = env["s3a"], env["s3b"]
    ok = s3a.put_object(Bucket=SRC, Key="ok/a", Body=b"a", **SSE_C)
    blocked = s3a.put_object(Bucket=SRC, Key="blocked/b", Body=b"b", **SSE_C)
    s3a.put_object(Bucket=SRC, Key="blocked/plain", Body=b"p")
    wait_idle(emu)
    # into a destination that accepts SSE-C: COMPLETED, the replica is SSE-C under the same key
    assert s3a.head_object(Bucket=SRC, Key="ok/a", **SSE_C)["ReplicationStatus"] == "COMPLETED"
    replica = s3b.head_object(Bucket=OK_DST, Key="ok/a", VersionId=ok["VersionId"], **SSE_C)
    assert (replica["ReplicationStatus"], replica["SSECustomerAlgorithm"], replica["SSECustomerKeyMD5"]) \
        == ("REPLICA", "AES256", KEY_MD5), replica
    expect_status(400, "400", s3b.head_object, Bucket=OK_DST, Key="ok/a")
    assert s3b.get_object(Bucket=OK_DST, Key="ok/a", **SSE_C)["Body"].read() == b"a"
    # into one that blocks SSE-C (the default): FAILED with the emulator's code, nothing written;
    # a plain object into the same destination replicates
    assert s3a.head_object(Bucket=SRC, Key="blocked/b", **SSE_C)["ReplicationStatus"] == "FAILED"
    rows = emu.http("GET", f"/_crossrep/replication-failures?source=live&bucket={SRC}")["failures"]
    assert [(r["key"], r["version_id"], r["failure_code"], r["destination_bucket"], r["rule_id"])
            for r in rows] == [("blocked/b", blocked["VersionId"], CODE, BLOCKED_DST, "blocked")], rows
    assert s3a.head_object(Bucket=SRC, Key="blocked/plain")["ReplicationStatus"] == "COMPLETED"
    keys = [v["Key"] for v in s3b.list_object_versions(Bucket=BLOCKED_DST).get("Versions", [])]
    assert keys == ["blocked/plain"], keys
    print(f"ok live replication of SSE-C: accepting destination COMPLETED (replica SSE-C, same key "
          f"MD5), blocking destination FAILED {CODE}")


def read_report(s3, job_id: str) -> list[list[str]]:
    manifest = json.loads(s3.get_object(Bucket=REPORTS, Key=f"reports/job-{job_id}/manifest.json")["Body"].read())
    rows = []
    for result in manifest["Results"]:
        body = s3.get_object(Bucket=result["Bucket"], Key=result["Key"])["Body"].read().decode()
        rows += list(csv.reader(io.StringIO(body)))
    return rows


def job_request(token: str, statuses: list[str] | None = None) -> dict:
    filt: dict = {"EligibleForReplication": True}
    if statuses:
        filt["ObjectReplicationStatuses"] = statuses
    return dict(
        AccountId=SRC_ACC, ConfirmationRequired=False, Operation={"S3ReplicateObject": {}},
        Report={"Bucket": f"arn:aws:s3:::{REPORTS}", "Format": "Report_CSV_20180820", "Enabled": True,
                "Prefix": "reports", "ReportScope": "AllTasks"},
        ClientRequestToken=token, Priority=1, RoleArn=ROLE_ARN,
        ManifestGenerator={"S3JobManifestGenerator": {
            "SourceBucket": f"arn:aws:s3:::{BATCH_SRC}", "EnableManifestOutput": False, "Filter": filt}})


def test_batch_replication(emu: Emulator, env: dict) -> None:
    s3a, s3b = env["s3a"], env["s3b"]
    # written before the bucket replicates: only Batch Replication copies it
    vid = s3a.put_object(Bucket=BATCH_SRC, Key="old", Body=b"old", **SSE_C)["VersionId"]
    s3a.put_bucket_replication(Bucket=BATCH_SRC, ReplicationConfiguration={"Role": ROLE_ARN, "Rules": [
        rule("batch", 1, "", BLOCKED_DST)]})
    ctl = s3control(emu, SRC_ACC)
    job = wait_job(ctl, ctl.create_job(**job_request("sc-1"))["JobId"])
    assert job["Status"] == "Complete", job
    p = job["ProgressSummary"]
    assert (p["TotalNumberOfTasks"], p["NumberOfTasksFailed"]) == (1, 1), p
    rows = read_report(s3a, job["JobId"])
    assert [(unquote_plus(r[1]), r[2], r[3], r[4], r[5]) for r in rows] == [
        ("old", vid, "failed", "403", CODE)], rows
    assert s3a.head_object(Bucket=BATCH_SRC, Key="old", **SSE_C)["ReplicationStatus"] == "FAILED"
    failures = emu.http("GET", f"/_crossrep/replication-failures?source=batch&job_id={job['JobId']}")
    assert [f["failure_code"] for f in failures["failures"]] == [CODE], failures
    # the destination allows SSE-C again: re-drive the FAILED version
    unblock(s3b, BLOCKED_DST)
    job = wait_job(ctl, ctl.create_job(**job_request("sc-2", ["FAILED"]))["JobId"])
    assert job["ProgressSummary"]["NumberOfTasksSucceeded"] == 1, job["ProgressSummary"]
    assert [r[3] for r in read_report(s3a, job["JobId"])] == ["succeeded"]
    replica = s3b.head_object(Bucket=BLOCKED_DST, Key="old", VersionId=vid, **SSE_C)
    assert (replica["ReplicationStatus"], replica["SSECustomerKeyMD5"]) == ("REPLICA", KEY_MD5), replica
    print(f"ok Batch Replication of SSE-C: report row failed,403,{CODE}; re-drive after NONE succeeds")


def main() -> int:
    emu = Emulator()
    try:
        test_new_bucket_blocks(emu)
        test_block_and_unblock(emu)
        test_headers(emu)
        test_reads(emu)
        test_copy_and_multipart(emu)
        env = setup_replication(emu)
        test_live_replication(emu, env)
        test_batch_replication(emu, env)
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
