"""Python shared by the benchmark scripts (bench/apply.sh, bench/org.sh): emulator clients, a
thread pool, seeding of source buckets, timed crossrep runs with the request log, and the
emulator's req/s ceiling probe.

Imported by each script's own helper (its seeding and report), with PYTHONPATH=bench; also run
directly for the commands both scripts use:

    python3 bench/benchlib.py timed NAME OUT ERR CMD...      one run, JSON on stdout
    python3 bench/benchlib.py ceiling THREADS SECONDS LABEL   the probe, JSON on stdout

Env: BENCH_ENDPOINT (the emulator, http://127.0.0.1:P), BENCH_EMU_PID (its process, for its CPU
time; bench/lib.sh's start_emulator exports it).
"""
import http.client, json, os, subprocess, sys, threading, time, urllib.request

import boto3
from botocore.config import Config

EP = os.environ["BENCH_ENDPOINT"]
SRC = "111111111111"


def post(path):
    req = urllib.request.Request(EP + path, method="POST")
    with urllib.request.urlopen(req, timeout=30) as r:
        assert r.status == 200, (path, r.status)


def get_json(path, timeout=30):
    with urllib.request.urlopen(EP + path, timeout=timeout) as r:
        return json.load(r)


def client(account, service="s3"):
    """A boto3 client acting in `account` (x-moto-account-id), or, when `account` is a function,
    in the account it returns at each request (one client for many accounts: making clients is
    what costs a seeding thread most)."""
    s = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                      region_name="us-east-1")
    which = account if callable(account) else lambda: account
    s.events.register("before-send",
                      lambda request, **kw: request.headers.__setitem__("x-moto-account-id", which()))
    return s.client(service, endpoint_url=EP, config=Config(s3={"addressing_style": "path"},
                                                            retries={"max_attempts": 5}))


def parallel(items, threads, fn):
    """fn(thread_state, item) over items in `threads` threads; re-raises the first error."""
    it = iter(items); lock = threading.Lock(); errs = []

    def worker():
        st = {}
        while not errs:
            with lock:
                item = next(it, None)
            if item is None:
                return
            try:
                fn(st, item)
            except Exception as e:  # noqa: BLE001
                errs.append(e)
    ts = [threading.Thread(target=worker) for _ in range(threads)]
    [t.start() for t in ts]; [t.join() for t in ts]
    if errs:
        raise errs[0]


def thread_client(st, account):
    """The S3 client of a `parallel` thread (its state `st`), acting in `account` from now on."""
    st["account"] = account
    if "s3" not in st:
        st["s3"] = client(lambda: st["account"])
    return st["s3"]


def raw(method, path, account, body=b"", headers=None):
    """One unsigned request in `account` (x-moto-account-id) over http.client: a tenth of
    boto3's CPU, so that seeding is bound by the emulator, not by this process (GIL)."""
    host, port = EP.split("//", 1)[1].split(":")
    h = http.client.HTTPConnection(host, int(port), timeout=60)
    h.request(method, path, body=body, headers={"x-moto-account-id": account, **(headers or {})})
    r = h.getresponse(); data = r.read(); h.close()
    if r.status != 200:
        raise RuntimeError(f"{method} {path} in {account}: {r.status} {data[:300]!r}")


def seed_buckets(pairs, threads=16, kms_key=None):
    """Creates each (account, bucket) of `pairs` (us-east-1) with 3 small objects, in `threads`
    threads. kms_key(account, bucket): a KMS key ARN to make that bucket encrypt with SSE-KMS by
    default (Bucket Keys on), its objects too; None for SSE-S3."""
    def one(_st, pair):
        account, b = pair
        raw("PUT", f"/{b}", account)
        key = kms_key(account, b) if kms_key else None
        extra = {}
        if key:
            raw("PUT", f"/{b}?encryption", account, (
                '<ServerSideEncryptionConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
                "<Rule><ApplyServerSideEncryptionByDefault><SSEAlgorithm>aws:kms</SSEAlgorithm>"
                f"<KMSMasterKeyID>{key}</KMSMasterKeyID></ApplyServerSideEncryptionByDefault>"
                "<BucketKeyEnabled>true</BucketKeyEnabled></Rule></ServerSideEncryptionConfiguration>"
            ).encode())
            extra = {"x-amz-server-side-encryption": "aws:kms",
                     "x-amz-server-side-encryption-aws-kms-key-id": key}
        for k in range(3):
            raw("PUT", f"/{b}/data/obj-{k}.txt", account, f"{b} object {k}\n".encode(), extra)
    parallel(pairs, threads, one)


TICK = os.sysconf("SC_CLK_TCK")


