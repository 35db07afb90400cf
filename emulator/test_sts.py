#!/usr/bin/env python3
"""Self-test of STS credentials that expire (sts.py): `python3 emulator/test_sts.py` (no pytest).

Starts `emulator/run` on a free port, assumes roles with boto3 (directly and chained), checks
AssumeRole's DurationSeconds bounds, shortens the credentials' lifetime with the knob, and checks
that an expired key is refused by every protocol while a live one (the negative control) is not;
stops the server and exits non-zero on the first failure.
"""

from __future__ import annotations

import datetime
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

from test_emulator import CREDS, Emulator, expect_error  # noqa: E402

ACC, OTHER, MEMBER = "510000000001", "510000000002", "510000000003"


def role(account: str, name: str = "admin") -> str:
    return f"arn:aws:iam::{account}:role/{name}"


def assume(emu: Emulator, arn: str, creds: dict | None = None, **kwargs) -> dict:
    # no client-side validation: the server's answer to a bad DurationSeconds is under test
    sts = boto3.client("sts", endpoint_url=emu.url, region_name="us-east-1",
                       config=Config(parameter_validation=False, retries={"max_attempts": 1}),
                       **(creds or CREDS))
    return sts.assume_role(RoleArn=arn, RoleSessionName="crossrep", **kwargs)["Credentials"]


def as_client(c: dict) -> dict:
    return {"aws_access_key_id": c["AccessKeyId"], "aws_secret_access_key": c["SecretAccessKey"],
            "aws_session_token": c["SessionToken"]}


def lasts(c: dict) -> float:
    return (c["Expiration"] - datetime.datetime.now(datetime.timezone.utc)).total_seconds()


def error_of(fn, *args, **kwargs) -> tuple[str, int, str]:
    try:
        fn(*args, **kwargs)
    except ClientError as e:
        return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"].get("Message", ""))
    raise AssertionError("call succeeded")


def test_durations(emu: Emulator) -> None:
    c = assume(emu, role(ACC))
    assert 3590 < lasts(c) <= 3600, c["Expiration"]  # AWS default: 3600 s
    for bad, bound in ((899, "greater than or equal to 900"), (43201, "less than or equal to 43200")):
        e = expect_error("ValidationError", assume, emu, role(ACC), DurationSeconds=bad)
        assert bound in str(e) and e.response["ResponseMetadata"]["HTTPStatusCode"] == 400, e
    assert 890 < lasts(assume(emu, role(ACC), DurationSeconds=900)) <= 900
    # a role that exists: its MaxSessionDuration (1 hour unless set) bounds the request
    iam = emu.client("iam", account=ACC)
    iam.create_role(RoleName="short", AssumeRolePolicyDocument="{}")
    iam.create_role(RoleName="long", AssumeRolePolicyDocument="{}", MaxSessionDuration=43200)
    e = expect_error("ValidationError", assume, emu, role(ACC, "short"), DurationSeconds=7200)
    assert "exceeds the MaxSessionDuration set for this role" in str(e), e
    assert 7190 < lasts(assume(emu, role(ACC, "long"), DurationSeconds=7200)) <= 7200
    # a role that does not exist (the emulator lets anyone assume it): up to 12 hours
    assert 43190 < lasts(assume(emu, role(ACC, "nowhere"), DurationSeconds=43200)) <= 43200
    print("ok DurationSeconds: default 3600, 900..43200, the role's MaxSessionDuration")


def test_chaining(emu: Emulator) -> None:
    first = as_client(assume(emu, role(ACC), DurationSeconds=43200))
    # role chaining: at most one hour, whatever the role allows
    e = expect_error("ValidationError", assume, emu, role(MEMBER, "nowhere"), first, DurationSeconds=3601)
    assert "exceeds the 1 hour session limit for roles assumed by role chaining" in str(e), e
    assert 3590 < lasts(assume(emu, role(MEMBER), first, DurationSeconds=3600)) <= 3600
    assert 3590 < lasts(assume(emu, role(MEMBER), first)) <= 3600  # default: 3600
    # not chained (long-term keys): the same request is fine
    assert lasts(assume(emu, role(MEMBER, "nowhere"), DurationSeconds=3601)) > 3590
    listed = emu.http("GET", f"/_crossrep/sts/credentials?account={MEMBER}")["credentials"]
    assert [c["chained"] for c in listed] == [True, True, False], listed
    print("ok role chaining: more than 3600 s refused with AWS's ValidationError")


