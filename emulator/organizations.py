"""AWS Organizations as AWS answers it (moto 5.2.1 underneath), and the STS deny knob.

crossrep lists member accounts from Organizations (SPEC section 11) with `aws-sdk-organizations`
(awsJson 1.1, `X-Amz-Target: AWSOrganizationsV20161128.<Op>`), which moto serves, but leniently
where crossrep's code paths depend on AWS failing (README "Organizations" lists each rule and
the AWS page it follows):

- who may call: moto answers `ListAccounts` from a member account (an empty list) and from an
  account in no organization (an empty list), `ListRoots` from a member (the organization's
  roots). AWS: only the management account or a delegated administrator may call the List and
  Describe operations (`AccessDeniedException` "You don't have permissions to access this
  resource."), only the management account the writes, and an account in no organization gets
  `AWSOrganizationsNotInUseException`. A delegated administrator reads the organization of its
  management account (moto would answer from the member's own, empty, backend).
- paging: moto pages `ListAccounts` by 100 (AWS: at most 20), keys its tokens on
  `JoinedTimestamp` (two accounts joined in the same microsecond break it), and does not page
  `ListChildren`, `ListParents` or `ListRoots` at all. Here every List operation pages by at most
  20 (`MaxResults` 1..20, else `InvalidInputException`), with opaque tokens bound to the
  operation and its parent; `/_crossrep/organizations/paging` makes every other page empty with
  a `NextToken`, as AWS may ("These operations can occasionally return an empty set of results
  even when more results are available").
- accounts: `State` always; `Status` only before its retirement on 2026-09-09 (by the clock;
  knob `/_crossrep/organizations/account-fields`); `/_crossrep/organizations/account-state` sets
  an account's state (SUSPENDED, PENDING_CLOSURE, CLOSED, ...). `CloseAccount` leaves the account
  `PENDING_CLOSURE` (moto: SUSPENDED at once). `CreateAccount` answers `IN_PROGRESS` without an
  account id (moto: SUCCEEDED with it); `DescribeCreateAccountStatus` answers `SUCCEEDED`, or
  `FAILED` / `EMAIL_ALREADY_EXISTS` for an email already in use.
- tree: `CreateOrganizationalUnit` checks that the parent exists, the name is unique among its
  siblings and the tree at most five OUs deep (moto: none of these); `MoveAccount` answers
  `SourceParentNotFoundException` / `DestinationParentNotFoundException` /
  `DuplicateAccountException` (moto: `ParentNotFoundException`, which the SDK does not model
  for MoveAccount, and moves into the parent it is already in); `ListParents` of an unknown
  child answers `ChildNotFoundException`.
- `/_crossrep/organizations/invite` adds an existing account id (e.g. one with buckets) as an
  INVITED member, the outcome of InviteAccountToOrganization + AcceptHandshake, which moto lacks.

Test knob, not AWS behaviour: `POST /_crossrep/sts/deny?role_arn=R` makes `sts:AssumeRole` of R
answer what AWS answers when the role's trust policy does not allow the caller (403
`AccessDenied` "User: <caller> is not authorized to perform: sts:AssumeRole on resource: R"),
for crossrep's per-account isolation tests. The emulator otherwise lets anyone assume any role.
"""

from __future__ import annotations

import base64
import datetime
import json
import os
import re
import threading
import uuid
from typing import Any

from moto.core.responses import BaseResponse
from moto.core.utils import unix_time, utcnow
from moto.organizations import utils as org_utils
from moto.organizations.models import (
    FakeAccount,
    FakeRoot,
    OrganizationsBackend,
    organizations_backends,
)
from moto.organizations.responses import OrganizationsResponse
from moto.utilities.utils import get_partition

JSON_1_1 = "application/x-amz-json-1.1"

# API reference, every List operation: "MaxResults ... Valid Range: Minimum value of 1. Maximum
# value of 20." Absent, "it defaults to a value that is specific to the operation": 20 here.
PAGE_MAX = 20
# Account `Status`: "The Status parameter in the Account object will be retired on September 9,
# 2026" (API reference, Account; AWS-NOTES "Organizations").
STATUS_RETIRED = datetime.datetime(2026, 9, 9, tzinfo=datetime.timezone.utc)
# Organizations quotas: "OU maximum nesting in a root: five levels of OUs deep under a root".
OU_MAX_DEPTH = 5

