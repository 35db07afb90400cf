#!/usr/bin/env python3
"""Self-test of AWS Organizations as the emulator serves it and of the STS deny knob
(organizations.py): `python3 emulator/test_organizations.py` (no pytest).

Starts `emulator/run` on a free port, builds an organization with boto3 (a management account,
OUs nested two deep, accounts in each, tags, a suspended account, a second organization, a
delegated administrator), lists it the way crossrep does (every page, through empty ones),
checks who is refused, stops the server and exits non-zero on the first failure.
"""

from __future__ import annotations

import datetime
import sys
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from test_emulator import Emulator, expect_error  # noqa: E402

MGMT, OTHER, LONE, INVITED = "400000000001", "400000000002", "400000000009", "400000000111"
ROLE = "OrganizationAccountAccessRole"
N_ROOT = 43  # accounts directly under the root (with the management account: three pages)


def org(emu: Emulator, account: str):
    return emu.client("organizations", account=account)


def post(emu: Emulator, path: str, method: str = "POST") -> dict:
    return emu.http(method, path)


def post_error(emu: Emulator, path: str) -> int:
    try:
        emu.http("POST", path)
    except urllib.error.HTTPError as e:
        return e.code
    raise AssertionError(f"{path} succeeded")


def create_account(o, name: str, email: str | None = None, tags: dict | None = None) -> str:
    """CreateAccount is asynchronous: the answer has no AccountId; the status request has."""
    kwargs = {"AccountName": name, "Email": email or f"{name}@example.com"}
    if tags:
        kwargs["Tags"] = [{"Key": k, "Value": v} for k, v in tags.items()]
    first = o.create_account(**kwargs)["CreateAccountStatus"]
    assert first["State"] == "IN_PROGRESS" and "AccountId" not in first, first
    done = o.describe_create_account_status(CreateAccountRequestId=first["Id"])["CreateAccountStatus"]
    assert done["State"] == "SUCCEEDED", done
    return done["AccountId"]


def walk(call, key: str, **kwargs) -> tuple[list, list[int]]:
    """Every page until NextToken is absent, as crossrep's loop does; returns the items and the
    size of each page."""
    items, sizes, token = [], [], None
    while True:
        page = call(**kwargs, **({"NextToken": token} if token else {}))
        items.extend(page[key])
        sizes.append(len(page[key]))
        token = page.get("NextToken")
        if not token:
            return items, sizes
        assert len(sizes) < 1000, "paging never ends"


def setup(emu: Emulator) -> dict:
    o = org(emu, MGMT)
    made = o.create_organization(FeatureSet="ALL")["Organization"]
    assert made["MasterAccountId"] == MGMT
    root = o.list_roots()["Roots"][0]["Id"]
    prod = o.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
    eu = o.create_organizational_unit(ParentId=prod, Name="eu")["OrganizationalUnit"]["Id"]
    dev = o.create_organizational_unit(ParentId=root, Name="dev")["OrganizationalUnit"]["Id"]
    ids = {}
    for name, parent, tags in (("prod-a", prod, {"replicate": "yes"}), ("prod-b", prod, {"replicate": "yes"}),
                               ("eu-a", eu, {"replicate": "yes"}), ("dev-a", dev, {"replicate": "no"}),
                               ("suspended", prod, {"replicate": "yes"})):
        ids[name] = create_account(o, name, tags=tags)
        o.move_account(AccountId=ids[name], SourceParentId=root, DestinationParentId=parent)
    post(emu, f"/_crossrep/organizations/account-state?account_id={ids['suspended']}&state=SUSPENDED")
    filler = [create_account(o, f"filler-{i:02d}") for i in range(N_ROOT)]
    return {"o": o, "root": root, "prod": prod, "eu": eu, "dev": dev, "ids": ids, "filler": filler}


