"""CloudWatch for the crossrep emulator (test infrastructure only; see README.md, "CloudWatch").

**Protocol.** Current ``aws-sdk-cloudwatch`` (1.140.0) speaks Smithy RPCv2 CBOR with AWS query
compatibility: ``POST /service/GraniteServiceVersion20100801/operation/<Op>``, headers
``smithy-protocol: rpc-v2-cbor``, ``content-type: application/cbor``, ``x-amzn-query-mode:
true``, body one CBOR map (``src/operation/put_metric_alarm.rs`` of the crate). moto 5.2.1
serves CloudWatch only over the query protocol and awsJson 1.0 (``X-Amz-Target:
GraniteServiceVersion20100801.<Op>``, which botocore uses); a CBOR request reaches no route.
:func:`handle` translates: the CBOR request becomes the awsJson 1.0 request of the same
operation (handed to moto in-process, same account and region), and moto's JSON answer becomes
CBOR, typed by botocore's CloudWatch model (timestamps as tag 1 epoch seconds, doubles as
64-bit floats, integers as integers: the SDK's decoder reads each member with its own type).
Errors are RPCv2 CBOR error bodies ``{"__type": "com.amazonaws.cloudwatch#<Shape>", "message":
...}`` plus ``x-amzn-query-error: <Code>;Sender`` (the query-compatible code the SDK matches on,
``aws_query_compatible_errors.rs``).

**Fixes to moto's CloudWatch** (every protocol), each as the CloudWatch API reference says:

* ``DescribeAlarms``: filters combine (moto applies only the first it finds); ``AlarmTypes``
  absent = metric alarms only ("If you omit this parameter, only metric alarms are returned");
  ``AlarmNames`` with ``AlarmNamePrefix`` -> ``InvalidParameterCombination`` ("If this parameter
  is specified, you cannot specify AlarmNames"); alarms in name order, pages of ``MaxRecords``
  (1..100, default 50) with an opaque ``NextToken`` (moto ignores both), a foreign token ->
  ``InvalidNextToken``.
* ``PutMetricAlarm``: neither ``MetricName`` nor ``Metrics`` -> ``ValidationError`` "MetricName
  must not be null"; both -> ``InvalidParameterCombination``; ``Metrics`` without exactly one
  item with ``ReturnData`` true -> ``ValidationError`` "Exactly one element of the metrics list
  should return data." (alarms without ``ThresholdMetricId``); a new alarm starts in
  ``INSUFFICIENT_DATA`` (moto: ``OK``); ``Tags`` are ignored when the alarm exists ("If you are
  using this operation to update an existing alarm, any tags you specify in this parameter are
  ignored").
* ``ListTagsForResource`` of an alarm that does not exist -> ``ResourceNotFoundException``
  (moto answers an empty list).
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
from typing import Any

PREFIX = "/service/GraniteServiceVersion20100801/operation/"
TARGET_PREFIX = "GraniteServiceVersion20100801."
SHAPE_NAMESPACE = "com.amazonaws.cloudwatch"
_OP_RE = re.compile(r"^/service/GraniteServiceVersion20100801/operation/([A-Za-z0-9]+)$")
DEFAULT_MAX_RECORDS = 50

_MODEL: Any = None


def _model() -> Any:
    global _MODEL
    if _MODEL is None:
        import botocore.session

        _MODEL = botocore.session.get_session().get_service_model("cloudwatch")
    return _MODEL


def is_cbor_request(path: str) -> bool:
    return path.startswith(PREFIX)


# --------------------------------------------------------------------------------------------
# typed conversion, driven by botocore's shapes
# --------------------------------------------------------------------------------------------


def _epoch(value: Any) -> float:
    if isinstance(value, dt.datetime):
        t = value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        return t.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    return dt.datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()


def _to_json(value: Any, shape: Any) -> Any:
    """A decoded CBOR value as awsJson wants it (timestamps epoch seconds, blobs base64)."""
    if value is None or shape is None:
        return value
    t = shape.type_name
    if t == "structure" and isinstance(value, dict):
        return {k: _to_json(v, shape.members.get(k)) for k, v in value.items() if v is not None}
    if t == "list" and isinstance(value, list):
        return [_to_json(v, shape.member) for v in value]
    if t == "map" and isinstance(value, dict):
        return {k: _to_json(v, shape.value) for k, v in value.items()}
    if t == "timestamp":
        return _epoch(value.value if hasattr(value, "tag") else value)
    if t == "blob" and isinstance(value, (bytes, bytearray)):
        return base64.b64encode(bytes(value)).decode()
    return value


def _to_cbor(value: Any, shape: Any) -> Any:
    """moto's JSON value as the SDK's CBOR decoder reads the member's type."""
    import cbor2

    if value is None or shape is None:
        return value
    t = shape.type_name
    if t == "structure":
        return {k: _to_cbor(v, shape.members[k]) for k, v in value.items()
                if v is not None and k in shape.members}
    if t == "list":
        return [_to_cbor(v, shape.member) for v in value]
    if t == "map":
        return {k: _to_cbor(v, shape.value) for k, v in value.items()}
    if t == "timestamp":
        return cbor2.CBORTag(1, _epoch(value))
    if t in ("double", "float"):
        return float(value)
    if t in ("integer", "long", "short", "byte"):
        return int(value)
    if t == "boolean":
        return bool(value)
    if t == "blob":
        return base64.b64decode(value) if isinstance(value, str) else bytes(value)
    return str(value) if not isinstance(value, str) else value


