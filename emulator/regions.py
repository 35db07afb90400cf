"""Regions an account may use, and the bucket and role quotas (moto 5.2.1 underneath).

moto 5.2.1 knows nothing of opt-in Regions: every account may use every Region, the Account
Management region API (`aws-sdk-account`: `POST /getRegionOptStatus`, `/listRegions`,
`/enableRegion`, `/disableRegion`, restJson, signing name `account`) is not served (moto's
`account` module routes only the alternate-contact paths: the rest falls through to a 404), and
neither the S3 general purpose bucket quota nor the IAM role quota is enforced. crossrep's
preflight must see what AWS would answer, so the emulator models how AWS answers and fails
(README "Regions and quotas" lists each rule with the page or observation it follows; where it
had to infer, it says so):

- Region opt-in status per account. The 17 Regions launched before 20 March 2019 are
  `ENABLED_BY_DEFAULT` ("Specify which AWS Regions your account can use": "AWS originally enabled
  all new AWS Regions by default ... Now, when AWS adds a Region, the new Region is disabled by
  default"); every other commercial Region starts `DISABLED`. `EnableRegion` -> `ENABLING` ->
  `ENABLED` and `DisableRegion` -> `DISABLING` -> `DISABLED` after a settle time (AWS: "a few
  minutes for most accounts, but it can take several hours"; here 1 s unless the knob says
  otherwise). Errors as the Account Management API reference lists them (EnableRegion,
  DisableRegion, GetRegionOptStatus, ListRegions: AccessDeniedException 403, ValidationException
  400 with `reason` invalidRegionOptTarget | fieldValidationFailed and `fieldList`,
  ConflictException 409) with the messages AWS answers (observed: AWS CLI captures published in
  the radkawar/stackd repository, testdata/aws/account/*.json; terraform-provider-aws #41430):
    - enable a Region not DISABLED / disable one not ENABLED (default Regions included) -> 400
      ValidationException invalidRegionOptTarget "Unable to switch region status because of its
      current opt-in status.";
    - enable or disable while ENABLING or DISABLING -> 409 ConflictException "Account A and region
      R is currently being enabled or disabled. Please wait until it finishes and then try
      again." (the API reference: "this happens if you try to enable a Region that is currently
      being disabled");
    - an unknown Region -> 400 ValidationException fieldValidationFailed "R is not a valid region
      for opt-in or opt-out."; a RegionName that is not lowercase Region syntax -> 403
      AccessDeniedException "... (You specified an invalid target region.)";
    - `AccountId` (organizations mode, API reference: "the caller must be an identity in the
      organization's management account or a delegated administrator account. The specified
      account ID must be a member account in the same organization ... trusted access enabled
      for the Account Management service"): without trusted access for `account.amazonaws.com`
      -> 403 "User: U is not authorized to perform: account:Op (Your organization must first
      enable trusted access with AWS Account Management.)"; the management account naming itself
      -> 403 "... (The management account can only be managed using the standalone context from
      the management account.)"; a member that is not a delegated administrator for
      `account.amazonaws.com` (its own id included), or an account in no organization -> 403
      "User: U is not authorized to perform: account:Op"; an account outside the organization ->
      the same (inferred);
    - ListRegions: `MaxResults` 1..50 (default 20, as observed), `NextToken` bound to the target
      account and filter ("NextToken is malformed" otherwise), `RegionOptStatusContains` values
      checked against the enum, answers sorted by Region name.
- Requests signed (SigV4 credential scope) for an opt-in Region that is DISABLED or ENABLING for
  the caller's account are refused ("You cannot use the Region until this process is complete";
  "Disabling a Region disables access to resources in the Region"; DISABLING still works, as
  observed): query protocol (STS, SNS, IAM) 403 `InvalidClientTokenId` "The security token
  included in the request is invalid" (observed for STS; terraform-provider-aws #12940);
  awsJson (KMS, Organizations, ...) 400 `UnrecognizedClientException` with that message
  (observed in ekristen/aws-nuke #774 for awsJson services in ap-east-1); SQS and CloudWatch
  (query-compatible) 403 with `x-amzn-query-error: InvalidClientTokenId;Sender`; S3 403
  `InvalidAccessKeyId` "The AWS Access Key Id you provided does not exist in our records."
  (inferred: the Region never received the account's IAM resources, so S3 does not know the key);
  S3 Control the same in `<ErrorResponse>`. STS `AssumeRole` signed for a Region the *role's*
  account cannot use -> 403 `AccessDenied` "User: C is not authorized to perform: sts:AssumeRole
  on resource: R" (observed). CreateBucket signed elsewhere with a LocationConstraint naming such
  a Region -> 400 `IllegalLocationConstraintException` "The R location constraint is
  incompatible for the region specific endpoint this request was sent to." (inferred from what
  S3 answers when a non-opt-in endpoint is asked about an opt-in Region's bucket,
  cloud-custodian #8005).
- S3 general purpose bucket quota (S3 User Guide, "General purpose bucket quotas, limitations,
  and restrictions": 10,000 by default): CreateBucket in an account holding `quota` buckets ->
  400 `TooManyBuckets` "You have attempted to create more buckets than allowed" (S3 API
  reference, "List of error codes"). With an applied quota above 10,000, an unpaginated
  ListBuckets (neither `max-buckets` nor `continuation-token`) is refused ("All unpaginated
  ListBuckets requests will be rejected for AWS accounts with a general purpose bucket quota
  greater than 10,000"; the error code is not documented: the emulator answers 400
  `InvalidRequest`, inferred).
- Service Quotas for `s3`/`L-DC2B2D3D` (moto only knows `vpc`): GetAWSDefaultServiceQuota and
  ListAWSDefaultServiceQuotas answer 10,000; GetServiceQuota answers the applied value once the
  knob set one, and 400 `NoSuchResourceException` (empty message) for a quota never increased
  (API reference: "If the applied quota value is not available for a quota, the quota is not
  retrieved"; aws-cli #6629, terraform-provider-aws #19745: "If a quota value has never been
  applied, the call GetServiceQuota will return NoSuchResourceException"; brennerm/aws-quota-
  checker #21 quotes AWS support for s3/L-DC2B2D3D); ListServiceQuotas lists only applied
  values. Outside us-east-1 the s3 quotas are refused NoSuchResourceException "The request failed
  because the specified service does not exist." ("General purpose bucket quotas for commercial
  Regions can only be viewed and managed from US East (N. Virginia)"; the answer is inferred).
- IAM role quota (IAM User Guide, "IAM and AWS STS quotas": roles in an account, 1,000 by
  default): GetAccountSummary's `RolesQuota` follows the knob (moto: always 1000) and `Roles` is
  the account's role count (moto); CreateRole at the quota -> 409 `LimitExceeded` "Cannot exceed
  quota for RolesPerAccount: N" (the message AWS answers, serverless-next.js #2234).

Test knobs, not AWS behaviour (README "Regions and quotas" has the exact contracts):
`POST /_crossrep/regions` `{"account", "region", "status"}` sets a status directly;
`GET /_crossrep/regions?account=A`; `POST /_crossrep/regions/settle-seconds?seconds=S`;
`POST|DELETE /_crossrep/s3/bucket-quota` `{"account", "quota"}`;
`POST|DELETE /_crossrep/iam/role-quota` `{"account", "quota"}`. `POST /moto-api/reset` clears
all of it.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.iam.exceptions import LimitExceededException as IAMLimitExceeded
from moto.iam.models import AccountSummary, IAMBackend
from moto.organizations.models import FakeDelegatedAdministrator
from moto.s3.exceptions import S3ClientError
from moto.s3.models import S3Backend, s3_backends
from moto.s3.responses import S3Response
from moto.servicequotas.exceptions import NoSuchResource
from moto.servicequotas.models import ServiceQuotasBackend
from moto.servicequotas.responses import ServiceQuotasResponse
from moto.core.exceptions import JsonRESTError

# "Specify which AWS Regions your account can use": Regions introduced before 20 March 2019 are
# enabled by default and cannot be disabled; later ones are opt-in.
DEFAULT_REGIONS = (
    "ap-northeast-1", "ap-northeast-2", "ap-northeast-3", "ap-south-1", "ap-southeast-1",
    "ap-southeast-2", "ca-central-1", "eu-central-1", "eu-north-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "sa-east-1", "us-east-1", "us-east-2", "us-west-1", "us-west-2",
)
OPT_IN_REGIONS = (
    "af-south-1", "ap-east-1", "ap-east-2", "ap-south-2", "ap-southeast-3", "ap-southeast-4",
    "ap-southeast-5", "ap-southeast-6", "ap-southeast-7", "ca-west-1", "eu-central-2",
    "eu-south-1", "eu-south-2", "il-central-1", "me-central-1", "me-south-1", "mx-central-1",
)
ALL_REGIONS = tuple(sorted(DEFAULT_REGIONS + OPT_IN_REGIONS))
STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")

LIST_MAX, LIST_DEFAULT = 50, 20
BUCKET_QUOTA_DEFAULT = 10000
BUCKET_QUOTA_CODE = "L-DC2B2D3D"
ROLE_QUOTA_DEFAULT = 1000
ACCOUNT_SERVICE_PRINCIPAL = "account.amazonaws.com"

ACCOUNT_PATHS = {"/getRegionOptStatus": "GetRegionOptStatus", "/listRegions": "ListRegions",
                 "/enableRegion": "EnableRegion", "/disableRegion": "DisableRegion"}

INVALID_TOKEN = "The security token included in the request is invalid"
S3_NO_KEY = "The AWS Access Key Id you provided does not exist in our records."

_LOCK = threading.Lock()
_DEFAULT_SETTLE = 1.0
_SETTLE = _DEFAULT_SETTLE
# (account, opt-in region) -> (status, monotonic time it settles or None). Absent: DISABLED.
_STATE: dict[tuple[str, str], tuple[str, float | None]] = {}
_BUCKET_QUOTA: dict[str, int] = {}  # account -> applied quota (absent: never increased)
_ROLE_QUOTA: dict[str, int] = {}

_REGION_SYNTAX = re.compile(r"^[a-z0-9-]+$")
_ACCOUNT_RE = re.compile(r"^\d{12}$")
_CRED_RE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")

# Account Management supports a delegated administrator (Account Management Reference,
# "Enabling a delegated admin account for AWS Account Management"); moto's list lacks it.
if ACCOUNT_SERVICE_PRINCIPAL not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
    FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(ACCOUNT_SERVICE_PRINCIPAL)


def reset() -> None:
    global _SETTLE
    with _LOCK:
        _STATE.clear()
        _BUCKET_QUOTA.clear()
        _ROLE_QUOTA.clear()
        _SETTLE = _DEFAULT_SETTLE


def status(account: str, region: str) -> str | None:
    """The Region's opt-in status for the account; None for a Region AWS does not list."""
    if region in DEFAULT_REGIONS:
        return "ENABLED_BY_DEFAULT"
    if region not in OPT_IN_REGIONS:
        return None
    with _LOCK:
        return _status_locked(account, region)


