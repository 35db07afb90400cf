#!/usr/bin/env bash
# Benchmark (not a test): `crossrep apply` vs the seed script, on the local emulator with a
# realistic AWS round trip (40 ms per request).
#
# Usage: bench/apply.sh [N]            N source buckets (default 200), 3 objects each
# Env:   CONCURRENCY=C                 passed as `crossrep --concurrency C` (default 16); the
#                                      emulator-ceiling probe uses C threads too
#        LATENCY_MS=L                  emulator latency (default 40)
#        PORT=P                        emulator port (default 5003, reserved for benchmarks)
#        SKIP_BASELINE=1               do not run the seed-script baseline (ratios show "n/a")
#        CEILING_SECONDS=S             duration of each ceiling probe (default 5)
#        BENCH_JSON=path               also write every raw number as JSON to this file
#        KMS=1                         every second source bucket encrypts with SSE-KMS by default
#                                      (one customer key, Bucket Keys on), its objects too: crossrep
#                                      then creates the replica key and opts those rules in (SPEC §8)
#        ALERTS=0                      `alerts = false` (no metrics, failure events or alarm, SPEC §10):
#                                      what alerts cost, against a run without it
#
# Steps: release build; start the emulator (stopped by its own PID at exit); run the baseline
# (`fix-dest+stub-job+reuse-clients`) which resets and seeds the emulator itself; reset, seed the
# same N buckets for crossrep (not timed); time `apply --yes`, `apply --yes` again (must make
# zero writes) and `plan`, each with the request log reset; probe the emulator's own req/s
# ceiling at the same concurrency, at L ms and at 0 ms; print a Markdown table on stdout.
# Progress goes to stderr. Exit status: 0 when every run succeeded and the no-op apply made zero
# writes; 1 otherwise (the table is still printed).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
N="${1:-200}"
CONC="${CONCURRENCY:-16}"
LAT="${LATENCY_MS:-40}"
PORT="${PORT:-5003}"
CEIL_S="${CEILING_SECONDS:-5}"
ENDPOINT="http://127.0.0.1:${PORT}"
BASELINE_SH="$REPO/../shared/baselines/seed/run_baseline.sh"
BIN="$REPO/target/release/crossrep"

[[ "$N" =~ ^[1-9][0-9]*$ ]] || { echo "bench: N must be a positive integer, got '$N'" >&2; exit 2; }
[[ "$CONC" =~ ^[1-9][0-9]*$ ]] || { echo "bench: CONCURRENCY must be a positive integer" >&2; exit 2; }


source "$REPO/bench/lib.sh"
bench_init apply


# ---------------------------------------------------------------- python helper
# bench/benchlib.py (shared with org.sh): timed runs, the ceiling probe, seeding; here, the seed.
cat >"$TMP/bench.py" <<'PY'
import os, sys, time

from benchlib import SRC, client, main, post, seed_buckets


def seed(n):
    """Reset the emulator and create N source buckets x 3 objects in 111111111111 (no report bucket)."""
    post("/moto-api/reset")
    names = [f"src-bucket-{i:04d}" for i in range(1, n + 1)]
    kms = os.environ.get("KMS") == "1"
    key = client(SRC, "kms").create_key()["KeyMetadata"]["Arn"] if kms else None
    t = time.perf_counter()
    seed_buckets([(SRC, b) for b in names], 16,
                 (lambda _a, b: key if int(b[-4:]) % 2 == 0 else None) if kms else None)
    listed = client(SRC).list_buckets()["Buckets"]
    assert len(listed) == n, f"seeded {n} buckets but ListBuckets shows {len(listed)}"
    print(f"bench: seeded {n} buckets x 3 objects in {time.perf_counter() - t:.1f} s", file=sys.stderr)


main(sys.argv[1:], {"seed": lambda n: seed(int(n))})
PY
export BENCH_ENDPOINT="$ENDPOINT" PYTHONPATH="$REPO/bench${PYTHONPATH:+:$PYTHONPATH}"
py() { python3 "$TMP/bench.py" "$@"; }

# ---------------------------------------------------------------- 1. build
log "building crossrep (release)"
(cd "$REPO" && cargo build --release -p crossrep >&2)
[[ -x "$BIN" ]] || { echo "bench: no binary at $BIN after the build" >&2; exit 1; }