def test_tree(emu: Emulator, env: dict) -> None:
    o, root, prod, eu, dev, ids = env["o"], env["root"], env["prod"], env["eu"], env["dev"], env["ids"]
    ous, _ = walk(o.list_organizational_units_for_parent, "OrganizationalUnits", ParentId=root)
    assert sorted(u["Name"] for u in ous) == ["dev", "prod"], ous
    children, _ = walk(o.list_children, "Children", ParentId=prod, ChildType="ORGANIZATIONAL_UNIT")
    assert children == [{"Id": eu, "Type": "ORGANIZATIONAL_UNIT"}], children
    children, _ = walk(o.list_children, "Children", ParentId=prod, ChildType="ACCOUNT")
    assert sorted(c["Id"] for c in children) == sorted([ids["prod-a"], ids["prod-b"], ids["suspended"]])
    assert all(c["Type"] == "ACCOUNT" for c in children)
    # recursively, as `include = [OU]` selects
    under, stack = set(), [prod]
    while stack:
        parent = stack.pop()
        under |= {c["Id"] for c in walk(o.list_children, "Children", ParentId=parent, ChildType="ACCOUNT")[0]}
        stack += [c["Id"] for c in walk(o.list_children, "Children", ParentId=parent,
                                        ChildType="ORGANIZATIONAL_UNIT")[0]]
    assert under == {ids["prod-a"], ids["prod-b"], ids["eu-a"], ids["suspended"]}, under
    assert o.list_parents(ChildId=ids["eu-a"])["Parents"] == [{"Id": eu, "Type": "ORGANIZATIONAL_UNIT"}]
    assert o.list_parents(ChildId=eu)["Parents"] == [{"Id": prod, "Type": "ORGANIZATIONAL_UNIT"}]
    assert o.list_parents(ChildId=dev)["Parents"] == [{"Id": root, "Type": "ROOT"}]
    assert o.list_parents(ChildId=MGMT)["Parents"] == [{"Id": root, "Type": "ROOT"}]
    expect_error("ChildNotFoundException", o.list_parents, ChildId="999999999999")
    expect_error("ParentNotFoundException", o.list_children, ParentId="ou-zzzz-zzzzzzzz", ChildType="ACCOUNT")
    expect_error("InvalidInputException", o.list_children, ParentId="not-a-parent", ChildType="ACCOUNT")
    under_eu = o.list_accounts_for_parent(ParentId=eu)["Accounts"]
    assert [a["Id"] for a in under_eu] == [ids["eu-a"]], under_eu

    # tree rules moto does not check
    expect_error("DuplicateOrganizationalUnitException", o.create_organizational_unit, ParentId=root, Name="prod")
    o.create_organizational_unit(ParentId=eu, Name="prod")  # same name, another parent: fine
    expect_error("ParentNotFoundException", o.create_organizational_unit, ParentId="ou-zzzz-zzzzzzzz", Name="x")
    parent = eu  # depth 2; five levels is the limit
    for level in (3, 4, 5):
        parent = o.create_organizational_unit(ParentId=parent, Name=f"l{level}")["OrganizationalUnit"]["Id"]
    e = expect_error("ConstraintViolationException", o.create_organizational_unit, ParentId=parent, Name="l6")
    assert e.response["Reason"] == "OU_DEPTH_LIMIT_EXCEEDED", e.response

    # MoveAccount's own errors
    expect_error("DuplicateAccountException", o.move_account, AccountId=ids["eu-a"], SourceParentId=eu,
                 DestinationParentId=eu)
    expect_error("AccountNotFoundException", o.move_account, AccountId=ids["eu-a"], SourceParentId=root,
                 DestinationParentId=dev)
    expect_error("SourceParentNotFoundException", o.move_account, AccountId=ids["eu-a"],
                 SourceParentId="ou-zzzz-zzzzzzzz", DestinationParentId=dev)
    expect_error("DestinationParentNotFoundException", o.move_account, AccountId=ids["eu-a"],
                 SourceParentId=eu, DestinationParentId="ou-zzzz-zzzzzzzz")
    print("ok tree: OUs two deep, ListChildren / ListParents / ListAccountsForParent, OU and move rules")