ACCOUNT_STATES = ("PENDING_ACTIVATION", "ACTIVE", "SUSPENDED", "PENDING_CLOSURE", "CLOSED")
# `Status` had three values (ACTIVE | SUSPENDED | PENDING_CLOSURE). A CLOSED account is shown
# SUSPENDED; PENDING_ACTIVATION as ACTIVE is the emulator's guess (AWS does not say), the one
# that makes a Status-only reader take an unusable account as active (why crossrep reads State).
_STATUS_OF = {"PENDING_ACTIVATION": "ACTIVE", "ACTIVE": "ACTIVE", "SUSPENDED": "SUSPENDED",
              "PENDING_CLOSURE": "PENDING_CLOSURE", "CLOSED": "SUSPENDED"}

_ACCESS_DENIED = "You don't have permissions to access this resource."
_PARENT_RE = re.compile(r"^(r-[0-9a-z]{4,32}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
_CHILD_RE = re.compile(r"^(\d{12}|ou-[0-9a-z]{4,32}-[a-z0-9]{8,32})$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_EMAIL_RE = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]+$")
_CAR_RE = re.compile(r"^car-[a-z0-9]{8,32}$")


class OrgError(Exception):
    """An Organizations error as the awsJson 1.1 body carries it (`__type`, `Message`, and
    `Reason` for InvalidInputException / ConstraintViolationException)."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        self.code, self.message, self.reason = code, message, reason


def _invalid(reason: str, message: str) -> OrgError:
    return OrgError("InvalidInputException", message, reason)


def _answer(obj: Any) -> tuple[int, dict[str, str], str]:
    return 200, {"Content-Type": JSON_1_1}, json.dumps(obj)


def _error(err: OrgError) -> tuple[int, dict[str, str], str]:
    body: dict[str, str] = {"__type": err.code, "Message": err.message}
    if err.reason:
        body["Reason"] = err.reason
    return 400, {"Content-Type": JSON_1_1, "status": "400"}, json.dumps(body)


# --------------------------------------------------------------------------------------------
# Knobs (POST /_crossrep/organizations/..., /_crossrep/sts/deny); POST /moto-api/reset clears
# --------------------------------------------------------------------------------------------

_LOCK = threading.Lock()
# paging per management account (None = every organization): empty pages, largest page
_PAGING: dict[str | None, dict[str, Any]] = {}
# which of State / Status accounts carry, per management account (None = every organization)
_FIELDS: dict[str | None, frozenset[str]] = {}
_DENIED_ROLES: set[str] = set()


def _env_paging() -> dict[str, Any]:
    empty = os.environ.get("CROSSREP_EMULATOR_ORG_EMPTY_PAGES", "") not in ("", "0")
    return {"empty_pages": empty, "max_page": PAGE_MAX}


def _paging(management: str) -> dict[str, Any]:
    with _LOCK:
        return dict(_PAGING.get(management) or _PAGING.get(None) or _env_paging())


def _fields(management: str) -> frozenset[str]:
    with _LOCK:
        chosen = _FIELDS.get(management) or _FIELDS.get(None)
    if chosen is not None:
        return chosen
    if datetime.datetime.now(datetime.timezone.utc) >= STATUS_RETIRED:
        return frozenset({"State"})
    return frozenset({"State", "Status"})


def reset() -> None:
    with _LOCK:
        _PAGING.clear()
        _FIELDS.clear()
        _DENIED_ROLES.clear()
    # moto's reset empties the backends but keeps this map of member -> management account,
    # so a former member would still look like one.
    organizations_backends.master_accounts.clear()


def _all_backends() -> list[OrganizationsBackend]:
    out = []
    for account_backends in list(organizations_backends.values()):
        for backend in list(account_backends.values()):
            if backend.org is not None:
                out.append(backend)
    return out


def _find_account(account_id: str) -> tuple[OrganizationsBackend, FakeAccount] | None:
    for backend in _all_backends():
        for acc in backend.accounts:
            if acc.id == account_id:
                return backend, acc
    return None


def _invite(qs: dict[str, str]) -> tuple[str, Any]:
    """The outcome of InviteAccountToOrganization + AcceptHandshake (moto has neither): the
    account joins the management account's organization under the root, JoinedMethod INVITED,
    and gets no OrganizationAccountAccessRole (AWS creates it only for created accounts)."""
    management, account_id = qs.get("management", ""), qs.get("account_id", "")
    if not _ACCOUNT_RE.match(management) or not _ACCOUNT_RE.match(account_id):
        return "400 Bad Request", {"error": "management and account_id: 12 digits each"}
    backend = organizations_backends[management]["aws"]
    if backend.org is None:
        return "400 Bad Request", {"error": f"{management} manages no organization"}
    if _context(account_id, "aws")[0] != "none":
        return "400 Bad Request", {"error": f"{account_id} is already in an organization "
                                            "(AWS: the handshake fails)"}
    acc = object.__new__(FakeAccount)  # FakeAccount.__init__ would create the role
    org = backend.org
    acc.type, acc.region, acc.organization_id = "ACCOUNT", org.region, org.id
    acc.master_account_id = org.master_account_id
    acc.create_account_status_id = org_utils.make_random_create_account_status_id()
    acc.id, acc.name = account_id, qs.get("name") or f"account-{account_id}"
    acc.email = qs.get("email") or f"{account_id}@example.com"
    acc.create_time, acc.status, acc.state = utcnow(), "ACTIVE", "ACTIVE"
    acc.joined_method, acc.parent_id = "INVITED", org.root_id
    acc.attached_policies, acc.tags = [], {}
    backend.accounts.append(acc)
    for policy_id in (org_utils.DEFAULT_SCP_POLICY_ID, org_utils.DEFAULT_RCP_POLICY_ID):
        backend.attach_policy(PolicyId=policy_id, TargetId=acc.id)
    organizations_backends.master_accounts[acc.id] = (management, backend.partition)
    return "200 OK", _account_json(acc, management)


def crossrep_endpoint(method: str, path: str, qs_lists: dict[str, list[str]]) -> tuple[str, Any] | None:
    """`/_crossrep/organizations/...` and `/_crossrep/sts/deny` (README "Organizations")."""
    qs = {k: v[0] for k, v in qs_lists.items() if v}
    account = qs.get("account")
    if path == "/_crossrep/sts/deny":
        role = qs.get("role_arn")
        with _LOCK:
            if method == "POST":
                if not role or not role.startswith("arn:"):
                    return "400 Bad Request", {"error": "role_arn=arn:aws:iam::<account>:role/<name>"}
                _DENIED_ROLES.add(role)
            elif method == "DELETE":
                if role:
                    _DENIED_ROLES.discard(role)
                else:
                    _DENIED_ROLES.clear()
            elif method != "GET":
                return None
            return "200 OK", {"denied": sorted(_DENIED_ROLES)}
    if path == "/_crossrep/organizations/paging":
        if method == "POST":
            try:
                max_page = int(qs.get("max_page", PAGE_MAX))
                if not 1 <= max_page <= PAGE_MAX:
                    raise ValueError(f"max_page must be 1..{PAGE_MAX}")
            except ValueError as exc:
                return "400 Bad Request", {"error": str(exc)}
            setting = {"empty_pages": qs.get("empty_pages", "1") not in ("0", "false"),
                       "max_page": max_page}
            with _LOCK:
                _PAGING[account] = setting
            return "200 OK", {"account": account, **setting}
        if method == "DELETE":
            with _LOCK:
                _PAGING.pop(account, None)
            return "200 OK", {"status": "ok"}
    if path == "/_crossrep/organizations/account-fields":
        if method == "POST":
            fields = frozenset(f.strip() for f in qs.get("fields", "").split(",") if f.strip())
            if not fields or not fields <= {"State", "Status"}:
                return "400 Bad Request", {"error": "fields=State | Status | State,Status"}
            with _LOCK:
                _FIELDS[account] = fields
            return "200 OK", {"account": account, "fields": sorted(fields)}
        if method == "DELETE":
            with _LOCK:
                _FIELDS.pop(account, None)
            return "200 OK", {"status": "ok"}
    if path == "/_crossrep/organizations/account-state" and method == "POST":
        state = qs.get("state", "")
        if state not in ACCOUNT_STATES:
            return "400 Bad Request", {"error": f"state must be one of {', '.join(ACCOUNT_STATES)}"}
        found = _find_account(qs.get("account_id", ""))
        if found is None:
            return "404 Not Found", {"error": f"no organization has account {qs.get('account_id')}"}
        backend, acc = found
        acc.state, acc.status = state, _STATUS_OF[state]
        return "200 OK", _account_json(acc, backend.account_id)
    if path == "/_crossrep/organizations/invite" and method == "POST":
        return _invite(qs)
    return None


# --------------------------------------------------------------------------------------------
# STS: a role that cannot be assumed (test knob)
# --------------------------------------------------------------------------------------------

_CRED_RE = re.compile(r"Credential=([^/,\s]+)/")


def _caller_arn(account: str, access_key: str | None, region: str | None) -> str:
    """The caller as STS names it: `arn:aws:sts::<acct>:assumed-role/<role>/<session>` for
    assumed-role credentials, an IAM user's ARN, else moto's default `...:user/moto`."""
    from moto.sts.models import sts_backends

    region = region or "us-east-1"
    try:
        return sts_backends[account][get_partition(region)].get_caller_identity(access_key or "", region)[1]
    except Exception:  # noqa: BLE001 - a name for a message; never break the request
        return f"arn:aws:sts::{account}:user/moto"


def sts_denied(environ: dict[str, Any], entry: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """AssumeRole of a role denied with `/_crossrep/sts/deny`: AWS's answer when the trust policy
    does not allow the caller (403 AccessDenied, IAM User Guide "Troubleshooting IAM roles": "User:
    ... is not authorized to perform: sts:AssumeRole on resource: ..."), as the STS query protocol
    wraps errors (`<ErrorResponse><Error>`)."""
    if entry.get("operation") != "AssumeRole" or entry.get("service") != "sts":
        return None
    role = entry.get("role_arn")
    with _LOCK:
        if role not in _DENIED_ROLES:
            return None
    m = _CRED_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    caller = _caller_arn(entry["account"], m.group(1) if m else None, entry.get("region"))
    message = f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {role}"
    message = message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


# --------------------------------------------------------------------------------------------
# Who is calling: the management account, a member (delegated administrator or not), or none
# --------------------------------------------------------------------------------------------


def _context(account: str, partition: str) -> tuple[str, OrganizationsBackend | None]:
    own = organizations_backends[account][partition]
    if own.org is not None:
        return "management", own
    entry = organizations_backends.master_accounts.get(account)
    if entry is not None:
        backend = organizations_backends[entry[0]][entry[1]]
        if backend.org is not None and any(a.id == account for a in backend.accounts):
            return "member", backend
    return "none", None


def _is_read(op: str) -> bool:
    return op.startswith(("List", "Describe")) and op != "DescribeOrganization"


# --------------------------------------------------------------------------------------------
# Paging: at most 20 a page, opaque tokens, optional empty pages
# --------------------------------------------------------------------------------------------


def _encode_token(op: str, scope: str, after: str, empty_next: bool) -> str:
    raw = json.dumps({"o": op, "s": scope, "a": after, "e": empty_next}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_token(token: Any, op: str, scope: str) -> tuple[str, bool]:
    try:
        data = json.loads(base64.urlsafe_b64decode(str(token).encode()).decode())
        if data["o"] != op or data["s"] != scope or not isinstance(data["a"], str):
            raise ValueError("another listing's token")
        return data["a"], bool(data["e"])
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise _invalid("INVALID_NEXT_TOKEN", "The specified token is invalid.") from None


def _max_results(params: dict[str, Any]) -> int | None:
    value = params.get("MaxResults")
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _invalid("INVALID_ENUM", "You specified an invalid value.")
    if value > PAGE_MAX:
        raise _invalid("MAX_VALUE_EXCEEDED",
                       "You provided a numeric parameter that has a larger value than allowed.")
    if value < 1:
        raise _invalid("MIN_VALUE_EXCEEDED",
                       "You provided a numeric parameter that has a smaller value than allowed.")
    return value


def _page(op: str, scope: str, items: list[tuple[str, Any]], params: dict[str, Any],
          management: str, key: str) -> dict[str, Any]:
    """`items` are (sort key, answer) pairs; the page is `{key: [...], "NextToken": ...}`."""
    limit = _max_results(params)
    knob = _paging(management)
    limit = min(limit or PAGE_MAX, knob["max_page"])
    token = params.get("NextToken")
    after, empty_turn = ("", True) if token is None else _decode_token(token, op, scope)
    if knob["empty_pages"] and empty_turn:
        # "These operations can occasionally return an empty set of results even when more
        # results are available" (API reference, every List operation).
        return {key: [], "NextToken": _encode_token(op, scope, after, False)}
    rest = sorted((k, v) for k, v in items if k > after)
    page = rest[:limit]
    out: dict[str, Any] = {key: [v for _, v in page]}
    if len(rest) > limit:
        out["NextToken"] = _encode_token(op, scope, page[-1][0], True)
    return out


# --------------------------------------------------------------------------------------------
# The operations the emulator answers itself (management account or delegated administrator)
# --------------------------------------------------------------------------------------------


def _account_json(acc: FakeAccount, management: str) -> dict[str, Any]:
    state = getattr(acc, "state", None) or "ACTIVE"
    fields = _fields(management)
    out: dict[str, Any] = {"Id": acc.id, "Arn": acc.arn, "Email": acc.email, "Name": acc.name}
    if "Status" in fields:
        out["Status"] = _STATUS_OF[state]
    if "State" in fields:
        out["State"] = state
    out["JoinedMethod"] = acc.joined_method
    out["JoinedTimestamp"] = unix_time(acc.create_time)
    return out


def _required(params: dict[str, Any], *names: str) -> list[Any]:
    values = [params.get(n) for n in names]
    if any(v is None or v == "" for v in values):
        raise _invalid("INPUT_REQUIRED", "You must include a value for all required parameters.")
    return values


def _parent(b: OrganizationsBackend, parent_id: Any, missing: str = "ParentNotFoundException",
            text: str = "We can't find a root or OU with the ParentId that you specified.") -> Any:
    if not isinstance(parent_id, str) or not _PARENT_RE.match(parent_id):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    found = next((ou for ou in b.ou if ou.id == parent_id), None)
    if found is None:
        raise OrgError(missing, text)
    return found


def _account(b: OrganizationsBackend, account_id: Any) -> FakeAccount:
    if not isinstance(account_id, str) or not _ACCOUNT_RE.match(account_id):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    acc = next((a for a in b.accounts if a.id == account_id), None)
    if acc is None:
        raise OrgError("AccountNotFoundException",
                       "We can't find an AWS account with the AccountId that you specified.")
    return acc


def _ou_depth(b: OrganizationsBackend, ou: Any) -> int:
    depth = 0
    while not isinstance(ou, FakeRoot):
        depth += 1
        ou = next(o for o in b.ou if o.id == ou.parent_id)
    return depth


def _op_list_accounts(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    items = [(a.id, _account_json(a, b.account_id)) for a in b.accounts]
    return _page("ListAccounts", "", items, p, b.account_id, "Accounts")


def _op_list_accounts_for_parent(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    (parent_id,) = _required(p, "ParentId")
    _parent(b, parent_id)
    items = [(a.id, _account_json(a, b.account_id)) for a in b.accounts if a.parent_id == parent_id]
    return _page("ListAccountsForParent", parent_id, items, p, b.account_id, "Accounts")


def _op_list_children(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    parent_id, child_type = _required(p, "ParentId", "ChildType")
    if child_type not in ("ACCOUNT", "ORGANIZATIONAL_UNIT"):
        raise _invalid("INVALID_ENUM", "You specified an invalid value.")
    _parent(b, parent_id)
    pool: list[Any] = b.accounts if child_type == "ACCOUNT" else [
        ou for ou in b.ou if not isinstance(ou, FakeRoot)]
    items = [(c.id, {"Id": c.id, "Type": child_type}) for c in pool if c.parent_id == parent_id]
    return _page("ListChildren", f"{parent_id}/{child_type}", items, p, b.account_id, "Children")


def _op_list_organizational_units_for_parent(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    (parent_id,) = _required(p, "ParentId")
    _parent(b, parent_id)
    items = [(ou.id, {"Id": ou.id, "Arn": ou.arn, "Name": ou.name}) for ou in b.ou
             if not isinstance(ou, FakeRoot) and ou.parent_id == parent_id]
    return _page("ListOrganizationalUnitsForParent", parent_id, items, p, b.account_id,
                 "OrganizationalUnits")


def _op_list_parents(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    (child_id,) = _required(p, "ChildId")
    if not isinstance(child_id, str) or not _CHILD_RE.match(child_id):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    pool: list[Any] = [*b.accounts, *(ou for ou in b.ou if not isinstance(ou, FakeRoot))]
    child = next((c for c in pool if c.id == child_id), None)
    if child is None:
        raise OrgError("ChildNotFoundException", "We can't find an organizational unit (OU) or "
                       "AWS account with the ChildId that you specified.")
    parent = next(ou for ou in b.ou if ou.id == child.parent_id)
    kind = "ROOT" if isinstance(parent, FakeRoot) else "ORGANIZATIONAL_UNIT"
    return _page("ListParents", child_id, [(parent.id, {"Id": parent.id, "Type": kind})], p,
                 b.account_id, "Parents")


def _op_list_roots(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    items = [(ou.id, ou.describe()) for ou in b.ou if isinstance(ou, FakeRoot)]
    return _page("ListRoots", "", items, p, b.account_id, "Roots")


def _op_describe_account(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    (account_id,) = _required(p, "AccountId")
    return {"Account": _account_json(_account(b, account_id), b.account_id)}


def _create_requests(b: OrganizationsBackend) -> dict[str, dict[str, Any]]:
    # kept on the backend, so moto's reset forgets them with the organization
    if not hasattr(b, "crossrep_create_requests"):
        b.crossrep_create_requests = {}
    return b.crossrep_create_requests


def _op_create_account(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    """Asynchronous, as the API reference has it ("This is an asynchronous request ... To check
    the status of the request ... DescribeCreateAccountStatus"): the answer is IN_PROGRESS
    without an AccountId; the request has in fact completed (SUCCEEDED, or FAILED with
    EMAIL_ALREADY_EXISTS when an account already has the address)."""
    email, name = _required(p, "Email", "AccountName")
    if not isinstance(email, str) or not 6 <= len(email) <= 64 or not _EMAIL_RE.match(email):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    if not isinstance(name, str) or not 1 <= len(name) <= 50:
        raise _invalid("MAX_LENGTH_EXCEEDED" if isinstance(name, str) else "INVALID_PATTERN",
                       "You provided a string parameter that is longer than allowed.")
    now = unix_time(utcnow())
    taken = any(a.email == email for backend in _all_backends() for a in backend.accounts)
    if taken:
        car = org_utils.make_random_create_account_status_id()
        record = {"Id": car, "AccountName": name, "State": "FAILED", "RequestedTimestamp": now,
                  "CompletedTimestamp": now, "FailureReason": "EMAIL_ALREADY_EXISTS"}
    else:
        b.create_account(**p)
        acc = b.accounts[-1]
        car = acc.create_account_status_id
        record = {"Id": car, "AccountName": name, "State": "SUCCEEDED", "RequestedTimestamp": now,
                  "CompletedTimestamp": now, "AccountId": acc.id}
    _create_requests(b)[car] = record
    return {"CreateAccountStatus": {"Id": car, "AccountName": name, "State": "IN_PROGRESS",
                                    "RequestedTimestamp": now}}


def _op_describe_create_account_status(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    (car,) = _required(p, "CreateAccountRequestId")
    if not isinstance(car, str) or not _CAR_RE.match(car):
        raise _invalid("INVALID_PATTERN", "You provided a value that doesn't match the required pattern.")
    record = _create_requests(b).get(car)
    if record is None:
        raise OrgError("CreateAccountStatusNotFoundException", "We can't find an create account "
                       "request with the CreateAccountRequestId that you specified.")
    return {"CreateAccountStatus": dict(record)}


def _op_list_create_account_status(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    states = p.get("States") or ["IN_PROGRESS", "SUCCEEDED", "FAILED"]
    items = [(car, dict(r)) for car, r in _create_requests(b).items() if r["State"] in states]
    return _page("ListCreateAccountStatus", ",".join(sorted(states)), items, p, b.account_id,
                 "CreateAccountStatuses")


def _op_close_account(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    """"While the close account request is in progress, Account status will indicate
    PENDING_CLOSURE" (API reference, CloseAccount); what comes after (SUSPENDED, CLOSED) is set
    with `/_crossrep/organizations/account-state`."""
    (account_id,) = _required(p, "AccountId")
    if account_id == b.account_id:
        raise OrgError("ConstraintViolationException", "You can't close the management account "
                       "with this API.", "CANNOT_CLOSE_MANAGEMENT_ACCOUNT")
    acc = _account(b, account_id)
    if (getattr(acc, "state", None) or "ACTIVE") != "ACTIVE":
        raise OrgError("AccountAlreadyClosedException",
                       "You attempted to close an account that is already closed.")
    acc.state, acc.status = "PENDING_CLOSURE", "PENDING_CLOSURE"
    return {}


def _op_move_account(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    account_id, source, destination = _required(p, "AccountId", "SourceParentId", "DestinationParentId")
    _parent(b, source, "SourceParentNotFoundException",
            "We can't find a source root or OU with the ParentId that you specified.")
    _parent(b, destination, "DestinationParentNotFoundException",
            "We can't find the destination container (a root or OU) with the ParentId that you "
            "specified.")
    acc = _account(b, account_id)
    if acc.parent_id != source:
        # the account is not in that source parent: the emulator's answer (AWS does not say)
        raise OrgError("AccountNotFoundException",
                       "We can't find an AWS account with the AccountId that you specified.")
    if destination == source:
        raise OrgError("DuplicateAccountException",
                       "That account is already present in the specified destination.")
    acc.parent_id = destination
    return {}


def _op_create_organizational_unit(b: OrganizationsBackend, p: dict[str, Any]) -> dict[str, Any]:
    parent_id, name = _required(p, "ParentId", "Name")
    parent = _parent(b, parent_id)
    if not isinstance(name, str) or not 1 <= len(name) <= 128:
        raise _invalid("MAX_LENGTH_EXCEEDED", "You provided a string parameter that is longer "
                       "than allowed.")
    if any(ou.name == name and ou.parent_id == parent_id for ou in b.ou if not isinstance(ou, FakeRoot)):
        raise OrgError("DuplicateOrganizationalUnitException", "An OU with the same name already exists.")
    if _ou_depth(b, parent) + 1 > OU_MAX_DEPTH:
        raise OrgError("ConstraintViolationException", "You attempted to create an OU tree that "
                       "is too many levels deep.", "OU_DEPTH_LIMIT_EXCEEDED")
    return b.create_organizational_unit(**p)


_OPS = {
    "ListAccounts": _op_list_accounts,
    "ListAccountsForParent": _op_list_accounts_for_parent,
    "ListChildren": _op_list_children,
    "ListOrganizationalUnitsForParent": _op_list_organizational_units_for_parent,
    "ListParents": _op_list_parents,
    "ListRoots": _op_list_roots,
    "DescribeAccount": _op_describe_account,
    "CreateAccount": _op_create_account,
    "DescribeCreateAccountStatus": _op_describe_create_account_status,
    "ListCreateAccountStatus": _op_list_create_account_status,
    "CloseAccount": _op_close_account,
    "MoveAccount": _op_move_account,
    "CreateOrganizationalUnit": _op_create_organizational_unit,
}


def _call_action(self: OrganizationsResponse) -> Any:
    op = self._get_action()
    try:
        params = self.request_params
        params = params if isinstance(params, dict) else {}
        if op == "CreateOrganization":
            return BaseResponse.call_action(self)  # moto: AlreadyInOrganizationException
        role, backend = _context(self.current_account, self.partition)
        if role == "none" or backend is None:
            # AWSOrganizationsNotInUseException: "Your account isn't a member of an
            # organization." (every operation's error list)
            raise OrgError("AWSOrganizationsNotInUseException",
                           "Your account is not a member of an organization.")
        if role == "member" and op != "DescribeOrganization":
            # "You can only call this operation from the management account or a member
            # account that is a delegated administrator" (List/Describe), "... only from the
            # management account" (writes).
            delegated = any(adm.account.id == self.current_account for adm in backend.admins)
            if not (delegated and _is_read(op)):
                raise OrgError("AccessDeniedException", _ACCESS_DENIED)
        handler = _OPS.get(op)
        if handler is not None:
            return _answer(handler(backend, params))
        # moto answers from the management account's backend (a delegated administrator's own
        # is empty)
        self.current_account = backend.account_id if op != "DescribeOrganization" else self.current_account
        return BaseResponse.call_action(self)
    except OrgError as err:
        return _error(err)


OrganizationsResponse.call_action = _call_action  # type: ignore[method-assign]