# ---------------------------------------------------------------- 2. emulator
python3 -c 'import boto3' 2>/dev/null || { echo "bench: python3 needs boto3" >&2; exit 1; }
start_emulator "$LAT" "$LAT"

# ---------------------------------------------------------------- 3. baseline
if [[ "${SKIP_BASELINE:-0}" == "1" ]]; then
  log "baseline skipped (SKIP_BASELINE=1)"
  echo '{}' >"$TMP/baseline.json"
else
  [[ -x "$BASELINE_SH" || -f "$BASELINE_SH" ]] || { echo "bench: baseline not found at $BASELINE_SH" >&2; exit 1; }
  log "baseline: run_baseline.sh $N fix-dest+stub-job+reuse-clients (sequential; seeds itself)"
  EMU_ENDPOINT="$ENDPOINT" bash "$BASELINE_SH" "$N" fix-dest+stub-job+reuse-clients --json \
    | tail -n 1 >"$TMP/baseline.json"
  python3 - "$TMP/baseline.json" <<'PY'
import json, sys
b = json.load(open(sys.argv[1]))
if not b.get("completed"):
    raise SystemExit(f"bench: the baseline did not complete: {b.get('error')} {b.get('http_errors')}")
print(f"bench: baseline {b['elapsed_s']:.1f} s, {b['api_calls']} API calls", file=sys.stderr)
PY
fi

# ---------------------------------------------------------------- 4. seed + config
if [[ "${ALERTS:-1}" == "0" ]]; then ALERTS_TOML=false; else ALERTS_TOML=true; fi
log "seeding $N buckets for crossrep (not timed)"
py seed "$N"
mkdir -p "$TMP/work"
{ accounts_toml; cat <<EOF
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = ${ALERTS_TOML:-true}

[settings]
concurrency = 16
EOF
} >"$TMP/work/crossrep.toml"

# ---------------------------------------------------------------- 5. crossrep runs
crossrep_env
CR=("$BIN" -c "$TMP/work/crossrep.toml" --no-progress --concurrency "$CONC")
cd "$TMP/work"
run_timed apply1 apply --yes
run_timed apply2 apply --yes
run_timed plan plan --detailed-exitcode
if [[ "$RUN_RC" == 2 ]]; then
  log "plan exit 2: it still sees changes after two applies (see its stdout above)"
fi
cd "$REPO"

# ---------------------------------------------------------------- 6. emulator ceiling
log "ceiling probe: $CONC threads, ${CEIL_S} s, latency ${LAT} ms"
py ceiling "$CONC" "$CEIL_S" "lat$LAT" >"$TMP/ceil_lat.json"
if [[ "$LAT" != 0 ]]; then
  stop_emulator
  start_emulator 0 0
  log "ceiling probe: $CONC threads, ${CEIL_S} s, latency 0 ms"
  py ceiling "$CONC" "$CEIL_S" "lat0" >"$TMP/ceil_0.json"
else
  cp "$TMP/ceil_lat.json" "$TMP/ceil_0.json"
fi
stop_emulator

# ---------------------------------------------------------------- 7. report
python3 - "$TMP" "$N" "$CONC" "$LAT" "${BENCH_JSON:-}" <<'PY'
import json, os, sys
tmp, n, conc, lat, out = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
ld = lambda f: json.load(open(f"{tmp}/{f}.json"))
b, a1, a2, pl = ld("baseline"), ld("apply1"), ld("apply2"), ld("plan")
c_lat, c_0 = ld("ceil_lat"), ld("ceil_0")
bs = b.get("elapsed_s")
ok = True
def ratio(x, goal):
    if not bs:
        return "n/a"
    r = bs / x
    return f"**{r:.1f}×** ({'meets' if r >= goal else 'MISSES'} ≥ {goal}×)"
fmt = lambda r: f"{r['elapsed_s']:.2f}"
pp = lambda r: f"{r['total'] / n:.2f}"
rps = lambda r: r["total"] / r["elapsed_s"]
lb = lambda r: r["total"] * lat / 1000 / conc
rows = [("", "seconds", "requests (reads / writes)", "requests per pair", "vs baseline (goal)")]
if bs:
    rows.append(("baseline `fix-dest+stub-job+reuse-clients` (sequential)", f"{bs:.2f}",
                 f"{b['api_calls']} API calls ({b['http_requests']} HTTP; CreateJob stubbed)",
                 f"{b['calls_per_source_bucket']:.2f} (its {b['source_buckets_listed']} listed buckets "
                 f"include its report bucket)", "—"))
