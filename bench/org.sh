#!/usr/bin/env bash
# Benchmark (not a test): crossrep on an AWS Organization of A member accounts × B source buckets
# each (issue 12, SPEC §11), on the local emulator with a realistic AWS round trip (40 ms per
# request), against the issue's goals; and the same A × B pairs in one source account, to show
# what the account fan-out costs.
#
# Usage: bench/org.sh [A [B]]          A member accounts (default 100) × B source buckets each
#                                      (default 100), 3 small objects per bucket
# Env:   ACCOUNTS=A BUCKETS=B          the same, when not given as arguments
#        CONCURRENCY=C                 passed as `crossrep --concurrency C` (default 16); the
#                                      emulator-ceiling probe uses C threads too
#        LATENCY_MS=L                  emulator latency (default 40)
#        PORT=P                        emulator port (default 5003, reserved for benchmarks)
#        LAYOUTS="org one"             which layouts to run, in order (default both): `org`, the
#                                      organization; `one`, all A × B buckets in one account
#        SEED_THREADS=T                threads seeding the buckets (default 32; not timed)
#        CEILING_SECONDS=S             duration of each ceiling probe (default 5)
#        BENCH_JSON=path               also write every raw number as JSON to this file
#        KEEP_DIR=dir                  also keep each run's stdout and stderr (the human plans)
#                                      and each layout's crossrep.toml in this directory
#
# Layouts. `org`: 111111111111 creates the organization and is the listing account (`[organization]
# account`); A members 330000000001… and the destination 222222222222 join it (the emulator's
# invite knob); each member holds B buckets src-AAA-BBBB and is reached by assuming
# OrganizationAccountAccessRole from the listing account's credentials; `[[replication]] from =
# "organization"`. `one`: the same bucket names, all in 111111111111, `from = "prod"`. Both: to
# 222222222222, every bucket, `kms` and `alerts` at their defaults (auto, on), `backfill = "none"`;
# the listing and destination accounts are reached by STS AssumeRole (the production path).
#
# Steps, per layout: start a fresh emulator (stopped by its own PID at exit); seed it (not timed;
# its time on stderr and in the table); time `plan` (before any apply: its human stdout is the
# plan people read at scale), `apply --yes` and `apply --yes` again (a no-op: must make zero
# writes), each with the request log reset first, recording wall time, requests, CPU time and
# crossrep's peak RSS; probe the emulator's ceiling (signed and unsigned GetBucketVersioning)
# at C threads and L ms. Then a release build comes first, and a Markdown report on stdout last:
# the runs, the goals of issue 12 with meets / MISSES, and the no-op apply's reads by operation
# per pair and per account. Progress goes to stderr.
# Exit status: 0 when every run succeeded and every no-op apply made zero writes; 1 otherwise
# (the report is still printed). A missed performance goal does not fail the script.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
A="${1:-${ACCOUNTS:-100}}"
B="${2:-${BUCKETS:-100}}"
CONC="${CONCURRENCY:-16}"
LAT="${LATENCY_MS:-40}"
PORT="${PORT:-5003}"
CEIL_S="${CEILING_SECONDS:-5}"
SEED_THREADS="${SEED_THREADS:-32}"
LAYOUTS="${LAYOUTS:-org one}"
ENDPOINT="http://127.0.0.1:${PORT}"
BIN="$REPO/target/release/crossrep"

for v in A B CONC SEED_THREADS; do
  [[ "${!v}" =~ ^[1-9][0-9]*$ ]] || { echo "bench: $v must be a positive integer, got '${!v}'" >&2; exit 2; }
done
(( A <= 999 && B <= 9999 )) || { echo "bench: at most 999 accounts and 9999 buckets each" >&2; exit 2; }
for l in $LAYOUTS; do
  [[ "$l" == org || "$l" == one ]] || { echo "bench: LAYOUTS takes org and one, got '$l'" >&2; exit 2; }
done

source "$REPO/bench/lib.sh"
bench_init org

# ---------------------------------------------------------------- python helper
# bench/benchlib.py (shared with apply.sh): timed runs, the ceiling probe, seeding; here, the
# organization's seed.
cat >"$TMP/bench.py" <<'PY'
import json, sys, time, urllib.request

from benchlib import EP, SRC, client, get_json, main, parallel, post, seed_buckets, thread_client

DST = "222222222222"