def _status_locked(account: str, region: str) -> str:
    current, settles = _STATE.get((account, region), ("DISABLED", None))
    if settles is not None and time.monotonic() >= settles:
        current = {"ENABLING": "ENABLED", "DISABLING": "DISABLED"}.get(current, current)
        _STATE[(account, region)] = (current, None)
    return current


def usable(account: str, region: str | None) -> bool:
    """Whether requests signed for `region` work for `account`: every Region but an opt-in one
    that is DISABLED or ENABLING (DISABLING still works, as observed on AWS)."""
    if not region or region not in OPT_IN_REGIONS:
        return True
    return status(account, region) in ("ENABLED", "DISABLING")


def bucket_quota(account: str) -> int:
    with _LOCK:
        return _BUCKET_QUOTA.get(account, BUCKET_QUOTA_DEFAULT)


def role_quota(account: str) -> int:
    with _LOCK:
        return _ROLE_QUOTA.get(account, ROLE_QUOTA_DEFAULT)


# --------------------------------------------------------------------------------------------
# Account Management: GetRegionOptStatus, ListRegions, EnableRegion, DisableRegion
# --------------------------------------------------------------------------------------------


class AccountError(Exception):
    def __init__(self, status: int, code: str, message: str, reason: str | None = None,
                 field: str | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.reason, self.field = status, code, message, reason, field


def _json_answer(start_response: Any, status: int, obj: Any, headers: list[tuple[str, str]] | None = None) -> list[bytes]:
    body = json.dumps(obj).encode() if obj is not None else b""
    reason = {200: "OK", 400: "Bad Request", 403: "Forbidden", 409: "Conflict"}.get(status, "Error")
    start_response(f"{status} {reason}", [("Content-Type", "application/json"),
                                          ("x-amzn-RequestId", str(uuid.uuid4())),
                                          ("Content-Length", str(len(body)))] + (headers or []))
    return [body]


def _account_error(start_response: Any, err: AccountError) -> list[bytes]:
    body: dict[str, Any] = {"message": err.message}
    if err.reason:
        body["reason"] = err.reason
    if err.field:
        body["fieldList"] = [{"name": err.field, "message": err.message}]
    return _json_answer(start_response, err.status, body, [("x-amzn-ErrorType", err.code)])


def _validation(message: str, reason: str | None = "fieldValidationFailed", field: str | None = None) -> AccountError:
    return AccountError(400, "ValidationException", message, reason, field)


def _denied(caller_arn: str, op: str, why: str | None = None) -> AccountError:
    return AccountError(403, "AccessDeniedException",
                        f"User: {caller_arn} is not authorized to perform: account:{op}"
                        + (f" ({why})" if why else ""))


def _read_body(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    stream = environ.get("wsgi.input")
    if stream is None:
        return b""
    data = stream.read(length) if length > 0 else (stream.read() if environ.get("wsgi.input_terminated") else b"")
    import io  # noqa: PLC0415

    environ["wsgi.input"] = io.BytesIO(data)
    return data


def _target_account(caller: str, caller_arn: str, op: str, params: dict[str, Any]) -> str:
    """The account the operation acts on: the caller's own (standalone context), or `AccountId`
    when the caller may manage it (organizations context)."""
    import organizations  # noqa: PLC0415 - the emulator's module (no cycle at import time)

    target = params.get("AccountId")
    if target is None:
        return caller
    if not isinstance(target, str) or not _ACCOUNT_RE.match(target):
        # API reference: Pattern ^\d{12}$ (the shape of the validator's messages, as observed
        # for the enum; this one is inferred)
        raise AccountError(400, "ValidationException",
                           f'[ECMA 262 regex "^\\\\d{{12}}$" does not match input string "{target}"]')
    role, backend = organizations._context(caller, "aws")
    if role == "none" or backend is None:
        raise _denied(caller_arn, op)
    trusted = any(s.get("ServicePrincipal") == ACCOUNT_SERVICE_PRINCIPAL for s in backend.services)
    management = backend.account_id
    if role == "member":
        delegated = any(adm.account.id == caller and ACCOUNT_SERVICE_PRINCIPAL in adm.services
                        for adm in backend.admins)
        if not (delegated and trusted):
            raise _denied(caller_arn, op)
    elif not trusted:
        raise _denied(caller_arn, op, "Your organization must first enable trusted access with "
                      "AWS Account Management.")
    if target == management:
        raise _denied(caller_arn, op, "The management account can only be managed using the "
                      "standalone context from the management account.")
    if not any(acc.id == target for acc in backend.accounts):
        raise _denied(caller_arn, op)  # inferred: not a member of this organization
    return target


def _region_param(params: dict[str, Any], caller_arn: str, op: str) -> str:
    region = params.get("RegionName")
    if not isinstance(region, str) or not 1 <= len(region) <= 50:
        raise _validation('[object has missing required properties (["RegionName"])]', None)
    if not _REGION_SYNTAX.match(region):
        raise _denied(caller_arn, op, "You specified an invalid target region.")
    if region not in ALL_REGIONS:
        raise _validation(f"{region} is not a valid region for opt-in or opt-out.", field="RegionName")
    return region


def _change(target: str, region: str, wanted: str) -> None:
    """EnableRegion (wanted ENABLING) / DisableRegion (wanted DISABLING)."""
    with _LOCK:
        current = "ENABLED_BY_DEFAULT" if region in DEFAULT_REGIONS else _status_locked(target, region)
        if current in ("ENABLING", "DISABLING"):
            raise AccountError(409, "ConflictException",
                               f"Account {target} and region {region} is currently being enabled "
                               "or disabled. Please wait until it finishes and then try again.")
        if (wanted, current) not in (("ENABLING", "DISABLED"), ("DISABLING", "ENABLED")):
            raise _validation("Unable to switch region status because of its current opt-in status.",
                              "invalidRegionOptTarget", "RegionName")
        _STATE[(target, region)] = (wanted, time.monotonic() + _SETTLE)


def _encode_token(target: str, filt: list[str], after: str) -> str:
    raw = json.dumps({"a": target, "f": filt, "n": after}, separators=(",", ":"))
    return "crossrep-" + base64.urlsafe_b64encode(raw.encode()).decode()


def _decode_token(token: Any, target: str, filt: list[str]) -> str:
    malformed = _validation("NextToken is malformed", field="NextToken")
    if not isinstance(token, str) or not token.startswith("crossrep-"):
        raise malformed
    try:
        data = json.loads(base64.urlsafe_b64decode(token[len("crossrep-"):].encode()))
    except (ValueError, UnicodeDecodeError):
        raise malformed
    if not isinstance(data, dict) or data.get("a") != target or data.get("f") != filt:
        raise malformed
    return str(data.get("n", ""))


def _list_regions(target: str, params: dict[str, Any]) -> dict[str, Any]:
    filt_raw = params.get("RegionOptStatusContains")
    filt: list[str] = []
    if filt_raw is not None:
        if not isinstance(filt_raw, list):
            raise _validation("[instance type is not allowed for RegionOptStatusContains]", None)
        for value in filt_raw:
            if value not in STATUSES:
                # the message AWS answers (observed), listing the enum in its model order
                raise _validation(
                    f'[instance value ("{value}") not found in enum (possible values: '
                    '["ENABLED","ENABLING","DISABLING","DISABLED","ENABLED_BY_DEFAULT"])]', None)
        filt = sorted(set(filt_raw))
    max_results = params.get("MaxResults")
    if max_results is None:
        limit = LIST_DEFAULT
    elif isinstance(max_results, bool) or not isinstance(max_results, int):
        raise _validation("[instance type is not allowed for MaxResults (integer expected)]", None)
    elif max_results < 1:
        # API reference: MaxResults 1..50 (the wording is inferred from the validator's style)
        raise _validation(f"[numeric instance is lower than the required minimum (minimum: 1, found: {max_results})]", None)
    elif max_results > LIST_MAX:
        raise _validation(f"[numeric instance is greater than the required maximum (maximum: {LIST_MAX}, found: {max_results})]", None)
    else:
        limit = max_results
    after = _decode_token(params["NextToken"], target, filt) if params.get("NextToken") else ""
    rows = []
    for region in ALL_REGIONS:
        if region <= after:
            continue
        st = status(target, region)
        if not filt or st in filt:
            rows.append({"RegionName": region, "RegionOptStatus": st})
    page = rows[:limit]
    out: dict[str, Any] = {"Regions": page}
    if len(rows) > limit:
        out["NextToken"] = _encode_token(target, filt, page[-1]["RegionName"])
    return out


def handle_account(environ: dict[str, Any], entry: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """The four region operations of Account Management (restJson), or None for another path
    (moto's alternate contacts)."""
    import organizations  # noqa: PLC0415

    op = ACCOUNT_PATHS.get(environ.get("PATH_INFO", ""))
    if op is None or environ.get("REQUEST_METHOD", "").upper() != "POST":
        return None
    caller = entry["account"]
    m = _CRED_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    caller_arn = organizations._caller_arn(caller, m.group(1) if m else None, entry.get("region"))
    try:
        raw = _read_body(environ)
        try:
            params = json.loads(raw or b"{}")
        except ValueError:
            raise AccountError(400, "SerializationException", "Could not parse the request body")
        if not isinstance(params, dict):
            raise AccountError(400, "SerializationException", "Could not parse the request body")
        target = _target_account(caller, caller_arn, op, params)
        if op == "ListRegions":
            return _json_answer(start_response, 200, _list_regions(target, params))
        region = _region_param(params, caller_arn, op)
        if op == "GetRegionOptStatus":
            return _json_answer(start_response, 200, {"RegionName": region,
                                                      "RegionOptStatus": status(target, region)})
        _change(target, region, "ENABLING" if op == "EnableRegion" else "DISABLING")
        return _json_answer(start_response, 200, None)
    except AccountError as err:
        return _account_error(start_response, err)


# --------------------------------------------------------------------------------------------
# Requests signed for a Region the account cannot use
# --------------------------------------------------------------------------------------------


def _signing(environ: dict[str, Any]) -> tuple[str | None, str | None]:
    m = _CRED_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        return m.group(1), m.group(2)
    cred = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [None])[0]
    if cred:
        parts = unquote(cred).split("/")
        if len(parts) >= 3:
            return parts[0], parts[2]
    return None, None


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _refusal(environ: dict[str, Any], entry: dict[str, Any], start_response: Any, access_key: str | None) -> list[bytes]:
    import cloudwatch  # noqa: PLC0415

    request_id = str(uuid.uuid4())
    service, path = entry.get("service"), entry.get("path", "")
    if service == "s3":
        body = (b"" if environ.get("REQUEST_METHOD") == "HEAD" else
                ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>InvalidAccessKeyId</Code>'
                 f"<Message>{S3_NO_KEY}</Message><AWSAccessKeyId>{_xml(access_key or '')}</AWSAccessKeyId>"
                 f"<RequestId>{request_id}</RequestId><HostId>crossrep-emulator</HostId></Error>").encode())
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]
    if service == "s3control":
        body = ("<ErrorResponse><Error><Code>InvalidAccessKeyId</Code>"
                f"<Message>{S3_NO_KEY}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        start_response("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
        return [body]
    if cloudwatch.is_cbor_request(path):
        return cloudwatch.error_response(start_response, 403, "InvalidClientTokenId", INVALID_TOKEN, request_id)
    target = environ.get("HTTP_X_AMZ_TARGET", "")
    if entry.get("json") or target:
        if target.startswith(("AmazonSQS.", "GraniteServiceVersion20100801.")):
            # query-compatible: the SDKs take the former query API's code from the header
            body = json.dumps({"__type": "InvalidClientTokenId", "message": INVALID_TOKEN}).encode()
            headers = [("x-amzn-query-error", "InvalidClientTokenId;Sender")]
            status_line = "403 Forbidden"
        else:
            body = json.dumps({"__type": "UnrecognizedClientException", "message": INVALID_TOKEN}).encode()
            headers = []
            status_line = "400 Bad Request"
        start_response(status_line, [("Content-Type", "application/x-amz-json-1.1"),
                                     ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))] + headers)
        return [body]
    if environ.get("CONTENT_TYPE", "").startswith("application/json"):  # restJson
        body = json.dumps({"message": INVALID_TOKEN}).encode()
        start_response("403 Forbidden", [("Content-Type", "application/json"),
                                         ("x-amzn-ErrorType", "UnrecognizedClientException"),
                                         ("x-amzn-RequestId", request_id), ("Content-Length", str(len(body)))])
        return [body]
    body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>{INVALID_TOKEN}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _assume_denied(environ: dict[str, Any], entry: dict[str, Any], start_response: Any, access_key: str | None) -> list[bytes]:
    import organizations  # noqa: PLC0415

    caller = organizations._caller_arn(entry["account"], access_key, entry.get("region"))
    message = _xml(f"User: {caller} is not authorized to perform: sts:AssumeRole on resource: {entry.get('role_arn')}")
    body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>AccessDenied</Code><Message>{message}</Message></Error>"
            f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