else:
    rows.append(("baseline", "not run", "", "", ""))
for label, r, goal in (("crossrep first `apply --yes`", a1, 5), ("crossrep no-op `apply --yes`", a2, 10),
                       ("crossrep `plan` (after both applies)", pl, None)):
    rows.append((label + ("" if r["rc"] == 0 else f" — **exit {r['rc']}**"), fmt(r),
                 f"{r['total']} ({r['reads']} / {r['writes']})", pp(r),
                 ratio(r["elapsed_s"], goal) if goal else "—"))
kms_note = ", every second bucket SSE-KMS (KMS=1)" if os.environ.get("KMS") == "1" else ""
if os.environ.get("ALERTS") == "0":
    kms_note += ", `alerts = false` (ALERTS=0)"
print(f"N = {n} source buckets × 3 objects{kms_note}, emulator latency {lat} ms, crossrep --concurrency {conc}\n")
for i, row in enumerate(rows):
    print("| " + " | ".join(row) + " |")
    if i == 0:
        print("|" + "---|" * len(row))
w2 = a2["writes"]
print()
print(f"- writes on no-op apply: **{w2}** (must be 0: {'ok' if w2 == 0 else 'FAILED'})")
print(f"- first apply: PutBucketReplication ×{a1['by_operation'].get('PutBucketReplication', 0)}, "
      f"CreateBucket ×{a1['by_operation'].get('CreateBucket', 0)}; HTTP ≥ 400 answers: "
      + (", ".join(f"{k}×{v}" for k, v in sorted(a1["http_errors"].items())) or "none"))
print(f"- no-op apply HTTP ≥ 400 answers: "
      + (", ".join(f"{k}×{v}" for k, v in sorted(a2["http_errors"].items())) or "none"))
print()
cpu = lambda r, k: f"{r[k]:.2f} s ({r[k] / r['elapsed_s']:.0%})"
print("| achieved req/s | crossrep | emulator ceiling | emulator CPU (share of wall) | crossrep CPU |")
print("|---|---|---|---|---|")
print(f"| first apply | {rps(a1):.0f} | {c_lat['rps']:.0f} at {lat} ms, {c_0['rps']:.0f} at 0 ms "
      f"({conc} threads, signed GetBucketVersioning) | {cpu(a1, 'emulator_cpu_s')} | {cpu(a1, 'crossrep_cpu_s')} |")
print(f"| no-op apply | {rps(a2):.0f} | ″ | {cpu(a2, 'emulator_cpu_s')} | {cpu(a2, 'crossrep_cpu_s')} |")
print(f"| plan | {rps(pl):.0f} | ″ | {cpu(pl, 'emulator_cpu_s')} | {cpu(pl, 'crossrep_cpu_s')} |")
for c, l in ((c_lat, f"{lat} ms"), (c_0, "0 ms")):
    for kind in ("signed", "unsigned"):
        print(f"| ceiling probe, {kind}, {l} | — | {c[kind]['rps']:.0f} | {cpu(c[kind], 'emulator_cpu_s')} | — |")
print()
print(f"- latency floor (requests × {lat} ms / {conc}): first apply {lb(a1):.2f} s, no-op {lb(a2):.2f} s, "
      f"plan {lb(pl):.2f} s; ideal ceiling at {lat} ms = {conc} / {lat/1000:g} s = {conc / (lat / 1000) if lat else float('inf'):.0f} req/s")
for r, name in ((a1, "apply1"), (a2, "apply2"), (pl, "plan")):
    if r["rc"] != 0:
        ok = False
if w2 != 0:
    ok = False
    print(f"\n**FAIL: the no-op apply made {w2} writes**: " +
          ", ".join(f"{k}×{v}" for k, v in a2["by_operation"].items()))
if out:
    json.dump({"n": n, "concurrency": conc, "latency_ms": lat, "baseline": b, "apply1": a1,
               "apply2": a2, "plan": pl, "ceiling_lat": c_lat, "ceiling_0": c_0}, open(out, "w"), indent=1)
sys.exit(0 if ok else 1)
PY
