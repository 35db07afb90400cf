"""STS credentials that expire, as AWS's do (moto 5.2.1 underneath).

moto's `AssumeRole` answers an `Expiration` (now + `DurationSeconds`, default 3600) but never
enforces it: a key keeps working forever, any `DurationSeconds` is accepted, and a role-chained
session may ask for 12 hours. crossrep's long runs (`backfill --wait`, an estate-wide `apply`)
outlive their credentials on AWS, so the emulator refuses what AWS refuses (README "STS
credentials"; each rule names the AWS page it follows):

- `DurationSeconds` (STS API reference, AssumeRole: "Valid Range: Minimum value of 900. Maximum
  value of 43200"; absent, "By default, the value is set to 3600 seconds"): outside 900..43200 ->
  400 `ValidationError` "1 validation error detected: Value 'N' at 'durationSeconds' failed to
  satisfy constraint: Member must have value greater/less than or equal to 900/43200"; above the
  role's `MaxSessionDuration` (when the role exists; 1 hour unless set) -> 400 `ValidationError`
  "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."; a session
  assumed with another role's credentials (role chaining, IAM User Guide "Roles terms and
  concepts": "limited to a maximum duration of one hour") asking for more than 3600 -> 400
  `ValidationError` "The requested DurationSeconds exceeds the 1 hour session limit for roles
  assumed by role chaining." (AWS re:Post knowledge center "iam-role-chaining-limit"). Parameter
  validation comes after authentication (an expired caller is refused first).
- A request signed with an assumed-role access key at or after its `Expiration` is refused before
  anything happens, in the shape of its protocol: S3 -> 400 `ExpiredToken` "The provided token
  has expired." (S3 API reference, "List of error codes"), bare `<Error>`, no body for HEAD;
  S3 Control -> the same code and message, wrapped in `<ErrorResponse>`; query protocol (IAM,
  STS, SNS) -> 403 `ExpiredToken` "The security token included in the request is expired";
  awsJson (KMS, SQS, Organizations) and restJson -> 403 `ExpiredTokenException` with that message
  ("Common Errors" of every AWS API reference: "ExpiredTokenException ... HTTP Status Code: 403"),
  SQS's and CloudWatch's query-compatible `x-amzn-query-error: ExpiredToken;Sender`; CloudWatch
  over RPCv2 CBOR -> 403 `ExpiredToken`.

Test knob, not AWS behaviour: `POST /_crossrep/sts/lifetime?seconds=N[&account=A]` makes the
credentials issued from then on (for roles of account A, or of every account) live N seconds
instead of their `DurationSeconds`, so tests need not wait an hour: time passes faster, the
answer's `Expiration` says so, and `DurationSeconds` is still validated as sent.
`DELETE /_crossrep/sts/lifetime[?account=A]` removes it; `POST /moto-api/reset` clears it and
forgets every issued credential. `GET /_crossrep/sts/credentials[?account=A]` lists the issued
credentials (access key id, account, role, issued, expiration as epoch seconds, chained,
requested duration, requests signed with it, last use) and the refused requests.
"""

from __future__ import annotations

import datetime
import re
import threading
import time
import uuid
from typing import Any
from urllib.parse import parse_qs, unquote

from moto.iam.models import iam_backends
from moto.sts.models import STSBackend
from moto.utilities.utils import get_partition

MIN_DURATION, MAX_DURATION, CHAINED_MAX = 900, 43200, 3600
DEFAULT_DURATION = 3600

S3_MESSAGE = "The provided token has expired."
OTHER_MESSAGE = "The security token included in the request is expired"

_AUTH_KEY_RE = re.compile(r"Credential=([^/,\s]+)/")

_LOCK = threading.Lock()
_LIFETIME: dict[str | None, float] = {}  # account (None: every account) -> seconds
_ISSUED: dict[str, dict[str, Any]] = {}  # access key id -> what was issued
_REFUSED: list[dict[str, Any]] = []


def reset() -> None:
    with _LOCK:
        _LIFETIME.clear()
        _ISSUED.clear()
        _REFUSED.clear()


def _lifetime(account: str) -> float | None:
    with _LOCK:
        return _LIFETIME.get(account, _LIFETIME.get(None))


# --------------------------------------------------------------------------------------------
# issuing: every assumed-role credential is registered with its expiration (and shortened by
# the knob)
# --------------------------------------------------------------------------------------------