# Global services: their endpoints sign for us-east-1 whatever Region a client is configured
# with (the SDKs' endpoint rules), so a scope naming another Region is the emulator's endpoint
# override at work, not a request to that Region.
GLOBAL_SERVICES = frozenset({"account", "iam", "organizations"})


def check(environ: dict[str, Any], entry: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """An AWS answer refusing a request signed for a Region the caller's account (or, for
    AssumeRole, the role's account) cannot use; None to let it through."""
    access_key, region = _signing(environ)
    if entry.get("service") in GLOBAL_SERVICES:
        return None
    if not usable(entry.get("account") or "", region):
        entry["refused"] = "region-not-enabled"
        return _refusal(environ, entry, start_response, access_key)
    if entry.get("service") == "sts" and entry.get("operation") == "AssumeRole":
        m = re.match(r"arn:[^:]+:iam::(\d{12}):role/", entry.get("role_arn") or "")
        if m and not usable(m.group(1), region):
            entry["refused"] = "region-not-enabled"
            return _assume_denied(environ, entry, start_response, access_key)
    return None


# CreateBucket: a LocationConstraint naming a Region the account cannot use (sent to another
# Region's endpoint: the Region's own endpoint refuses the key first, in check()).
_orig_bucket_response_put = S3Response._bucket_response_put


def _bucket_response_put(self: S3Response, request: Any, bucket_name: str, querystring: dict[str, Any]) -> Any:
    if not querystring:
        constraint = self._get_location_constraint()
        if constraint and not usable(self.current_account, constraint):
            raise S3ClientError("IllegalLocationConstraintException",
                                f"The {constraint} location constraint is incompatible for the "
                                "region specific endpoint this request was sent to.")
    return _orig_bucket_response_put(self, request, bucket_name, querystring)


S3Response._bucket_response_put = _bucket_response_put  # type: ignore[method-assign]


# --------------------------------------------------------------------------------------------
# S3 general purpose bucket quota
# --------------------------------------------------------------------------------------------

_orig_create_bucket = S3Backend.create_bucket


def _create_bucket(self: S3Backend, bucket_name: str, region_name: str, *args: Any, **kwargs: Any) -> Any:
    # an existing name keeps moto's answers (BucketAlreadyExists, us-east-1's idempotent 200,
    # BucketAlreadyOwnedByYou): no bucket would be added
    if bucket_name not in s3_backends.bucket_accounts:
        quota = bucket_quota(self.account_id)
        if len(self.buckets) >= quota:
            raise S3ClientError("TooManyBuckets", "You have attempted to create more buckets than allowed")
    return _orig_create_bucket(self, bucket_name, region_name, *args, **kwargs)


S3Backend.create_bucket = _create_bucket  # type: ignore[method-assign]


def unpaginated_list_refused(account: str, has_max: bool, has_token: bool) -> str | None:
    """ListBuckets without `max-buckets` nor `continuation-token` in an account whose applied
    quota exceeds 10,000 is rejected (S3 User Guide, bucket quotas); the code is inferred."""
    if has_max or has_token:
        return None
    with _LOCK:
        applied = _BUCKET_QUOTA.get(account)
    if applied is not None and applied > BUCKET_QUOTA_DEFAULT:
        return ("Unpaginated ListBuckets requests are not supported for accounts with a general "
                "purpose bucket quota greater than 10,000; send max-buckets")
    return None


# --------------------------------------------------------------------------------------------
# Service Quotas: s3 / L-DC2B2D3D
# --------------------------------------------------------------------------------------------

_SERVICE_MISSING = "The request failed because the specified service does not exist."


class _NoSuchResource(JsonRESTError):
    def __init__(self, message: str) -> None:
        super().__init__("NoSuchResourceException", message)


def _s3_quota(account: str | None, value: float) -> dict[str, Any]:
    return {
        "ServiceCode": "s3",
        "ServiceName": "Amazon Simple Storage Service (Amazon S3)",
        "QuotaArn": f"arn:aws:servicequotas:us-east-1:{account or ''}:s3/{BUCKET_QUOTA_CODE}",
        "QuotaCode": BUCKET_QUOTA_CODE,
        "QuotaName": "General purpose buckets",
        "Value": float(value),
        "Unit": "None",
        "Adjustable": True,
        "GlobalQuota": False,
        "QuotaAppliedAtLevel": "ACCOUNT",
        "Description": "The number of general purpose buckets that you can create in an account",
    }


def _s3_quota_scope(backend: ServiceQuotasBackend, quota_code: str | None) -> None:
    if backend.region_name != "us-east-1":
        raise _NoSuchResource(_SERVICE_MISSING)
    if quota_code is not None and quota_code != BUCKET_QUOTA_CODE:
        raise _NoSuchResource("The request failed because the specified quota does not exist.")


_orig_get_service_quota = ServiceQuotasBackend.get_service_quota
_orig_list_default = ServiceQuotasBackend.list_aws_default_service_quotas


def _get_service_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
    if service_code != "s3":
        return _orig_get_service_quota(self, service_code, quota_code)
    _s3_quota_scope(self, quota_code)
    with _LOCK:
        applied = _BUCKET_QUOTA.get(self.account_id)
    if applied is None:
        raise _NoSuchResource("")  # never increased: no applied value (AWS: empty message)
    return _s3_quota(self.account_id, applied)


def _get_default_service_quota(self: ServiceQuotasBackend, service_code: str, quota_code: str) -> dict[str, Any]:
    if service_code == "s3":
        _s3_quota_scope(self, quota_code)
        return _s3_quota(None, BUCKET_QUOTA_DEFAULT)
    for quota in _orig_list_default(self, service_code):  # vpc, as moto has it
        if quota["QuotaCode"] == quota_code:
            return quota
    raise NoSuchResource


def _list_default(self: ServiceQuotasBackend, service_code: str) -> list[dict[str, Any]]:
    if service_code == "s3":
        _s3_quota_scope(self, None)
        return [_s3_quota(None, BUCKET_QUOTA_DEFAULT)]
    return _orig_list_default(self, service_code)


def _list_applied(self: ServiceQuotasBackend, service_code: str) -> list[dict[str, Any]]:
    if service_code != "s3":
        raise _NoSuchResource(_SERVICE_MISSING)
    _s3_quota_scope(self, None)
    with _LOCK:
        applied = _BUCKET_QUOTA.get(self.account_id)
    return [] if applied is None else [_s3_quota(self.account_id, applied)]


ServiceQuotasBackend.get_service_quota = _get_service_quota  # type: ignore[method-assign]
ServiceQuotasBackend.get_aws_default_service_quota = _get_default_service_quota  # type: ignore[attr-defined]
ServiceQuotasBackend.list_aws_default_service_quotas = _list_default  # type: ignore[method-assign]
ServiceQuotasBackend.list_service_quotas = _list_applied  # type: ignore[attr-defined]


def _resp_get_default(self: ServiceQuotasResponse) -> str:
    params = json.loads(self.body or "{}")
    quota = self.backend.get_aws_default_service_quota(str(params.get("ServiceCode")), str(params.get("QuotaCode")))
    return json.dumps({"Quota": quota})


def _resp_list_applied(self: ServiceQuotasResponse) -> str:
    params = json.loads(self.body or "{}")
    return json.dumps({"Quotas": self.backend.list_service_quotas(str(params.get("ServiceCode")))})


ServiceQuotasResponse.get_aws_default_service_quota = _resp_get_default  # type: ignore[attr-defined]
ServiceQuotasResponse.list_service_quotas = _resp_list_applied  # type: ignore[attr-defined]


# --------------------------------------------------------------------------------------------
# IAM role quota
# --------------------------------------------------------------------------------------------

_orig_create_role = IAMBackend.create_role


def _create_role(self: IAMBackend, *args: Any, **kwargs: Any) -> Any:
    quota = role_quota(self.account_id)
    if len(self.roles) >= quota:
        raise IAMLimitExceeded(f"Cannot exceed quota for RolesPerAccount: {quota}")
    return _orig_create_role(self, *args, **kwargs)


IAMBackend.create_role = _create_role  # type: ignore[method-assign]

_orig_summary_map = AccountSummary.summary_map


def _summary_map(self: AccountSummary) -> dict[str, Any]:
    summary = _orig_summary_map.fget(self)  # type: ignore[attr-defined]
    summary["RolesQuota"] = role_quota(self._iam_backend.account_id)
    return summary


AccountSummary.summary_map = property(_summary_map)  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# Knobs
# --------------------------------------------------------------------------------------------


def _body_json(body: bytes) -> dict[str, Any]:
    try:
        data = json.loads(body or b"{}")
    except ValueError as exc:
        raise ValueError(f"body is not JSON: {exc}")
    if not isinstance(data, dict):
        raise ValueError("body must be a JSON object")
    return data


def _account_of(data: dict[str, Any], qs: dict[str, str]) -> str:
    account = data.get("account", qs.get("account"))
    if not isinstance(account, str) or not _ACCOUNT_RE.match(account):
        raise ValueError("account: 12 digits")
    return account


def _quota_knob(method: str, qs: dict[str, str], body: bytes, store: dict[str, int], default: int) -> tuple[str, Any]:
    try:
        data = _body_json(body) if method == "POST" else {}
        account = _account_of(data, qs)
        if method == "POST":
            quota = data.get("quota")
            if isinstance(quota, bool) or not isinstance(quota, int) or quota < 0:
                raise ValueError("quota: an integer >= 0")
    except ValueError as exc:
        return "400 Bad Request", {"error": str(exc)}
    with _LOCK:
        if method == "POST":
            store[account] = quota
        else:
            store.pop(account, None)
        return "200 OK", {"account": account, "quota": store.get(account, default),
                          "applied": account in store}


def crossrep_endpoint(method: str, path: str, qs_lists: dict[str, list[str]], body: bytes) -> tuple[str, Any] | None:
    """`/_crossrep/regions...`, `/_crossrep/s3/bucket-quota`, `/_crossrep/iam/role-quota`."""
    global _SETTLE
    qs = {k: v[0] for k, v in qs_lists.items() if v}
    if path == "/_crossrep/regions":
        if method == "GET":
            try:
                account = _account_of({}, qs)
            except ValueError as exc:
                return "400 Bad Request", {"error": str(exc)}
            return "200 OK", {"account": account,
                              "regions": {r: status(account, r) for r in ALL_REGIONS}}
        if method == "POST":
            try:
                data = _body_json(body)
                account = _account_of(data, qs)
                region, wanted = data.get("region"), data.get("status")
                if region not in ALL_REGIONS:
                    raise ValueError(f"region: one of {', '.join(ALL_REGIONS)}")
                if region in DEFAULT_REGIONS:
                    if wanted != "ENABLED_BY_DEFAULT":
                        raise ValueError(f"{region} is enabled by default: status ENABLED_BY_DEFAULT only")
                elif wanted not in ("ENABLED", "ENABLING", "DISABLING", "DISABLED"):
                    raise ValueError("status: ENABLED | ENABLING | DISABLING | DISABLED")
            except ValueError as exc:
                return "400 Bad Request", {"error": str(exc)}
            with _LOCK:
                if region in OPT_IN_REGIONS:
                    settles = time.monotonic() + _SETTLE if wanted in ("ENABLING", "DISABLING") else None
                    _STATE[(account, region)] = (wanted, settles)
            return "200 OK", {"account": account, "region": region, "status": status(account, region)}
        return None
    if path == "/_crossrep/regions/settle-seconds":
        if method == "POST":
            try:
                seconds = float(qs.get("seconds") if "seconds" in qs else _body_json(body)["seconds"])
                if not 0 <= seconds < 10 ** 7:
                    raise ValueError("seconds must be >= 0")
            except (KeyError, ValueError, TypeError) as exc:
                return "400 Bad Request", {"error": f"seconds=S (>= 0): {exc}"}
            with _LOCK:
                _SETTLE = seconds
            return "200 OK", {"settle_seconds": seconds}
        if method == "GET":
            with _LOCK:
                return "200 OK", {"settle_seconds": _SETTLE}
        return None
    if path == "/_crossrep/s3/bucket-quota" and method in ("POST", "DELETE"):
        return _quota_knob(method, qs, body, _BUCKET_QUOTA, BUCKET_QUOTA_DEFAULT)
    if path == "/_crossrep/iam/role-quota" and method in ("POST", "DELETE"):
        return _quota_knob(method, qs, body, _ROLE_QUOTA, ROLE_QUOTA_DEFAULT)
    return None
