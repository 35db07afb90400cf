#!/usr/bin/env python3
"""Self-test of the emulator's S3 Batch Replication (batch.py + permissions.py):
`python3 emulator/test_batch.py` (no pytest needed).

Starts `emulator/run` on a free port (with CROSSREP_EMULATOR_TASK_MS=20 so progress is
observable), drives it with boto3 as two accounts, stops the server and exits non-zero on the
first failure.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import time
from pathlib import Path
from urllib.parse import unquote_plus

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from test_emulator import Emulator, expect_error  # noqa: E402

SRC_ACC, DST_ACC = "111111111111", "222222222222"
REGION = "us-east-1"
ROLE_NAME = "crossrep-replication"
ROLE_ARN = f"arn:aws:iam::{SRC_ACC}:role/{ROLE_NAME}"
SRC, DST, REPORTS = "bt-src", "bt-dst", "bt-reports"

TRUST = {
    "Version": "2012-10-17",
    "Statement": [{
        "Effect": "Allow",
        "Principal": {"Service": ["s3.amazonaws.com", "batchoperations.s3.amazonaws.com"]},
        "Action": "sts:AssumeRole",
        "Condition": {"StringEquals": {"aws:SourceAccount": SRC_ACC}},
    }],
}


def role_policy(dst_bucket: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket",
                                           "s3:PutInventoryConfiguration"],
             "Resource": f"arn:aws:s3:::{SRC}"},
            {"Effect": "Allow", "Action": ["s3:GetObjectVersionForReplication", "s3:GetObjectVersionAcl",
                                           "s3:GetObjectVersionTagging", "s3:InitiateReplication"],
             "Resource": f"arn:aws:s3:::{SRC}/*"},
            {"Effect": "Allow", "Action": ["s3:Replicate*", "s3:ObjectOwnerOverrideToBucketOwner"],
             "Resource": f"arn:aws:s3:::{dst_bucket}/*"},
            {"Effect": "Allow", "Action": ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
             "Resource": f"arn:aws:s3:::{REPORTS}/*"},
        ],
    })


def dst_policy(bucket: str) -> str:
    return json.dumps({
        "Version": "2012-10-17",
        "Statement": [{
            "Sid": "CrossrepReplicate",
            "Effect": "Allow",
            "Principal": {"AWS": ROLE_ARN},
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags",
                       "s3:ObjectOwnerOverrideToBucketOwner"],
            "Resource": f"arn:aws:s3:::{bucket}/*",
        }],
    })


def replication_config(dst_bucket: str) -> dict:
    return {
        "Role": ROLE_ARN,
        "Rules": [{
            "ID": f"crossrep-{dst_bucket}",
            "Priority": 1,
            "Status": "Enabled",
            "Filter": {},
            "DeleteMarkerReplication": {"Status": "Enabled"},
            "Destination": {"Bucket": f"arn:aws:s3:::{dst_bucket}", "Account": DST_ACC,
                            "StorageClass": "STANDARD_IA",
                            "AccessControlTranslation": {"Owner": "Destination"}},
        }],
    }


def s3control(emu: Emulator, account: str, region: str = REGION, validate: bool = True):
    c = boto3.client("s3control", endpoint_url=emu.url, region_name=region,
                     aws_access_key_id="testing", aws_secret_access_key="testing",
                     config=Config(retries={"max_attempts": 1}, parameter_validation=validate))

    def add_account(request, **_):
        request.headers["x-moto-account-id"] = account

    c.meta.events.register("before-send.*.*", add_account)

    def strip_account_prefix(request, **_):  # {AccountId}.127.0.0.1 -> 127.0.0.1
        request.url = request.url.replace(f"://{account}.", "://", 1)

    c.meta.events.register("before-send.s3-control.*", strip_account_prefix)
    return c


def job_request(token: str, statuses: list[str] | None = None, confirm: bool = False,
                src: str = SRC, prefix: str = "reports") -> dict:
    filt: dict = {"EligibleForReplication": True}
    if statuses:
        filt["ObjectReplicationStatuses"] = statuses
    return dict(
        AccountId=SRC_ACC,
        ConfirmationRequired=confirm,
        Operation={"S3ReplicateObject": {}},
        Report={"Bucket": f"arn:aws:s3:::{REPORTS}", "Format": "Report_CSV_20180820", "Enabled": True,
                "Prefix": prefix, "ReportScope": "AllTasks"},
        ClientRequestToken=token,
        Priority=10,
        RoleArn=ROLE_ARN,
        Description=f"crossrep backfill {src}",
        Tags=[{"Key": "crossrep:pair", "Value": f"{src}->{DST}"}],
        ManifestGenerator={"S3JobManifestGenerator": {
            "ExpectedBucketOwner": SRC_ACC,
            "SourceBucket": f"arn:aws:s3:::{src}",
            "EnableManifestOutput": True,
            "ManifestOutputLocation": {"Bucket": f"arn:aws:s3:::{REPORTS}", "ManifestPrefix": "manifests",
                                       "ManifestFormat": "S3InventoryReport_CSV_20211130"},
            "Filter": filt,
        }},
    )


def wait_job(ctl, job_id: str, statuses=("Complete", "Failed", "Cancelled"), timeout: float = 30) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        job = ctl.describe_job(AccountId=SRC_ACC, JobId=job_id)["Job"]
        if job["Status"] in statuses:
            return job
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} not in {statuses}: {job['Status']}")


def read_report(s3, job_id: str, prefix: str = "reports") -> list[list[str]]:
    manifest = json.loads(s3.get_object(Bucket=REPORTS, Key=f"{prefix}/job-{job_id}/manifest.json")["Body"].read())
    assert manifest["Format"] == "Report_CSV_20180820", manifest
    assert manifest["ReportSchema"] == "Bucket, Key, VersionId, TaskStatus, ErrorCode, HTTPStatusCode, ResultMessage"
    rows = []
    for result in manifest["Results"]:
        assert result["Key"].startswith(f"{prefix}/job-{job_id}/results/") and result["Key"].endswith(".csv")
        body = s3.get_object(Bucket=result["Bucket"], Key=result["Key"])["Body"].read().decode()
        for row in csv.reader(io.StringIO(body)):
            assert len(row) == 7, row
            assert row[3] == result["TaskExecutionStatus"], (row, result)
            rows.append(row)
    return rows


def setup(emu: Emulator) -> dict:
    s3a, s3b = emu.client("s3", account=SRC_ACC), emu.client("s3", account=DST_ACC)
    iam = emu.client("iam", account=SRC_ACC)
    for c, b in ((s3a, SRC), (s3b, DST), (s3a, REPORTS)):
        c.create_bucket(Bucket=b)
    for c, b in ((s3a, SRC), (s3b, DST)):
        c.put_bucket_versioning(Bucket=b, VersioningConfiguration={"Status": "Enabled"})
    iam.create_role(RoleName=ROLE_NAME, AssumeRolePolicyDocument=json.dumps(TRUST))
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="crossrep-0", PolicyDocument=role_policy(DST))
    s3b.put_bucket_policy(Bucket=DST, Policy=dst_policy(DST))

    versions = {}  # (key, version id) -> body
    for key, bodies in (("a.txt", [b"a1", b"a2", b"a3"]), ("dir/b, with comma.txt", [b"b1"]),
                        ("gone.txt", [b"g1"])):
        for body in bodies:
            r = s3a.put_object(Bucket=SRC, Key=key, Body=body, Metadata={"origin": "seed"},
                               ContentType="text/plain")
            versions[(key, r["VersionId"])] = body
    s3a.put_object_tagging(Bucket=SRC, Key="a.txt", Tagging={"TagSet": [{"Key": "team", "Value": "a"}]})
    # Not eligible (the rule has no SourceSelectionCriteria): never in the manifest, never copied.
    s3a.put_object(Bucket=SRC, Key="kms.txt", Body=b"k", ServerSideEncryption="aws:kms",
                   SSEKMSKeyId=f"arn:aws:kms:us-east-1:{SRC_ACC}:key/k1")
    marker = s3a.delete_object(Bucket=SRC, Key="gone.txt")
    assert marker.get("DeleteMarker"), marker
    s3a.put_bucket_replication(Bucket=SRC, ReplicationConfiguration=replication_config(DST))
    return {"s3a": s3a, "s3b": s3b, "iam": iam, "versions": versions, "marker": marker["VersionId"]}


def test_backfill(emu: Emulator, env: dict) -> None:
    s3a, s3b = env["s3a"], env["s3b"]
    ctl = s3control(emu, SRC_ACC)
    job_id = ctl.create_job(**job_request("token-1"))["JobId"]
    # idempotency: same token -> same job, no second job
    assert ctl.create_job(**job_request("token-1"))["JobId"] == job_id
    assert len(ctl.list_jobs(AccountId=SRC_ACC)["Jobs"]) == 1

    seen = set()
    deadline = time.time() + 30
    while time.time() < deadline:
        job = ctl.describe_job(AccountId=SRC_ACC, JobId=job_id)["Job"]
        seen.add(job["Status"])
        if job["Status"] == "Complete":
            break
        time.sleep(0.02)
    assert "Active" in seen, seen
    p = job["ProgressSummary"]
    expected = len(env["versions"]) + 1  # + the delete marker (rule replicates delete markers)
    assert (p["TotalNumberOfTasks"], p["NumberOfTasksSucceeded"], p["NumberOfTasksFailed"]) == (expected, expected, 0), p
    assert job["Operation"] == {"S3ReplicateObject": {}}, job["Operation"]
    assert job["RoleArn"] == ROLE_ARN and job["Priority"] == 10 and job["ConfirmationRequired"] is False
    assert job["Report"]["ReportScope"] == "AllTasks", job["Report"]
    assert job["ManifestGenerator"]["S3JobManifestGenerator"]["Filter"]["EligibleForReplication"] is True
    loc = job["GeneratedManifestDescriptor"]["Location"]["ObjectArn"]
    assert loc == f"arn:aws:s3:::{REPORTS}/manifests/job-{job_id}/manifest.json", loc
    gen = json.loads(s3a.get_object(Bucket=REPORTS, Key=f"manifests/job-{job_id}/manifest.json")["Body"].read())
    assert gen["files"] and gen["fileFormat"] == "CSV", gen
    assert "TerminationDate" in job and "CreationTime" in job

    # every version (same id, content, metadata, tags) + the delete marker in the destination
    listing = s3b.list_object_versions(Bucket=DST)
    dst_versions = {(v["Key"], v["VersionId"]) for v in listing.get("Versions", [])}
    assert dst_versions == set(env["versions"]), (dst_versions, set(env["versions"]))
    markers = [(m["Key"], m["VersionId"]) for m in listing.get("DeleteMarkers", [])]
    assert markers == [("gone.txt", env["marker"])], markers
    for (key, vid), body in env["versions"].items():
        got = s3b.get_object(Bucket=DST, Key=key, VersionId=vid)
        assert got["Body"].read() == body
        assert got["ReplicationStatus"] == "REPLICA", got.get("ReplicationStatus")
        assert got["Metadata"] == {"origin": "seed"} and got["ContentType"] == "text/plain"
        assert got["StorageClass"] == "STANDARD_IA", got.get("StorageClass")
        src = s3a.head_object(Bucket=SRC, Key=key, VersionId=vid)
        assert src["ReplicationStatus"] == "COMPLETED", src.get("ReplicationStatus")
    latest = s3b.get_object(Bucket=DST, Key="a.txt")
    assert latest["Body"].read() == b"a3", "the latest version must stay the current one"
    tags = s3b.get_object_tagging(Bucket=DST, Key="a.txt")["TagSet"]
    assert tags == [{"Key": "team", "Value": "a"}], tags
    expect_error("404", s3b.head_object, Bucket=DST, Key="gone.txt")  # delete marker is current
    assert "ReplicationStatus" not in s3a.head_object(Bucket=SRC, Key="kms.txt")

    rows = read_report(s3a, job_id)
    assert len(rows) == expected and all(r[3] == "succeeded" and r[4] == "200" for r in rows), rows
    keys = {unquote_plus(r[1]) for r in rows}
    assert "dir/b, with comma.txt" in keys, keys
    assert any("%2C" in r[1] for r in rows), "keys are URL-encoded"
    tags = ctl.get_job_tagging(AccountId=SRC_ACC, JobId=job_id)["Tags"]
    assert tags == [{"Key": "crossrep:pair", "Value": f"{SRC}->{DST}"}], tags
    listed = ctl.list_jobs(AccountId=SRC_ACC, JobStatuses=["Complete"])["Jobs"]
    assert [j["JobId"] for j in listed] == [job_id] and listed[0]["Operation"] == "S3ReplicateObject"
    assert ctl.list_jobs(AccountId=SRC_ACC, JobStatuses=["Active"])["Jobs"] == []
    # jobs are per region
    assert s3control(emu, SRC_ACC, "eu-west-1").list_jobs(AccountId=SRC_ACC)["Jobs"] == []
    # a second job over NONE finds nothing left
    j2 = ctl.create_job(**job_request("token-2", statuses=["NONE"]))["JobId"]
    assert wait_job(ctl, j2)["ProgressSummary"]["TotalNumberOfTasks"] == 0
    print(f"ok backfill: {expected} tasks, versions/marker/tags/status replicated, report parsed")


def test_confirmation_and_cancel(emu: Emulator) -> None:
    ctl = s3control(emu, SRC_ACC)
    job_id = ctl.create_job(**job_request("token-confirm", confirm=True))["JobId"]
    job = wait_job(ctl, job_id, statuses=("Suspended",))
    assert job["SuspendedCause"] and job["ConfirmationRequired"] is True
    time.sleep(0.3)
    assert ctl.describe_job(AccountId=SRC_ACC, JobId=job_id)["Job"]["Status"] == "Suspended"
    r = ctl.update_job_status(AccountId=SRC_ACC, JobId=job_id, RequestedJobStatus="Ready")
    assert r["JobId"] == job_id
    assert wait_job(ctl, job_id)["Status"] == "Complete"
    try:
        ctl.update_job_status(AccountId=SRC_ACC, JobId=job_id, RequestedJobStatus="Cancelled")
        raise AssertionError("cancelling a Complete job must fail")
    except ClientError as e:
        assert e.response["Error"]["Code"] == "JobStatusException", e.response
    job_id = ctl.create_job(**job_request("token-cancel", confirm=True))["JobId"]
    wait_job(ctl, job_id, statuses=("Suspended",))
    r = ctl.update_job_status(AccountId=SRC_ACC, JobId=job_id, RequestedJobStatus="Cancelled",
                              StatusUpdateReason="not needed")
    job = wait_job(ctl, job_id)
    assert job["Status"] == "Cancelled" and job["StatusUpdateReason"] == "not needed", job
    expect_error("NotFoundException", ctl.describe_job, AccountId=SRC_ACC, JobId="00000000-no-such-job")
    print("ok ConfirmationRequired -> Suspended until Ready; Cancel; JobStatusException; NotFound")


def test_validation(emu: Emulator) -> None:
    ctl = s3control(emu, SRC_ACC, validate=False)  # let the server validate
    bad = job_request("token-bad")
    del bad["RoleArn"]
    expect_error("InvalidRequest", ctl.create_job, **bad)
    bad = job_request("token-bad")
    del bad["ManifestGenerator"]
    expect_error("InvalidRequest", ctl.create_job, **bad)
    print("ok validation: missing role / manifest -> 400 InvalidRequest")


def test_failures_and_redrive(emu: Emulator, env: dict) -> None:
    s3a, s3b = env["s3a"], env["s3b"]
    ctl = s3control(emu, SRC_ACC)
    dst2 = "bt-dst-nopolicy"
    s3b.create_bucket(Bucket=dst2)
    s3b.put_bucket_versioning(Bucket=dst2, VersioningConfiguration={"Status": "Enabled"})
    src2 = "bt-src-2"
    s3a.create_bucket(Bucket=src2)
    s3a.put_bucket_versioning(Bucket=src2, VersioningConfiguration={"Status": "Enabled"})
    vids = [s3a.put_object(Bucket=src2, Key=f"k{i}", Body=b"x")["VersionId"] for i in range(3)]
    cfg = replication_config(dst2)
    s3a.put_bucket_replication(Bucket=src2, ReplicationConfiguration=cfg)
    env["iam"].put_role_policy(RoleName=ROLE_NAME, PolicyName="crossrep-1",
                               PolicyDocument=role_policy(dst2).replace(SRC, src2))
    req = job_request("token-fail-1", src=src2)
    job = wait_job(ctl, ctl.create_job(**req)["JobId"])
    assert job["Status"] == "Complete" and job["ProgressSummary"]["NumberOfTasksFailed"] == 3, job
    rows = read_report(s3a, job["JobId"])
    assert {(r[3], r[4], r[5]) for r in rows} == {("failed", "403", "DstPutObjectNotPermitted")}, rows
    fails = emu.http("GET", f"/_crossrep/replication-failures?bucket={src2}")["failures"]
    assert {(f["key"], f["version_id"], f["failure_code"]) for f in fails} == {
        (f"k{i}", vids[i], "DstPutObjectNotPermitted") for i in range(3)}, fails
    assert s3a.head_object(Bucket=src2, Key="k0")["ReplicationStatus"] == "FAILED"

    # fix the destination policy, re-drive only FAILED
    s3b.put_bucket_policy(Bucket=dst2, Policy=dst_policy(dst2))
    job = wait_job(ctl, ctl.create_job(**job_request("token-fail-2", statuses=["FAILED"], src=src2))["JobId"])
    p = job["ProgressSummary"]
    assert (p["TotalNumberOfTasks"], p["NumberOfTasksSucceeded"], p["NumberOfTasksFailed"]) == (3, 3, 0), p
    assert s3b.get_object(Bucket=dst2, Key="k2", VersionId=vids[2])["ReplicationStatus"] == "REPLICA"
    assert s3a.head_object(Bucket=src2, Key="k0")["ReplicationStatus"] == "COMPLETED"

    # an explicit Deny in the role policy wins
    env["iam"].put_role_policy(RoleName=ROLE_NAME, PolicyName="deny", PolicyDocument=json.dumps({
        "Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:InitiateReplication",
                                                "Resource": f"arn:aws:s3:::{src2}/*"}]}))
    # written while the bucket has no configuration: status NONE (else live replication copies it)
    s3a.delete_bucket_replication(Bucket=src2)
    s3a.put_object(Bucket=src2, Key="k-new", Body=b"y")
    s3a.put_bucket_replication(Bucket=src2, ReplicationConfiguration=cfg)
    job = wait_job(ctl, ctl.create_job(**job_request("token-deny", statuses=["NONE"], src=src2))["JobId"])
    rows = read_report(s3a, job["JobId"])
    assert [r[5] for r in rows] == ["InitiateReplicationNotPermitted"], rows
    env["iam"].delete_role_policy(RoleName=ROLE_NAME, PolicyName="deny")

    # trust without batchoperations -> AssumeRoleNotPermitted
    trust = json.loads(json.dumps(TRUST))
    trust["Statement"][0]["Principal"]["Service"] = ["s3.amazonaws.com"]
    env["iam"].update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps(trust))
    job = wait_job(ctl, ctl.create_job(**job_request("token-trust", statuses=["FAILED"], src=src2))["JobId"])
    assert [r[5] for r in read_report(s3a, job["JobId"])] == ["AssumeRoleNotPermitted"]
    env["iam"].update_assume_role_policy(RoleName=ROLE_NAME, PolicyDocument=json.dumps(TRUST))
    print("ok DstPutObjectNotPermitted -> fix -> FAILED re-drive succeeds; Deny wins; trust checked")


def test_job_failures(emu: Emulator, env: dict) -> None:
    s3a = env["s3a"]
    # wrong region: the job is created in eu-west-1 for a us-east-1 bucket
    ctl_eu = s3control(emu, SRC_ACC, "eu-west-1")
    job = wait_job(ctl_eu, ctl_eu.create_job(**job_request("token-region"))["JobId"])
    assert job["Status"] == "Failed", job
    assert job["FailureReasons"][0]["FailureCode"] == "SrcBucketInvalidRegion", job["FailureReasons"]
    # no replication configuration
    s3a.create_bucket(Bucket="bt-src-norep")
    s3a.put_bucket_versioning(Bucket="bt-src-norep", VersioningConfiguration={"Status": "Enabled"})
    ctl = s3control(emu, SRC_ACC)
    job = wait_job(ctl, ctl.create_job(**job_request("token-norep", src="bt-src-norep"))["JobId"])
    assert job["Status"] == "Failed", job
    assert job["FailureReasons"][0]["FailureCode"] == "SrcBucketReplicationConfigMissing", job
    failed = ctl.list_jobs(AccountId=SRC_ACC, JobStatuses=["Failed"])["Jobs"]
    assert [j["JobId"] for j in failed] == [job["JobId"]], failed
    # The role writes the inventory configuration, the generated manifest and the report
    # (AWS "Configuring IAM policies for Batch Replication"): without them the job fails.
    iam = env["iam"]
    iam.delete_role_policy(RoleName=ROLE_NAME, PolicyName="crossrep-1")  # it grants reports too
    full = json.loads(role_policy(DST))
    for action, stmt in (("s3:PutInventoryConfiguration", 0), ("s3:PutObject", 3)):
        cut = json.loads(json.dumps(full))
        cut["Statement"][stmt]["Action"].remove(action)
        iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="crossrep-0", PolicyDocument=json.dumps(cut))
        job = wait_job(ctl, ctl.create_job(**job_request(f"token-no-{action}"))["JobId"])
        assert job["Status"] == "Failed", job
        reason = job["FailureReasons"][0]
        assert reason["FailureCode"] == "AccessDenied" and action in reason["FailureReason"], reason
        assert job["ProgressSummary"]["TotalNumberOfTasks"] == 0, job
    iam.put_role_policy(RoleName=ROLE_NAME, PolicyName="crossrep-0", PolicyDocument=role_policy(DST))
    print("ok job failures: SrcBucketInvalidRegion, SrcBucketReplicationConfigMissing, "
          "role may not write inventory/manifest/report")


def main() -> int:
    os.environ["CROSSREP_EMULATOR_TASK_MS"] = "20"
    emu = Emulator()
    try:
        env = setup(emu)
        test_validation(emu)
        test_backfill(emu, env)
        test_confirmation_and_cancel(emu)
        test_failures_and_redrive(emu, env)
        test_job_failures(emu, env)
        emu.http("POST", "/moto-api/reset")
        assert emu.http("GET", "/_crossrep/replication-failures")["failures"] == []
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
