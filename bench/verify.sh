#!/usr/bin/env bash
# Benchmark (not a test): `crossrep verify` against `rclone check` on the same two buckets, on
# the local emulator with a realistic AWS round trip (40 ms per request). Issue 4, item 4.
#
# Usage: bench/verify.sh [OBJECTS]      objects seeded in one source bucket (default 20000)
# Env:   LATENCIES="40 0"              one full round per value, each on a fresh emulator started
#                                      with --latency-ms <value> (default "40 0")
#        CONCURRENCY=C                 passed as `crossrep --concurrency C` (default 16)
#        SAMPLE_ALL=0                  do not time `crossrep verify --sample all` (default: do)
#        FAST_LIST=0                   do not time `rclone check --fast-list` (default: do)
#        PORT=P                        emulator port (default: a free port; never 5003, which is
#                                      reserved for the other benchmarks; refused if busy)
#        BENCH_JSON=path               also write every raw number as JSON to this file
#
# Each round, on a fresh emulator process (stopped by its own PID at exit): seed OBJECTS objects
# (one version each, 24 B to 4 KiB, 20 "directories") into the versioned bucket `verify-src`
# of 111111111111 with parallel boto3 threads, and create an IAM user with an access key in
# 111111111111 and in 222222222222 (for rclone: moto maps those keys to their account); write a
# crossrep.toml reaching both accounts by STS AssumeRole, `backfill = "batch"`; run
# `crossrep apply --yes` and `crossrep backfill --wait` so that `replica-verify-src` (account
# 222222222222) holds every version (none of that is timed). Then time, each as a whole process
# with the emulator's request log reset first: `crossrep verify --sample 100`, `crossrep verify
# --sample all`, `rclone check src:verify-src dst:replica-verify-src` (sizes + MD5 hashes, the
# default) and the same with `--fast-list`. rclone comes from Debian (`apt-get install rclone`);
# its config is a temporary file (RCLONE_CONFIG) with two `provider = Other` S3 remotes.
# Markdown tables on stdout, progress on stderr. Exit status 0 when every timed command exited 0
# and both tools saw every object.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OBJECTS="${1:-20000}"
LATENCIES="${LATENCIES:-40 0}"
CONC="${CONCURRENCY:-16}"
SAMPLE_ALL="${SAMPLE_ALL:-1}"
FAST_LIST="${FAST_LIST:-1}"
BIN="$REPO/target/release/crossrep"
SRC_BUCKET=verify-src
DST_BUCKET=replica-verify-src

for v in OBJECTS CONC; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
for l in $LATENCIES; do
  [[ "$l" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench: LATENCIES values must be numbers, got '$l'" >&2; exit 2; }
done


if [[ -z "${PORT:-}" ]]; then
  PORT="$(python3 -c 'import socket
for p in range(5013, 5100):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p)); print(p); break
    except OSError:
        pass
    finally:
        s.close()')"
fi
[[ "$PORT" =~ ^[0-9]+$ ]] || { echo "bench: no free port found (set PORT)" >&2; exit 1; }
[[ "$PORT" != 5003 ]] || { echo "bench: port 5003 is reserved for the other benchmarks; pick another PORT" >&2; exit 2; }
ENDPOINT="http://127.0.0.1:${PORT}"

source "$REPO/bench/lib.sh"
bench_init verify



# ---------------------------------------------------------------- python helper
cat >"$TMP/bench.py" <<'PY'
import json, os, subprocess, sys, threading, time, urllib.request

import boto3
from botocore.config import Config

EP = os.environ["BENCH_ENDPOINT"]
SRC, DST = "111111111111", "222222222222"
_CLIENTS = {}


def post(path):
    req = urllib.request.Request(EP + path, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200, (path, r.status)


def get_json(path):
    with urllib.request.urlopen(EP + path, timeout=60) as r:
        return json.load(r)


def client(service, account):
    """One client per (service, account), shared by every thread; the account is chosen by
    the emulator's `x-moto-account-id` header."""
    if (service, account) in _CLIENTS:
        return _CLIENTS[(service, account)]
    s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="us-east-1")
    s.events.register("before-send",
                      lambda request, **kw: request.headers.__setitem__("x-moto-account-id", account))
    _CLIENTS[(service, account)] = s.client(service, endpoint_url=EP, config=Config(
        s3={"addressing_style": "path"}, retries={"max_attempts": 5}, max_pool_connections=64))
    return _CLIENTS[(service, account)]