def test_accounts(emu: Emulator, env: dict) -> None:
    o, ids = env["o"], env["ids"]
    tags = o.list_tags_for_resource(ResourceId=ids["eu-a"])["Tags"]
    assert tags == [{"Key": "replicate", "Value": "yes"}], tags
    o.tag_resource(ResourceId=ids["dev-a"], Tags=[{"Key": "team", "Value": "web"}])
    tags = o.list_tags_for_resource(ResourceId=ids["dev-a"])["Tags"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("replicate", "no"), ("team", "web")]

    # Status is retired on 2026-09-09: only State after it (the clock says which)
    acc = o.describe_account(AccountId=ids["suspended"])["Account"]
    retired = datetime.datetime.now(datetime.timezone.utc) >= datetime.datetime(2026, 9, 9, tzinfo=datetime.timezone.utc)
    assert acc["State"] == "SUSPENDED" and ("Status" not in acc) == retired, acc
    assert acc["JoinedMethod"] == "CREATED" and acc["JoinedTimestamp"], acc
    mine = o.describe_account(AccountId=MGMT)["Account"]
    assert mine["State"] == "ACTIVE", mine
    post(emu, f"/_crossrep/organizations/account-fields?fields=State,Status&account={MGMT}")
    acc = o.describe_account(AccountId=ids["suspended"])["Account"]
    assert (acc["State"], acc["Status"]) == ("SUSPENDED", "SUSPENDED"), acc
    post(emu, f"/_crossrep/organizations/account-fields?fields=Status&account={MGMT}")
    listed = walk(o.list_accounts, "Accounts")[0]
    assert all("State" not in a and a["Status"] in ("ACTIVE", "SUSPENDED") for a in listed), listed[:2]
    post(emu, f"/_crossrep/organizations/account-fields?account={MGMT}", "DELETE")
    assert ("Status" not in o.describe_account(AccountId=MGMT)["Account"]) == retired
    assert post_error(emu, "/_crossrep/organizations/account-state?account_id=999999999999&state=SUSPENDED") == 404
    assert post_error(emu, f"/_crossrep/organizations/account-state?account_id={MGMT}&state=GONE") == 400

    # CloseAccount: PENDING_CLOSURE first (moto: SUSPENDED at once); not twice; not the management account
    closing = create_account(o, "closing")
    o.close_account(AccountId=closing)
    assert o.describe_account(AccountId=closing)["Account"]["State"] == "PENDING_CLOSURE"
    expect_error("AccountAlreadyClosedException", o.close_account, AccountId=closing)
    e = expect_error("ConstraintViolationException", o.close_account, AccountId=MGMT)
    assert e.response["Reason"] == "CANNOT_CLOSE_MANAGEMENT_ACCOUNT", e.response
    post(emu, f"/_crossrep/organizations/account-state?account_id={closing}&state=CLOSED")
    assert o.describe_account(AccountId=closing)["Account"]["State"] == "CLOSED"
    env["closing"] = closing

    # CreateAccount with an address already in use fails, asynchronously
    car = o.create_account(AccountName="again", Email="prod-a@example.com")["CreateAccountStatus"]["Id"]
    failed = o.describe_create_account_status(CreateAccountRequestId=car)["CreateAccountStatus"]
    assert (failed["State"], failed["FailureReason"]) == ("FAILED", "EMAIL_ALREADY_EXISTS"), failed
    assert "AccountId" not in failed
    statuses = walk(o.list_create_account_status, "CreateAccountStatuses", States=["FAILED"])[0]
    assert [s["Id"] for s in statuses] == [car], statuses
    expect_error("CreateAccountStatusNotFoundException", o.describe_create_account_status,
                 CreateAccountRequestId="car-00000000")
    expect_error("AccountNotFoundException", o.describe_account, AccountId="999999999999")

    # a created account is an account of the emulator: its role can be assumed, and it exists
    sts = emu.client("sts")
    arn = f"arn:aws:iam::{ids['prod-a']}:role/{ROLE}"
    creds = sts.assume_role(RoleArn=arn, RoleSessionName="crossrep")["Credentials"]
    inside = emu.client("sts", aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    assert inside.get_caller_identity()["Account"] == ids["prod-a"]
    role = emu.client("iam", account=ids["prod-a"]).get_role(RoleName=ROLE)["Role"]
    assert MGMT in role["AssumeRolePolicyDocument"]["Statement"][0]["Principal"]["AWS"], role

    # an invited account (fixed id): INVITED, and no OrganizationAccountAccessRole
    invited = post(emu, f"/_crossrep/organizations/invite?management={MGMT}&account_id={INVITED}&name=legacy")
    assert invited["JoinedMethod"] == "INVITED" and invited["State"] == "ACTIVE", invited
    assert o.list_parents(ChildId=INVITED)["Parents"][0]["Type"] == "ROOT"
    expect_error("NoSuchEntity", emu.client("iam", account=INVITED).get_role, RoleName=ROLE)
    assert post_error(emu, f"/_crossrep/organizations/invite?management={MGMT}&account_id={INVITED}") == 400
    assert post_error(emu, f"/_crossrep/organizations/invite?management={LONE}&account_id=400000000112") == 400
    env["ids"]["invited"] = INVITED
    print("ok accounts: tags, State (Status retired), account-state knob, CloseAccount, async CreateAccount, "
          "assumable created accounts, invited accounts")


def all_ids(env: dict) -> set[str]:
    return {MGMT, env["closing"], *env["ids"].values(), *env["filler"]}


def test_paging(emu: Emulator, env: dict) -> None:
    o, root = env["o"], env["root"]
    expected = all_ids(env)
    assert len(expected) > 40, len(expected)

    first = o.list_accounts()
    assert len(first["Accounts"]) == 20 and first["NextToken"], len(first["Accounts"])
    listed, sizes = walk(o.list_accounts, "Accounts", MaxResults=20)
    ids = [a["Id"] for a in listed]
    assert len(ids) == len(set(ids)) and set(ids) == expected, (len(ids), len(expected))
    assert max(sizes) == 20 and 0 not in sizes, sizes
    listed, sizes = walk(o.list_accounts, "Accounts", MaxResults=7)
    assert max(sizes) == 7 and {a["Id"] for a in listed} == expected, sizes
    e = expect_error("InvalidInputException", o.list_accounts, MaxResults=21)
    assert e.response["Reason"] == "MAX_VALUE_EXCEEDED", e.response
    e = expect_error("InvalidInputException", o.list_accounts, NextToken="garbage")
    assert e.response["Reason"] == "INVALID_NEXT_TOKEN", e.response
    token = o.list_accounts_for_parent(ParentId=root, MaxResults=2)["NextToken"]
    expect_error("InvalidInputException", o.list_accounts, NextToken=token)  # another listing's token
    expect_error("InvalidInputException", o.list_accounts_for_parent, ParentId=env["prod"], NextToken=token)

    # empty pages with a NextToken, every other page (the first one too)
    post(emu, f"/_crossrep/organizations/paging?empty_pages=1&account={MGMT}")
    listed, sizes = walk(o.list_accounts, "Accounts")
    ids = [a["Id"] for a in listed]
    assert len(ids) == len(set(ids)) and set(ids) == expected, (len(ids), len(expected))
    assert sizes[0] == 0 and sizes.count(0) >= 3 and max(sizes) == 20, sizes
    page = o.list_accounts()
    assert page["Accounts"] == [] and page["NextToken"], page
    listed, sizes = walk(o.list_accounts_for_parent, "Accounts", ParentId=root)
    assert sizes.count(0) >= 2 and len(listed) == len({a["Id"] for a in listed}) == N_ROOT + 3, (sizes, len(listed))  # + management, closing, invited
    children, sizes = walk(o.list_children, "Children", ParentId=root, ChildType="ORGANIZATIONAL_UNIT")
    assert sorted(c["Id"] for c in children) == sorted([env["prod"], env["dev"]]) and 0 in sizes, sizes
    ous, sizes = walk(o.list_organizational_units_for_parent, "OrganizationalUnits", ParentId=env["prod"])
    assert [u["Id"] for u in ous] == [env["eu"]] and 0 in sizes, sizes
    roots, sizes = walk(o.list_roots, "Roots")
    assert [r["Id"] for r in roots] == [root] and sizes == [0, 1], sizes
    parents, sizes = walk(o.list_parents, "Parents", ChildId=env["eu"])
    assert parents == [{"Id": env["prod"], "Type": "ORGANIZATIONAL_UNIT"}] and sizes == [0, 1], sizes
    # boto3's own paginator follows the tokens too
    pages = list(o.get_paginator("list_accounts").paginate())
    assert {a["Id"] for p in pages for a in p["Accounts"]} == expected

    # short pages even without MaxResults
    post(emu, f"/_crossrep/organizations/paging?empty_pages=0&max_page=3&account={MGMT}")
    listed, sizes = walk(o.list_accounts, "Accounts")
    assert max(sizes) == 3 and {a["Id"] for a in listed} == expected, sizes
    # another organization is not affected
    post(emu, f"/_crossrep/organizations/paging?account={MGMT}", "DELETE")
    assert len(o.list_accounts()["Accounts"]) == 20
    assert post_error(emu, "/_crossrep/organizations/paging?max_page=21") == 400
    print(f"ok paging: pages of at most 20, MaxResults 1..20, opaque tokens, empty pages "
          f"({len(expected)} accounts each listed once)")


def test_who_may_call(emu: Emulator, env: dict) -> None:
    o, ids, root = env["o"], env["ids"], env["root"]
    member = org(emu, ids["dev-a"])
    e = expect_error("AccessDeniedException", member.list_accounts)
    assert e.response["Error"]["Message"] == "You don't have permissions to access this resource.", e.response
    for call, kwargs in ((member.list_roots, {}), (member.list_children, {"ParentId": root, "ChildType": "ACCOUNT"}),
                         (member.list_accounts_for_parent, {"ParentId": root}),
                         (member.list_organizational_units_for_parent, {"ParentId": root}),
                         (member.list_parents, {"ChildId": ids["dev-a"]}),
                         (member.describe_account, {"AccountId": ids["dev-a"]}),
                         (member.list_tags_for_resource, {"ResourceId": ids["dev-a"]}),
                         (member.create_organizational_unit, {"ParentId": root, "Name": "mine"}),
                         (member.create_account, {"AccountName": "m", "Email": "m@example.com"}),
                         (member.tag_resource, {"ResourceId": ids["dev-a"], "Tags": [{"Key": "a", "Value": "b"}]})):
        expect_error("AccessDeniedException", call, **kwargs)
    # DescribeOrganization "works from any member" (AWS-NOTES)
    assert member.describe_organization()["Organization"]["MasterAccountId"] == MGMT
    expect_error("AlreadyInOrganizationException", member.create_organization)

    lone = org(emu, LONE)
    for call in (lone.list_accounts, lone.describe_organization, lone.list_roots):
        expect_error("AWSOrganizationsNotInUseException", call)
    expect_error("AWSOrganizationsNotInUseException", lone.create_organizational_unit, ParentId=root, Name="x")

    # a delegated administrator reads the whole organization, and writes nothing
    o.register_delegated_administrator(AccountId=ids["dev-a"], ServicePrincipal="ssm.amazonaws.com")
    listed = walk(member.list_accounts, "Accounts")[0]
    assert {a["Id"] for a in listed} == all_ids(env), len(listed)
    assert member.describe_account(AccountId=ids["eu-a"])["Account"]["State"] == "ACTIVE"
    assert member.list_tags_for_resource(ResourceId=ids["eu-a"])["Tags"] == [{"Key": "replicate", "Value": "yes"}]
    assert member.list_roots()["Roots"][0]["Id"] == root
    expect_error("AccessDeniedException", member.move_account, AccountId=ids["dev-a"], SourceParentId=env["dev"],
                 DestinationParentId=root)
    expect_error("AccessDeniedException", member.close_account, AccountId=ids["prod-b"])
    o.deregister_delegated_administrator(AccountId=ids["dev-a"], ServicePrincipal="ssm.amazonaws.com")
    expect_error("AccessDeniedException", member.list_accounts)

    # another organization's management account sees only its own
    other = org(emu, OTHER)
    other.create_organization(FeatureSet="ALL")
    theirs = walk(other.list_accounts, "Accounts")[0]
    assert [a["Id"] for a in theirs] == [OTHER], theirs
    expect_error("AccountNotFoundException", other.describe_account, AccountId=ids["eu-a"])
    expect_error("ParentNotFoundException", other.list_children, ParentId=root, ChildType="ACCOUNT")
    expect_error("ChildNotFoundException", other.list_parents, ChildId=ids["eu-a"])
    expect_error("TargetNotFoundException", other.list_tags_for_resource, ResourceId=ids["eu-a"])
    assert post_error(emu, f"/_crossrep/organizations/invite?management={OTHER}&account_id={ids['eu-a']}") == 400
    print("ok who may call: member refused (AccessDeniedException), no organization "
          "(AWSOrganizationsNotInUseException), delegated administrator reads, other organization isolated")


def test_assume_role_deny(emu: Emulator, env: dict) -> None:
    ids = env["ids"]
    sts = emu.client("sts", account=MGMT)
    denied = f"arn:aws:iam::{ids['prod-b']}:role/{ROLE}"
    allowed = f"arn:aws:iam::{ids['prod-a']}:role/{ROLE}"
    assert post_error(emu, "/_crossrep/sts/deny?role_arn=nonsense") == 400
    assert post(emu, f"/_crossrep/sts/deny?role_arn={denied}") == {"denied": [denied]}
    e = expect_error("AccessDenied", sts.assume_role, RoleArn=denied, RoleSessionName="crossrep")
    assert e.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert e.response["Error"]["Message"] == (f"User: arn:aws:sts::{MGMT}:user/moto is not authorized to "
                                              f"perform: sts:AssumeRole on resource: {denied}"), e.response
    assert e.response["Error"]["Type"] == "Sender"
    sts.assume_role(RoleArn=allowed, RoleSessionName="crossrep")  # other roles: as before
    # role chaining: the caller is named by its assumed-role ARN
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{MGMT}:role/admin", RoleSessionName="op")["Credentials"]
    chained = emu.client("sts", aws_access_key_id=creds["AccessKeyId"],
                         aws_secret_access_key=creds["SecretAccessKey"], aws_session_token=creds["SessionToken"])
    e = expect_error("AccessDenied", chained.assume_role, RoleArn=denied, RoleSessionName="crossrep")
    assert e.response["Error"]["Message"].startswith(f"User: arn:aws:sts::{MGMT}:assumed-role/admin/op is not"), e
    log = emu.http("GET", f"/_crossrep/requests?account={MGMT}")["requests"]
    refused = [r for r in log if r["operation"] == "AssumeRole" and r["status"] == 403]
    assert len(refused) == 2 and all(not r["write"] for r in refused), refused
    # cleared: assumable again
    assert post(emu, f"/_crossrep/sts/deny?role_arn={denied}", "DELETE") == {"denied": []}
    sts.assume_role(RoleArn=denied, RoleSessionName="crossrep")
    post(emu, f"/_crossrep/sts/deny?role_arn={denied}")
    assert emu.http("GET", "/_crossrep/sts/deny") == {"denied": [denied]}
    post(emu, "/_crossrep/sts/deny", "DELETE")
    sts.assume_role(RoleArn=denied, RoleSessionName="crossrep")
    print("ok assume-role deny knob: 403 AccessDenied with AWS's message, other roles unaffected, cleared")


def test_request_log(emu: Emulator) -> None:
    summary = emu.http("GET", f"/_crossrep/requests/summary?account={MGMT}")["by_operation"]
    assert summary["ListAccounts"]["write"] is False and summary["CreateAccount"]["write"] is True, summary
    assert summary["MoveAccount"]["write"] is True and summary["ListChildren"]["write"] is False
    print("ok request log: Organizations reads and writes told by operation")


def test_reset(emu: Emulator, env: dict) -> None:
    denied = f"arn:aws:iam::{env['ids']['prod-b']}:role/{ROLE}"
    post(emu, f"/_crossrep/sts/deny?role_arn={denied}")
    post(emu, "/_crossrep/organizations/paging?empty_pages=1")
    post(emu, "/moto-api/reset")
    assert emu.http("GET", "/_crossrep/sts/deny") == {"denied": []}
    emu.client("sts").assume_role(RoleArn=denied, RoleSessionName="crossrep")
    expect_error("AWSOrganizationsNotInUseException", org(emu, MGMT).list_accounts)
    # a former member is in no organization any more, and can found one
    former = org(emu, env["ids"]["dev-a"])
    expect_error("AWSOrganizationsNotInUseException", former.list_accounts)
    former.create_organization(FeatureSet="ALL")
    page = former.list_accounts()
    assert [a["Id"] for a in page["Accounts"]] == [env["ids"]["dev-a"]] and "NextToken" not in page, page
    print("ok reset: knobs, organizations and memberships forgotten")


def main() -> int:
    emu = Emulator()
    try:
        env = setup(emu)
        test_tree(emu, env)
        test_accounts(emu, env)
        test_paging(emu, env)
        test_who_may_call(emu, env)
        test_assume_role_deny(emu, env)
        test_request_log(emu)
        test_reset(emu, env)
    finally:
        emu.stop()
    print("ALL OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
