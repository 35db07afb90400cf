//! Test harness: one emulator per test binary (started on a free port, gone with the tests),
//! and an [`Env`] per test with its own account ids and bucket-name prefix, so tests run in
//! parallel against one emulator without seeing each other.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossrep_aws::session::Session;
use crossrep_aws::Sessions;
use crossrep_core::config::Config;
use crossrep_core::names::AccountId;
use serde_json::Value;

pub struct Emulator {
    pub port: u16,
    _child: Child,
}

static EMULATOR: OnceLock<Emulator> = OnceLock::new();

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

/// The shared emulator; started on first use. Fails loudly when it cannot start.
pub fn emulator() -> &'static Emulator {
    EMULATOR.get_or_init(|| start_emulator(&[]))
}

/// A new emulator with `env` in its environment (server-wide settings such as
/// `CROSSREP_EMULATOR_TASK_MS`, which the shared one must not have); gone with the tests.
pub fn start_emulator(env: &[(&str, &str)]) -> Emulator {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let log = std::env::temp_dir().join(format!("crossrep-it-emulator-{port}.log"));
    let child = Command::new(repo_root().join("emulator/run"))
        .args(["--port", &port.to_string(), "--exit-with-parent"])
        .envs(env.iter().copied())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("cannot start emulator/run");
    let deadline = Instant::now() + Duration::from_secs(180);
    loop {
        if http(port, "GET", "/moto-api/").is_ok_and(|(status, _)| status == 200) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the emulator did not answer on port {port} within 180 s; its log: {}\n{}",
            log.display(),
            std::fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    Emulator {
        port,
        _child: child,
    }
}

/// A minimal HTTP/1.1 client for the emulator's own endpoints (it closes every connection).
fn http(port: u16, method: &str, path: &str) -> std::io::Result<(u16, String)> {
    http_with(port, method, path, "")
}

fn http_with(port: u16, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))?;
    s.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    let status = out
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body = out
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

