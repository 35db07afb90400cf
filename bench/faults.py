#!/usr/bin/env python3
"""Reliability benchmark (not a test): does `crossrep apply` converge when AWS misbehaves?

For each seed: a fresh emulator world of N source buckets (one existing destination carrying a
statement and a tag someone else wrote); the emulator then fails a fraction of all requests at
random (`POST /_crossrep/chaos`): half are refused with throttling (503) before anything
happens, half are carried out and their answer lost (500). `crossrep apply --yes` runs until it
exits 0 (at most --max-runs times); then, without faults, `crossrep plan --detailed-exitcode`
must say "no changes" and the foreign statement and tag must still be there.

Then the crash trials: `apply` is killed with SIGKILL at a random moment, and run once more
without faults: it must complete, and the plan after it must be empty.

Usage: bench/faults.py [--buckets 30] [--rate 0.1] [--seeds 20] [--kills 10] [--port 5004]
Prints a Markdown summary on stdout (progress on stderr); exit 0 when the goals are met
(at least 19 of 20 seeds converge in one run; every seed and every crash trial converges in the
end, nothing foreign lost).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import boto3
from botocore.config import Config

REPO = Path(__file__).resolve().parent.parent
SRC, DST = "111111111111", "222222222222"
FOREIGN_SID = "TheirsKeepMe"


def log(msg: str) -> None:
    print(f"faults: {msg}", file=sys.stderr, flush=True)


class World:
    def __init__(self, port: int, buckets: int, workdir: Path) -> None:
        self.url = f"http://127.0.0.1:{port}"
        self.n = buckets
        self.dir = workdir
        self.bin = REPO / "target" / "release" / "crossrep"

    def http(self, method: str, path: str) -> None:
        req = urllib.request.Request(self.url + path, method=method, data=b"" if method == "POST" else None)
        with urllib.request.urlopen(req, timeout=30) as r:
            assert r.status == 200, (path, r.status)

    def client(self, service: str, account: str):
        c = boto3.client(service, endpoint_url=self.url, region_name="us-east-1",
                         aws_access_key_id="testing", aws_secret_access_key="testing",
                         config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))

        def add_header(request, **_):
            request.headers["x-moto-account-id"] = account

        c.meta.events.register("before-send.*.*", add_header)
        return c

    def seed(self) -> None:
        """Source buckets, and one destination that exists with someone else's statement and tag."""
        self.http("POST", "/moto-api/reset")
        src, dst = self.client("s3", SRC), self.client("s3", DST)
        for i in range(self.n):
            src.create_bucket(Bucket=f"data-{i:03}")
        dst.create_bucket(Bucket="replicated-data-000")
        dst.put_bucket_tagging(Bucket="replicated-data-000",
                               Tagging={"TagSet": [{"Key": "owner", "Value": "dr-team"}]})
        dst.put_bucket_policy(Bucket="replicated-data-000", Policy=json.dumps({
            "Version": "2012-10-17", "Statement": [{
                "Sid": FOREIGN_SID, "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{DST}:root"}, "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::replicated-data-000/*"}]}))
        (self.dir / "crossrep.toml").write_text(f"""
[accounts.prod]
id = "{SRC}"
role_arn = "arn:aws:iam::{SRC}:role/bench-admin"
region = "us-east-1"
endpoint_url = "{self.url}"

[accounts.backup]
id = "{DST}"
role_arn = "arn:aws:iam::{DST}:role/bench-admin"
region = "us-east-1"
endpoint_url = "{self.url}"

[[replication]]
from = "prod"
to = "backup"
buckets = ["data-*"]
backfill = "none"
""")

    def crossrep(self, *args: str, timeout: float = 600) -> subprocess.CompletedProcess:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_EC2_METADATA_DISABLED": "true"}
        return subprocess.run([str(self.bin), "--no-progress", *args], cwd=self.dir, env=env,
                              capture_output=True, text=True, timeout=timeout)

    def spawn_apply(self) -> subprocess.Popen:
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
               "AWS_EC2_METADATA_DISABLED": "true"}
        return subprocess.Popen([str(self.bin), "--no-progress", "apply", "--yes"], cwd=self.dir,
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def injected(self) -> int:
        """Requests the chaos answered 500 or 503 (from the request log)."""
        with urllib.request.urlopen(self.url + "/_crossrep/requests", timeout=30) as r:
            entries = json.load(r)["requests"]
        return sum(1 for e in entries if e.get("status") in (500, 503))

    def foreign_kept(self) -> bool:
        dst = self.client("s3", DST)
        policy = json.loads(dst.get_bucket_policy(Bucket="replicated-data-000")["Policy"])
        sids = [s.get("Sid") for s in policy.get("Statement", [])]
        tags = dst.get_bucket_tagging(Bucket="replicated-data-000")["TagSet"]
        return FOREIGN_SID in sids and {"Key": "owner", "Value": "dr-team"} in tags

    def converged(self) -> bool:
        return self.crossrep("plan", "--detailed-exitcode").returncode == 0


def start_emulator(port: int, logfile: Path) -> subprocess.Popen:
    proc = subprocess.Popen([str(REPO / "emulator" / "run"), "--port", str(port)],
                            stdout=logfile.open("w"), stderr=subprocess.STDOUT)
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=2) as r:
                if r.status == 200:
                    return proc
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"the emulator did not start; see {logfile}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--buckets", type=int, default=30)
    ap.add_argument("--rate", type=float, default=0.1)
    ap.add_argument("--seeds", type=int, default=20)
    ap.add_argument("--kills", type=int, default=10)
    ap.add_argument("--max-runs", type=int, default=10)
    ap.add_argument("--port", type=int, default=5004)
    args = ap.parse_args()

    log("building crossrep (release)")
    subprocess.run(["cargo", "build", "--release", "--quiet", "-p", "crossrep"], cwd=REPO,
                   check=True, env={k: v for k, v in os.environ.items() if k != "CARGO_TARGET_DIR"})
    work = Path(tempfile.mkdtemp(prefix="crossrep-faults-"))
    emu = start_emulator(args.port, work / "emulator.log")
    world = World(args.port, args.buckets, work)
    rows, first_run, lost = [], 0, 0
    try:
        for seed in range(1, args.seeds + 1):
            world.seed()
            world.http("POST", f"/_crossrep/chaos?rate={args.rate}&seed={seed}")
            runs, codes = 0, []
            t0 = time.monotonic()
            while runs < args.max_runs:
                runs += 1
                code = world.crossrep("apply", "--yes").returncode
                codes.append(code)
                if code == 0:
                    break
            took = time.monotonic() - t0
            world.http("DELETE", "/_crossrep/chaos")
            faults = world.injected()
            ok = codes[-1] == 0 and world.converged()
            kept = world.foreign_kept()
            first_run += ok and runs == 1
            lost += not kept
            rows.append((seed, runs, codes, ok, kept, took, faults))
            log(f"seed {seed}: {runs} run(s) {codes}, {faults} faults, converged={ok}, foreign kept={kept}, {took:.1f} s")
        kills = []
        rng = random.Random(42)
        for trial in range(1, args.kills + 1):
            world.seed()
            proc = world.spawn_apply()
            delay = rng.uniform(0.3, 3.0)
            time.sleep(delay)
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            rerun = world.crossrep("apply", "--yes").returncode
            ok = rerun == 0 and world.converged()
            kept = world.foreign_kept()
            lost += not kept
            kills.append((trial, delay, rerun, ok, kept))
            log(f"kill {trial}: SIGKILL after {delay:.2f} s, re-run exit {rerun}, converged={ok}, foreign kept={kept}")
    finally:
        emu.terminate()
        emu.wait(10)

    print(f"N = {args.buckets} source buckets, {args.rate:.0%} of requests failing at random "
          f"(half throttled before, half answered 500 after the write), {args.seeds} seeds\n")
    print("| seed | requests failed by the chaos | apply runs until exit 0 | exit codes | plan empty after | foreign statement and tag kept | seconds |")
    print("|---|---|---|---|---|---|---|")
    for seed, runs, codes, ok, kept, took, faults in rows:
        print(f"| {seed} | {faults} | {runs} | {' '.join(map(str, codes))} | {'yes' if ok else '**no**'} | {'yes' if kept else '**no**'} | {took:.1f} |")
    print(f"\n- converged in a single run: **{first_run} of {args.seeds}** (goal: 19 of 20)")
    print(f"- converged in the end: {sum(1 for r in rows if r[3])} of {args.seeds}")
    if args.kills:
        print(f"\nCrash trials: `apply` killed with SIGKILL after a random 0.3–3 s, then run once more without faults\n")
        print("| trial | killed after | re-run exit | plan empty after | foreign kept |")
        print("|---|---|---|---|---|")
        for trial, delay, rerun, ok, kept in kills:
            print(f"| {trial} | {delay:.2f} s | {rerun} | {'yes' if ok else '**no**'} | {'yes' if kept else '**no**'} |")
        print(f"\n- completed by one re-run: **{sum(1 for k in kills if k[3])} of {args.kills}**")
    print(f"- foreign statement or tag lost: **{lost}**")
    goal = (first_run >= round(args.seeds * 0.95) and all(r[3] for r in rows)
            and all(k[3] for k in kills) and lost == 0)
    return 0 if goal else 1


if __name__ == "__main__":
    sys.exit(main())