# --------------------------------------------------------------------------------------------
# RPCv2 CBOR responses
# --------------------------------------------------------------------------------------------


def _shape_for_code(code: str) -> str:
    """The error shape whose query-compatible code is ``code`` (``LimitExceeded`` ->
    ``LimitExceededFault``); the code itself when the model has none."""
    for shape_name in _model().shape_names:
        shape = _model().shape_for(shape_name)
        if getattr(shape, "metadata", {}).get("exception") and \
                (shape.metadata.get("error") or {}).get("code", shape_name) == code:
            return shape_name
    return code


def error_body(code: str, message: str) -> bytes:
    import cbor2

    return cbor2.dumps({"__type": f"{SHAPE_NAMESPACE}#{_shape_for_code(code)}", "message": message})


def error_response(start_response: Any, status: int, code: str, message: str,
                   request_id: str = "crossrep-emulator") -> list[bytes]:
    """An RPCv2 CBOR error as aws-sdk-cloudwatch parses it (``__type`` and ``message`` in the
    body; the query-compatible code in ``x-amzn-query-error``)."""
    body = error_body(code, message)
    fault = "Receiver" if status >= 500 else "Sender"
    start_response(f"{status} Error", [
        ("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-query-error", f"{code};{fault}"), ("x-amzn-requestid", request_id),
        ("Content-Length", str(len(body)))])
    return [body]


def _read(environ: dict[str, Any]) -> bytes:
    try:
        length = int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    return environ["wsgi.input"].read(length) if length > 0 else b""


