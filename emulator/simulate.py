"""IAM `SimulatePrincipalPolicy`, which moto 5.2.1 does not implement (moto 5.2.1 underneath).

moto's `IamResponse` has no `simulate_principal_policy`: the request answers 500 ("The
simulate_principal_policy action has not been implemented"). crossrep may ask the simulator
whether a role or user may do what a plan needs, so the emulator answers it the way IAM does,
from the principal's identity policies, with `permissions.py`'s evaluator. Each rule names the
page it follows (README "IAM policy simulator"); where AWS documents nothing, it says so and
the emulator refuses what it cannot know rather than guess.

Pages followed: IAM API reference "SimulatePrincipalPolicy", "EvaluationResult",
"ResourceSpecificResult", "Statement", "ContextEntry"; IAM User Guide "Testing IAM policies with
the IAM policy simulator" (the simulator evaluates the identity policies and the inputs of the
simulation; resource-based policies only when given as `ResourcePolicy`).

Request (IAM query protocol, `Action=SimulatePrincipalPolicy`):

- `PolicySourceArn` (required, 20..2048 characters): the ARN of a user, group or role of the
  caller's account, path included. A user's simulation includes the policies of its groups
  ("If you specify a user, the simulation also includes all policies that are attached to any
  groups the user belongs to"). An assumed-role session ARN (`arn:aws:sts::A:assumed-role/R/S`)
  or any ARN that is not a user, group or role -> 400 `InvalidInput` "Invalid Entity Arn: ARN
  does not clearly define entity type and name." (the message AWS answers for a session ARN,
  aws-containers/amazon-ecs-exec-checker #10; for other ARNs inferred). An entity that does not
  exist (a role ARN without its path included, or of another account) -> 404 `NoSuchEntity`
  "The role with name N cannot be found." (`user`, `group` likewise; the code is the one AWS
  answers for a deleted role, cloud-custodian #9095 / #6986; the message is IAM's GetRole one,
  inferred for this operation).
- `ActionNames.member.N` (required, each 3..128 characters, "must include the service
  identifier"), `ResourceArns.member.N` (each 1..2048; default `*`, "If this parameter is not
  provided, then the value defaults to *"; a value that is neither `*` nor an ARN -> 400
  `InvalidInput` "ResourceNames are not in a valid ARN format: X." as AWS answers,
  aws-containers/amazon-ecs-exec-checker #35), `ContextEntries.member.N` (`ContextKeyName`,
  `ContextKeyValues.member.N`, `ContextKeyType` of the ContextEntry enum), `MaxItems` (1..1000,
  default 100: "If you do not include this parameter, the number of items defaults to 100"),
  `Marker` (1..320).
- Framework validation first, as AWS's: 400 `ValidationError` "N validation error(s) detected:
  Value 'V' at 'name' failed to satisfy constraint: ..." (the format AWS answers for a too long
  action name, cloud-custodian #4769; a missing required parameter "Value null at 'name' failed
  to satisfy constraint: Member must not be null").

Answer (`SimulatePrincipalPolicyResponse/SimulatePrincipalPolicyResult`), one `EvaluationResult`
per action, in the order of `ActionNames` (API reference, EvaluationResult: "The simulator now
returns a single EvaluationResult per action, regardless of how many resource ARNs are provided
... The top-level EvalDecision reflects the most restrictive decision across all resources";
"To see the decision for each individual resource, use ResourceSpecificResults"):

- `EvalDecision` `allowed` / `explicitDeny` / `implicitDeny`: an explicit deny in any policy
  wins; otherwise an allow is needed, and with a permissions boundary (the role's, moto stores
  its ARN) the boundary must allow too ("the simulation includes all policies that are
  associated with that entity"; cloud-custodian #7012: "simulations respect existing boundaries
  by default"); `PermissionsBoundaryDecisionDetail/AllowedByPermissionsBoundary` then says
  whether it did. Most restrictive across resources: explicitDeny, then implicitDeny.
- `MissingContextValues`: every condition key the simulated policies use that `ContextEntries`
  does not give, whichever statement uses it (observed on AWS: boto3 #3111, aws-sdk-java-v2
  #1751); such a key is absent from the evaluation, so a statement that needs it does not apply
  and the answer is usually `implicitDeny` with the key listed (observed: openshift/installer
  #1322, `aws:RequestedRegion`). Keys in the order the policies first use them (AWS's order is
  not documented).
- `MatchedStatements` (approximated): the statements that decided, each with `SourcePolicyId`
  (the policy name), `SourcePolicyType` (`role`, `user`, `group` for inline policies,
  `user-managed` / `aws-managed` for managed ones) and `StartPosition` / `EndPosition` (line and
  column just after the statement's opening and closing brace, 1-based, as in the AWS CLI's
  documented simulate-custom-policy output); for an explicit deny only the deny statements ("the
  deny statement is the only entry included in the result"), none for an implicit deny.
- With resources other than `*`: `ResourceSpecificResults` (one per resource, in the order
  given: `EvalResourceName`, `EvalResourceDecision`, `MatchedStatements`,
  `MissingContextValues`) and an empty `EvalDecisionDetails` ("If the simulation evaluates
  policies within the same account and includes a resource ARN, then the parameter is present
  but the response is empty"); the top-level `EvalResourceName` is the first resource (not
  documented since results are aggregated; with one resource the old and new answers agree).
  With `*` only: `EvalResourceName` `*`, neither of those (as AWS's documented outputs).
- `OrganizationsDecisionDetail/AllowedByOrganizations` `true` when the account is in an
  organization whose only service control policy on the account's path is `FullAWSAccess`
  ("Only applies if the simulated user's account is part of an organization").
- `IsTruncated`, and `Marker` when truncated: pages of `MaxItems` results. A `Marker` this
  emulator did not issue for the same request -> 400 `InvalidInput` "Invalid Marker." (inferred).

Not modelled, refused with 501 `EmulatorUnsupported` (not an AWS code: a test must not take the
emulator's guess for AWS's answer): `PolicyInputList`, `PermissionsBoundaryPolicyInputList`,
`ResourcePolicy`, `ResourceOwner`, `CallerArn`, `ResourceHandlingOption`; a resource ARN naming
another account (cross-account simulation needs the resource's policy); service control
policies other than `FullAWSAccess`; condition operators `permissions.py` does not evaluate
(Numeric, Date, IpAddress, Binary, `...IgnoreCase`); policy variables (`${...}`); context entries
without `ContextKeyType`, with a duplicate key, or with several values for a single-valued type;
a boundary policy moto cannot find; an action without a service prefix.

The caller's own `iam:SimulatePrincipalPolicy` permission is not evaluated (README gap "IAM
permissions of the caller"); tests deny it with `/_crossrep/faults?operation=
SimulatePrincipalPolicy`. The request log records the operation as a read.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from moto.iam.exceptions import InvalidInput, NoSuchEntity, ValidationError
from moto.iam.responses import IamResponse
from moto.core.responses import ActionResult

import permissions

DEFAULT_MAX_ITEMS, MAX_MAX_ITEMS = 100, 1000
CONTEXT_TYPES = ("string", "stringList", "numeric", "numericList", "boolean", "booleanList",
                 "ip", "ipList", "binary", "binaryList", "date", "dateList")
UNSUPPORTED_PARAMS = ("PolicyInputList", "PermissionsBoundaryPolicyInputList", "ResourcePolicy",
                      "ResourceOwner", "CallerArn", "ResourceHandlingOption")
FULL_ACCESS_SCP = "p-FullAWSAccess"
_ORDER = {"allowed": 0, "implicitDeny": 1, "explicitDeny": 2}

_ENTITY_RE = re.compile(r"arn:(aws[\w-]*):iam::(\d{12}):(user|group|role)(/(?:[^/]+/)*)([\w+=,.@-]+)")
_ACCOUNT_RE = re.compile(r"\d{12}")


class Unsupported(Exception):
    """What the emulator does not model: answered 501 EmulatorUnsupported."""


# --------------------------------------------------------------------------------------------
# the principal's policies, with where each statement is in its document
# --------------------------------------------------------------------------------------------


@dataclass
class Policy:
    source_id: str
    source_type: str
    statements: list[dict[str, Any]] = field(default_factory=list)
    spans: list[tuple[tuple[int, int], tuple[int, int]]] = field(default_factory=list)


def _document_text(doc: Any) -> str:
    text = doc.decode("utf-8", "replace") if isinstance(doc, bytes) else doc
    if isinstance(text, dict):
        return json.dumps(text)
    text = str(text or "")
    if text.lstrip().startswith(("%7B", "%7b")):
        text = unquote(text)
    return text


class _Scanner:
    """Finds where each statement of a policy document begins and ends (json.loads tells what a
    document says, not where)."""

    def __init__(self, text: str) -> None:
        self.t, self.i = text, 0

    def ws(self) -> None:
        while self.i < len(self.t) and self.t[self.i] in " \t\r\n":
            self.i += 1

    def string(self) -> str:
        start = self.i
        self.i += 1
        while self.t[self.i] != '"':
            self.i += 2 if self.t[self.i] == "\\" else 1
        self.i += 1
        return json.loads(self.t[start:self.i])

    def value(self) -> tuple[int, int]:
        self.ws()
        start, c = self.i, self.t[self.i]
        if c == "{":
            self.i += 1
            self.ws()
            if self.t[self.i] == "}":
                self.i += 1
                return start, self.i - 1
            while True:
                self.ws()
                self.string()
                self.ws()
                self.i += 1  # ':'
                self.value()
                self.ws()
                if self.t[self.i] == "}":
                    self.i += 1
                    return start, self.i - 1
                self.i += 1  # ','
        if c == "[":
            self.i += 1
            self.ws()
            if self.t[self.i] == "]":
                self.i += 1
                return start, self.i - 1
            while True:
                self.value()
                self.ws()
                if self.t[self.i] == "]":
                    self.i += 1
                    return start, self.i - 1
                self.i += 1  # ','
        if c == '"':
            self.string()
            return start, self.i - 1
        while self.i < len(self.t) and self.t[self.i] not in ",]} \t\r\n":
            self.i += 1
        return start, self.i - 1

    def statement_spans(self) -> list[tuple[int, int]]:
        """(index of '{', index of '}') of each object in the top-level Statement."""
        self.ws()
        if self.t[self.i] != "{":
            return []
        self.i += 1
        spans: list[tuple[int, int]] = []
        while True:
            self.ws()
            if self.t[self.i] == "}":
                return spans
            key = self.string()
            self.ws()
            self.i += 1  # ':'
            self.ws()
            if key == "Statement":  # the last one wins, as in json.loads
                spans = []
                if self.t[self.i] == "[":
                    self.i += 1
                    self.ws()
                    while self.t[self.i] != "]":
                        s, e = self.value()
                        if self.t[s] == "{":
                            spans.append((s, e))
                        self.ws()
                        if self.t[self.i] == ",":
                            self.i += 1
                            self.ws()
                    self.i += 1
                else:
                    s, e = self.value()
                    if self.t[s] == "{":
                        spans.append((s, e))
            else:
                self.value()
            self.ws()
            if self.t[self.i] == ",":
                self.i += 1


def _position(text: str, index: int) -> tuple[int, int]:
    """Line and column (1-based) of the character after ``index``: the AWS CLI's documented
    output gives Column 38 to a statement whose '{' is the 37th character of its line."""
    line = text.count("\n", 0, index) + 1
    column = index - (text.rfind("\n", 0, index) + 1) + 2
    return line, column


def _policy(source_id: str, source_type: str, doc: Any) -> Policy:
    text = _document_text(doc)
    statements = permissions.parse_policy(text)
    try:
        spans = [(_position(text, s), _position(text, e)) for s, e in _Scanner(text).statement_spans()]
    except (IndexError, ValueError):
        spans = []
    if len(spans) != len(statements):
        spans = [((1, 1), (1, 1))] * len(statements)  # never expected: IAM stored valid JSON
    return Policy(source_id, source_type, statements, spans)


def _managed(policy: Any) -> Policy:
    document = None
    for v in getattr(policy, "versions", []):
        if getattr(v, "version_id", None) == getattr(policy, "default_version_id", None):
            document = v.document
    kind = "aws-managed" if ":iam::aws:policy/" in policy.arn else "user-managed"
    return _policy(policy.name, kind, document)


def _entity_policies(entity: Any, inline_type: str) -> list[Policy]:
    out = [_policy(name, inline_type, doc) for name, doc in list(getattr(entity, "policies", {}).items())]
    out += [_managed(p) for p in list(getattr(entity, "managed_policies", {}).values())]
    return out


def _principal(backend: Any, account: str, arn: str) -> tuple[list[Policy], list[Policy] | None]:
    """The identity policies of the entity ``arn`` and its permissions boundary (None: none)."""
    if arn.startswith("arn:") and ":sts::" in arn:
        raise InvalidInput(f"Invalid Entity Arn: {arn} does not clearly define entity type and name.")
    m = _ENTITY_RE.fullmatch(arn)
    if m is None:
        raise InvalidInput(f"Invalid Entity Arn: {arn} does not clearly define entity type and name.")
    kind, name = m.group(3), m.group(5)
    missing = NoSuchEntity(f"The {kind} with name {name} cannot be found.")
    if m.group(2) != account:
        raise missing
    if kind == "role":
        role = next((r for r in list(backend.roles.values()) if r.arn == arn), None)
        if role is None:
            raise missing
        boundary = None
        boundary_arn = getattr(role, "permissions_boundary_arn", None)
        if boundary_arn:
            policy = backend.managed_policies.get(boundary_arn)
            if policy is None:
                raise Unsupported(f"the permissions boundary {boundary_arn} is not a policy moto knows")
            boundary = [_managed(policy)]
        return _entity_policies(role, "role"), boundary
    if kind == "user":
        user = next((u for u in list(backend.users.values()) if u.arn == arn), None)
        if user is None:
            raise missing
        policies = _entity_policies(user, "user")
        for group in list(backend.groups.values()):
            if user in getattr(group, "users", []):
                policies += _entity_policies(group, "group")
        return policies, None
    group = next((g for g in list(backend.groups.values()) if g.arn == arn), None)
    if group is None:
        raise missing
    return _entity_policies(group, "group"), None


def _organizations_detail(account: str) -> dict[str, bool] | None:
    """AllowedByOrganizations for an account in an organization whose SCPs are FullAWSAccess
    only (on every level from the root to the account); other SCPs are not modelled."""
    import organizations  # noqa: PLC0415 - the emulator's module

    found = organizations._find_account(account)
    if found is None:
        return None
    backend, acc = found
    if backend.org is not None and account == backend.org.master_account_id:
        return {"AllowedByOrganizations": True}  # SCPs do not affect the management account
    node: Any = acc
    while node is not None:
        scps = [p for p in getattr(node, "attached_policies", []) if p.type == "SERVICE_CONTROL_POLICY"]
        if [p.id for p in scps] != [FULL_ACCESS_SCP]:
            raise Unsupported("service control policies other than FullAWSAccess are not modelled")
        node = next((ou for ou in backend.ou if ou.id == getattr(node, "parent_id", None)), None)
    return {"AllowedByOrganizations": True}


# --------------------------------------------------------------------------------------------
# request parameters
# --------------------------------------------------------------------------------------------


def _list_text(values: list[Any]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


def _validate(params: dict[str, Any]) -> None:
    errors: list[str] = []
    arn = params.get("PolicySourceArn")
    if arn is None:
        errors.append("Value null at 'policySourceArn' failed to satisfy constraint: Member must not be null")
    elif len(arn) < 20:
        errors.append(f"Value '{arn}' at 'policySourceArn' failed to satisfy constraint: Member must have "
                      "length greater than or equal to 20")
    elif len(arn) > 2048:
        errors.append(f"Value '{arn}' at 'policySourceArn' failed to satisfy constraint: Member must have "
                      "length less than or equal to 2048")
    actions = params.get("ActionNames")
    if not actions:
        errors.append("Value null at 'actionNames' failed to satisfy constraint: Member must not be null")
    elif any(not 3 <= len(a) <= 128 for a in actions):
        errors.append(f"Value '{_list_text(actions)}' at 'actionNames' failed to satisfy constraint: Member "
                      "must satisfy constraint: [Member must have length less than or equal to 128, "
                      "Member must have length greater than or equal to 3]")
    resources = params.get("ResourceArns")
    if resources and any(not 1 <= len(r) <= 2048 for r in resources):
        errors.append(f"Value '{_list_text(resources)}' at 'resourceArns' failed to satisfy constraint: "
                      "Member must satisfy constraint: [Member must have length less than or equal to "
                      "2048, Member must have length greater than or equal to 1]")
    max_items = params.get("MaxItems")
    if max_items is not None and max_items < 1:
        errors.append(f"Value '{max_items}' at 'maxItems' failed to satisfy constraint: Member must have "
                      "value greater than or equal to 1")
    elif max_items is not None and max_items > MAX_MAX_ITEMS:
        errors.append(f"Value '{max_items}' at 'maxItems' failed to satisfy constraint: Member must have "
                      f"value less than or equal to {MAX_MAX_ITEMS}")
    marker = params.get("Marker")
    if marker is not None and not 1 <= len(marker) <= 320:
        errors.append(f"Value '{marker}' at 'marker' failed to satisfy constraint: Member must have length "
                      "less than or equal to 320" if marker else
                      "Value '' at 'marker' failed to satisfy constraint: Member must have length greater "
                      "than or equal to 1")
    for n, entry in enumerate(params.get("ContextEntries") or [], 1):
        kind = entry.get("ContextKeyType")
        if kind is not None and kind not in CONTEXT_TYPES:
            errors.append(f"Value '{kind}' at 'contextEntries.{n}.member.contextKeyType' failed to satisfy "
                          f"constraint: Member must satisfy enum value set: [{', '.join(CONTEXT_TYPES)}]")
        name = entry.get("ContextKeyName")
        if name is not None and not 5 <= len(name) <= 256:
            errors.append(f"Value '{name}' at 'contextEntries.{n}.member.contextKeyName' failed to satisfy "
                          "constraint: Member must have length "
                          + ("greater than or equal to 5" if len(name) < 5 else "less than or equal to 256"))
    if errors:
        n = len(errors)
        raise ValidationError(f"{n} validation error{'s' if n > 1 else ''} detected: " + "; ".join(errors))


def _context(entries: list[dict[str, Any]]) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    for entry in entries:
        name, kind = entry.get("ContextKeyName"), entry.get("ContextKeyType")
        values = [str(v) for v in entry.get("ContextKeyValues") or []]
        if not name:
            raise Unsupported("a context entry without ContextKeyName")
        if kind is None:
            raise Unsupported(f"the context entry {name} has no ContextKeyType")
        if name.lower() in {k.lower() for k in ctx}:
            raise Unsupported(f"the context key {name} is given twice")
        base = kind[:-4] if kind.endswith("List") else kind
        if base == "boolean" and any(v.lower() not in ("true", "false") for v in values):
            raise Unsupported(f"the boolean context entry {name} has a value other than true/false")
        if base == "numeric":
            try:
                [float(v) for v in values]
            except ValueError:
                raise Unsupported(f"the numeric context entry {name} has a value that is not a number")
        if kind.endswith("List"):
            ctx[name] = values
        elif len(values) != 1:
            raise Unsupported(f"the {kind} context entry {name} has {len(values)} values")
        else:
            ctx[name] = values[0]
    return ctx


def _is_arn(resource: str) -> bool:
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[0] == "arn" and bool(parts[1]) and bool(parts[2])


def _condition_keys(policies: list[Policy]) -> list[str]:
    keys: list[str] = []
    seen: set[str] = set()
    for policy in policies:
        for stmt in policy.statements:
            cond = stmt.get("Condition")
            if not isinstance(cond, dict):
                continue
            for pairs in cond.values():
                if isinstance(pairs, dict):
                    for key in pairs:
                        if key.lower() not in seen:
                            seen.add(key.lower())
                            keys.append(key)
    return keys


def _fingerprint(params: dict[str, Any]) -> str:
    relevant = {k: v for k, v in params.items() if k not in ("Marker", "MaxItems")}
    return hashlib.sha256(json.dumps(relevant, sort_keys=True, default=str).encode()).hexdigest()[:16]


def _marker(offset: int, fingerprint: str) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset, "f": fingerprint}).encode()).decode()


def _offset(marker: str, fingerprint: str) -> int:
    try:
        data = json.loads(base64.urlsafe_b64decode(marker.encode()))
        if data["f"] == fingerprint and isinstance(data["o"], int) and data["o"] > 0:
            return int(data["o"])
    except (ValueError, KeyError, TypeError):
        pass
    raise InvalidInput("Invalid Marker.")


# --------------------------------------------------------------------------------------------
# the simulation
# --------------------------------------------------------------------------------------------


def _flat(policies: list[Policy]) -> tuple[list[dict[str, Any]], list[tuple[Policy, int]]]:
    stmts: list[dict[str, Any]] = []
    where: list[tuple[Policy, int]] = []
    for p in policies:
        for i, s in enumerate(p.statements):
            stmts.append(s)
            where.append((p, i))
    return stmts, where


def _statement(where: tuple[Policy, int]) -> dict[str, Any]:
    policy, i = where
    (sl, sc), (el, ec) = policy.spans[i]
    return {"SourcePolicyId": policy.source_id, "SourcePolicyType": policy.source_type,
            "StartPosition": {"Line": sl, "Column": sc}, "EndPosition": {"Line": el, "Column": ec}}


def _check_variables(stmts: list[dict[str, Any]], action: str) -> None:
    for stmt in stmts:
        if not permissions._action_matches(stmt, action):
            continue
        for part in ("Resource", "NotResource", "Condition"):
            if part in stmt and "${" in json.dumps(stmt[part]):
                raise Unsupported(f"policy variables (${{...}}) in {part} are not modelled")


def _decide(identity: list[Policy], boundary: list[Policy] | None, action: str, resource: str,
            ctx: dict[str, Any]) -> tuple[str, list[dict[str, Any]], bool | None]:
    """(EvalDecision, MatchedStatements, AllowedByPermissionsBoundary or None)."""
    stmts, where = _flat(identity)
    _check_variables(stmts, action)
    try:
        decision, matched = permissions.evaluate_detailed(stmts, action, resource, ctx)
        b_decision, b_matched, b_where = "Allow", [], []
        if boundary is not None:
            b_stmts, b_where = _flat(boundary)
            _check_variables(b_stmts, action)
            b_decision, b_matched = permissions.evaluate_detailed(b_stmts, action, resource, ctx)
    except permissions.UnsupportedCondition as exc:
        raise Unsupported(f"the condition {exc} is not evaluated by the emulator")
    allowed_by_boundary = None if boundary is None else b_decision == "Allow"
    if decision == "Deny" or b_decision == "Deny":
        out = [_statement(where[i]) for i in matched] if decision == "Deny" else []
        out += [_statement(b_where[i]) for i in b_matched] if b_decision == "Deny" else []
        return "explicitDeny", out, allowed_by_boundary
    if decision == "Allow" and b_decision == "Allow":
        out = [_statement(where[i]) for i in matched] + [_statement(b_where[i]) for i in b_matched]
        return "allowed", out, allowed_by_boundary
    return "implicitDeny", [], allowed_by_boundary


def simulate(backend: Any, account: str, params: dict[str, Any]) -> dict[str, Any]:
    """The SimulatePrincipalPolicyResult of ``params`` (moto's parsed request) in ``account``."""
    _validate(params)
    for name in UNSUPPORTED_PARAMS:
        if params.get(name) not in (None, [], ""):
            raise Unsupported(f"{name} is not modelled")
    identity, boundary = _principal(backend, account, params["PolicySourceArn"])
    resources = list(params.get("ResourceArns") or ["*"])
    for r in resources:
        if r != "*" and not _is_arn(r):
            raise InvalidInput(f"ResourceNames are not in a valid ARN format: {r}.")
        if r != "*":
            owner = r.split(":", 5)[4]
            if _ACCOUNT_RE.fullmatch(owner) and owner != account:
                raise Unsupported(f"cross-account simulation ({r} is another account's resource) "
                                  "is not modelled")
    actions = list(params["ActionNames"])
    for a in actions:
        if ":" not in a:
            raise Unsupported(f"AWS's answer to an action without a service prefix ({a}) is not modelled")
    supplied = _context(params.get("ContextEntries") or [])
    supplied_lower = {k.lower() for k in supplied}
    missing = [k for k in _condition_keys(identity + (boundary or [])) if k.lower() not in supplied_lower]
    ctx = dict(supplied)
    for k in missing:
        ctx[k] = None  # absent from the simulated request
    orgs = _organizations_detail(account)
    fingerprint = _fingerprint(params)
    offset = _offset(params["Marker"], fingerprint) if params.get("Marker") else 0
    max_items = params.get("MaxItems") or DEFAULT_MAX_ITEMS

    star_only = all(r == "*" for r in resources)
    results: list[dict[str, Any]] = []
    for action in actions:
        per_resource = []
        for r in resources:
            decision, matched, by_boundary = _decide(identity, boundary, action, r, ctx)
            per_resource.append((r, decision, matched, by_boundary))
        top = max((d for _, d, _, _ in per_resource), key=_ORDER.__getitem__)
        top_matched: list[dict[str, Any]] = []
        for _, d, matched, _ in per_resource:
            if d == top:
                top_matched += [s for s in matched if s not in top_matched]
        result: dict[str, Any] = {"EvalActionName": action, "EvalResourceName": resources[0],
                                  "EvalDecision": top, "MatchedStatements": top_matched,
                                  "MissingContextValues": list(missing)}
        if orgs is not None:
            result["OrganizationsDecisionDetail"] = dict(orgs)
        if boundary is not None:
            result["PermissionsBoundaryDecisionDetail"] = {
                "AllowedByPermissionsBoundary": all(b for _, _, _, b in per_resource)}
        if not star_only:
            result["EvalDecisionDetails"] = {}
            specific = []
            for r, d, matched, by_boundary in per_resource:
                one: dict[str, Any] = {"EvalResourceName": r, "EvalResourceDecision": d,
                                       "MatchedStatements": matched,
                                       "MissingContextValues": list(missing)}
                if by_boundary is not None:
                    one["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": by_boundary}
                specific.append(one)
            result["ResourceSpecificResults"] = specific
        results.append(result)

    if offset >= len(results) and offset:
        raise InvalidInput("Invalid Marker.")
    page = results[offset:offset + max_items]
    answer: dict[str, Any] = {"EvaluationResults": page,
                              "IsTruncated": offset + max_items < len(results)}
    if answer["IsTruncated"]:
        answer["Marker"] = _marker(offset + max_items, fingerprint)
    return answer


# --------------------------------------------------------------------------------------------
# moto hook: IamResponse.simulate_principal_policy (moto dispatches Action=X to method x)
# --------------------------------------------------------------------------------------------


def _unsupported_answer(message: str) -> tuple[str, dict[str, Any]]:
    body = ('<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error>'
            "<Type>Sender</Type><Code>EmulatorUnsupported</Code><Message>"
            + (message.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;"))
            + f"</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>")
    return body, {"status": 501, "Content-Type": "text/xml"}


def _simulate_principal_policy(self: IamResponse) -> Any:
    try:
        return ActionResult(simulate(self.backend, self.current_account, dict(self.params)))
    except Unsupported as exc:
        return _unsupported_answer(f"crossrep emulator: {exc} (SimulatePrincipalPolicy)")


if not hasattr(IamResponse, "simulate_principal_policy"):
    IamResponse.simulate_principal_policy = _simulate_principal_policy  # type: ignore[attr-defined]
