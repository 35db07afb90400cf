#!/usr/bin/env bash
# Benchmark (not a test): `crossrep backfill --wait` (S3 Batch Replication of existing objects)
# on the local emulator with a realistic AWS round trip (40 ms per request). Issue 3.
#
# Usage: bench/backfill.sh
# Env:   OBJECTS=N        objects seeded in total (default 10000), spread evenly over the buckets
#        BUCKETS=B        source buckets in 111111111111 (default 10); one batch job each
#        TASK_MS="0 5"    one full round per value: the emulator is started with
#                         CROSSREP_EMULATOR_TASK_MS=<value> (ms slept before every task, to model
#                         per-task latency); default "0 5"
#        LATENCY_MS=L     emulator latency per AWS request (default 40)
#        CONCURRENCY=C    passed as `crossrep --concurrency C` (default 16)
#        PORT=P           emulator port (default 5003, reserved for benchmarks; refused if busy)
#        BENCH_JSON=path  also write every raw number as JSON to this file
#
# Each round, on a fresh emulator process: seed B versioned buckets with N objects (parallel
# boto3, not timed); write a crossrep.toml with `backfill = "batch"`; `crossrep apply --yes`
# (timed separately); time `crossrep backfill --wait` from start to exit, with the request log
# reset first and the emulator's job list watched every 50 ms to see when the last job became
# Complete; `crossrep status --format json` for the per-pair job counters; check every source
# version (ListObjectVersions on both sides, all of them) is in its destination with the same
# version id and ETag, plus HeadObject replication status on a sample; then a second
# `crossrep backfill` must print "nothing to do" for every bucket and send no CreateJob.
# Markdown tables on stdout, progress on stderr. Exit status 0 when every check passed.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OBJECTS="${OBJECTS:-10000}"
BUCKETS="${BUCKETS:-10}"
TASK_MS="${TASK_MS:-0 5}"
LAT="${LATENCY_MS:-40}"
CONC="${CONCURRENCY:-16}"
PORT="${PORT:-5003}"
ENDPOINT="http://127.0.0.1:${PORT}"
BIN="$REPO/target/release/crossrep"

for v in OBJECTS BUCKETS CONC; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
for t in $TASK_MS; do
  [[ "$t" =~ ^[0-9]+(\.[0-9]+)?$ ]] || { echo "bench: TASK_MS values must be numbers, got '$t'" >&2; exit 2; }
done


source "$REPO/bench/lib.sh"
bench_init backfill


# ---------------------------------------------------------------- python helper
cat >"$TMP/bench.py" <<'PY'
import json, os, random, resource, subprocess, sys, threading, time, urllib.request

import boto3
from botocore.config import Config

EP = os.environ["BENCH_ENDPOINT"]
SRC, DST = "111111111111", "222222222222"


def post(path):
    req = urllib.request.Request(EP + path, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200, (path, r.status)


def get_json(path):
    with urllib.request.urlopen(EP + path, timeout=30) as r:
        return json.load(r)


_CLIENTS = {}


def client(account):
    """One client per account, shared by every thread (botocore clients are thread-safe;
    creating a Session per thread costs ~1 s of CPU each under the GIL)."""
    if account in _CLIENTS:
        return _CLIENTS[account]
    s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="us-east-1")
    s.events.register("before-send",
                      lambda request, **kw: request.headers.__setitem__("x-moto-account-id", account))
    _CLIENTS[account] = s.client("s3", endpoint_url=EP, config=Config(
        s3={"addressing_style": "path"}, retries={"max_attempts": 5}, max_pool_connections=64))
    return _CLIENTS[account]


def parallel(items, threads, fn):
    """fn(thread_state, item) over items in `threads` threads; re-raises the first error."""
    it = iter(items); lock = threading.Lock(); errs = []; out = []

    def worker():
        st = {}
        while not errs:
            with lock:
                item = next(it, None)
            if item is None:
                return
            try:
                r = fn(st, item)
                with lock:
                    out.append(r)
            except Exception as e:  # noqa: BLE001
                errs.append(e)
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    if errs:
        raise errs[0]
    return out


def bucket_names(b):
    return [f"src-bucket-{i:03d}" for i in range(1, b + 1)]


def seed(n, b):
    """Reset the emulator; B versioned source buckets in 111111111111; N objects round-robin."""
    post("/moto-api/reset")
    names = bucket_names(b)
    t = time.perf_counter()
    client(SRC); client(DST)

    def mk(st, name):
        s3 = client(SRC)
        s3.create_bucket(Bucket=name)
        s3.put_bucket_versioning(Bucket=name, VersioningConfiguration={"Status": "Enabled"})
    parallel(names, 16, mk)

    def put(st, i):
        s3 = client(SRC)
        bucket = names[i % b]
        s3.put_object(Bucket=bucket, Key=f"data/{i // 1000:03d}/obj-{i:06d}.txt",
                      Body=f"{bucket} object {i}\n".encode() * (1 + i % 4))
    parallel(range(n), 32, put)
    print(f"bench: seeded {b} buckets, {n} objects in {time.perf_counter() - t:.1f} s", file=sys.stderr)