def handle(environ: dict[str, Any], start_response: Any, app: Any) -> Any:
    """Serve one RPCv2 CBOR CloudWatch request through moto's awsJson 1.0 handler."""
    import cbor2

    path = environ.get("PATH_INFO", "")
    m = _OP_RE.match(path)
    if environ.get("REQUEST_METHOD", "").upper() != "POST" or m is None:
        return error_response(start_response, 404, "UnknownOperationException",
                              f"no such operation: {path}")
    operation = m.group(1)
    if (environ.get("HTTP_SMITHY_PROTOCOL") or "") != "rpc-v2-cbor":
        # Smithy RPCv2 CBOR: "Requests ... MUST include the smithy-protocol header".
        return error_response(start_response, 400, "ValidationError",
                              "missing header smithy-protocol: rpc-v2-cbor")
    try:
        op_model = _model().operation_model(operation)
    except Exception:  # noqa: BLE001 - botocore's OperationNotFoundError
        return error_response(start_response, 404, "UnknownOperationException",
                              f"unknown operation {operation}")
    raw = _read(environ)
    try:
        params = cbor2.loads(raw) if raw else {}
    except Exception as exc:  # noqa: BLE001
        return error_response(start_response, 400, "SerializationException", f"bad CBOR: {exc}")
    if not isinstance(params, dict):
        return error_response(start_response, 400, "SerializationException", "body is not a map")
    body = json.dumps(_to_json(params, op_model.input_shape) if op_model.input_shape else {}).encode()

    inner = {k: v for k, v in environ.items() if k not in ("HTTP_SMITHY_PROTOCOL", "HTTP_ACCEPT")}
    inner.update({
        "PATH_INFO": "/", "RAW_URI": "/", "REQUEST_URI": "/", "QUERY_STRING": "",
        "CONTENT_TYPE": "application/x-amz-json-1.0", "CONTENT_LENGTH": str(len(body)),
        "HTTP_X_AMZ_TARGET": TARGET_PREFIX + operation, "wsgi.input": io.BytesIO(body),
    })
    held: dict[str, Any] = {}

    def _capture(status: str, headers: Any, exc_info: Any = None) -> Any:
        held["status"], held["headers"] = int(status.split(" ", 1)[0]), headers
        return lambda _data: None

    result = app(inner, _capture)
    try:
        answer = b"".join(result)
    finally:
        if hasattr(result, "close"):
            result.close()
    status = held.get("status", 500)
    headers = {k.lower(): v for k, v in held.get("headers") or []}
    request_id = headers.get("x-amzn-requestid", "crossrep-emulator")
    if not 200 <= status < 300:
        try:
            err = json.loads(answer or b"{}")
        except ValueError:
            err = {}
        code = (headers.get("x-amzn-query-error") or "").split(";", 1)[0] or \
            str(err.get("__type", "InternalFailure")).rsplit("#", 1)[-1]
        message = err.get("message") or err.get("Message") or ""
        return error_response(start_response, status, code, message, request_id)
    out = b""
    if op_model.output_shape is not None:
        data = json.loads(answer or b"{}")
        out = cbor2.dumps(_to_cbor(data, op_model.output_shape))
    start_response(f"{status} OK", [
        ("Content-Type", "application/cbor"), ("smithy-protocol", "rpc-v2-cbor"),
        ("x-amzn-requestid", request_id), ("Content-Length", str(len(out)))])
    return [out]


# --------------------------------------------------------------------------------------------
# fixes to moto's CloudWatch (all protocols)
# --------------------------------------------------------------------------------------------