def test_expiry(emu: Emulator) -> None:
    emu.http("POST", f"/_crossrep/sts/lifetime?seconds=3&account={ACC}")
    short = assume(emu, role(ACC), DurationSeconds=3600)
    assert 0 < lasts(short) <= 3, short["Expiration"]  # the answer says when
    other = assume(emu, role(OTHER))  # the knob is per account
    assert lasts(other) > 3590, other["Expiration"]
    dead, live = as_client(short), as_client(other)
    s3 = emu.client("s3", **dead)
    s3.create_bucket(Bucket="sts-expiry")  # works while fresh
    chained = as_client(assume(emu, role(MEMBER), dead))
    time.sleep(max(0.0, lasts(short)) + 0.2)

    # S3: 400 ExpiredToken "The provided token has expired." (S3 API reference, error codes)
    code, status, message = error_of(s3.list_buckets)
    assert (code, status, message) == ("ExpiredToken", 400, "The provided token has expired."), (code, status, message)
    assert error_of(s3.head_bucket, Bucket="sts-expiry")[:2] == ("400", 400)  # HEAD: no body
    expect_error("ExpiredToken", s3.put_object, Bucket="sts-expiry", Key="k", Body=b"x")
    # query protocol: 403 ExpiredToken
    for svc, call in (("sts", "get_caller_identity"), ("iam", "list_roles"), ("sns", "list_topics"),
                      ("cloudwatch", "describe_alarms")):
        code, status, message = error_of(getattr(emu.client(svc, **dead), call))
        assert (code, status) == ("ExpiredToken", 403), (svc, code, status)
        assert message == "The security token included in the request is expired", message
    # a role cannot be assumed with expired credentials either (chaining from a dead session)
    assert error_of(assume, emu, role(MEMBER), dead)[:2] == ("ExpiredToken", 403)
    # awsJson: 403 ExpiredTokenException (SQS: its query-compatible code)
    for svc, call in (("kms", "list_keys"), ("organizations", "list_accounts")):
        code, status, _ = error_of(getattr(emu.client(svc, **dead), call))
        assert (code, status) == ("ExpiredTokenException", 403), (svc, code, status)
    code, status, _ = error_of(emu.client("sqs", **dead).list_queues)
    assert code in ("ExpiredToken", "ExpiredTokenException") and status == 403, (code, status)
    # S3 Control: S3's code and message
    s3c = boto3.client("s3control", endpoint_url=emu.url, region_name="us-east-1",
                       config=Config(retries={"max_attempts": 1}), **dead)
    s3c.meta.events.register("before-send.s3-control.*", lambda request, **_: setattr(
        request, "url", request.url.replace(f"://{ACC}.", "://", 1)))
    assert error_of(s3c.list_jobs, AccountId=ACC)[:2] == ("ExpiredToken", 400)

    # negative controls: a live key of another account, long-term keys, and the chained session
    # (its own lifetime, one hour) keep working
    emu.client("s3", **live).list_buckets()
    emu.client("s3", account=ACC).list_buckets()
    emu.client("sts", **chained).get_caller_identity()
    # new credentials for the same role work again (what a refreshing client does)
    emu.client("s3", **as_client(assume(emu, role(ACC)))).list_buckets()

    listed = emu.http("GET", f"/_crossrep/sts/credentials?account={ACC}")
    refused = listed["refused"]
    assert {r["access_key_id"] for r in refused} == {short["AccessKeyId"]}, refused
    assert len(refused) == 12, refused  # every call above, once (no retries)
    mine = next(c for c in listed["credentials"] if c["access_key_id"] == short["AccessKeyId"])
    assert mine["requests"] >= 2 and mine["last_used"] < mine["expiration"], mine
    print("ok expired credentials refused by S3 (400), query (403), awsJson (403), S3 Control; live ones not")


def test_knob(emu: Emulator) -> None:
    for bad in ("seconds=0", "seconds=x", ""):
        try:
            emu.http("POST", f"/_crossrep/sts/lifetime?{bad}")
        except Exception as e:  # noqa: BLE001 - urllib raises HTTPError for the 400
            assert "400" in str(e), e
        else:
            raise AssertionError(f"lifetime {bad!r} accepted")
    emu.http("POST", "/_crossrep/sts/lifetime?seconds=5")  # every account
    assert lasts(assume(emu, role(OTHER))) <= 5
    emu.http("DELETE", "/_crossrep/sts/lifetime")
    assert lasts(assume(emu, role(OTHER))) > 3590
    emu.http("POST", f"/_crossrep/sts/lifetime?seconds=5&account={ACC}")
    emu.http("POST", "/moto-api/reset")
    assert emu.http("GET", "/_crossrep/sts/lifetime") == {"lifetime": {}}
    assert lasts(assume(emu, role(ACC))) > 3590
    listed = emu.http("GET", "/_crossrep/sts/credentials")
    assert len(listed["credentials"]) == 1 and listed["refused"] == [], listed
    print("ok knob: per account or all, DELETE and /moto-api/reset clear it")


def main() -> int:
    emu = Emulator()
    try:
        test_durations(emu)
        test_chaining(emu)
        test_expiry(emu)
        test_knob(emu)
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
