#!/usr/bin/env python3
"""Self-test of IAM SimulatePrincipalPolicy (simulate.py): `python3 emulator/test_simulate.py`
(no pytest).

Starts `emulator/run` on a free port and checks, with boto3 (whose parser must read every
answer): a role's inline and attached managed policies (allowed / implicitDeny / explicitDeny
per resource, the aggregate decision, `*` by default, MatchedStatements and their positions), a
user with its group's policies, a group, a permissions boundary, the missing context key,
MaxItems / Marker pages (and boto3's paginator), organizations, every refusal (ValidationError,
InvalidInput, NoSuchEntity, EmulatorUnsupported) and the fault-injected AccessDenied with the
request log. Also checks permissions.py's set operators directly. Stops the server and exits
non-zero on the first failure.
"""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3  # noqa: E402
from botocore.config import Config  # noqa: E402
from botocore.exceptions import ClientError  # noqa: E402

import permissions  # noqa: E402
from test_emulator import CREDS, Emulator  # noqa: E402

ACC, OTHER = "630000000001", "630000000002"
MGMT, MEMBER = "640000000001", "640000000002"
ROLE_ARN = f"arn:aws:iam::{ACC}:role/crossrep/replicator"

INLINE = json.dumps({
    "Version": "2012-10-17",
    "Statement": [
        {"Sid": "Versioning", "Effect": "Allow", "Action": "s3:PutBucketVersioning",
         "Resource": "arn:aws:s3:::app-*"},
        {"Sid": "NeverDelete", "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"},
    ],
}, indent=2)
MANAGED = '{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"iam:CreateRole","Resource":"*"}}'
REGIONAL = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
    {"Effect": "Allow", "Action": "s3:ListBucket", "Resource": "*"},
    {"Effect": "Allow", "Action": "s3:PutObject", "Resource": "*",
     "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "true"}}},
]})


def client(emu: Emulator, service: str, account: str, validate: bool = True):
    c = boto3.client(service, endpoint_url=emu.url, region_name="us-east-1",
                     config=Config(retries={"max_attempts": 1}, parameter_validation=validate), **CREDS)
    c.meta.events.register("before-send.*.*", lambda request, **_: request.headers.__setitem__(
        "x-moto-account-id", account))
    return c


def err(fn, **kwargs) -> tuple[str, int, str]:
    try:
        fn(**kwargs)
    except ClientError as e:
        return (e.response["Error"]["Code"], e.response["ResponseMetadata"]["HTTPStatusCode"],
                e.response["Error"].get("Message", ""))
    raise AssertionError(f"{getattr(fn, '__name__', fn)} succeeded")


def http(emu: Emulator, method: str, path: str) -> dict:
    req = urllib.request.Request(emu.url + path, method=method, data=b"" if method == "POST" else None)
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.loads(r.read() or b"{}")


def position(text: str, index: int) -> dict:
    """Line and column of the character after `index` (AWS CLI simulate-custom-policy example)."""
    line_start = text.rfind("\n", 0, index) + 1
    return {"Line": text.count("\n", 0, index) + 1, "Column": index - line_start + 2}