def _install_fixes() -> None:
    from moto.cloudwatch import responses as cw_responses
    from moto.cloudwatch.exceptions import (
        InvalidParameterCombination,
        ResourceNotFoundException,
        ValidationError,
    )
    from moto.cloudwatch.models import CloudWatchBackend
    from moto.core.exceptions import ServiceException
    from moto.core.responses import ActionResult

    class InvalidNextToken(ServiceException):
        code = "InvalidNextToken"

    resp_cls = cw_responses.CloudWatchResponse
    if getattr(resp_cls, "_crossrep_fixed", False):
        return

    def describe_alarms(self: Any) -> Any:
        names = self._get_param("AlarmNames", []) or []
        prefix = self._get_param("AlarmNamePrefix")
        if names and prefix:
            raise InvalidParameterCombination(
                "AlarmNamePrefix and AlarmNames cannot be specified together")
        action_prefix = self._get_param("ActionPrefix")
        state = self._get_param("StateValue")
        types = self._get_param("AlarmTypes", []) or ["MetricAlarm"]
        try:
            max_records = int(self._get_param("MaxRecords") or DEFAULT_MAX_RECORDS)
        except (TypeError, ValueError):
            max_records = 0
        if not 1 <= max_records <= 100:
            raise ValidationError("The parameter MaxRecords must be between 1 and 100.")
        token = self._get_param("NextToken")
        after = ""
        if token:
            try:
                after = base64.urlsafe_b64decode(token.encode()).decode()
                if not after.startswith("alarm:"):
                    raise ValueError
                after = after[len("alarm:"):]
            except (ValueError, UnicodeDecodeError):
                raise InvalidNextToken("The service returned an invalid NextToken.")
        alarms = sorted(self.cloudwatch_backend.alarms.values(), key=lambda a: a.name)
        alarms = [a for a in alarms
                  if (not names or a.name in names)
                  and (not prefix or a.name.startswith(prefix))
                  and (not action_prefix or any(x.startswith(action_prefix) for x in a.alarm_actions))
                  and (not state or a.state_value == state)
                  and (("CompositeAlarm" in types) if a.rule is not None else ("MetricAlarm" in types))
                  and a.name > after]
        page, more = alarms[:max_records], len(alarms) > max_records
        result: dict[str, Any] = {
            "MetricAlarms": [a for a in page if a.rule is None],
            "CompositeAlarms": [a for a in page if a.rule is not None],
        }
        if more:
            result["NextToken"] = base64.urlsafe_b64encode(f"alarm:{page[-1].name}".encode()).decode()
        return ActionResult(result)

    orig_put = resp_cls.put_metric_alarm

    def put_metric_alarm(self: Any) -> Any:
        if self._get_param("AlarmRule") is None:  # PutCompositeAlarm shares moto's method
            metric_name = self._get_param("MetricName")
            metrics = self._get_param("Metrics", []) or []
            if not metric_name and not metrics and not self._get_param("EvaluationCriteria"):
                raise ValidationError("MetricName must not be null")
            if metric_name and metrics:
                raise InvalidParameterCombination(
                    "MetricName and Metrics cannot be specified together")
            if metrics and not self._get_param("ThresholdMetricId"):
                returning = [q for q in metrics if str(q.get("ReturnData", False)).lower() == "true"]
                if len(returning) != 1:
                    raise ValidationError("Exactly one element of the metrics list should return data.")
        return orig_put(self)

    resp_cls.describe_alarms = describe_alarms  # type: ignore[method-assign]
    resp_cls.put_metric_alarm = put_metric_alarm  # type: ignore[method-assign]

    orig_backend_put = CloudWatchBackend.put_metric_alarm

    def backend_put_metric_alarm(self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else None)
        existing = self.alarms.get(name)
        if existing is not None:
            kwargs["tags"] = None  # "any tags you specify in this parameter are ignored"
        alarm = orig_backend_put(self, *args, **kwargs)
        if existing is None:
            # "When this operation creates an alarm, the alarm state is immediately set to
            # INSUFFICIENT_DATA."
            alarm.state_value = "INSUFFICIENT_DATA"
            alarm.state_reason = "Unchecked: Initial alarm creation"
        else:
            # "When you update an existing alarm, its state is left unchanged"
            alarm.state_value, alarm.state_reason = existing.state_value, existing.state_reason
        return alarm

    CloudWatchBackend.put_metric_alarm = backend_put_metric_alarm  # type: ignore[method-assign]

    orig_list_tags = CloudWatchBackend.list_tags_for_resource

    def list_tags_for_resource(self: Any, arn: str) -> Any:
        if ":alarm:" in arn and arn not in {a.alarm_arn for a in self.alarms.values()}:
            raise ResourceNotFoundException
        return orig_list_tags(self, arn)

    CloudWatchBackend.list_tags_for_resource = list_tags_for_resource  # type: ignore[method-assign]
    resp_cls._crossrep_fixed = True  # type: ignore[attr-defined]


_install_fixes()
