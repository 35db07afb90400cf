#!/usr/bin/env python3
"""Self-test of the emulator's live replication (replicate.py): `python3 emulator/test_replicate.py`
(no pytest needed).

Starts `emulator/run` on a free port with CROSSREP_EMULATOR_REPLICATION_MS=300 (so PENDING is
observable), drives it with boto3 as two accounts, stops the server and exits non-zero on the
first failure.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_emulator import Emulator  # noqa: E402

SRC_ACC, DST_ACC = "111111111111", "222222222222"
ROLE_NAME = "crossrep-live"
ROLE_ARN = f"arn:aws:iam::{SRC_ACC}:role/{ROLE_NAME}"
DST_ROLE_ARN = f"arn:aws:iam::{DST_ACC}:role/{ROLE_NAME}"
SRC = "lr-src"
DST, NOPOLICY, MULTI, THIRD = "lr-dst", "lr-nopolicy", "lr-multi", "lr-third"


def trust(principals: list[str], account: str) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": principals}, "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": account}}}]})


def role_policy(src: str, dsts: list[str]) -> str:
    # deliberately no s3:InitiateReplication: live replication does not need it
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
         "Resource": f"arn:aws:s3:::{src}"},
        {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                       "s3:GetObjectVersionTagging"],
         "Resource": f"arn:aws:s3:::{src}/*"},
        {"Effect": "Allow", "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
         "Resource": [f"arn:aws:s3:::{d}/*" for d in dsts]},
    ]})


def dst_policy(bucket: str, role_arn: str = ROLE_ARN) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": "CrossrepReplicate", "Effect": "Allow", "Principal": {"AWS": role_arn},
        "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
        "Resource": f"arn:aws:s3:::{bucket}/*"}]})


def rule(rid: str, prio: int, filt: dict, dst: str, markers: bool, **dest) -> dict:
    return {"ID": rid, "Priority": prio, "Status": "Enabled", "Filter": filt,
            "DeleteMarkerReplication": {"Status": "Enabled" if markers else "Disabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{dst}", "Account": DST_ACC, **dest}}


SRC_CONFIG = {"Role": ROLE_ARN, "Rules": [
    rule("docs", 1, {"Prefix": "docs/"}, DST, True, StorageClass="STANDARD_IA"),
    rule("docs-hi", 5, {"Prefix": "docs/hi/"}, DST, True, StorageClass="ONEZONE_IA"),  # wins for docs/hi/
    rule("fail", 2, {"Prefix": "fail/"}, NOPOLICY, True),
    rule("multi", 3, {"Prefix": "docs/multi/"}, MULTI, False),  # 2nd destination, no delete markers
    rule("tagged", 4, {"Tag": {"Key": "replicate", "Value": "yes"}}, MULTI, False),
    {"ID": "disabled", "Priority": 6, "Status": "Disabled", "Filter": {"Prefix": "off/"},
     "DeleteMarkerReplication": {"Status": "Disabled"}, "Destination": {"Bucket": f"arn:aws:s3:::{DST}"}},
]}


def status(s3, bucket: str, key: str, version_id: str | None = None) -> str | None:
    kw = {"VersionId": version_id} if version_id else {}
    return s3.head_object(Bucket=bucket, Key=key, **kw).get("ReplicationStatus")


def wait_idle(emu: Emulator) -> None:
    assert emu.http("GET", "/_crossrep/replication/idle?timeout=20") == {"pending": 0}


def versions(s3, bucket: str, prefix: str = "") -> tuple[dict, dict]:
    r = s3.list_object_versions(Bucket=bucket, Prefix=prefix)
    return ({(v["Key"], v["VersionId"]): v for v in r.get("Versions", [])},
            {(m["Key"], m["VersionId"]): m for m in r.get("DeleteMarkers", [])})


def failures(emu: Emulator, query: str = "") -> list[dict]:
    return emu.http("GET", "/_crossrep/replication-failures?source=live" + query)["failures"]


def setup(emu: Emulator) -> dict:
    s3a, s3b = emu.client("s3", account=SRC_ACC), emu.client("s3", account=DST_ACC)
    iama, iamb = emu.client("iam", account=SRC_ACC), emu.client("iam", account=DST_ACC)
    s3a.create_bucket(Bucket=SRC)
    for b in (DST, NOPOLICY, MULTI, THIRD):
        s3b.create_bucket(Bucket=b)
    for c, b in ((s3a, SRC), (s3b, DST), (s3b, NOPOLICY), (s3b, MULTI), (s3b, THIRD)):
        c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    iama.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=trust(["s3.amazonaws.com"], SRC_ACC))
    iama.put_role_policy(RoleName=ROLE_NAME, PolicyName="p", PolicyDocument=role_policy(SRC, [DST, NOPOLICY, MULTI]))
    s3b.put_bucket_policy(Bucket=DST, Policy=dst_policy(DST))
    s3b.put_bucket_policy(Bucket=MULTI, Policy=dst_policy(MULTI))  # NOPOLICY: none
    s3a.put_bucket_replication(Bucket=SRC, ReplicationConfiguration=SRC_CONFIG)
    # the destination replicates onward (same account): its replicas must not go further
    iamb.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=trust(["s3.amazonaws.com"], DST_ACC))
    iamb.put_role_policy(RoleName=ROLE_NAME, PolicyName="p", PolicyDocument=role_policy(DST, [THIRD]))
    s3b.put_bucket_replication(Bucket=DST, ReplicationConfiguration={"Role": DST_ROLE_ARN, "Rules": [
        {**rule("onward", 1, {}, THIRD, True), "Destination": {"Bucket": f"arn:aws:s3:::{THIRD}"}}]})
    return {"s3a": s3a, "s3b": s3b, "iama": iama}


def test_put_then_replica(emu: Emulator, env: dict) -> str:
    s3a, s3b = env["s3a"], env["s3b"]
    r = s3a.put_object(Bucket=SRC, Key="docs/a.txt", Body=b"hello", Tagging="team=a&env=test",
                       Metadata={"origin": "seed"}, ContentType="text/plain")
    vid = r["VersionId"]
    assert status(s3a, SRC, "docs/a.txt") == "PENDING"
    assert s3a.get_object(Bucket=SRC, Key="docs/a.txt")["ReplicationStatus"] == "PENDING"
    assert emu.http("GET", "/_crossrep/replication/idle")["pending"] >= 1
    wait_idle(emu)
    assert status(s3a, SRC, "docs/a.txt") == "COMPLETED"
    got = s3b.get_object(Bucket=DST, Key="docs/a.txt", VersionId=vid)
    assert got["Body"].read() == b"hello" and got["VersionId"] == vid, got
    assert got["ReplicationStatus"] == "REPLICA", got
    assert got["Metadata"] == {"origin": "seed"} and got["ContentType"] == "text/plain", got
    assert got["StorageClass"] == "STANDARD_IA", got
    assert got["ETag"] == r["ETag"], (got["ETag"], r["ETag"])
    tags = s3b.get_object_tagging(Bucket=DST, Key="docs/a.txt", VersionId=vid)["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("env", "test"), ("team", "a")], tags
    # the highest-priority rule for the destination wins (its storage class)
    s3a.put_object(Bucket=SRC, Key="docs/hi/b.txt", Body=b"b")
    wait_idle(emu)
    assert s3b.head_object(Bucket=DST, Key="docs/hi/b.txt")["StorageClass"] == "ONEZONE_IA"
    return vid


def test_deletes(emu: Emulator, env: dict, first_vid: str) -> None:
    s3a, s3b = env["s3a"], env["s3b"]
    second = s3a.put_object(Bucket=SRC, Key="docs/a.txt", Body=b"hello 2")["VersionId"]
    wait_idle(emu)
    marker = s3a.delete_object(Bucket=SRC, Key="docs/a.txt")
    assert marker["DeleteMarker"], marker
    wait_idle(emu)
    vs, ms = versions(s3b, DST, "docs/a.txt")
    assert set(vs) == {("docs/a.txt", first_vid), ("docs/a.txt", second)}, vs
    assert list(ms) == [("docs/a.txt", marker["VersionId"])] and ms[("docs/a.txt", marker["VersionId"])]["IsLatest"], ms
    # deleting a specific version (an object version, then the marker) is never replicated
    s3a.delete_object(Bucket=SRC, Key="docs/a.txt", VersionId=first_vid)
    s3a.delete_object(Bucket=SRC, Key="docs/a.txt", VersionId=marker["VersionId"])
    assert emu.http("GET", "/_crossrep/replication/idle") == {"pending": 0}
    time.sleep(0.4)
    assert versions(s3b, DST, "docs/a.txt") == (vs, ms)
    # DeleteObjects without version ids creates markers: replicated too
    s3a.put_object(Bucket=SRC, Key="docs/c.txt", Body=b"c")
    wait_idle(emu)
    res = s3a.delete_objects(Bucket=SRC, Delete={"Objects": [{"Key": "docs/c.txt"}]})
    mvid = res["Deleted"][0]["DeleteMarkerVersionId"]
    wait_idle(emu)
    assert ("docs/c.txt", mvid) in versions(s3b, DST, "docs/c.txt")[1]


def test_failure(emu: Emulator, env: dict) -> None:
    s3a = env["s3a"]
    before = time.time()
    vid = s3a.put_object(Bucket=SRC, Key="fail/x.txt", Body=b"x")["VersionId"]
    assert status(s3a, SRC, "fail/x.txt") == "PENDING"
    wait_idle(emu)
    assert status(s3a, SRC, "fail/x.txt") == "FAILED"
    rows = failures(emu, f"&bucket={SRC}&failure_code=DstPutObjectNotPermitted")
    assert len(rows) == 1, rows
    row = rows[0]
    assert (row["bucket"], row["key"], row["version_id"], row["account"], row["destination_bucket"],
            row["source"], row["service"]) == (SRC, "fail/x.txt", vid, SRC_ACC, NOPOLICY, "live", "s3"), row
    assert row["time"].endswith("Z") and row["time"][:4] == time.strftime("%Y", time.gmtime(before)), row
    assert emu.http("GET", "/_crossrep/replication-failures?source=batch")["failures"] == []
    assert env["s3b"].list_object_versions(Bucket=NOPOLICY).get("Versions") is None


def test_filters(emu: Emulator, env: dict) -> None:
    s3a, s3b = env["s3a"], env["s3b"]
    # no matching (enabled) rule: no status, not copied
    for key in ("other/plain.txt", "off/x.txt"):
        s3a.put_object(Bucket=SRC, Key=key, Body=b"p")
        assert status(s3a, SRC, key) is None, key
    # tag filter: uses the new version's tags
    s3a.put_object(Bucket=SRC, Key="other/t.txt", Body=b"t", Tagging="replicate=yes")
    assert status(s3a, SRC, "other/t.txt") == "PENDING"
    wait_idle(emu)
    for b in (DST, MULTI, NOPOLICY, THIRD):
        keys = {k for k, _ in versions(s3b, b, "other/")[0]} | {k for k, _ in versions(s3b, b, "off/")[0]}
        assert keys == ({"other/t.txt"} if b == MULTI else set()), (b, keys)
    # multi-destination: docs/multi/ goes to DST (rule docs) and MULTI (rule multi) ...
    vid = s3a.put_object(Bucket=SRC, Key="docs/multi/m.txt", Body=b"m")["VersionId"]
    wait_idle(emu)
    assert status(s3a, SRC, "docs/multi/m.txt") == "COMPLETED"
    for b in (DST, MULTI):
        assert s3b.head_object(Bucket=b, Key="docs/multi/m.txt", VersionId=vid)["ReplicationStatus"] == "REPLICA"
    # ... but its delete marker only where the winning rule replicates delete markers
    mvid = s3a.delete_object(Bucket=SRC, Key="docs/multi/m.txt")["VersionId"]
    wait_idle(emu)
    assert ("docs/multi/m.txt", mvid) in versions(s3b, DST, "docs/multi/")[1]
    assert versions(s3b, MULTI, "docs/multi/")[1] == {}


def test_copy_and_multipart(emu: Emulator, env: dict) -> None:
    s3a, s3b = env["s3a"], env["s3b"]
    s3a.copy_object(Bucket=SRC, Key="docs/copied.txt", CopySource={"Bucket": SRC, "Key": "other/plain.txt"})
    assert status(s3a, SRC, "docs/copied.txt") == "PENDING"
    wait_idle(emu)
    assert status(s3a, SRC, "docs/copied.txt") == "COMPLETED"
    assert s3b.get_object(Bucket=DST, Key="docs/copied.txt")["Body"].read() == b"p"

    key = "docs/big ü.bin"  # a space and non-ASCII in the key
    part1, part2 = b"a" * (5 * 1024 * 1024), b"tail"
    up = s3a.create_multipart_upload(Bucket=SRC, Key=key)["UploadId"]
    e1 = s3a.upload_part(Bucket=SRC, Key=key, UploadId=up, PartNumber=1, Body=part1)["ETag"]
    e2 = s3a.upload_part(Bucket=SRC, Key=key, UploadId=up, PartNumber=2, Body=part2)["ETag"]
    done = s3a.complete_multipart_upload(Bucket=SRC, Key=key, UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert status(s3a, SRC, key) == "PENDING"
    wait_idle(emu)
    assert status(s3a, SRC, key) == "COMPLETED"
    got = s3b.get_object(Bucket=DST, Key=key, VersionId=done["VersionId"])
    assert got["ETag"] == done["ETag"] and got["ReplicationStatus"] == "REPLICA", got
    assert got["Body"].read() == part1 + part2


def test_no_rereplication(emu: Emulator, env: dict) -> None:
    s3b = env["s3b"]
    # every replica written so far stayed in DST
    assert versions(s3b, THIRD) == ({}, {})
    # a direct write into DST is replicated onward (the chain itself works)
    vid = s3b.put_object(Bucket=DST, Key="direct.txt", Body=b"d")["VersionId"]
    wait_idle(emu)
    assert status(s3b, DST, "direct.txt") == "COMPLETED"
    assert list(versions(s3b, THIRD)[0]) == [("direct.txt", vid)]


def test_object_lock(emu: Emulator, env: dict) -> None:
    """An Object Lock source replicates only into an Object Lock destination
    (`DstBucketObjectLockConfigMissing`, AWS "Amazon S3 replication failure reasons")."""
    s3a, s3b, iama = env["s3a"], env["s3b"], env["iama"]
    src, locked, plain, role = "lock-src", "lock-dst", "lock-plain", "lock-role"
    role_arn = f"arn:aws:iam::{SRC_ACC}:role/{role}"
    s3a.create_bucket(Bucket=src, ObjectLockEnabledForBucket=True)
    s3b.create_bucket(Bucket=locked, ObjectLockEnabledForBucket=True)
    s3b.create_bucket(Bucket=plain)
    for c, b in ((s3a, src), (s3b, locked), (s3b, plain)):
        c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    iama.create_role(RoleName=role, AssumeRolePolicyDocument=trust(["s3.amazonaws.com"], SRC_ACC))
    base = json.loads(role_policy(src, [locked, plain]))
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(base))
    for b in (locked, plain):
        s3b.put_bucket_policy(Bucket=b, Policy=dst_policy(b, role_arn))
    s3a.put_bucket_replication(Bucket=src, ReplicationConfiguration={"Role": role_arn, "Rules": [
        rule("to-lock", 1, {"Prefix": "a/"}, locked, False),
        rule("to-plain", 2, {"Prefix": "b/"}, plain, False)]})

    def code_of(key: str) -> str:
        rows = failures(emu, f"&bucket={src}")
        return [r["failure_code"] for r in rows if r["key"] == key][-1]

    # The role reads retention and legal hold of every object of a lock bucket.
    s3a.put_object(Bucket=src, Key="a/no-get.txt", Body=b"x")
    wait_idle(emu)
    assert code_of("a/no-get.txt") == "SrcGetRetentionNotPermitted", failures(emu)
    base["Statement"].append({"Effect": "Allow", "Action": ["s3:GetObjectRetention"],
                              "Resource": f"arn:aws:s3:::{src}/*"})
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(base))
    s3a.put_object(Bucket=src, Key="a/no-hold.txt", Body=b"x")
    wait_idle(emu)
    assert code_of("a/no-hold.txt") == "SrcGetLegalHoldNotPermitted", failures(emu)
    base["Statement"][-1]["Action"].append("s3:GetObjectLegalHold")
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(base))

    s3a.put_object(Bucket=src, Key="a/x.txt", Body=b"x")
    s3a.put_object(Bucket=src, Key="b/y.txt", Body=b"y")
    wait_idle(emu)
    assert status(s3a, src, "a/x.txt") == "COMPLETED"
    assert status(s3a, src, "b/y.txt") == "FAILED"
    rows = failures(emu, f"&bucket={src}&failure_code=DstBucketObjectLockConfigMissing")
    assert [(r["key"], r["destination_bucket"]) for r in rows] == [("b/y.txt", plain)], rows

    # An immutable object carries its retention and legal hold: the role needs
    # s3:PutObjectRetention / s3:PutObjectLegalHold on the destination (role and bucket policy).
    until = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 86400))
    s3a.put_object(Bucket=src, Key="a/retained.txt", Body=b"r", ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=until)
    s3a.put_object(Bucket=src, Key="a/held.txt", Body=b"h", ObjectLockLegalHoldStatus="ON")
    wait_idle(emu)
    assert code_of("a/retained.txt") == "DstPutRetentionNotPermitted", failures(emu)
    assert code_of("a/held.txt") == "DstPutLegalHoldNotPermitted", failures(emu)
    put_lock = ["s3:PutObjectRetention", "s3:PutObjectLegalHold"]
    base["Statement"].append({"Effect": "Allow", "Action": put_lock,
                              "Resource": f"arn:aws:s3:::{locked}/*"})
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(base))
    s3a.put_object(Bucket=src, Key="a/retained-2.txt", Body=b"r", ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=until)
    wait_idle(emu)
    assert code_of("a/retained-2.txt") == "DstPutRetentionNotPermitted", "bucket policy too"
    policy = json.loads(dst_policy(locked, role_arn))
    policy["Statement"][0]["Action"] += put_lock
    s3b.put_bucket_policy(Bucket=locked, Policy=json.dumps(policy))
    s3a.put_object(Bucket=src, Key="a/retained-3.txt", Body=b"r", ObjectLockMode="GOVERNANCE",
                   ObjectLockRetainUntilDate=until)
    wait_idle(emu)
    assert status(s3a, src, "a/retained-3.txt") == "COMPLETED"
    assert s3b.head_object(Bucket=locked, Key="a/retained-3.txt")["ObjectLockMode"] == "GOVERNANCE"
    print("ok object lock: lock destination, retention/legal-hold read and write permissions")


def test_owner_and_tag_reads(emu: Emulator, env: dict) -> None:
    """Replica ownership (AccessControlTranslation) needs s3:ObjectOwnerOverrideToBucketOwner in
    the role's and the destination's policy (DstPutObjectNotPermitted otherwise); a tagged
    object needs s3:GetObjectVersionTagging (SrcGetTaggingNotPermitted)."""
    s3a, s3b, iama = env["s3a"], env["s3b"], env["iama"]
    src, dst, role = "own-src", "own-dst", "own-role"
    role_arn = f"arn:aws:iam::{SRC_ACC}:role/{role}"
    s3a.create_bucket(Bucket=src)
    s3b.create_bucket(Bucket=dst)
    s3a.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
    s3b.put_bucket_versioning(Bucket=dst, VersioningConfiguration={"Status": "Enabled"})
    iama.create_role(RoleName=role, AssumeRolePolicyDocument=trust(["s3.amazonaws.com"], SRC_ACC))
    doc = json.loads(role_policy(src, [dst]))
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(doc))
    s3b.put_bucket_policy(Bucket=dst, Policy=dst_policy(dst, role_arn))
    s3a.put_bucket_replication(Bucket=src, ReplicationConfiguration={"Role": role_arn, "Rules": [
        rule("own", 1, {}, dst, False, AccessControlTranslation={"Owner": "Destination"})]})

    def code_of(key: str) -> str | None:
        rows = [r for r in failures(emu, f"&bucket={src}") if r["key"] == key]
        return rows[-1]["failure_code"] if rows else None

    s3a.put_object(Bucket=src, Key="k1", Body=b"1")
    wait_idle(emu)
    assert code_of("k1") == "DstPutObjectNotPermitted", failures(emu)
    doc["Statement"][2]["Action"].append("s3:ObjectOwnerOverrideToBucketOwner")
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(doc))
    s3a.put_object(Bucket=src, Key="k2", Body=b"2")
    wait_idle(emu)
    assert code_of("k2") == "DstPutObjectNotPermitted", "the bucket policy must grant it too"
    policy = json.loads(dst_policy(dst, role_arn))
    policy["Statement"][0]["Action"].append("s3:ObjectOwnerOverrideToBucketOwner")
    s3b.put_bucket_policy(Bucket=dst, Policy=json.dumps(policy))
    s3a.put_object(Bucket=src, Key="k3", Body=b"3", Tagging="team=a")
    wait_idle(emu)
    assert status(s3a, src, "k3") == "COMPLETED", failures(emu)
    doc["Statement"][1]["Action"].remove("s3:GetObjectVersionTagging")
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(doc))
    s3a.put_object(Bucket=src, Key="k4", Body=b"4", Tagging="team=a")
    s3a.put_object(Bucket=src, Key="k5", Body=b"5")
    wait_idle(emu)
    assert code_of("k4") == "SrcGetTaggingNotPermitted", failures(emu)
    assert status(s3a, src, "k5") == "COMPLETED", "untagged objects need no tag read"
    print("ok owner override and tag reads are permissions too")

    # A Requester Pays destination of another account takes no replicas (AWS names no reason).
    s3b.put_bucket_request_payment(Bucket=dst, RequestPaymentConfiguration={"Payer": "Requester"})
    s3a.put_object(Bucket=src, Key="k6", Body=b"6")
    wait_idle(emu)
    assert code_of("k6") == "EmulatorDstRequesterPays", failures(emu)
    s3b.put_bucket_request_payment(Bucket=dst, RequestPaymentConfiguration={"Payer": "BucketOwner"})
    s3a.put_object(Bucket=src, Key="k7", Body=b"7")
    wait_idle(emu)
    assert status(s3a, src, "k7") == "COMPLETED", failures(emu)
    print("ok a cross-account Requester Pays destination fails replication")


def test_kms(emu: Emulator, env: dict) -> None:
    """With the SSE-KMS opt-in, the source key and the replica key are checked the way S3
    replication uses them (AWS "Replicating encrypted objects", failure reasons)."""
    s3a, s3b, iama = env["s3a"], env["s3b"], env["iama"]
    kmsa, kmsb = emu.client("kms", SRC_ACC), emu.client("kms", DST_ACC)
    kmsb_west = emu.client("kms", DST_ACC, region="us-west-2")
    src, dst, role = "kms-src", "kms-dst", "kms-role"
    role_arn = f"arn:aws:iam::{SRC_ACC}:role/{role}"
    s3a.create_bucket(Bucket=src)
    s3b.create_bucket(Bucket=dst)
    s3a.put_bucket_versioning(Bucket=src, VersioningConfiguration={"Status": "Enabled"})
    s3b.put_bucket_versioning(Bucket=dst, VersioningConfiguration={"Status": "Enabled"})
    iama.create_role(RoleName=role, AssumeRolePolicyDocument=trust(["s3.amazonaws.com"], SRC_ACC))
    s3b.put_bucket_policy(Bucket=dst, Policy=dst_policy(dst, role_arn))
    src_key = kmsa.create_key()["KeyMetadata"]["Arn"]
    replica_key = kmsb.create_key()["KeyMetadata"]["Arn"]
    west_key = kmsb_west.create_key()["KeyMetadata"]["Arn"]
    asym_key = kmsb.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")["KeyMetadata"]["Arn"]
    doc = json.loads(role_policy(src, [dst]))
    via = {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}
    doc["Statement"] += [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": src_key, "Condition": via},
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
         "Resource": [replica_key, west_key, asym_key], "Condition": via}]
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(doc))

    def configure(key_arn: str) -> None:
        s3a.put_bucket_replication(Bucket=src, ReplicationConfiguration={"Role": role_arn, "Rules": [
            dict(rule("kms", 1, {}, dst, False, EncryptionConfiguration={"ReplicaKmsKeyID": key_arn}),
                 SourceSelectionCriteria={"SseKmsEncryptedObjects": {"Status": "Enabled"}})]})

    n = [0]

    def put() -> str:
        n[0] += 1
        key = f"o{n[0]}"
        s3a.put_object(Bucket=src, Key=key, Body=b"secret", ServerSideEncryption="aws:kms",
                       SSEKMSKeyId=src_key)
        wait_idle(emu)
        return key

    def code_of(key: str) -> str | None:
        rows = [r for r in failures(emu, f"&bucket={src}") if r["key"] == key]
        return rows[-1]["failure_code"] if rows else None

    configure(replica_key)
    # The replica key's default policy trusts only its own account: the role is not allowed.
    first = put()
    assert code_of(first) == "DstPutObjectNotPermitted", (status(s3a, src, first), failures(emu))
    grant = {"Sid": "CrossrepReplicas", "Effect": "Allow", "Principal": {"AWS": role_arn},
             "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:Decrypt"], "Resource": "*"}
    default = json.loads(kmsb.get_key_policy(KeyId=replica_key, PolicyName="default")["Policy"])
    kmsb.put_key_policy(KeyId=replica_key, PolicyName="default", Policy=json.dumps(
        dict(default, Statement=default["Statement"] + [grant])))
    ok = put()
    assert status(s3a, src, ok) == "COMPLETED", failures(emu)
    head = s3b.head_object(Bucket=dst, Key=ok)
    assert head["ServerSideEncryption"] == "aws:kms" and head["SSEKMSKeyId"] == replica_key, head

    kmsb.disable_key(KeyId=replica_key.split("/")[-1])
    assert code_of(put()) == "DstKmsKeyInvalidState"
    kmsb.enable_key(KeyId=replica_key.split("/")[-1])
    configure(f"arn:aws:kms:us-east-1:{DST_ACC}:key/00000000-0000-0000-0000-000000000000")
    assert code_of(put()) == "DstKmsKeyNotFound"
    configure(west_key)  # in another region than the destination bucket
    assert code_of(put()) == "DstKmsKeyNotFound"
    kmsb.put_key_policy(KeyId=asym_key, PolicyName="default", Policy=json.dumps(
        dict(default, Statement=default["Statement"] + [grant])))
    configure(asym_key)
    assert code_of(put()) == "EmulatorDstKmsKeyNotSymmetric"
    configure(replica_key)
    kmsa.disable_key(KeyId=src_key.split("/")[-1])  # moto still encrypts with it; S3 replication cannot decrypt
    assert code_of(put()) == "SrcKmsKeyInvalidState"
    kmsa.enable_key(KeyId=src_key.split("/")[-1])
    doc["Statement"][-2]["Condition"] = {"StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}}
    iama.put_role_policy(RoleName=role, PolicyName="p", PolicyDocument=json.dumps(doc))
    assert code_of(put()) == "EmulatorSrcKmsDecryptNotPermitted"
    # Objects that are not SSE-KMS need no key at all.
    s3a.put_object(Bucket=src, Key="plain", Body=b"p")
    wait_idle(emu)
    assert status(s3a, src, "plain") == "COMPLETED", failures(emu)
    print("ok kms: replica key exists/enabled/symmetric/region, key policy and role grants")


def test_conditions(emu: Emulator, env: dict) -> None:
    """The most common foreign statement, a Deny on insecure transport, does not stop
    replication (S3 replicates over TLS); a condition the evaluator cannot decide fails the
    version with EmulatorUnsupportedCondition rather than being guessed."""
    s3a, s3b = env["s3a"], env["s3b"]
    tls = {"Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
           "Resource": [f"arn:aws:s3:::{DST}", f"arn:aws:s3:::{DST}/*"],
           "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    allow = json.loads(dst_policy(DST))["Statement"]
    s3b.put_bucket_policy(Bucket=DST, Policy=json.dumps({"Version": "2012-10-17", "Statement": allow + [tls]}))
    s3a.put_object(Bucket=SRC, Key="docs/tls.txt", Body=b"t")
    wait_idle(emu)
    assert status(s3a, SRC, "docs/tls.txt") == "COMPLETED"
    vpc = {"Sid": "OnlyFromVpc", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
           "Resource": f"arn:aws:s3:::{DST}/*", "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}
    s3b.put_bucket_policy(Bucket=DST, Policy=json.dumps({"Version": "2012-10-17", "Statement": allow + [vpc]}))
    s3a.put_object(Bucket=SRC, Key="docs/vpc.txt", Body=b"v")
    wait_idle(emu)
    assert status(s3a, SRC, "docs/vpc.txt") == "FAILED"
    assert [r["key"] for r in failures(emu, "&failure_code=EmulatorUnsupportedCondition")] == ["docs/vpc.txt"]
    s3b.put_bucket_policy(Bucket=DST, Policy=dst_policy(DST))
    print("ok conditions: SecureTransport evaluated, unknown ones fail loudly")


def test_not_eligible(emu: Emulator, env: dict) -> None:
    """SSE-KMS objects replicate only with SourceSelectionCriteria; archived storage classes
    never: no status, no replica (AWS "Replicating encrypted objects", "What isn't replicated")."""
    s3a, s3b = env["s3a"], env["s3b"]
    s3a.put_object(Bucket=SRC, Key="docs/kms.txt", Body=b"k", ServerSideEncryption="aws:kms",
                   SSEKMSKeyId=f"arn:aws:kms:us-east-1:{SRC_ACC}:key/k1")
    s3a.put_object(Bucket=SRC, Key="docs/cold.txt", Body=b"c", StorageClass="GLACIER")
    s3a.put_object(Bucket=SRC, Key="docs/plain.txt", Body=b"p")
    wait_idle(emu)
    assert status(s3a, SRC, "docs/kms.txt") is None
    assert status(s3a, SRC, "docs/cold.txt") is None
    assert status(s3a, SRC, "docs/plain.txt") == "COMPLETED"
    listed = {v["Key"] for v in s3b.list_object_versions(Bucket=DST, Prefix="docs/").get("Versions", [])}
    assert "docs/plain.txt" in listed and "docs/kms.txt" not in listed and "docs/cold.txt" not in listed, listed
    print("ok SSE-KMS (without opt-in) and archived objects are not replicated")


def test_trust_and_reset(emu: Emulator, env: dict) -> None:
    s3a, iama = env["s3a"], env["iama"]
    # a role trusted only by Batch Operations cannot be assumed by live replication
    iama.update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=trust(["batchoperations.s3.amazonaws.com"], SRC_ACC))
    s3a.put_object(Bucket=SRC, Key="docs/untrusted.txt", Body=b"u")
    wait_idle(emu)
    assert status(s3a, SRC, "docs/untrusted.txt") == "FAILED"
    assert [r["key"] for r in failures(emu, "&failure_code=AssumeRoleNotPermitted")] == ["docs/untrusted.txt"]
    # reset drops the queue and the failures
    s3a.put_object(Bucket=SRC, Key="docs/late.txt", Body=b"l")
    assert emu.http("GET", "/_crossrep/replication/idle")["pending"] == 1
    emu.http("POST", "/moto-api/reset")
    assert emu.http("GET", "/_crossrep/replication/idle") == {"pending": 0}
    assert emu.http("GET", "/_crossrep/replication-failures")["failures"] == []


def main() -> int:
    os.environ["CROSSREP_EMULATOR_REPLICATION_MS"] = "300"
    emu = Emulator()
    try:
        env = setup(emu)
        vid = test_put_then_replica(emu, env)
        test_deletes(emu, env, vid)
        test_failure(emu, env)
        test_filters(emu, env)
        test_copy_and_multipart(emu, env)
        test_no_rereplication(emu, env)
        test_object_lock(emu, env)
        test_owner_and_tag_reads(emu, env)
        test_kms(emu, env)
        test_conditions(emu, env)
        test_not_eligible(emu, env)
        test_trust_and_reset(emu, env)
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