def setup(emu: Emulator) -> dict:
    iam = client(emu, "iam", ACC)
    iam.create_role(RoleName="replicator", Path="/crossrep/", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="replicator", PolicyName="buckets", PolicyDocument=INLINE)
    managed = iam.create_policy(PolicyName="create-roles", PolicyDocument=MANAGED)["Policy"]["Arn"]
    iam.attach_role_policy(RoleName="replicator", PolicyArn=managed)
    iam.create_role(RoleName="regional", AssumeRolePolicyDocument="{}")
    iam.put_role_policy(RoleName="regional", PolicyName="regional", PolicyDocument=REGIONAL)
    iam.create_user(UserName="alice")
    iam.create_group(GroupName="readers")
    iam.add_user_to_group(GroupName="readers", UserName="alice")
    iam.put_group_policy(GroupName="readers", PolicyName="list", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}))
    iam.put_user_policy(UserName="alice", PolicyName="own", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:ListAllMyBuckets",
                                                 "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    return {"iam": iam, "managed": managed}


def sim(iam, arn: str = ROLE_ARN, **kwargs) -> dict:
    answer = iam.simulate_principal_policy(PolicySourceArn=arn, **kwargs)
    answer.pop("ResponseMetadata", None)
    return answer


def test_role(env: dict) -> None:
    iam = env["iam"]
    resources = ["arn:aws:s3:::app-logs", "arn:aws:s3:::billing"]
    answer = sim(iam, ActionNames=["s3:PutBucketVersioning", "s3:DeleteBucket", "iam:CreateRole"],
                 ResourceArns=resources)
    assert answer["IsTruncated"] is False and "Marker" not in answer, answer
    put, delete, create = answer["EvaluationResults"]
    # one result per action; per-resource decisions; the aggregate is the most restrictive
    assert put["EvalActionName"] == "s3:PutBucketVersioning" and put["EvalResourceName"] == resources[0]
    assert [(r["EvalResourceName"], r["EvalResourceDecision"]) for r in put["ResourceSpecificResults"]] == [
        (resources[0], "allowed"), (resources[1], "implicitDeny")], put
    assert put["EvalDecision"] == "implicitDeny" and put["MatchedStatements"] == [], put
    assert put["EvalDecisionDetails"] == {} and put["MissingContextValues"] == []
    # positions: just after the opening and the closing brace of the statement, 1-based
    first_open = INLINE.index("{", INLINE.index('"Statement"'))
    first_close = INLINE.index("}", first_open)
    allowed_stmt = put["ResourceSpecificResults"][0]["MatchedStatements"]
    assert allowed_stmt == [{"SourcePolicyId": "buckets", "SourcePolicyType": "role",
                             "StartPosition": position(INLINE, first_open),
                             "EndPosition": position(INLINE, first_close)}], allowed_stmt
    assert put["ResourceSpecificResults"][1]["MatchedStatements"] == []

    assert delete["EvalDecision"] == "explicitDeny", delete
    assert {r["EvalResourceDecision"] for r in delete["ResourceSpecificResults"]} == {"explicitDeny"}
    second_open = INLINE.index("{", first_close)
    deny = {"SourcePolicyId": "buckets", "SourcePolicyType": "role",
            "StartPosition": position(INLINE, second_open),
            "EndPosition": position(INLINE, INLINE.index("}", second_open))}
    assert delete["MatchedStatements"] == [deny], delete

    assert create["EvalDecision"] == "allowed", create
    assert create["MatchedStatements"] == [{
        "SourcePolicyId": "create-roles", "SourcePolicyType": "user-managed",
        "StartPosition": position(MANAGED, MANAGED.index("{", 1)),
        "EndPosition": position(MANAGED, len(MANAGED) - 2)}], create
    # the AWS CLI's documented example: a statement opening at the 37th character -> Column 38
    assert create["MatchedStatements"][0]["StartPosition"] == {"Line": 1, "Column": 38}

    # ResourceArns defaults to *: no per-resource results; a statement scoped to app-* does not
    # match the resource * (cloud-custodian #4612)
    star = sim(iam, ActionNames=["s3:PutBucketVersioning", "s3:DeleteBucket", "iam:CreateRole"])
    decisions = [(r["EvalActionName"], r["EvalResourceName"], r["EvalDecision"]) for r in star["EvaluationResults"]]
    assert decisions == [("s3:PutBucketVersioning", "*", "implicitDeny"), ("s3:DeleteBucket", "*", "explicitDeny"),
                         ("iam:CreateRole", "*", "allowed")], decisions
    for r in star["EvaluationResults"]:
        assert "ResourceSpecificResults" not in r and "EvalDecisionDetails" not in r, r
        assert "OrganizationsDecisionDetail" not in r and "PermissionsBoundaryDecisionDetail" not in r, r
    assert sim(iam, ActionNames=["s3:DeleteBucket"], ResourceArns=["*"])["EvaluationResults"][0].get(
        "ResourceSpecificResults") is None
    # actions are case-insensitive, resources are not
    one = sim(iam, ActionNames=["S3:putbucketversioning"], ResourceArns=["arn:aws:s3:::APP-x"])
    assert one["EvaluationResults"][0]["EvalDecision"] == "implicitDeny"
    one = sim(iam, ActionNames=["S3:putbucketversioning"], ResourceArns=["arn:aws:s3:::app-x"])
    assert one["EvaluationResults"][0]["EvalDecision"] == "allowed"
    print("ok role: inline + attached managed, per-resource and aggregate decisions, positions, * default")


def test_user_and_group(env: dict) -> None:
    iam = env["iam"]
    user = f"arn:aws:iam::{ACC}:user/alice"
    # the user's own Deny needs aws:SecureTransport: not given, so it is listed and does not apply
    r = sim(iam, user, ActionNames=["s3:ListAllMyBuckets", "s3:GetObject"])["EvaluationResults"]
    assert r[0]["EvalDecision"] == "allowed" and r[1]["EvalDecision"] == "implicitDeny", r
    assert r[0]["MatchedStatements"][0]["SourcePolicyId"] == "list"
    assert r[0]["MatchedStatements"][0]["SourcePolicyType"] == "group"
    assert r[0]["MissingContextValues"] == ["aws:SecureTransport"] == r[1]["MissingContextValues"], r
    insecure = [{"ContextKeyName": "aws:SecureTransport", "ContextKeyValues": ["false"], "ContextKeyType": "boolean"}]
    r = sim(iam, user, ActionNames=["s3:ListAllMyBuckets"], ContextEntries=insecure)["EvaluationResults"][0]
    assert r["EvalDecision"] == "explicitDeny" and r["MissingContextValues"] == [], r
    assert r["MatchedStatements"][0]["SourcePolicyType"] == "user" and len(r["MatchedStatements"]) == 1, r
    group = f"arn:aws:iam::{ACC}:group/readers"
    r = sim(iam, group, ActionNames=["s3:ListAllMyBuckets"])["EvaluationResults"][0]
    assert r["EvalDecision"] == "allowed" and r["MissingContextValues"] == [], r
    print("ok user: its inline policies and its groups'; a group; a Bool key missing then given")


def test_missing_context(env: dict) -> None:
    iam = env["iam"]
    arn = f"arn:aws:iam::{ACC}:role/regional"
    # AWS lists every key the policies use and the request did not give, whichever statement
    # uses it (boto3 #3111), and the statement needing it does not apply (openshift/installer #1322)
    r = sim(iam, arn, ActionNames=["s3:GetObject", "s3:ListBucket", "s3:PutObject"])["EvaluationResults"]
    assert [x["EvalDecision"] for x in r] == ["implicitDeny", "allowed", "implicitDeny"], r
    for x in r:
        assert x["MissingContextValues"] == ["aws:RequestedRegion", "aws:MultiFactorAuthPresent"], x
    assert r[0]["MatchedStatements"] == []
    region = {"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["us-east-1"], "ContextKeyType": "string"}
    mfa = {"ContextKeyName": "aws:multifactorauthpresent", "ContextKeyValues": ["true"], "ContextKeyType": "boolean"}
    r = sim(iam, arn, ActionNames=["s3:GetObject", "s3:PutObject"], ContextEntries=[region, mfa],
            ResourceArns=["arn:aws:s3:::b/k"])["EvaluationResults"]
    assert [x["EvalDecision"] for x in r] == ["allowed", "allowed"], r
    assert r[0]["MissingContextValues"] == [] == r[0]["ResourceSpecificResults"][0]["MissingContextValues"]
    r = sim(iam, arn, ActionNames=["s3:GetObject"], ResourceArns=["arn:aws:s3:::b/k"],
            ContextEntries=[dict(region, ContextKeyValues=["eu-west-1"])])["EvaluationResults"][0]
    assert r["EvalDecision"] == "implicitDeny" and r["MissingContextValues"] == ["aws:MultiFactorAuthPresent"], r
    assert r["ResourceSpecificResults"][0]["MissingContextValues"] == ["aws:MultiFactorAuthPresent"], r
    print("ok missing context: implicitDeny with the key listed (every key the policies use), then allowed")


def test_boundary(env: dict) -> None:
    iam = env["iam"]
    boundary = iam.create_policy(PolicyName="s3-only", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}))["Policy"]["Arn"]
    iam.create_role(RoleName="bounded", AssumeRolePolicyDocument="{}", PermissionsBoundary=boundary)
    iam.put_role_policy(RoleName="bounded", PolicyName="all", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
    r = sim(iam, f"arn:aws:iam::{ACC}:role/bounded", ActionNames=["s3:GetObject", "iam:CreateRole"])["EvaluationResults"]
    assert r[0]["EvalDecision"] == "allowed" and r[1]["EvalDecision"] == "implicitDeny", r
    assert r[0]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": True}
    assert r[1]["PermissionsBoundaryDecisionDetail"] == {"AllowedByPermissionsBoundary": False}
    assert r[1]["MatchedStatements"] == []
    print("ok permissions boundary: the role's boundary must allow too (AllowedByPermissionsBoundary)")


def test_pages(env: dict) -> None:
    iam = env["iam"]
    actions = [f"s3:Action{i:03d}" for i in range(5)]
    seen, marker, sizes = [], None, []
    while True:
        page = sim(iam, ActionNames=actions, MaxItems=2, **({"Marker": marker} if marker else {}))
        sizes.append(len(page["EvaluationResults"]))
        seen += [r["EvalActionName"] for r in page["EvaluationResults"]]
        if not page["IsTruncated"]:
            assert "Marker" not in page
            break
        marker = page["Marker"]
    assert seen == actions and sizes == [2, 2, 1], (seen, sizes)
    paged = iam.get_paginator("simulate_principal_policy").paginate(
        PolicySourceArn=ROLE_ARN, ActionNames=actions, PaginationConfig={"PageSize": 3})
    assert [r["EvalActionName"] for p in paged for r in p["EvaluationResults"]] == actions
    many = [f"s3:A{i:03d}" for i in range(101)]
    first = sim(iam, ActionNames=many)
    assert len(first["EvaluationResults"]) == 100 and first["IsTruncated"] is True  # MaxItems defaults to 100
    rest = sim(iam, ActionNames=many, Marker=first["Marker"])
    assert [r["EvalActionName"] for r in rest["EvaluationResults"]] == ["s3:A100"] and rest["IsTruncated"] is False
    # a marker of another request
    code, status, message = err(iam.simulate_principal_policy, PolicySourceArn=ROLE_ARN,
                                ActionNames=["s3:Other"], Marker=first["Marker"])
    assert (code, status, message) == ("InvalidInput", 400, "Invalid Marker."), (code, status, message)
    print("ok pages: MaxItems / IsTruncated / Marker, boto3's paginator, 100 by default, foreign marker refused")


def test_refusals(emu: Emulator, env: dict) -> None:
    iam = env["iam"]
    raw = client(emu, "iam", ACC, validate=False)
    cases = [
        (dict(PolicySourceArn=f"arn:aws:iam::{ACC}:role/nobody"), ("NoSuchEntity", 404, "The role with name nobody cannot be found.")),
        # the role's path is part of its ARN
        (dict(PolicySourceArn=f"arn:aws:iam::{ACC}:role/replicator"), ("NoSuchEntity", 404, "The role with name replicator cannot be found.")),
        (dict(PolicySourceArn=f"arn:aws:iam::{ACC}:user/bob"), ("NoSuchEntity", 404, "The user with name bob cannot be found.")),
        (dict(PolicySourceArn=f"arn:aws:iam::{OTHER}:role/crossrep/replicator"), ("NoSuchEntity", 404, "The role with name replicator cannot be found.")),
        (dict(PolicySourceArn=f"arn:aws:sts::{ACC}:assumed-role/replicator/session"),
         ("InvalidInput", 400, f"Invalid Entity Arn: arn:aws:sts::{ACC}:assumed-role/replicator/session does not clearly define entity type and name.")),
        (dict(PolicySourceArn=f"arn:aws:iam::{ACC}:policy/create-roles"),
         ("InvalidInput", 400, f"Invalid Entity Arn: arn:aws:iam::{ACC}:policy/create-roles does not clearly define entity type and name.")),
        (dict(ResourceArns=["14a050d4-021e-4efe-84bb-0871bf6d0fda"]),
         ("InvalidInput", 400, "ResourceNames are not in a valid ARN format: 14a050d4-021e-4efe-84bb-0871bf6d0fda.")),
    ]
    for extra, expected in cases:
        kwargs = {"PolicySourceArn": ROLE_ARN, "ActionNames": ["s3:GetObject"], **extra}
        got = err(iam.simulate_principal_policy, **kwargs)
        assert got == expected, (extra, got)
    for extra, fragment in [(dict(MaxItems=0), "Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"),
                            (dict(MaxItems=1001), "at 'maxItems' failed to satisfy constraint: Member must have value less than or equal to 1000"),
                            (dict(ActionNames=["s3"]), "Value '[s3]' at 'actionNames' failed to satisfy constraint: Member must satisfy constraint: [Member must have length less than or equal to 128, Member must have length greater than or equal to 3]"),
                            (dict(PolicySourceArn="arn:aws:iam::1:x"), "at 'policySourceArn' failed to satisfy constraint: Member must have length greater than or equal to 20"),
                            (dict(ContextEntries=[{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["x"], "ContextKeyType": "text"}]),
                             "Value 'text' at 'contextEntries.1.member.contextKeyType' failed to satisfy constraint: Member must satisfy enum value set")]:
        kwargs = {"PolicySourceArn": ROLE_ARN, "ActionNames": ["s3:GetObject"], **extra}
        code, status, message = err(raw.simulate_principal_policy, **kwargs)
        assert (code, status) == ("ValidationError", 400) and message.startswith("1 validation error detected: ") \
            and fragment in message, (extra, code, status, message)
    code, status, message = err(raw.simulate_principal_policy, PolicySourceArn=ROLE_ARN)
    assert (code, status) == ("ValidationError", 400) and "Value null at 'actionNames'" in message, message
    code, _, message = err(raw.simulate_principal_policy, PolicySourceArn="arn:aws:iam::1:x", ActionNames=["s3"])
    assert message.startswith("2 validation errors detected: "), message
    # what the emulator does not model: refused, never guessed
    for extra in (dict(PolicyInputList=['{"Version":"2012-10-17","Statement":[]}']),
                  dict(CallerArn=f"arn:aws:iam::{ACC}:user/alice"),
                  dict(ResourceArns=[f"arn:aws:kms:us-east-1:{OTHER}:key/k"]),
                  dict(ActionNames=["GetObject"]),
                  dict(ContextEntries=[{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["x"]}]),
                  dict(ContextEntries=[{"ContextKeyName": "aws:RequestedRegion", "ContextKeyValues": ["a", "b"], "ContextKeyType": "string"}])):
        kwargs = {"PolicySourceArn": ROLE_ARN, "ActionNames": ["s3:GetObject"], **extra}
        code, status, message = err(iam.simulate_principal_policy, **kwargs)
        assert (code, status) == ("EmulatorUnsupported", 501) and "crossrep emulator" in message, (extra, code, status, message)
    iam.put_role_policy(RoleName="regional", PolicyName="numeric", PolicyDocument=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*",
                                                 "Condition": {"NumericLessThan": {"s3:max-keys": "10"}}}]}))
    code, status, message = err(iam.simulate_principal_policy, PolicySourceArn=f"arn:aws:iam::{ACC}:role/regional",
                                ActionNames=["s3:DeleteObject"])
    assert (code, status) == ("EmulatorUnsupported", 501) and "NumericLessThan" in message, message
    print("ok refusals: NoSuchEntity (path, account), InvalidInput (session ARN, resource), ValidationError, 501 for the unmodelled")