impl Emulator {
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The emulator's request-log summary for one account.
    pub fn summary(&self, account: &str) -> Value {
        let (status, body) = http(
            self.port,
            "GET",
            &format!("/_crossrep/requests/summary?account={account}"),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        serde_json::from_str(&body).unwrap()
    }

    pub fn writes(&self, account: &str) -> u64 {
        self.summary(account)["writes"].as_u64().unwrap()
    }

    /// Makes matching requests fail (see `Faults` in emulator/crossrep_emulator.py), e.g.
    /// `operation=PutBucketPolicy&bucket=b&code=AccessDenied&status=403&times=2`.
    pub fn inject_fault(&self, query: &str) {
        let (status, body) =
            http(self.port, "POST", &format!("/_crossrep/faults?{query}")).unwrap();
        assert_eq!(status, 200, "{body}");
    }

    /// A new role, and new versioning, of `account` take `ms` to propagate (emulator fix 13).
    pub fn set_propagation(&self, account: &str, ms: u64) {
        let (status, body) = http(
            self.port,
            "POST",
            &format!("/_crossrep/propagation?ms={ms}&account={account}"),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }

    /// Removes the faults injected for one role's `AssumeRole`.
    pub fn clear_role_faults(&self, role_arn: &str) {
        let (status, body) = http(
            self.port,
            "DELETE",
            &format!("/_crossrep/faults?role_arn={role_arn}"),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }

    pub fn clear_faults(&self, bucket: &str) {
        let (status, body) = http(
            self.port,
            "DELETE",
            &format!("/_crossrep/faults?bucket={bucket}"),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
    }

    /// Waits until live replication has nothing queued (the emulator replicates shortly after
    /// each write, in the background).
    pub fn wait_replication(&self) {
        let (status, body) =
            http(self.port, "GET", "/_crossrep/replication/idle?timeout=30").unwrap();
        assert_eq!(status, 200, "{body}");
        assert!(
            body.contains("\"pending\": 0") || body.contains("\"pending\":0"),
            "{body}"
        );
    }

    /// The emulator's record of failed replications (failure codes, for assertion messages).
    pub fn replication_failures(&self) -> String {
        let (status, body) = http(self.port, "GET", "/_crossrep/replication-failures").unwrap();
        assert_eq!(status, 200, "{body}");
        body
    }

    /// A test endpoint of the emulator (`/_crossrep/…`, README "`/_crossrep/` endpoints").
    pub fn call(&self, method: &str, path: &str) {
        let (status, body) = http(self.port, method, path).unwrap();
        assert_eq!(status, 200, "{method} {path}: {body}");
    }

    /// A test endpoint's JSON answer (`GET /_crossrep/…`).
    pub fn get_json(&self, path: &str) -> Value {
        let (status, body) = http(self.port, "GET", path).unwrap();
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap()
    }

    /// A test endpoint that takes a JSON body (`POST /_crossrep/regions`, …).
    pub fn post_json(&self, path: &str, body: &Value) {
        let (status, answer) = http_with(self.port, "POST", path, &body.to_string()).unwrap();
        assert!(
            (200..300).contains(&status),
            "POST {path} {body}: {status} {answer}"
        );
    }

    /// Sets an account's opt-in status of a region directly (emulator `regions.py`).
    pub fn set_region(&self, account: &str, region: &str, status: &str) {
        self.post_json(
            "/_crossrep/regions",
            &serde_json::json!({"account": account, "region": region, "status": status}),
        );
    }

    /// Sets an account's general purpose bucket quota (Service Quotas and `CreateBucket`).
    pub fn set_bucket_quota(&self, account: &str, quota: u64) {
        self.post_json(
            "/_crossrep/s3/bucket-quota",
            &serde_json::json!({"account": account, "quota": quota}),
        );
    }

    pub fn requests(&self, account: &str) -> u64 {
        self.summary(account)["total"].as_u64().unwrap()
    }

    /// How many `operation` requests of one account went to crossrep's sample cache (the
    /// object versions it sampled, remembered in the report bucket).
    pub fn sample_cache(&self, account: &str, operation: &str) -> u64 {
        let (status, body) = http(
            self.port,
            "GET",
            &format!("/_crossrep/requests?account={account}"),
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        let log: Value = serde_json::from_str(&body).unwrap();
        log["requests"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| {
                r["operation"] == operation
                    && r["path"]
                        .as_str()
                        .is_some_and(|p| p.ends_with("/crossrep/sampled-object-encryption.json"))
            })
            .count() as u64
    }
}

/// One test's world: two accounts of its own, a bucket prefix, a temp dir with the config.
pub struct Env {
    pub emu: &'static Emulator,
    pub dir: tempfile::TempDir,
    pub src: String,
    pub dst: String,
    /// Prefix of every bucket this test creates (bucket names are global in the emulator too).
    pub prefix: String,
}

impl Env {
    /// `n` must be unique per test.
    pub fn new(n: u32) -> Env {
        Env::on(emulator(), n)
    }

    /// [`Env::new`] on another emulator than the shared one.
    pub fn on(emu: &'static Emulator, n: u32) -> Env {
        Env {
            emu,
            dir: tempfile::tempdir().unwrap(),
            src: format!("11{n:010}"),
            dst: format!("22{n:010}"),
            prefix: format!("t{n}-"),
        }
    }

    /// The accounts part of a config, both reached through STS AssumeRole from the test
    /// credentials: the production code path.
    pub fn accounts_toml(&self) -> String {
        let ep = self.emu.endpoint();
        format!(
            r#"[accounts.prod]
id = "{src}"
role_arn = "arn:aws:iam::{src}:role/admin"
region = "us-east-1"
endpoint_url = "{ep}"

[accounts.backup]
id = "{dst}"
role_arn = "arn:aws:iam::{dst}:role/admin"
region = "us-west-2"
endpoint_url = "{ep}"
"#,
            src = self.src,
            dst = self.dst
        )
    }

    /// Writes `crossrep.toml` with one replication block of this test's buckets.
    pub fn write_config(&self, extra: &str) {
        let text = format!(
            "{}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"{}*\"]\n{extra}\n",
            self.accounts_toml(),
            self.prefix
        );
        self.write_raw_config(&text);
    }

    pub fn write_raw_config(&self, text: &str) {
        std::fs::write(self.dir.path().join("crossrep.toml"), text).unwrap();
    }

    pub fn bucket(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    /// `crossrep` in this test's directory, with test credentials and nothing from the host.
    pub fn crossrep(&self) -> assert_cmd::Command {
        let mut cmd = assert_cmd::Command::from_std(self.command());
        cmd.timeout(Duration::from_secs(300));
        cmd
    }

    /// [`Env::crossrep`] as a plain `std::process::Command`, for tests that need to spawn it
    /// (and, say, close its stdout early).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crossrep"));
        cmd.current_dir(self.dir.path())
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("NO_COLOR", "1");
        cmd
    }

    /// Runs `crossrep ARGS`, asserts it exits 0 (showing its output when it does not), and
    /// returns its stdout.
    /// `crossrep <args>` for a configuration with a selected bucket in conflict: everything
    /// else is done, the bucket is counted, and the exit code is 1 (SPEC §3). Its stdout.
    pub fn conflicted(&self, args: &[&str]) -> String {
        let out = self.crossrep().args(args).output().unwrap();
        let text = stdout(&out);
        assert_eq!(
            out.status.code(),
            Some(1),
            "crossrep {}\n{text}{}",
            args.join(" "),
            stderr(&out)
        );
        assert!(text.contains("will not be replicated"), "{text}");
        text
    }

    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.crossrep().args(args).output().unwrap();
        assert!(
            out.status.success(),
            "crossrep {} exited {:?}\n{}{}",
            args.join(" "),
            out.status.code(),
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// Admin sessions for both accounts (same credential path as the product), for seeding
    /// and for checking what crossrep did.
    pub async fn admin(&self) -> Admin {
        std::env::set_var("AWS_ACCESS_KEY_ID", "testing");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "testing");
        std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
        let config = Config::parse(&self.accounts_toml(), Path::new("admin.toml")).unwrap();
        let sessions = Sessions::new(&config).await.unwrap();
        Admin {
            sessions,
            src: AccountId::new(self.src.clone()).unwrap(),
            dst: AccountId::new(self.dst.clone()).unwrap(),
        }
    }
}

pub struct Admin {
    sessions: Sessions,
    pub src: AccountId,
    pub dst: AccountId,
}

impl Admin {
    pub fn src(&self) -> &Session {
        self.sessions.get(&self.src)
    }
    pub fn dst(&self) -> &Session {
        self.sessions.get(&self.dst)
    }
}

pub fn region(r: &str) -> crossrep_core::names::Region {
    crossrep_core::names::Region::new(r).unwrap()
}

/// Creates a bucket in `region` (no LocationConstraint in us-east-1).
pub async fn create_bucket(s: &Session, name: &str, r: &str) {
    use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
    let mut req = s.s3(&region(r)).create_bucket().bucket(name);
    if r != "us-east-1" {
        req = req.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(r))
                .build(),
        );
    }
    req.send().await.unwrap();
}

pub async fn put_object(s: &Session, bucket: &str, r: &str, key: &str, body: &str) {
    s.s3(&region(r))
        .put_object()
        .bucket(bucket)
        .key(key)
        .body(body.as_bytes().to_vec().into())
        .send()
        .await
        .unwrap();
}

pub async fn enable_versioning(s: &Session, bucket: &str, r: &str) {
    use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
    s.s3(&region(r))
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .unwrap();
}

pub async fn put_policy(s: &Session, bucket: &str, r: &str, doc: &Value) {
    s.s3(&region(r))
        .put_bucket_policy()
        .bucket(bucket)
        .policy(doc.to_string())
        .send()
        .await
        .unwrap();
}

pub async fn get_policy(s: &Session, bucket: &str, r: &str) -> Value {
    let out = s
        .s3(&region(r))
        .get_bucket_policy()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    serde_json::from_str(out.policy().unwrap()).unwrap()
}

pub async fn get_replication(
    s: &Session,
    bucket: &str,
    r: &str,
) -> crossrep_core::model::ReplicationConfiguration {
    let out = s
        .s3(&region(r))
        .get_bucket_replication()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    crossrep_aws::convert::from_sdk(out.replication_configuration().unwrap())
}

pub async fn put_replication(
    s: &Session,
    bucket: &str,
    r: &str,
    c: &crossrep_core::model::ReplicationConfiguration,
) {
    s.s3(&region(r))
        .put_bucket_replication()
        .bucket(bucket)
        .replication_configuration(crossrep_aws::convert::to_sdk(c))
        .send()
        .await
        .unwrap();
}

pub async fn versioning(s: &Session, bucket: &str, r: &str) -> Option<String> {
    let out = s
        .s3(&region(r))
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    out.status().map(|s| s.as_str().to_string())
}

pub fn stdout(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A new customer-managed KMS key in `s`'s account (us-east-1); its ARN.
pub async fn kms_key(s: &Session) -> String {
    let out = s
        .kms(&region("us-east-1"))
        .create_key()
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().arn().unwrap().to_string()
}

/// The ARN of the replica key crossrep made in `s`'s account (us-east-1), found by its alias.
pub async fn replica_key_arn(s: &Session) -> String {
    let out = s
        .kms(&region("us-east-1"))
        .describe_key()
        .key_id("alias/crossrep-replica")
        .send()
        .await
        .unwrap();
    out.key_metadata().unwrap().arn().unwrap().to_string()
}

/// Sets `bucket`'s default encryption to SSE-KMS under `key`, with Bucket Keys.
pub async fn default_kms(session: &Session, bucket: &str, key: &str) {
    use aws_sdk_s3::types::{
        ServerSideEncryption, ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration,
        ServerSideEncryptionRule,
    };
    session
        .s3(&region("us-east-1"))
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(
            ServerSideEncryptionConfiguration::builder()
                .rules(
                    ServerSideEncryptionRule::builder()
                        .apply_server_side_encryption_by_default(
                            ServerSideEncryptionByDefault::builder()
                                .sse_algorithm(ServerSideEncryption::AwsKms)
                                .kms_master_key_id(key)
                                .build()
                                .unwrap(),
                        )
                        .bucket_key_enabled(true)
                        .build(),
                )
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
}
