# Shared by the benchmark scripts (sourced, not run): logging, a temp dir cleaned at exit, and
# the emulator's life cycle. The sourcing script sets REPO, PORT and ENDPOINT first.

log() { printf 'bench: %s\n' "$*" >&2; }

# bench_init NAME: a temp dir in TMP, removed (with the emulator stopped) at exit.
bench_init() {
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/crossrep-bench-$1.XXXXXX")"
  EMU_PID=""
  trap 'stop_emulator; rm -rf "$TMP"' EXIT
  trap 'exit 130' INT TERM
}

# Something (an emulator or anything else) listens on PORT on 127.0.0.1. SO_REUSEADDR, as the
# emulator's own server sets it: the connections of an emulator just stopped linger in
# TIME_WAIT, which is not "busy" (without it the second emulator of a run was refused).
port_busy() {
  python3 -c 'import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(0)
sys.exit(1)' "$PORT"
}

stop_emulator() {
  if [[ -n "${EMU_PID:-}" ]]; then
    kill "$EMU_PID" 2>/dev/null || true
    wait "$EMU_PID" 2>/dev/null || true
    EMU_PID=""
  fi
}

# start_emulator LATENCY_MS LABEL [VAR=VALUE...]: a fresh emulator on PORT (refused if the port
# is taken), the extra variables in its environment, its log in $TMP/emulator-LABEL.log; returns
# once `GET /moto-api/` answers 200 (60 s at most).
start_emulator() {
  local latency="$1" label="$2"
  shift 2
  if port_busy; then
    echo "bench: something already listens on port $PORT; refusing to benchmark against it" >&2
    exit 1
  fi
  env "$@" "$REPO/emulator/run" --port "$PORT" --latency-ms "$latency" >"$TMP/emulator-$label.log" 2>&1 &
  EMU_PID=$!
  for _ in $(seq 300); do
    if ! kill -0 "$EMU_PID" 2>/dev/null; then
      echo "bench: the emulator exited during start-up; its log:" >&2
      tail -n 30 "$TMP/emulator-$label.log" >&2
      EMU_PID=""
      exit 1
    fi
    if [[ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$ENDPOINT/moto-api/")" == "200" ]]; then
      export BENCH_EMU_PID="$EMU_PID"
      log "emulator up on $ENDPOINT (pid $EMU_PID, latency $latency ms${*:+, $*})"
      return 0
    fi
    sleep 0.2
  done
  echo "bench: the emulator did not answer on $ENDPOINT within 60 s; its log:" >&2
  tail -n 30 "$TMP/emulator-$label.log" >&2
  exit 1
}

# The two benchmark accounts, both reached by STS AssumeRole from the test credentials (the
# production path), on the emulator at ENDPOINT.
accounts_toml() {
  cat <<EOF
[accounts.prod]
id = "111111111111"
role_arn = "arn:aws:iam::111111111111:role/bench-admin"
region = "us-east-1"
endpoint_url = "$ENDPOINT"

[accounts.backup]
id = "222222222222"
role_arn = "arn:aws:iam::222222222222:role/bench-admin"
region = "us-east-1"
endpoint_url = "$ENDPOINT"

EOF
}

# crossrep_env: the test credentials in the environment and nothing from the host's AWS setup
# (its config and credentials files, profiles, a session token), for crossrep and the helpers.
crossrep_env() {
  export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
  unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE MOTO_ACCOUNT_ID
  export AWS_CONFIG_FILE="$TMP/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$TMP/no-aws-credentials"
}

# run_timed NAME ARGS...: `crossrep ARGS` (crossrep and its global options in the array CR) run
# by the helper's `timed` command (the function `py`, bench/benchlib.py): the request log reset
# first, its JSON in $TMP/NAME.json, its stdout and stderr in $TMP/NAME.out and .err. Sets
# RUN_RC to its exit status; a non-zero one also shows the tails of its stderr and stdout.
run_timed() {
  local name=$1
  shift
  log "timing: crossrep $*"
  py timed "$name" "$TMP/$name.out" "$TMP/$name.err" "${CR[@]}" "$@" >"$TMP/$name.json"
  RUN_RC=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rc"])' "$TMP/$name.json")
  if [[ "$RUN_RC" != 0 ]]; then
    echo "bench: 'crossrep $*' exited $RUN_RC; stderr tail:" >&2
    tail -n 30 "$TMP/$name.err" >&2
    echo "bench: stdout tail:" >&2
    tail -n 30 "$TMP/$name.out" >&2
  fi
}