def parallel(items, threads, fn):
    it = iter(items); lock = threading.Lock(); errs = []

    def worker():
        while not errs:
            with lock:
                item = next(it, None)
            if item is None:
                return
            try:
                fn(item)
            except Exception as e:  # noqa: BLE001
                errs.append(e)
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    if errs:
        raise errs[0]


def seed(n, bucket):
    """Reset; a versioned bucket in SRC with n objects (one version each); an IAM user with an
    access key in each account. Prints the keys as JSON."""
    post("/moto-api/reset")
    t = time.perf_counter()
    s3 = client("s3", SRC)
    s3.create_bucket(Bucket=bucket)
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})

    def put(i):
        s3.put_object(Bucket=bucket, Key=f"data/{i // 1000:03d}/obj-{i:06d}.txt",
                      Body=f"{bucket} object {i:06d}\n".encode() * (1 + (i * 37) % 160))
    parallel(range(n), 32, put)
    keys = {}
    for name, acct in (("src", SRC), ("dst", DST)):
        iam = client("iam", acct)
        iam.create_user(UserName="bench-rclone")
        k = iam.create_access_key(UserName="bench-rclone")["AccessKey"]
        keys[name] = {"access_key_id": k["AccessKeyId"], "secret_access_key": k["SecretAccessKey"]}
    print(f"bench: seeded {n} objects into {bucket} in {time.perf_counter() - t:.1f} s",
          file=sys.stderr)
    print(json.dumps(keys))


TICK = os.sysconf("SC_CLK_TCK")


def emu_cpu():
    with open(f"/proc/{os.environ['BENCH_EMU_PID']}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def timed(name, out, err, cmd):
    """Reset the request log, run cmd (wall clock; CPU and peak RSS of that process from wait4),
    read the request summary; JSON on stdout."""
    post("/_crossrep/requests/reset")
    with open(out, "wb") as fo, open(err, "wb") as fe:
        e0, t = emu_cpu(), time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        el = time.perf_counter() - t
        emu = emu_cpu() - e0
    p.returncode = os.waitstatus_to_exitcode(status)
    s = get_json("/_crossrep/requests/summary")
    errors = {}
    for r in get_json("/_crossrep/requests")["requests"]:
        if r["status"] >= 400:
            k = f'{r["operation"]}:{r["status"]}'
            errors[k] = errors.get(k, 0) + 1
    print(json.dumps({"name": name, "rc": p.returncode, "elapsed_s": el, "total": s["total"],
                      "reads": s["reads"], "writes": s["writes"], "http_errors": errors,
                      "emulator_cpu_s": emu, "cpu_s": ru.ru_utime + ru.ru_stime,
                      "max_rss_kib": ru.ru_maxrss,
                      "by_operation": {k: v["count"] for k, v in sorted(s["by_operation"].items())},
                      "by_account": s["by_account"]}))


def dest_count(bucket):
    n = 0
    for page in client("s3", DST).get_paginator("list_object_versions").paginate(Bucket=bucket):
        n += len(page.get("Versions", []))
    print(n)


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "seed":
        seed(int(sys.argv[2]), sys.argv[3])
    elif cmd == "timed":
        timed(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5:])
    elif cmd == "dest-count":
        dest_count(sys.argv[2])
    else:
        raise SystemExit(f"unknown helper command {cmd}")
PY
export BENCH_ENDPOINT="$ENDPOINT"
py() { python3 "$TMP/bench.py" "$@"; }

# ---------------------------------------------------------------- build, tools
log "building crossrep (release)"
(cd "$REPO" && nice cargo build --release -p crossrep >&2)
[[ -x "$BIN" ]] || { echo "bench: no binary at $BIN after the build" >&2; exit 1; }
python3 -c 'import boto3' 2>/dev/null || { echo "bench: python3 needs boto3" >&2; exit 1; }
command -v rclone >/dev/null || { echo "bench: rclone is missing (Debian: apt-get install -y rclone)" >&2; exit 1; }
RCLONE_VERSION="$(rclone version 2>/dev/null | head -n 1)"

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE MOTO_ACCOUNT_ID
export AWS_CONFIG_FILE="$TMP/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$TMP/no-aws-credentials"
export RCLONE_CONFIG="$TMP/rclone.conf"
mkdir -p "$TMP/work"
{ accounts_toml; cat <<EOF
[[replication]]
from = "prod"
to = "backup"
buckets = ["$SRC_BUCKET"]
destination = "replica-{bucket}"
backfill = "batch"

[settings]
concurrency = $CONC
EOF
} >"$TMP/work/crossrep.toml"
CR=("$BIN" -c "$TMP/work/crossrep.toml" --no-progress --concurrency "$CONC")