_original_assume_role = STSBackend.assume_role


def _assume_role(self: STSBackend, *args: Any, **kwargs: Any) -> Any:
    role = _original_assume_role(self, *args, **kwargs)
    now = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)
    lifetime = _lifetime(role.account_id)
    if lifetime is not None:
        # moto keeps naive UTC datetimes; the answer's <Expiration> is rendered from this.
        role.expiration = min(role.expiration, now + datetime.timedelta(seconds=lifetime))
    expires = role.expiration.replace(tzinfo=datetime.timezone.utc).timestamp()
    with _LOCK:
        _ISSUED[role.access_key_id] = {
            "access_key_id": role.access_key_id,
            "account": role.account_id,
            "role_arn": role.role_arn,
            "issued": time.time(),
            "expiration": expires,
            "duration_seconds": kwargs.get("duration"),
            "chained": bool(getattr(_PENDING_CHAINED, "value", False)),
            "requests": 0,
            "last_used": None,
        }
    return role


if not getattr(STSBackend, "_crossrep_expiry_patched", False):
    STSBackend.assume_role = _assume_role  # type: ignore[method-assign]
    STSBackend._crossrep_expiry_patched = True  # type: ignore[attr-defined]

# Whether the AssumeRole being handled on this thread is signed with assumed-role credentials.
_PENDING_CHAINED = threading.local()


# --------------------------------------------------------------------------------------------
# checking: expired keys refused, AssumeRole's DurationSeconds validated
# --------------------------------------------------------------------------------------------