def member(i):
    return f"33{i:010d}"


def seed(layout, a, b, threads):
    """`org`: an organization managed by SRC, with a members and DST; b buckets x 3 objects in
    each member. `one`: the same buckets, all in SRC. JSON on stdout."""
    a, b, threads = int(a), int(b), int(threads)
    post("/moto-api/reset")
    t = time.perf_counter()
    owners = [member(i) if layout == "org" else SRC for i in range(1, a + 1)]
    if layout == "org":
        client(SRC, "organizations").create_organization(FeatureSet="ALL")
        for i, acct in enumerate(owners, 1):
            post(f"/_crossrep/organizations/invite?management={SRC}&account_id={acct}&name=member-{i:03d}")
        post(f"/_crossrep/organizations/invite?management={SRC}&account_id={DST}&name=backup")
    else:
        # One account holding every source and its report bucket: past the default quota of
        # 10,000 buckets at 100 x 100, as on AWS, where it would need an increase (preflight,
        # SPEC §12, refuses the plan otherwise). The emulator's knob applies one.
        req = urllib.request.Request(
            EP + "/_crossrep/s3/bucket-quota", method="POST",
            data=json.dumps({"account": SRC, "quota": max(10_000, a * b + 100)}).encode(),
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200, r.status
    seed_buckets([(o, f"src-{i:03d}-{j:04d}") for i, o in enumerate(owners, 1) for j in range(1, b + 1)],
                 threads)
    counts = {}

    def count(st, acct):
        # Paginated: with a quota above 10,000 applied, S3 refuses an unpaginated ListBuckets.
        pages = thread_client(st, acct).get_paginator("list_buckets").paginate(
            PaginationConfig={"PageSize": 1000})
        counts[acct] = sum(len(p["Buckets"]) for p in pages)
    parallel(sorted(set(owners)), threads, count)
    want = {o: b * owners.count(o) for o in owners}
    assert counts == want, f"ListBuckets per account: {counts}, expected {want}"
    if layout == "org":
        listed = [x for p in client(SRC, "organizations").get_paginator("list_accounts").paginate()
                  for x in p["Accounts"]]
        assert len(listed) == a + 2, f"the organization lists {len(listed)} accounts, expected {a + 2}"
    el = time.perf_counter() - t
    reqs = get_json("/_crossrep/requests/summary")["total"]
    print(f"bench: seeded {layout}: {a * b} buckets x 3 objects in {len(counts)} account(s) in "
          f"{el:.1f} s ({reqs} requests, {reqs / el:.0f} req/s, {threads} threads)", file=sys.stderr)
    print(json.dumps({"layout": layout, "elapsed_s": el, "requests": reqs, "threads": threads}))


main(sys.argv[1:], {"seed": seed})
PY
export BENCH_ENDPOINT="$ENDPOINT" PYTHONPATH="$REPO/bench${PYTHONPATH:+:$PYTHONPATH}"
py() { python3 "$TMP/bench.py" "$@"; }

# ---------------------------------------------------------------- 1. build
log "building crossrep (release)"
(cd "$REPO" && cargo build --release -p crossrep >&2)
[[ -x "$BIN" ]] || { echo "bench: no binary at $BIN after the build" >&2; exit 1; }
python3 -c 'import boto3' 2>/dev/null || { echo "bench: python3 needs boto3" >&2; exit 1; }
crossrep_env

# ---------------------------------------------------------------- 2. per layout
# config LAYOUT: crossrep.toml of that layout on stdout.
config() {
  accounts_toml
  if [[ "$1" == org ]]; then
    printf '[organization]\naccount = "prod"\nrole_name = "OrganizationAccountAccessRole"\n\n'
    printf '[[replication]]\nfrom = "organization"\n'
  else
    printf '[[replication]]\nfrom = "prod"\n'
  fi
  cat <<EOF
to = "backup"
buckets = ["*"]
kms = "auto"
alerts = true
backfill = "none"
EOF
}

for layout in $LAYOUTS; do
  log "layout $layout: $A × $B buckets"
  start_emulator "$LAT" "$layout-$LAT"
  py seed "$layout" "$A" "$B" "$SEED_THREADS" >"$TMP/$layout-seed.json"
  mkdir -p "$TMP/$layout"
  config "$layout" >"$TMP/$layout/crossrep.toml"
  CR=("$BIN" -c "$TMP/$layout/crossrep.toml" --no-progress --concurrency "$CONC")
  (
    cd "$TMP/$layout"
    run_timed "$layout-plan" plan
    run_timed "$layout-apply1" apply --yes
    run_timed "$layout-apply2" apply --yes
  )
  log "ceiling probe: $CONC threads, ${CEIL_S} s, latency ${LAT} ms"
  py ceiling "$CONC" "$CEIL_S" "$layout-lat$LAT" >"$TMP/$layout-ceiling.json"
  stop_emulator
  if [[ -n "${KEEP_DIR:-}" ]]; then
    mkdir -p "$KEEP_DIR"
    cp "$TMP/$layout/crossrep.toml" "$KEEP_DIR/$layout.crossrep.toml"
    for run in plan apply1 apply2; do
      cp "$TMP/$layout-$run.out" "$KEEP_DIR/$layout-$run.stdout"
      cp "$TMP/$layout-$run.err" "$KEEP_DIR/$layout-$run.stderr"
    done
  fi
done

# ---------------------------------------------------------------- 3. report
python3 - "$TMP" "$A" "$B" "$CONC" "$LAT" "${BENCH_JSON:-}" $LAYOUTS <<'PY'
import json, sys
tmp, a, b, conc, lat, out = sys.argv[1], *map(int, sys.argv[2:6]), sys.argv[6]
layouts = sys.argv[7:]
pairs = a * b
MGMT, DST = "111111111111", "222222222222"
ld = lambda f: json.load(open(f"{tmp}/{f}.json"))
R = {l: {k: ld(f"{l}-{k}") for k in ("seed", "plan", "apply1", "apply2", "ceiling")} for l in layouts}
NAME = {"org": f"organization ({a} accounts)", "one": "one account"}
RUNS = (("plan", "`plan` (before apply)"), ("apply1", "`apply --yes`"), ("apply2", "no-op `apply --yes`"))
mb = lambda kib: kib / 1024
verdict = lambda ok: "meets" if ok else "**MISSES**"

print(f"{a} accounts × {b} buckets = {pairs} pairs, 3 objects each; emulator latency {lat} ms; "
      f"crossrep --concurrency {conc}; `kms` auto, `alerts` on, `backfill = \"none\"`\n")
print("| layout | run | seconds | requests (reads / writes) | per pair | req/s | emulator CPU | "
      "crossrep CPU | peak RSS | exit |")
print("|---|---|---|---|---|---|---|---|---|---|")
for l in layouts:
    s = R[l]["seed"]
    print(f"| {NAME[l]} | seeding (not timed) | {s['elapsed_s']:.1f} | {s['requests']} | — | "
          f"{s['requests'] / s['elapsed_s']:.0f} | — | — | — | — |")
    for k, label in RUNS:
        r = R[l][k]
        el = r["elapsed_s"]
        print(f"| {NAME[l]} | {label} | {el:.2f} | {r['total']} ({r['reads']} / {r['writes']}) | "
              f"{r['total'] / pairs:.2f} | {r['total'] / el:.0f} | {r['emulator_cpu_s'] / el:.0%} | "
              f"{r['crossrep_cpu_s']:.2f} s | {mb(r['max_rss_kib']):.0f} MB | {r['rc']} |")
    c = R[l]["ceiling"]
    print(f"| {NAME[l]} | ceiling probe ({conc} threads) | {c['elapsed_s']:.1f} | "
          f"{c['requests']} signed GetBucketVersioning | — | {c['rps']:.0f} "
          f"(unsigned {c['unsigned']['rps']:.0f}) | {c['emulator_cpu_s'] / c['elapsed_s']:.0%} | — | — | — |")

print("\n**Goals** (issue 12, at 10,000 pairs)\n")
print("| goal | " + " | ".join(NAME[l] for l in layouts) + " |")
print("|---|" + "---|" * len(layouts))
goals = []
def ceiling_goal(r, c):
    ideal = r["total"] / c["rps"]
    x = r["elapsed_s"] / ideal
    return (f"{r['elapsed_s']:.1f} s vs {r['total']} ÷ {c['rps']:.0f} req/s = {ideal:.1f} s: "
            f"**{x:.2f}×** {verdict(x <= 1.5)}")
def reads_goal(r):
    x = r["reads"] / pairs
    return f"{r['writes']} writes {verdict(r['writes'] == 0)}; **{x:.2f}** reads per pair {verdict(x <= 8)}"
def rss_goal(l):
    m = max(mb(R[l][k]["max_rss_kib"]) for k, _ in RUNS)
    return f"{m:.0f} MB {verdict(m < 500)}"
def plan_goal(r):
    n = r["stdout_bytes"]
    return f"{n:,} bytes ({n / 2**20:.2f} MiB) {verdict(n < 2**20)}"
rows = (("apply within 1.5× of requests ÷ ceiling", lambda l: ceiling_goal(R[l]["apply1"], R[l]["ceiling"])),
        ("no-op apply within 1.5× of requests ÷ ceiling (not a goal)",
         lambda l: ceiling_goal(R[l]["apply2"], R[l]["ceiling"])),
        ("no-op apply: 0 writes, ≤ 8 reads per pair", lambda l: reads_goal(R[l]["apply2"])),
        ("peak memory < 500 MB (largest of the three runs)", rss_goal),
        ("human plan < 1 MB (stdout of `plan`)", lambda l: plan_goal(R[l]["plan"])))
for label, f in rows:
    print(f"| {label} | " + " | ".join(f(l) for l in layouts) + " |")
if "org" in layouts and "one" in layouts:
    o, n = R["org"], R["one"]
    print("\n- account fan-out (organization − one account): "
          + "; ".join(f"{label} {o[k]['elapsed_s'] - n[k]['elapsed_s']:+.1f} s "
                      f"({o[k]['elapsed_s'] / n[k]['elapsed_s']:.2f}×), "
                      f"{(o[k]['total'] - n[k]['total']) / a:+.1f} requests per account"
                      for k, label in RUNS))

# The no-op apply's requests by operation: per pair, split by the account they went to (a
# source account, the destination, or another: the listing account and the base credentials'
# AssumeRole calls), and per source account: what is per account or per run is amortised.
print("\n**No-op apply, requests by operation**: count; per pair (= source + destination + other "
      "accounts); per source account\n")
print("| operation | " + " | ".join(f"{NAME[l]}: count | per pair (src + dst + other) | per source account"
                                    for l in layouts) + " |")
print("|---|" + "---|---|---|" * len(layouts))
def side(l, acct):
    if acct == DST:
        return 1
    return 0 if acct.startswith("33") or (l == "one" and acct == MGMT) else 2
def split(l, op):
    parts = [0, 0, 0]
    for acct, ops in R[l]["apply2"]["by_account_operation"].items():
        parts[side(l, acct)] += sum(ops.values()) if op is None else ops.get(op, 0)
    return parts
ops = sorted({op for l in layouts for op in R[l]["apply2"]["by_operation"]},
             key=lambda op: (-max(R[l]["apply2"]["by_operation"].get(op, 0) for l in layouts), op))
sources = {"org": a, "one": 1}
for op in ops + [None]:
    cells = []
    for l in layouts:
        parts = split(l, op)
        n = sum(parts)
        pp = " + ".join(f"{x / pairs:.2f}" if x else "0" for x in parts)
        cells.append(f"{n} | **{n / pairs:.2f}** ({pp}) | {n / sources[l]:.1f}" if n else "— | — | —")
    print(f"| {op or '**total**'} | " + " | ".join(cells) + " |")
print()
for l in layouts:
    for k, label in RUNS:
        e = R[l][k]["http_errors"]
        if k != "apply1" and e:
            print(f"- {NAME[l]}, {label}: HTTP ≥ 400 answers " +
                  ", ".join(f"{x}×{v}" for x, v in sorted(e.items())))

ok = True
for l in layouts:
    for k, label in RUNS:
        if R[l][k]["rc"] != 0:
            ok = False
            print(f"\n**FAIL: {NAME[l]}, {label} exited {R[l][k]['rc']}**")
    w = R[l]["apply2"]["writes"]
    if w:
        ok = False
        print(f"\n**FAIL: {NAME[l]}, the no-op apply made {w} writes**: " +
              ", ".join(f"{op}×{v}" for op, v in R[l]["apply2"]["by_operation"].items()))
if out:
    json.dump({"accounts": a, "buckets": b, "pairs": pairs, "concurrency": conc, "latency_ms": lat,
               "layouts": R}, open(out, "w"), indent=1)
sys.exit(0 if ok else 1)
PY