fail_tail() { # name
  echo "bench: stderr tail of $1:" >&2; tail -n 30 "$TMP/$1.err" >&2
  echo "bench: stdout tail of $1:" >&2; tail -n 30 "$TMP/$1.out" >&2
}
rc_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rc"])' "$1"; }
timed() { # name, cmd...
  local name=$1; shift
  log "timing: $name"
  py timed "$name" "$TMP/$name.out" "$TMP/$name.err" "$@" >"$TMP/$name.json"
  [[ "$(rc_of "$TMP/$name.json")" == 0 ]] || fail_tail "$name"
}

ROUNDS=()
for lat in $LATENCIES; do
  r="l$lat"; ROUNDS+=("$r")
  log "=== round: --latency-ms $lat"
  start_emulator "$lat" "$lat"
  log "seeding $OBJECTS objects into $SRC_BUCKET, IAM users for rclone (not timed)"
  py seed "$OBJECTS" "$SRC_BUCKET" >"$TMP/$r-keys.json"
  python3 - "$TMP/$r-keys.json" "$ENDPOINT" >"$RCLONE_CONFIG" <<'PY'
import json, sys
keys, ep = json.load(open(sys.argv[1])), sys.argv[2]
for name in ("src", "dst"):
    print(f"""[{name}]
type = s3
provider = Other
access_key_id = {keys[name]['access_key_id']}
secret_access_key = {keys[name]['secret_access_key']}
endpoint = {ep}
region = us-east-1
force_path_style = true
""")
PY
  cd "$TMP/work"
  log "crossrep apply --yes (not timed)"
  "${CR[@]}" apply --yes >"$TMP/$r-apply.out" 2>"$TMP/$r-apply.err" \
    || { fail_tail "$r-apply"; exit 1; }
  log "crossrep backfill --wait (not timed)"
  t0=$(date +%s.%N)
  "${CR[@]}" backfill --wait >"$TMP/$r-backfill.out" 2>"$TMP/$r-backfill.err" \
    || { fail_tail "$r-backfill"; exit 1; }
  log "backfill took $(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.1f}')" "$t0" "$(date +%s.%N)") s"
  py dest-count "$DST_BUCKET" >"$TMP/$r-dest-count"
  log "destination holds $(cat "$TMP/$r-dest-count") versions"

  timed "$r-verify100" "${CR[@]}" verify --sample 100 --format json
  if [[ "$SAMPLE_ALL" == 1 ]]; then
    timed "$r-verifyall" "${CR[@]}" verify --sample all --format json
  fi
  # AWS_CA_BUNDLE (set on some machines) makes rclone 1.60 refuse a plain-http endpoint.
  timed "$r-rclone" env -u AWS_CA_BUNDLE rclone check "src:$SRC_BUCKET" "dst:$DST_BUCKET"
  if [[ "$FAST_LIST" == 1 ]]; then
    timed "$r-rclonefast" env -u AWS_CA_BUNDLE rclone check --fast-list "src:$SRC_BUCKET" "dst:$DST_BUCKET"
  fi
  cd "$REPO"
  stop_emulator
done

# ---------------------------------------------------------------- report
python3 - "$TMP" "$OBJECTS" "$CONC" "$RCLONE_VERSION" "${BENCH_JSON:-}" "${ROUNDS[@]}" <<'PY'
import json, os, re, sys
tmp, n, conc, rver, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rounds = sys.argv[6:]
ok = True
raw = {"objects": n, "concurrency": conc, "rclone": rver, "rounds": {}}


def ld(name):
    p = f"{tmp}/{name}.json"
    return json.load(open(p)) if os.path.exists(p) else None


def find(obj, key):
    """First dict (depth-first) holding `key` in crossrep's JSON output."""
    if isinstance(obj, dict):
        if key in obj:
            return obj
        obj = list(obj.values())
    if isinstance(obj, list):
        for v in obj:
            f = find(v, key)
            if f is not None:
                return f
    return None


def crossrep_out(name):
    try:
        return json.load(open(f"{tmp}/{name}.out"))
    except Exception:  # noqa: BLE001
        return None