def access_key_of(environ: dict[str, Any]) -> str | None:
    m = _AUTH_KEY_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if m:
        return m.group(1)
    cred = (parse_qs(environ.get("QUERY_STRING", "")).get("X-Amz-Credential") or [None])[0]
    return unquote(cred).split("/", 1)[0] if cred else None


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _expired_response(environ: dict[str, Any], entry: dict[str, Any], start_response: Any,
                      access_key: str) -> list[bytes]:
    import cloudwatch  # noqa: PLC0415 - the emulator's module, imported late (no cycle)

    request_id = str(uuid.uuid4())
    service = entry.get("service")
    path = entry.get("path", "")
    if service == "s3":
        # S3: 400, a bare <Error> (HEAD answers have no body)
        body = (b"" if environ.get("REQUEST_METHOD") == "HEAD" else
                ('<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ExpiredToken</Code>'
                 f"<Message>{S3_MESSAGE}</Message><Token-0>{_xml(access_key)}</Token-0>"
                 f"<RequestId>{request_id}</RequestId><HostId>crossrep-emulator</HostId></Error>"
                 ).encode())
        start_response("400 Bad Request", [("Content-Type", "application/xml"),
                                           ("Content-Length", str(len(body)))])
        return [body]
    if service == "s3control":
        body = ("<ErrorResponse><Error><Code>ExpiredToken</Code>"
                f"<Message>{S3_MESSAGE}</Message></Error><RequestId>{request_id}</RequestId>"
                "</ErrorResponse>").encode()
        start_response("400 Bad Request", [("Content-Type", "application/xml"),
                                           ("Content-Length", str(len(body)))])
        return [body]
    if cloudwatch.is_cbor_request(path):
        return cloudwatch.error_response(start_response, 403, "ExpiredToken", OTHER_MESSAGE, request_id)
    if entry.get("json") or environ.get("CONTENT_TYPE", "").startswith(("application/json",
                                                                        "application/x-amz-json")):
        import json  # noqa: PLC0415

        body = json.dumps({"__type": "ExpiredTokenException", "message": OTHER_MESSAGE}).encode()
        headers = [("Content-Type", "application/x-amz-json-1.0"), ("x-amzn-RequestId", request_id),
                   ("x-amzn-ErrorType", "ExpiredTokenException"), ("Content-Length", str(len(body)))]
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith(("AmazonSQS.", "GraniteServiceVersion20100801.")):
            # SQS and CloudWatch are query-compatible: clients take the code of the former query API
            headers.append(("x-amzn-query-error", "ExpiredToken;Sender"))
        start_response("403 Forbidden", headers)
        return [body]
    body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>ExpiredToken</Code><Message>{OTHER_MESSAGE}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    start_response("403 Forbidden", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _validation_error(start_response: Any, message: str) -> list[bytes]:
    body = ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error>'
            f"<Type>Sender</Type><Code>ValidationError</Code><Message>{_xml(message)}</Message>"
            f"</Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>").encode()
    start_response("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


def _duration_error(entry: dict[str, Any], chained: bool) -> str | None:
    raw = entry.get("duration_seconds")
    if raw is None:
        return None  # AWS: 3600 by default, within every bound
    try:
        duration = int(raw)
    except ValueError:
        return f"1 validation error detected: Value '{raw}' at 'durationSeconds' failed to satisfy constraint: Member must be an integer"
    if duration < MIN_DURATION:
        return (f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
                f"satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}")
    if duration > MAX_DURATION:
        return (f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to "
                f"satisfy constraint: Member must have value less than or equal to {MAX_DURATION}")
    if chained and duration > CHAINED_MAX:
        return "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining."
    role_arn = entry.get("role_arn") or ""
    m = re.match(r"arn:[^:]+:iam::(\d{12}):role/", role_arn)
    if m:
        try:
            role = iam_backends[m.group(1)][get_partition(entry.get("region") or "us-east-1")].get_role_by_arn(role_arn)
        except Exception:  # noqa: BLE001 - the emulator lets anyone assume a role that does not exist
            role = None
        max_session = int(getattr(role, "max_session_duration", None) or DEFAULT_DURATION) if role else MAX_DURATION
        if duration > max_session:
            return "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
    return None


def check(environ: dict[str, Any], entry: dict[str, Any], start_response: Any) -> list[bytes] | None:
    """An AWS answer refusing the request (expired credentials, a bad `DurationSeconds`), or
    None to let it through. Called for every AWS request before anything else happens."""
    key = access_key_of(environ)
    issued = None
    now = time.time()
    if key:
        with _LOCK:
            issued = _ISSUED.get(key)
            if issued is not None:
                if now >= issued["expiration"]:
                    _REFUSED.append({"access_key_id": key, "account": issued["account"],
                                     "service": entry.get("service"), "operation": entry.get("operation"),
                                     "time": now, "expiration": issued["expiration"]})
                else:
                    issued["requests"] += 1
                    issued["last_used"] = now
        if issued is not None and now >= issued["expiration"]:
            return _expired_response(environ, entry, start_response, key)
    _PENDING_CHAINED.value = False
    if entry.get("operation") == "AssumeRole" and entry.get("service") == "sts":
        chained = issued is not None
        message = _duration_error(entry, chained)
        if message is not None:
            return _validation_error(start_response, message)
        _PENDING_CHAINED.value = chained
    return None


def crossrep_endpoint(method: str, path: str, qs_lists: dict[str, list[str]]) -> tuple[str, Any] | None:
    """`/_crossrep/sts/lifetime` and `/_crossrep/sts/credentials` (README "STS credentials")."""
    qs = {k: v[0] for k, v in qs_lists.items() if v}
    account = qs.get("account")
    if path == "/_crossrep/sts/lifetime":
        if method == "POST":
            try:
                seconds = float(qs["seconds"])
                if seconds <= 0:
                    raise ValueError("seconds must be > 0")
            except (KeyError, ValueError) as exc:
                return "400 Bad Request", {"error": f"seconds=N (> 0): {exc}"}
            with _LOCK:
                _LIFETIME[account] = seconds
                return "200 OK", {"lifetime": {k or "*": v for k, v in _LIFETIME.items()}}
        if method == "DELETE":
            with _LOCK:
                if "account" in qs:
                    _LIFETIME.pop(account, None)
                else:
                    _LIFETIME.clear()
                return "200 OK", {"lifetime": {k or "*": v for k, v in _LIFETIME.items()}}
        if method == "GET":
            with _LOCK:
                return "200 OK", {"lifetime": {k or "*": v for k, v in _LIFETIME.items()}}
        return None
    if path == "/_crossrep/sts/credentials" and method == "GET":
        with _LOCK:
            creds = [dict(c) for c in _ISSUED.values() if account is None or c["account"] == account]
            refused = [dict(r) for r in _REFUSED if account is None or r["account"] == account]
        creds.sort(key=lambda c: c["issued"])
        return "200 OK", {"now": time.time(), "credentials": creds, "refused": refused}
    return None