TICK = os.sysconf("SC_CLK_TCK")


def emu_cpu():
    with open(f"/proc/{os.environ['BENCH_EMU_PID']}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def timed(name, out, err, expect_jobs, cmd):
    """Reset the request log, run cmd (wall clock) while watching the emulator's job list
    (GET /_crossrep/batch-jobs, not logged, no latency) every 50 ms; JSON on stdout."""
    post("/_crossrep/requests/reset")
    before = {j["job_id"] for j in get_json("/_crossrep/batch-jobs")["jobs"]}
    marks = {}
    with open(out, "wb") as fo, open(err, "wb") as fe:
        e0, c0, t = emu_cpu(), child_cpu(), time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        while p.poll() is None:
            if expect_jobs:
                jobs = [j for j in get_json("/_crossrep/batch-jobs")["jobs"] if j["job_id"] not in before]
                now = time.perf_counter() - t
                if len(jobs) >= expect_jobs:
                    marks.setdefault("all_created_s", now)
                    if all(j["status"] in ("Complete", "Failed", "Cancelled") for j in jobs):
                        marks.setdefault("all_terminal_s", now)
            time.sleep(0.05)
        el = time.perf_counter() - t
        emu, own = emu_cpu() - e0, child_cpu() - c0
    s = get_json("/_crossrep/requests/summary")
    errors = {}
    for r in get_json("/_crossrep/requests")["requests"]:
        if r["status"] >= 400:
            k = f'{r["operation"]}:{r["status"]}'
            errors[k] = errors.get(k, 0) + 1
    print(json.dumps({"name": name, "rc": p.returncode, "elapsed_s": el, "total": s["total"],
                      "reads": s["reads"], "writes": s["writes"], "http_errors": errors,
                      "emulator_cpu_s": emu, "crossrep_cpu_s": own, **marks,
                      "by_operation": {k: v["count"] for k, v in sorted(s["by_operation"].items())},
                      "by_account": s["by_account"]}))


def versions(s3, bucket):
    out = {}
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for v in page.get("Versions", []):
            out[(v["Key"], v["VersionId"])] = v["ETag"]
        for v in page.get("DeleteMarkers", []):
            out[(v["Key"], v["VersionId"])] = "delete-marker"
    return out


def verify(status_json, n, b, sample):
    """Every source version in its destination with the same version id and ETag (all of
    them, via ListObjectVersions on both sides), plus HeadObject replication status on
    `sample` versions per bucket. JSON on stdout."""
    rows = json.load(open(status_json))
    client(SRC); client(DST)
    res = {"pairs": len(rows), "source_versions": 0, "missing": 0, "etag_mismatch": 0,
           "extra_in_destination": 0, "null_version_ids": 0, "head_checked": 0,
           "head_bad": 0, "problems": []}

    def one(st, row):
        src, dst = client(SRC), client(DST)
        sb, db = row["source"]["bucket"], row["destination"]["bucket"]
        sv, dv = versions(src, sb), versions(dst, db)
        missing = [k for k in sv if k not in dv]
        etag = [k for k in sv if k in dv and dv[k] != sv[k]]
        extra = [k for k in dv if k not in sv]
        heads = []
        for key, vid in random.Random(sb).sample(sorted(sv), min(sample, len(sv))):
            hs = src.head_object(Bucket=sb, Key=key, VersionId=vid).get("ReplicationStatus")
            hd = dst.head_object(Bucket=db, Key=key, VersionId=vid).get("ReplicationStatus")
            heads.append((key, vid, hs, hd))
        return sb, db, sv, missing, etag, extra, heads
    for sb, db, sv, missing, etag, extra, heads in parallel(rows, 8, one):
        res["source_versions"] += len(sv)
        res["missing"] += len(missing); res["etag_mismatch"] += len(etag)
        res["extra_in_destination"] += len(extra)
        res["null_version_ids"] += sum(1 for _, vid in sv if vid in (None, "", "null"))
        res["head_checked"] += len(heads)
        bad = [h for h in heads if (h[2], h[3]) != ("COMPLETED", "REPLICA")]
        res["head_bad"] += len(bad)
        for what, ks in (("missing", missing), ("etag", etag), ("extra", extra), ("head", bad)):
            if ks:
                res["problems"].append(f"{sb} -> {db}: {len(ks)} {what}, e.g. {ks[0]}")
    res["ok"] = (res["pairs"] == b and res["source_versions"] == n and res["missing"] == 0
                 and res["etag_mismatch"] == 0 and res["extra_in_destination"] == 0
                 and res["null_version_ids"] == 0 and res["head_bad"] == 0)
    print(json.dumps(res))


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "seed":
        seed(int(sys.argv[2]), int(sys.argv[3]))
    elif cmd == "timed":
        timed(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), sys.argv[6:])
    elif cmd == "verify":
        verify(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]))
    else:
        raise SystemExit(f"unknown helper command {cmd}")