def rclone_summary(name):
    lines = open(f"{tmp}/{name}.err", errors="replace").read().splitlines()
    keep = [re.sub(r"^\S+ \S+ ", "", l).strip() for l in lines
            if re.search(r"differences found|matching files|missing on|hashes could not|"
                         r"ERROR|files not found", l)]
    matching = next((int(m.group(1)) for l in lines
                     if (m := re.search(r"(\d+) matching files", l))), None)
    diffs = next((int(m.group(1)) for l in lines
                  if (m := re.search(r"(\d+) differences found", l))), None)
    return keep, matching, diffs


print(f"{n} objects (one version each) in one source bucket, replicated to its destination by "
      f"`backfill`; crossrep --concurrency {conc}; {rver} (default --checkers 8)\n")
print("| latency | command | exit | wall s | requests (by operation) | tool CPU s | tool peak RSS | emulator CPU s | compared |")
print("|---|---|---|---|---|---|---|---|---|")
notes = []
for r in rounds:
    lat = r[1:]
    rows = {k: ld(f"{r}-{k}") for k in ("verify100", "verifyall", "rclone", "rclonefast")}
    dcount = int(open(f"{tmp}/{r}-dest-count").read().strip() or 0)
    checks = {f"destination holds {n} versions before timing": dcount == n}
    rr = {"dest_versions_before": dcount}
    for k, label in (("verify100", "`crossrep verify --sample 100`"),
                     ("verifyall", "`crossrep verify --sample all`"),
                     ("rclone", "`rclone check`"), ("rclonefast", "`rclone check --fast-list`")):
        j = rows[k]
        if j is None:
            continue
        ops = ", ".join(f"{o} {c}" for o, c in sorted(j["by_operation"].items(), key=lambda x: -x[1]))
        if k.startswith("verify"):
            o = crossrep_out(f"{r}-{k}")
            cks = {c["name"]: c for c in (find(o, "checks") or {}).get("checks", [])}
            what = "; ".join(f"{c['name']}: {c['summary']}" for c in cks.values()) or "(no JSON)"
            m = re.match(r"(\d+) source and (\d+) destination versions",
                         cks.get("objects", {}).get("summary", ""))
            checks[f"{label} exit 0"] = j["rc"] == 0
            checks[f"{label}: every check ok"] = bool(cks) and all(c["ok"] for c in cks.values())
            checks[f"{label} compared {n} versions per side"] = bool(m) and m.groups() == (str(n), str(n))
            j["checks"] = list(cks.values())
        else:
            keep, matching, diffs = rclone_summary(f"{r}-{k}")
            what = "; ".join(keep) or "(no summary line)"
            checks[f"{label} exit 0"] = j["rc"] == 0
            checks[f"{label}: {n} matching files, 0 differences"] = matching == n and diffs == 0
            j["summary"] = keep
        print(f"| {lat} ms | {label} | {j['rc']} | **{j['elapsed_s']:.2f}** | {j['total']} ({ops}) | "
              f"{j['cpu_s']:.2f} | {j['max_rss_kib'] / 1024:.0f} MiB | {j['emulator_cpu_s']:.2f} | {what} |")
        rr[k] = j
    v, c = rows["verify100"], rows["rclone"]
    ratio = lambda a, b: f"{a['elapsed_s'] / b['elapsed_s']:.2f}" if a and b else "n/a"
    line = (f"**Latency {lat} ms.** rclone check / crossrep verify --sample 100 = "
            f"**{ratio(c, v)}×**")
    if rows["rclonefast"]:
        line += f"; rclone check --fast-list / verify --sample 100 = {ratio(rows['rclonefast'], v)}×"
    if rows["verifyall"]:
        line += f"; rclone check / verify --sample all = {ratio(c, rows['verifyall'])}×"
    errs = {k: rows[k]["http_errors"] for k in rows if rows[k] and rows[k]["http_errors"]}
    line += f". HTTP ≥ 400 during the timed commands: {json.dumps(errs) if errs else 'none'}."
    notes.append(line + "\n\n" + "\n".join(f"- [{'x' if v_ else ' '}] {k}" for k, v_ in checks.items()))
    ok = ok and all(checks.values())
    rr["checks"] = checks
    raw["rounds"][r] = rr
print()
print("\n\n".join(notes))
if out:
    json.dump(raw, open(out, "w"), indent=1)
sys.exit(0 if ok else 1)
PY
