#!/usr/bin/env python3
"""Self-test of opt-in Regions and the bucket and role quotas (regions.py):
`python3 emulator/test_regions.py` (no pytest).

Starts `emulator/run` on a free port and checks, with boto3: the Account Management region API
(statuses, ENABLING -> ENABLED, DISABLING -> DISABLED, ListRegions pages and filters, every
refusal, the organizations context with and without trusted access and delegation); requests
signed for a Region the account has not enabled refused by every protocol (and the negative
controls: default Regions, ENABLED and DISABLING Regions, global services, another account's
state); the S3 bucket quota with Service Quotas; the IAM role quota; the knobs and
/moto-api/reset. Stops the server and exits non-zero on the first failure.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
import cbor2  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from test_emulator import CREDS, Emulator  # noqa: E402

ACC, OTHER = "610000000001", "610000000002"
MGMT, LONE = "620000000001", "620000000009"
OPT = "af-south-1"

DEFAULTS = {"ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
            "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
            "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2"}
OPT_INS = {"af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
           "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
           "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1"}
NOT_AUTH = "is not authorized to perform: account:"


def knob(emu: Emulator, method: str, path: str, body: dict | None = None) -> dict:
    data = json.dumps(body).encode() if body is not None else (b"" if method == "POST" else None)
    req = urllib.request.Request(emu.url + path, method=method, data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def knob_status(emu: Emulator, method: str, path: str, body: dict | None = None) -> int:
    try:
        knob(emu, method, path, body)
    except urllib.error.HTTPError as e:
        return e.code
    return 200


def client(emu: Emulator, service: str, account: str, region: str = "us-east-1", **creds):
    # no client-side validation: the server's answers to bad parameters are under test
    c = boto3.client(service, endpoint_url=emu.url, region_name=region,
                     config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1},
                                   parameter_validation=False),
                     **(creds or CREDS))
    if account and not creds:
        c.meta.events.register("before-send.*.*", lambda request, **_: request.headers.__setitem__(
            "x-moto-account-id", account))
    return c


def err(fn, *args, **kwargs) -> tuple[str, int, str, dict]:
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"].get("Message", ""), e.response)
    raise AssertionError(f"{getattr(fn, '__name__', fn)} succeeded")


def opt(acc_client, region: str, **kwargs) -> str:
    return acc_client.get_region_opt_status(RegionName=region, **kwargs)["RegionOptStatus"]


def wait_for(acc_client, region: str, wanted: str, **kwargs) -> None:
    deadline = time.time() + 10
    while opt(acc_client, region, **kwargs) != wanted:
        assert time.time() < deadline, f"{region} never became {wanted}"
        time.sleep(0.1)


def walk_regions(acc_client, **kwargs) -> tuple[list[dict], list[int]]:
    items, sizes, token = [], [], None
    while True:
        page = acc_client.list_regions(**kwargs, **({"NextToken": token} if token else {}))
        items += page["Regions"]
        sizes.append(len(page["Regions"]))
        token = page.get("NextToken")
        if not token:
            return items, sizes


def test_account_api(emu: Emulator) -> None:
    a = client(emu, "account", ACC)
    assert opt(a, "us-east-1") == "ENABLED_BY_DEFAULT" and opt(a, OPT) == "DISABLED"
    everything, sizes = walk_regions(a)
    names = [r["RegionName"] for r in everything]
    assert names == sorted(DEFAULTS | OPT_INS) and sizes == [20, 14], (names, sizes)
    assert {r["RegionName"] for r in everything if r["RegionOptStatus"] == "ENABLED_BY_DEFAULT"} == DEFAULTS
    assert {r["RegionName"] for r in everything if r["RegionOptStatus"] == "DISABLED"} == OPT_INS
    assert walk_regions(a, MaxResults=50)[1] == [34]
    assert [r["RegionName"] for r in walk_regions(a, MaxResults=7)[0]] == names
    assert walk_regions(a, MaxResults=1)[1] == [1] * 34
    default_only, _ = walk_regions(a, RegionOptStatusContains=["ENABLED_BY_DEFAULT", "ENABLED_BY_DEFAULT"])
    assert {r["RegionName"] for r in default_only} == DEFAULTS

    # refusals of ListRegions' parameters
    for bad in (0, 51):
        code, status, message, _ = err(a.list_regions, MaxResults=bad)
        assert (code, status) == ("ValidationException", 400) and "numeric instance" in message, message
    code, status, message, _ = err(a.list_regions, RegionOptStatusContains=["enabled"])
    assert (code, status) == ("ValidationException", 400), code
    assert message.startswith('[instance value ("enabled") not found in enum'), message
    for token in ("garbage", walk_regions.__name__):
        code, status, message, resp = err(a.list_regions, NextToken=token)
        assert (code, status, message) == ("ValidationException", 400, "NextToken is malformed"), message
        assert resp["reason"] == "fieldValidationFailed" and resp["fieldList"][0]["name"] == "NextToken"
    token = a.list_regions(MaxResults=2)["NextToken"]
    assert err(a.list_regions, NextToken=token, RegionOptStatusContains=["DISABLED"])[2] == "NextToken is malformed"
    assert err(client(emu, "account", OTHER).list_regions, NextToken=token)[2] == "NextToken is malformed"

    # refusals of a RegionName
    code, status, message, resp = err(a.get_region_opt_status, RegionName="xx-nowhere-1")
    assert (code, status, message) == ("ValidationException", 400,
                                       "xx-nowhere-1 is not a valid region for opt-in or opt-out."), message
    assert resp["reason"] == "fieldValidationFailed" and resp["fieldList"][0]["name"] == "RegionName"
    code, status, message, _ = err(a.get_region_opt_status, RegionName="US-EAST-1")
    assert (code, status) == ("AccessDeniedException", 403), code
    assert NOT_AUTH + "GetRegionOptStatus (You specified an invalid target region.)" in message, message
    for region in ("us-east-1", "eu-west-1"):  # enabled by default: neither enabled nor disabled
        for call in (a.enable_region, a.disable_region):
            code, status, message, resp = err(call, RegionName=region)
            assert (code, status, resp["reason"]) == ("ValidationException", 400, "invalidRegionOptTarget")
            assert message == "Unable to switch region status because of its current opt-in status."
    assert err(a.disable_region, RegionName=OPT)[3]["reason"] == "invalidRegionOptTarget"  # DISABLED

    # enable: ENABLING (conflicts while it lasts), then ENABLED
    knob(emu, "POST", "/_crossrep/regions/settle-seconds?seconds=0.6")
    a.enable_region(RegionName=OPT)
    assert opt(a, OPT) == "ENABLING"
    assert [r for r in a.list_regions(RegionOptStatusContains=["ENABLING"])["Regions"]] == [
        {"RegionName": OPT, "RegionOptStatus": "ENABLING"}]
    conflict = f"Account {ACC} and region {OPT} is currently being enabled or disabled. Please wait until it finishes and then try again."
    for call in (a.enable_region, a.disable_region):
        assert err(call, RegionName=OPT)[:3] == ("ConflictException", 409, conflict)
    wait_for(a, OPT, "ENABLED")
    assert err(a.enable_region, RegionName=OPT)[3]["reason"] == "invalidRegionOptTarget"
    # another account's state is independent
    assert opt(client(emu, "account", OTHER), OPT) == "DISABLED"
    # disable: DISABLING, then DISABLED
    a.disable_region(RegionName=OPT)
    assert opt(a, OPT) == "DISABLING"
    assert err(a.enable_region, RegionName=OPT)[:2] == ("ConflictException", 409)
    wait_for(a, OPT, "DISABLED")
    knob(emu, "POST", "/_crossrep/regions/settle-seconds?seconds=1")
    print("ok Account Management: defaults, ListRegions pages/filters/refusals, enable/disable with their conflicts")


def test_organizations_context(emu: Emulator) -> None:
    o = client(emu, "organizations", MGMT)
    o.create_organization(FeatureSet="ALL")
    first = o.create_account(AccountName="member", Email="member@example.com")["CreateAccountStatus"]
    member = o.describe_create_account_status(CreateAccountRequestId=first["Id"])["CreateAccountStatus"]["AccountId"]
    first = o.create_account(AccountName="member2", Email="member2@example.com")["CreateAccountStatus"]
    member2 = o.describe_create_account_status(CreateAccountRequestId=first["Id"])["CreateAccountStatus"]["AccountId"]
    m, mem, lone = client(emu, "account", MGMT), client(emu, "account", member), client(emu, "account", LONE)

    trusted = "(Your organization must first enable trusted access with AWS Account Management.)"
    for target in (member, MGMT):
        code, status, message, _ = err(m.get_region_opt_status, RegionName=OPT, AccountId=target)
        assert (code, status) == ("AccessDeniedException", 403) and message.endswith(trusted), message
    assert err(m.list_regions, AccountId=member)[2].endswith(trusted)
    o.enable_aws_service_access(ServicePrincipal="account.amazonaws.com")

    # the management account manages a member, never itself by AccountId
    assert opt(m, OPT, AccountId=member) == "DISABLED"
    m.enable_region(RegionName=OPT, AccountId=member)
    assert opt(mem, OPT) == "ENABLING" and opt(m, OPT) == "DISABLED"  # the member's, not its own
    standalone = "(The management account can only be managed using the standalone context from the management account.)"
    code, status, message, _ = err(m.get_region_opt_status, RegionName=OPT, AccountId=MGMT)
    assert (code, status) == ("AccessDeniedException", 403) and message.endswith(standalone), message
    assert opt(m, OPT) == "DISABLED"  # standalone context works
    # an account outside the organization, a malformed AccountId
    assert err(m.get_region_opt_status, RegionName=OPT, AccountId=LONE)[:2] == ("AccessDeniedException", 403)
    assert err(m.get_region_opt_status, RegionName=OPT, AccountId="12345")[:2] == ("ValidationException", 400)

    # a member that is not a delegated administrator: refused even for itself
    for target in (member, member2):
        code, status, message, _ = err(mem.get_region_opt_status, RegionName=OPT, AccountId=target)
        assert (code, status) == ("AccessDeniedException", 403), code
        assert message.endswith(NOT_AUTH + "GetRegionOptStatus"), message
    o.register_delegated_administrator(AccountId=member, ServicePrincipal="account.amazonaws.com")
    assert opt(mem, OPT, AccountId=member) == "ENABLING"  # a delegated administrator may name itself
    mem.enable_region(RegionName="me-south-1", AccountId=member2)
    assert opt(client(emu, "account", member2), "me-south-1") == "ENABLING"
    assert err(mem.get_region_opt_status, RegionName=OPT, AccountId=MGMT)[2].endswith(standalone)
    # an account in no organization may not name any account, not even itself
    for target in (LONE, member):
        code, status, message, _ = err(lone.list_regions, AccountId=target)
        assert (code, status) == ("AccessDeniedException", 403) and message.endswith(NOT_AUTH + "ListRegions"), message
    assert opt(lone, OPT) == "DISABLED"
    print("ok organizations context: trusted access, management standalone, delegated administrator, members refused")


def test_disabled_region_refused(emu: Emulator) -> None:
    knob(emu, "POST", "/_crossrep/requests/reset")
    s3 = client(emu, "s3", ACC, OPT)
    # S3: the key is unknown in a Region the account has not enabled (403 InvalidAccessKeyId)
    code, status, message, resp = err(s3.list_buckets)
    assert (code, status) == ("InvalidAccessKeyId", 403), (code, status)
    assert message == "The AWS Access Key Id you provided does not exist in our records.", message
    assert resp["Error"]["AWSAccessKeyId"] == "testing", resp
    assert err(s3.head_bucket, Bucket="whatever")[:2] == ("403", 403)  # HEAD: no body
    assert err(s3.create_bucket, Bucket="regions-af", CreateBucketConfiguration={"LocationConstraint": OPT})[0] == "InvalidAccessKeyId"
    # query protocol: 403 InvalidClientTokenId
    for svc, call in (("sts", "get_caller_identity"), ("sns", "list_topics"), ("cloudwatch", "describe_alarms")):
        code, status, message, _ = err(getattr(client(emu, svc, ACC, OPT), call))
        assert (code, status, message) == ("InvalidClientTokenId", 403,
                                           "The security token included in the request is invalid"), (svc, code, status, message)
    # awsJson: 400 UnrecognizedClientException; SQS (query-compatible) InvalidClientTokenId
    code, status, _, _ = err(client(emu, "kms", ACC, OPT).list_keys)
    assert (code, status) == ("UnrecognizedClientException", 400), (code, status)
    code, status, _, _ = err(client(emu, "sqs", ACC, OPT).list_queues)
    assert (code, status) == ("InvalidClientTokenId", 403), (code, status)
    # CloudWatch over RPCv2 CBOR (aws-sdk-cloudwatch): 403 InvalidClientTokenId, in CBOR
    req = urllib.request.Request(
        f"{emu.url}/service/GraniteServiceVersion20100801/operation/DescribeAlarms", data=cbor2.dumps({}),
        method="POST", headers={"content-type": "application/cbor", "smithy-protocol": "rpc-v2-cbor",
                                "accept": "application/cbor", "x-moto-account-id": ACC,
                                "authorization": f"AWS4-HMAC-SHA256 Credential=testing/20260101/{OPT}/"
                                                 "monitoring/aws4_request, SignedHeaders=host, Signature=0"})
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("CBOR DescribeAlarms succeeded")
    except urllib.error.HTTPError as e:
        answer = cbor2.loads(e.read())
        assert e.code == 403 and "InvalidClientTokenId" in answer["__type"], (e.code, answer)
    # S3 Control
    s3c = client(emu, "s3control", ACC, OPT)
    s3c.meta.events.register("before-send.s3-control.*", lambda request, **_: setattr(
        request, "url", request.url.replace(f"://{ACC}.", "://", 1)))
    assert err(s3c.list_jobs, AccountId=ACC)[:2] == ("InvalidAccessKeyId", 403)
    # CreateBucket sent to us-east-1 for a Region not enabled
    us = client(emu, "s3", ACC)
    code, status, message, _ = err(us.create_bucket, Bucket="regions-af",
                                   CreateBucketConfiguration={"LocationConstraint": OPT})
    assert (code, status) == ("IllegalLocationConstraintException", 400), (code, status)
    assert message == f"The {OPT} location constraint is incompatible for the region specific endpoint this request was sent to."
    # the request log records the refusals with their status
    entries = knob(emu, "GET", f"/_crossrep/requests?account={ACC}")["requests"]
    log = [r for r in entries if r["region"] == OPT]
    assert len(log) == 10 and {r["status"] for r in log} == {400, 403}, log
    assert [(r["operation"], r["status"]) for r in entries if r["region"] == "us-east-1"] == [("CreateBucket", 400)]
    assert {r["operation"] for r in log} >= {"ListBuckets", "HeadBucket", "GetCallerIdentity", "ListKeys", "ListJobs", "DescribeAlarms"}, log

    # negative controls: default Regions, global services signed for the Region, another
    # account that enabled it
    us.list_buckets()
    client(emu, "s3", ACC, "eu-west-1").list_buckets()
    client(emu, "sts", ACC, "ap-southeast-2").get_caller_identity()
    client(emu, "iam", ACC, OPT).list_roles()
    client(emu, "organizations", MGMT, OPT).describe_organization()
    knob(emu, "POST", "/_crossrep/regions", {"account": OTHER, "region": OPT, "status": "ENABLED"})
    client(emu, "s3", OTHER, OPT).list_buckets()
    client(emu, "sts", OTHER, OPT).get_caller_identity()
    client(emu, "kms", OTHER, OPT).list_keys()

    # ENABLING is not enabled yet; ENABLED and DISABLING are
    knob(emu, "POST", "/_crossrep/regions/settle-seconds?seconds=3600")
    a = client(emu, "account", ACC)
    a.enable_region(RegionName=OPT)
    assert err(s3.list_buckets)[0] == "InvalidAccessKeyId"
    knob(emu, "POST", "/_crossrep/regions", {"account": ACC, "region": OPT, "status": "ENABLED"})
    s3.create_bucket(Bucket="regions-af", CreateBucketConfiguration={"LocationConstraint": OPT})
    us.create_bucket(Bucket="regions-af-2", CreateBucketConfiguration={"LocationConstraint": OPT})
    assert {b["Name"]: b["BucketRegion"] for b in us.list_buckets()["Buckets"]} == {
        "regions-af": OPT, "regions-af-2": OPT}
    a.disable_region(RegionName=OPT)
    assert opt(a, OPT) == "DISABLING"
    s3.list_buckets()  # still works while DISABLING (as observed on AWS)
    knob(emu, "POST", "/_crossrep/regions", {"account": ACC, "region": OPT, "status": "DISABLED"})
    assert err(s3.list_buckets)[0] == "InvalidAccessKeyId"
    assert len(us.list_buckets()["Buckets"]) == 2  # ListBuckets signed for us-east-1: unaffected
    knob(emu, "POST", "/_crossrep/regions/settle-seconds?seconds=1")
    print("ok requests signed for a Region not enabled refused (S3, S3 Control, query, awsJson); controls pass")


def test_assume_role_regions(emu: Emulator) -> None:
    # STS in a Region issues no credentials for an account that has not enabled it
    knob(emu, "POST", "/_crossrep/regions", {"account": OTHER, "region": "me-south-1", "status": "ENABLED"})
    sts = client(emu, "sts", OTHER, "me-south-1")
    role = f"arn:aws:iam::{ACC}:role/crossrep"
    code, status, message, _ = err(sts.assume_role, RoleArn=role, RoleSessionName="s")
    assert (code, status) == ("AccessDenied", 403), (code, status)
    assert message.endswith(f"is not authorized to perform: sts:AssumeRole on resource: {role}"), message
    # assumed through us-east-1, the credentials still do not work in the Region
    creds = client(emu, "sts", OTHER).assume_role(RoleArn=role, RoleSessionName="s")["Credentials"]
    keys = {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}
    assert err(client(emu, "s3", None, "me-south-1", **keys).list_buckets)[:2] == ("InvalidAccessKeyId", 403)
    client(emu, "s3", None, "us-east-1", **keys).list_buckets()
    # once the role's account enabled the Region, both work
    knob(emu, "POST", "/_crossrep/regions", {"account": ACC, "region": "me-south-1", "status": "ENABLED"})
    sts.assume_role(RoleArn=role, RoleSessionName="s")
    client(emu, "s3", None, "me-south-1", **keys).list_buckets()
    print("ok AssumeRole: refused in a Region the role's account has not enabled, credentials too")


def test_bucket_quota(emu: Emulator) -> None:
    s3, sq = client(emu, "s3", ACC), client(emu, "service-quotas", ACC)
    default = sq.get_aws_default_service_quota(ServiceCode="s3", QuotaCode="L-DC2B2D3D")["Quota"]
    assert default["Value"] == 10000.0 and default["QuotaName"] == "General purpose buckets", default
    assert [q["Value"] for q in sq.list_aws_default_service_quotas(ServiceCode="s3")["Quotas"]] == [10000.0]
    # never increased: GetServiceQuota has no applied value, ListServiceQuotas lists nothing
    code, status, message, _ = err(sq.get_service_quota, ServiceCode="s3", QuotaCode="L-DC2B2D3D")
    assert (code, status, message) == ("NoSuchResourceException", 400, ""), (code, status, message)
    assert sq.list_service_quotas(ServiceCode="s3")["Quotas"] == []
    # only from us-east-1; an unknown quota code; vpc as moto serves it (negative control)
    west = client(emu, "service-quotas", ACC, "eu-west-1")
    assert err(west.get_aws_default_service_quota, ServiceCode="s3", QuotaCode="L-DC2B2D3D")[0] == "NoSuchResourceException"
    assert err(sq.get_aws_default_service_quota, ServiceCode="s3", QuotaCode="L-00000000")[0] == "NoSuchResourceException"
    assert sq.list_aws_default_service_quotas(ServiceCode="vpc")["Quotas"]

    have = len(s3.list_buckets()["Buckets"])
    knob(emu, "POST", "/_crossrep/s3/bucket-quota", {"account": ACC, "quota": have + 2})
    applied = sq.get_service_quota(ServiceCode="s3", QuotaCode="L-DC2B2D3D")["Quota"]
    assert applied["Value"] == have + 2 and ACC in applied["QuotaArn"], applied
    assert sq.get_aws_default_service_quota(ServiceCode="s3", QuotaCode="L-DC2B2D3D")["Quota"]["Value"] == 10000.0
    assert [q["Value"] for q in sq.list_service_quotas(ServiceCode="s3")["Quotas"]] == [have + 2]
    s3.create_bucket(Bucket="quota-1")
    s3.create_bucket(Bucket="quota-2", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    code, status, message, _ = err(s3.create_bucket, Bucket="quota-3")
    assert (code, status, message) == ("TooManyBuckets", 400, "You have attempted to create more buckets than allowed")
    s3.create_bucket(Bucket="quota-1")  # us-east-1 re-creation of an owned bucket adds none: 200
    assert err(s3.create_bucket, Bucket="quota-2", CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})[0] == "BucketAlreadyOwnedByYou"
    client(emu, "s3", OTHER).create_bucket(Bucket="quota-other")  # another account: its own quota
    s3.delete_bucket(Bucket="quota-1")
    s3.create_bucket(Bucket="quota-3")
    # above 10,000: unpaginated ListBuckets is rejected, paginated works
    knob(emu, "POST", "/_crossrep/s3/bucket-quota", {"account": ACC, "quota": 10001})
    code, status, _, _ = err(s3.list_buckets)
    assert (code, status) == ("InvalidRequest", 400), (code, status)
    assert len(s3.list_buckets(MaxBuckets=1000)["Buckets"]) == have + 2
    client(emu, "s3", OTHER).list_buckets()  # another account: unaffected
    knob(emu, "DELETE", f"/_crossrep/s3/bucket-quota?account={ACC}")
    assert err(sq.get_service_quota, ServiceCode="s3", QuotaCode="L-DC2B2D3D")[0] == "NoSuchResourceException"
    s3.list_buckets()
    print("ok bucket quota: TooManyBuckets at the quota, Service Quotas default/applied, unpaginated ListBuckets")


def test_role_quota(emu: Emulator) -> None:
    iam = client(emu, "iam", ACC)
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["RolesQuota"] == 1000, summary
    have = summary["Roles"]
    knob(emu, "POST", "/_crossrep/iam/role-quota", {"account": ACC, "quota": have + 2})
    for name in ("quota-a", "quota-b"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument="{}")
    code, status, message, _ = err(iam.create_role, RoleName="quota-c", AssumeRolePolicyDocument="{}")
    assert (code, status, message) == ("LimitExceeded", 409, f"Cannot exceed quota for RolesPerAccount: {have + 2}"), (code, status, message)
    summary = iam.get_account_summary()["SummaryMap"]
    assert (summary["Roles"], summary["RolesQuota"]) == (have + 2, have + 2), summary
    other = client(emu, "iam", OTHER)
    other.create_role(RoleName="quota-c", AssumeRolePolicyDocument="{}")  # another account: unaffected
    assert other.get_account_summary()["SummaryMap"]["RolesQuota"] == 1000
    iam.delete_role(RoleName="quota-a")
    iam.create_role(RoleName="quota-c", AssumeRolePolicyDocument="{}")
    knob(emu, "DELETE", f"/_crossrep/iam/role-quota?account={ACC}")
    assert iam.get_account_summary()["SummaryMap"]["RolesQuota"] == 1000
    print("ok role quota: RolesQuota / Roles in GetAccountSummary, LimitExceeded (409) at the quota")


def test_knobs(emu: Emulator) -> None:
    for body in ({"account": "x", "region": OPT, "status": "ENABLED"},
                 {"account": ACC, "region": "xx-nowhere-1", "status": "ENABLED"},
                 {"account": ACC, "region": "us-east-1", "status": "DISABLED"},
                 {"account": ACC, "region": OPT, "status": "ENABLED_BY_DEFAULT"},
                 {"account": ACC, "region": OPT, "status": "on"}):
        assert knob_status(emu, "POST", "/_crossrep/regions", body) == 400, body
    for quota in (-1, "3", None, True):
        assert knob_status(emu, "POST", "/_crossrep/s3/bucket-quota", {"account": ACC, "quota": quota}) == 400
        assert knob_status(emu, "POST", "/_crossrep/iam/role-quota", {"account": ACC, "quota": quota}) == 400
    assert knob_status(emu, "POST", "/_crossrep/regions/settle-seconds?seconds=-1") == 400
    assert knob_status(emu, "POST", "/_crossrep/regions/settle-seconds?seconds=x") == 400
    assert knob(emu, "POST", "/_crossrep/regions", {"account": ACC, "region": "ca-west-1", "status": "ENABLED"}) == {
        "account": ACC, "region": "ca-west-1", "status": "ENABLED"}
    assert knob(emu, "GET", f"/_crossrep/regions?account={ACC}")["regions"]["ca-west-1"] == "ENABLED"
    assert knob(emu, "POST", "/_crossrep/s3/bucket-quota", {"account": ACC, "quota": 5}) == {
        "account": ACC, "quota": 5, "applied": True}
    knob(emu, "POST", "/_crossrep/iam/role-quota", {"account": ACC, "quota": 0})
    assert knob(emu, "POST", "/_crossrep/regions/settle-seconds?seconds=30") == {"settle_seconds": 30.0}

    knob(emu, "POST", "/moto-api/reset")
    assert knob(emu, "GET", f"/_crossrep/regions?account={ACC}")["regions"]["ca-west-1"] == "DISABLED"
    assert knob(emu, "GET", "/_crossrep/regions/settle-seconds") == {"settle_seconds": 1.0}
    assert err(client(emu, "service-quotas", ACC).get_service_quota, ServiceCode="s3",
               QuotaCode="L-DC2B2D3D")[0] == "NoSuchResourceException"
    client(emu, "iam", ACC).create_role(RoleName="after-reset", AssumeRolePolicyDocument="{}")
    assert err(client(emu, "s3", ACC, "ca-west-1").list_buckets)[0] == "InvalidAccessKeyId"
    print("ok knobs: validation, GET, /moto-api/reset clears Regions, settle time and quotas")


def main() -> int:
    emu = Emulator()
    try:
        test_account_api(emu)
        test_organizations_context(emu)
        test_disabled_region_refused(emu)
        test_assume_role_regions(emu)
        test_bucket_quota(emu)
        test_role_quota(emu)
        test_knobs(emu)
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