PY
export BENCH_ENDPOINT="$ENDPOINT"
py() { python3 "$TMP/bench.py" "$@"; }

# ---------------------------------------------------------------- build
log "building crossrep (release)"
(cd "$REPO" && nice cargo build --release -p crossrep >&2)
[[ -x "$BIN" ]] || { echo "bench: no binary at $BIN after the build" >&2; exit 1; }
python3 -c 'import boto3' 2>/dev/null || { echo "bench: python3 needs boto3" >&2; exit 1; }

export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_SESSION_TOKEN AWS_PROFILE AWS_DEFAULT_PROFILE MOTO_ACCOUNT_ID
export AWS_CONFIG_FILE="$TMP/no-aws-config" AWS_SHARED_CREDENTIALS_FILE="$TMP/no-aws-credentials"
mkdir -p "$TMP/work"
{ accounts_toml; cat <<EOF
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "batch"

[settings]
concurrency = 16
EOF
} >"$TMP/work/crossrep.toml"
CR=("$BIN" -c "$TMP/work/crossrep.toml" --no-progress --concurrency "$CONC")

fail_tail() { # name
  echo "bench: stderr tail of $1:" >&2; tail -n 30 "$TMP/$1.err" >&2
  echo "bench: stdout tail of $1:" >&2; tail -n 30 "$TMP/$1.out" >&2
}
rc_of() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rc"])' "$1"; }

ROUNDS=()
for tm in $TASK_MS; do
  r="t$tm"; ROUNDS+=("$r")
  log "=== round: CROSSREP_EMULATOR_TASK_MS=$tm"
  start_emulator "$LAT" "$tm" CROSSREP_EMULATOR_TASK_MS="$tm"
  log "seeding $BUCKETS buckets, $OBJECTS objects (not timed)"
  py seed "$OBJECTS" "$BUCKETS"
  cd "$TMP/work"

  log "crossrep apply --yes (timed separately)"
  py timed "$r-apply" "$TMP/$r-apply.out" "$TMP/$r-apply.err" 0 "${CR[@]}" apply --yes >"$TMP/$r-apply.json"
  [[ "$(rc_of "$TMP/$r-apply.json")" == 0 ]] || { fail_tail "$r-apply"; exit 1; }

  log "timing: crossrep backfill --wait"
  py timed "$r-backfill" "$TMP/$r-backfill.out" "$TMP/$r-backfill.err" "$BUCKETS" \
    "${CR[@]}" backfill --wait >"$TMP/$r-backfill.json"
  [[ "$(rc_of "$TMP/$r-backfill.json")" == 0 ]] || fail_tail "$r-backfill"

  log "crossrep status --format json"
  "${CR[@]}" status --format json >"$TMP/$r-status.json" 2>"$TMP/$r-status.err" \
    || { echo "bench: status failed" >&2; tail -n 30 "$TMP/$r-status.err" >&2; exit 1; }

  log "verifying every version (ListObjectVersions on both sides) + HeadObject sample"
  py verify "$TMP/$r-status.json" "$OBJECTS" "$BUCKETS" 10 >"$TMP/$r-verify.json"

  log "second crossrep backfill (must create no job)"
  py timed "$r-again" "$TMP/$r-again.out" "$TMP/$r-again.err" 0 "${CR[@]}" backfill >"$TMP/$r-again.json"
  [[ "$(rc_of "$TMP/$r-again.json")" == 0 ]] || fail_tail "$r-again"
  grep -c "nothing to do" "$TMP/$r-again.out" >"$TMP/$r-again.nothing" || true
  cp "$TMP/$r-backfill.out" "$TMP/$r-backfill.stdout.txt"
  cd "$REPO"
  stop_emulator
done

# ---------------------------------------------------------------- report
python3 - "$TMP" "$OBJECTS" "$BUCKETS" "$LAT" "$CONC" "${BENCH_JSON:-}" "${ROUNDS[@]}" <<'PY'
import json, sys
from datetime import datetime
tmp, n, b, lat, conc, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6]
rounds = sys.argv[7:]
ld = lambda f: json.load(open(f"{tmp}/{f}.json"))
ok = True
raw = {"objects": n, "buckets": b, "latency_ms": lat, "concurrency": conc, "rounds": {}}
ts = lambda s: datetime.fromisoformat(s.replace("Z", "+00:00")) if s else None
print(f"{n} objects in {b} source buckets (one version each), emulator latency {lat} ms, "
      f"crossrep --concurrency {conc}\n")