def emu_cpu():
    """CPU seconds (user + system) used so far by the emulator process (it is one Python
    process: the threaded server runs under the GIL, so it can use at most ~1 core)."""
    with open(f"/proc/{os.environ['BENCH_EMU_PID']}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def timed(name, out, err, cmd):
    """Reset the request log, run cmd (wall clock; CPU time and peak RSS of that process from
    wait4), read the request summary; JSON on stdout."""
    post("/_crossrep/requests/reset")
    with open(out, "wb") as fo, open(err, "wb") as fe:
        e0, t = emu_cpu(), time.perf_counter()
        p = subprocess.Popen(cmd, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL)
        _, status, ru = os.wait4(p.pid, 0)
        el = time.perf_counter() - t
        emu = emu_cpu() - e0
    p.returncode = os.waitstatus_to_exitcode(status)
    s = get_json("/_crossrep/requests/summary")
    errors, by_account_op = {}, {}
    for r in get_json("/_crossrep/requests", 600)["requests"]:  # 200,000 of them at 10,000 pairs
        ops = by_account_op.setdefault(r["account"], {})
        ops[r["operation"]] = ops.get(r["operation"], 0) + 1
        if r["status"] >= 400:
            k = f'{r["operation"]}:{r["status"]}'
            errors[k] = errors.get(k, 0) + 1
    print(json.dumps({"name": name, "rc": p.returncode, "elapsed_s": el,
                      "total": s["total"], "reads": s["reads"], "writes": s["writes"],
                      "http_errors": errors, "emulator_cpu_s": emu,
                      "crossrep_cpu_s": ru.ru_utime + ru.ru_stime, "max_rss_kib": ru.ru_maxrss,
                      "stdout_bytes": os.path.getsize(out),
                      "by_operation": {k: v["count"] for k, v in sorted(s["by_operation"].items())},
                      "by_account": s["by_account"], "by_account_operation": by_account_op}))


def signed_headers(path):
    """SigV4 headers for GET path, signed with credentials from STS AssumeRole into SRC (what
    crossrep sends); replayed as-is (the emulator does not check signatures, but parses them
    and maps the access key to its account, as for crossrep's requests)."""
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials
    sts = boto3.client("sts", endpoint_url=EP, region_name="us-east-1",
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    cr = sts.assume_role(RoleArn=f"arn:aws:iam::{SRC}:role/bench-admin",
                         RoleSessionName="bench")["Credentials"]
    req = AWSRequest(method="GET", url=EP + path)
    S3SigV4Auth(Credentials(cr["AccessKeyId"], cr["SecretAccessKey"], cr["SessionToken"]),
                "s3", "us-east-1").add_auth(req)
    return dict(req.headers.items())


def ceiling(threads, seconds, label):
    """req/s the emulator sustains for a cheap read (GetBucketVersioning) from `threads`
    threads, each doing one request at a time, over raw http.client (the server closes every
    connection anyway) so the client spends as little CPU as possible: this is the server's
    limit, not Python's. Two probes: unsigned with the x-moto-account-id header (the cheapest
    request there is) and SigV4-signed with assumed-role keys, like crossrep's requests."""
    c = client(SRC)
    try:
        c.create_bucket(Bucket="bench-ceiling")
    except c.exceptions.BucketAlreadyOwnedByYou:
        pass
    res = {"label": label, "threads": threads}
    for kind, hdrs in (("unsigned", {"x-moto-account-id": SRC}),
                       ("signed", signed_headers("/bench-ceiling?versioning"))):
        res[kind] = probe(threads, seconds, hdrs)
    res.update(res["signed"])
    print(json.dumps(res))


def probe(threads, seconds, hdrs):
    host, port = EP.split("//", 1)[1].split(":")
    counts = [0] * threads; bad = [0] * threads
    stop = time.perf_counter() + seconds

    def worker(i):
        while time.perf_counter() < stop:
            h = http.client.HTTPConnection(host, int(port), timeout=30)
            h.request("GET", "/bench-ceiling?versioning", headers=hdrs)
            r = h.getresponse(); r.read(); h.close()
            counts[i] += 1
            if r.status != 200:
                bad[i] += 1
    e0, t = emu_cpu(), time.perf_counter()
    ts = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    [x.start() for x in ts]; [x.join() for x in ts]
    el = time.perf_counter() - t
    emu = emu_cpu() - e0
    total = sum(counts)
    if sum(bad):
        raise SystemExit(f"ceiling probe: {sum(bad)} of {total} requests failed")
    return {"requests": total, "elapsed_s": el, "rps": total / el, "emulator_cpu_s": emu}


def main(argv, commands=None):
    """Runs argv[0] with argv[1:]: `timed`, `ceiling`, or one of the caller's `commands`
    (name -> function of the remaining arguments, as strings)."""
    cmds = {"timed": lambda name, out, err, *cmd: timed(name, out, err, list(cmd)),
            "ceiling": lambda threads, seconds, label: ceiling(int(threads), float(seconds), label),
            **(commands or {})}
    if not argv or argv[0] not in cmds:
        raise SystemExit(f"unknown helper command {argv[0] if argv else '(none)'}")
    cmds[argv[0]](*argv[1:])


if __name__ == "__main__":
    main(sys.argv[1:])