def test_organizations(emu: Emulator, env: dict) -> None:
    o = client(emu, "organizations", MGMT)
    o.create_organization(FeatureSet="ALL")
    http(emu, "POST", f"/_crossrep/organizations/invite?management={MGMT}&account_id={MEMBER}&name=member")
    for account in (MGMT, MEMBER):
        iam = client(emu, "iam", account)
        iam.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
        r = sim(iam, f"arn:aws:iam::{account}:role/r", ActionNames=["s3:GetObject"])["EvaluationResults"][0]
        assert r["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}, r
    scp = o.create_policy(Name="deny-s3", Description="d", Type="SERVICE_CONTROL_POLICY", Content=json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:*", "Resource": "*"}]}))["Policy"]["PolicySummary"]["Id"]
    o.attach_policy(PolicyId=scp, TargetId=MEMBER)
    code, status, _ = err(client(emu, "iam", MEMBER).simulate_principal_policy,
                          PolicySourceArn=f"arn:aws:iam::{MEMBER}:role/r", ActionNames=["s3:GetObject"])
    assert (code, status) == ("EmulatorUnsupported", 501), (code, status)
    # SCPs do not affect the management account
    r = sim(client(emu, "iam", MGMT), f"arn:aws:iam::{MGMT}:role/r", ActionNames=["s3:GetObject"])["EvaluationResults"][0]
    assert r["OrganizationsDecisionDetail"] == {"AllowedByOrganizations": True}
    print("ok organizations: AllowedByOrganizations with FullAWSAccess only, other SCPs refused (501)")


def test_fault_and_log(emu: Emulator, env: dict) -> None:
    http(emu, "POST", "/_crossrep/requests/reset")
    http(emu, "POST", f"/_crossrep/faults?operation=SimulatePrincipalPolicy&account={ACC}&code=AccessDenied&status=403"
         f"&message=User%20is%20not%20authorized%20to%20perform%3A%20iam%3ASimulatePrincipalPolicy")
    code, status, message = err(env["iam"].simulate_principal_policy, PolicySourceArn=ROLE_ARN, ActionNames=["s3:GetObject"])
    assert (code, status) == ("AccessDenied", 403) and "iam:SimulatePrincipalPolicy" in message, (code, status, message)
    other = client(emu, "iam", OTHER)
    other.create_role(RoleName="r", AssumeRolePolicyDocument="{}")
    sim(other, f"arn:aws:iam::{OTHER}:role/r", ActionNames=["s3:GetObject"])  # another account: not denied
    http(emu, "DELETE", "/_crossrep/faults")
    sim(env["iam"], ActionNames=["s3:GetObject"])
    logged = [(e["operation"], e["account"], e["write"], e["status"], e["service"])
              for e in http(emu, "GET", "/_crossrep/requests")["requests"] if e["operation"] == "SimulatePrincipalPolicy"]
    assert logged == [("SimulatePrincipalPolicy", ACC, False, 403, "iam"),
                      ("SimulatePrincipalPolicy", OTHER, False, 200, "iam"),
                      ("SimulatePrincipalPolicy", ACC, False, 200, "iam")], logged
    summary = http(emu, "GET", f"/_crossrep/requests/summary?account={ACC}")
    assert summary["by_operation"]["SimulatePrincipalPolicy"] == {"count": 2, "write": False}, summary
    print("ok faults: injected AccessDenied (403) for one account; the log records a read")


def test_set_operators() -> None:
    def holds(cond: dict, ctx: dict) -> bool:
        return permissions._conditions_hold({"Condition": cond}, ctx)

    any_eq = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    all_eq = {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}}
    assert holds(any_eq, {"aws:TagKeys": ["b", "z"]}) and not holds(any_eq, {"aws:TagKeys": ["z"]})
    assert not holds(any_eq, {"aws:TagKeys": None}) and not holds(any_eq, {"aws:TagKeys": []})
    assert holds(all_eq, {"aws:TagKeys": ["a"]}) and not holds(all_eq, {"aws:TagKeys": ["a", "z"]})
    assert holds(all_eq, {"aws:TagKeys": None}) and holds(all_eq, {"aws:TagKeys": []})
    assert holds({"StringEquals": {"aws:SourceAccount": "1"}}, {"aws:SourceAccount": "1"})
    assert holds({"BoolIfExists": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": None})
    assert not holds({"Bool": {"aws:MultiFactorAuthPresent": "true"}}, {"aws:MultiFactorAuthPresent": None})
    assert holds({"Bool": {"aws:SecureTransport": "true"}}, {})  # replication: over TLS
    try:
        holds({"StringEquals": {"aws:TagKeys": "a"}}, {"aws:TagKeys": ["a"]})
        raise AssertionError("a single-valued operator on a multivalued key was decided")
    except permissions.UnsupportedCondition:
        pass
    stmts = [{"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
             {"Effect": "Deny", "Action": "s3:Get*", "Resource": "*"},
             {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]
    assert permissions.evaluate_detailed(stmts, "s3:GetObject", "*", {}) == ("Deny", [1])
    assert permissions.evaluate_detailed(stmts, "s3:PutObject", "*", {}) == ("Allow", [0])
    assert permissions.evaluate_detailed(stmts, "iam:GetRole", "*", {}) == ("Implicit", [])
    print("ok permissions.py: ForAnyValue / ForAllValues (absent keys as AWS), Bool, evaluate_detailed")


def main() -> int:
    test_set_operators()
    emu = Emulator()
    try:
        env = setup(emu)
        test_role(env)
        test_user_and_group(env)
        test_missing_context(env)
        test_boundary(env)
        test_pages(env)
        test_refusals(emu, env)
        test_organizations(emu, env)
        test_fault_and_log(emu, env)
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