print("| emulator task delay | `backfill --wait` s | tasks total / succeeded / failed | objects/s | "
      "last job Complete at (s) | jobs' span, created → finished (s) | requests (reads / writes) | "
      "CreateJob / DescribeJob / ListJobs | crossrep CPU | emulator CPU |")
print("|---|---|---|---|---|---|---|---|---|---|")
notes = []
for r in rounds:
    ap, bf, st, vf, ag = ld(f"{r}-apply"), ld(f"{r}-backfill"), ld(f"{r}-status"), ld(f"{r}-verify"), ld(f"{r}-again")
    nothing = int(open(f"{tmp}/{r}-again.nothing").read().strip() or 0)
    jobs = [row["job"] for row in st if row.get("job")]
    tot = sum(j["total"] for j in jobs); suc = sum(j["succeeded"] for j in jobs); fl = sum(j["failed"] for j in jobs)
    statuses = sorted({j["status"] for j in jobs})
    created = [ts(j.get("created")) for j in jobs]; finished = [ts(j.get("finished")) for j in jobs]
    span = ((max(finished) - min(created)).total_seconds()
            if jobs and all(created) and all(finished) else None)
    el = bf["elapsed_s"]; op = bf["by_operation"]
    cpu = lambda k: f"{bf[k]:.2f} s ({bf[k] / el:.0%})"
    print(f"| {r[1:]} ms | {el:.2f} | {tot} / {suc} / {fl} | **{suc / el:.0f}** | "
          f"{bf.get('all_terminal_s', float('nan')):.2f} | {span if span is None else f'{span:.2f}'} | "
          f"{bf['total']} ({bf['reads']} / {bf['writes']}) | {op.get('CreateJob', 0)} / "
          f"{op.get('DescribeJob', 0)} / {op.get('ListJobs', 0)} | {cpu('crossrep_cpu_s')} | {cpu('emulator_cpu_s')} |")
    again_cj = ag["by_operation"].get("CreateJob", 0)
    checks = {
        "apply exit 0": ap["rc"] == 0,
        "backfill --wait exit 0": bf["rc"] == 0,
        f"{b} pairs, each with a job, all Complete": len(jobs) == b and statuses == ["Complete"],
        f"tasks = objects ({n}), 0 failed": tot == n and suc == n and fl == 0,
        "CreateJob during backfill = buckets": op.get("CreateJob", 0) == b,
        "every source version in its destination, same version id and ETag": vf["ok"],
        "second backfill exit 0": ag["rc"] == 0,
        f"second backfill: 'nothing to do' × {b}": nothing == b,
        "second backfill: no CreateJob": again_cj == 0,
    }
    ok = ok and all(checks.values())
    ops = ", ".join(f"{k}×{v}" for k, v in op.items())
    errs = ", ".join(f"{k}×{v}" for k, v in sorted(bf["http_errors"].items())) or "none"
    notes.append(
        f"**Task delay {r[1:]} ms.** apply --yes {ap['elapsed_s']:.2f} s ({ap['total']} requests, "
        f"{ap['writes']} writes). backfill --wait: all {b} jobs created by "
        f"{bf.get('all_created_s', float('nan')):.2f} s, last Complete by {bf.get('all_terminal_s', float('nan')):.2f} s (watched every 50 ms), exit at {el:.2f} s. "
        f"Requests: {ops}; HTTP ≥ 400: {errs}. "
        f"Verified {vf['source_versions']} source versions in {vf['pairs']} pairs: {vf['missing']} missing, "
        f"{vf['etag_mismatch']} ETag mismatches, {vf['extra_in_destination']} extra, "
        f"{vf['null_version_ids']} null version ids; HeadObject sample {vf['head_checked']} "
        f"(COMPLETED/REPLICA), {vf['head_bad']} bad. Second `backfill`: {ag['elapsed_s']:.2f} s, "
        f"'nothing to do' × {nothing}, CreateJob × {again_cj}, {ag['total']} requests "
        f"({ag['writes']} writes).\n\n" + "\n".join(f"- [{'x' if v else ' '}] {k}" for k, v in checks.items())
        + ("" if not vf["problems"] else "\n\nProblems: " + "; ".join(vf["problems"][:5])))
    raw["rounds"][r] = {"apply": ap, "backfill": bf, "status": st, "verify": vf, "again": ag,
                        "again_nothing_to_do": nothing, "jobs_span_s": span, "checks": checks}
print()
print("\n\n".join(notes))
if out:
    json.dump(raw, open(out, "w"), indent=1)
sys.exit(0 if ok else 1)
PY
