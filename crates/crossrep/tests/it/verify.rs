//! The verify user story: proof that every pair replicates, and a clear account of what does
//! not, with the way back to healthy.

use crate::harness::*;

async fn version_of(s: &crossrep_aws::session::Session, bucket: &str, key: &str) -> String {
    let out = s
        .s3(&region("us-east-1"))
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap();
    out.version_id().unwrap().to_string()
}

/// Issue 4, done-when 1 and 2: healthy with a canary; then a version deleted from the
/// destination and a broken destination policy make verify fail naming both; apply and a
/// re-drive bring it back (the hand-deleted version needs its documented fix).
#[tokio::test(flavor = "multi_thread")]
async fn verify_proves_replication_and_names_what_is_broken() {
    let env = Env::new(40);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    enable_versioning(src, &data, "us-east-1").await;
    for k in ["old-1.txt", "old-2.txt", "dir/old-3.txt"] {
        put_object(src, &data, "us-east-1", k, "before the rule").await;
    }
    env.write_config("");
    env.ok(&["apply", "--yes"]);

    // Before the backfill the old objects are missing, and verify says so.
    let early = env.crossrep().arg("verify").output().unwrap();
    assert_eq!(early.status.code(), Some(3), "{}", stdout(&early));
    assert!(
        stdout(&early).contains("run `crossrep backfill`"),
        "{}",
        stdout(&early)
    );

    env.ok(&["backfill", "--wait"]);
    for k in ["new-1.txt", "new-2.txt"] {
        put_object(src, &data, "us-east-1", k, "after the rule").await;
    }
    env.emu.wait_replication();
    let healthy = env
        .crossrep()
        .args(["verify", "--canary"])
        .output()
        .unwrap();
    let out = stdout(&healthy);
    assert_eq!(healthy.status.code(), Some(0), "{out}{}", stderr(&healthy));
    assert!(
        out.contains("5 source and 5 destination versions over 5 keys: 0 current missing"),
        "{out}"
    );
    assert!(out.contains("5 COMPLETED"), "{out}");
    assert!(
        out.contains("replicated in") && out.contains("removed on both sides"),
        "{out}"
    );
    assert!(out.contains("1 of 1 bucket pair(s) healthy."), "{out}");
    // The canary left nothing behind.
    let listed = src
        .s3(&region("us-east-1"))
        .list_object_versions()
        .bucket(&data)
        .prefix(".crossrep-canary/")
        .send()
        .await
        .unwrap();
    assert!(listed.versions().is_empty() && listed.delete_markers().is_empty());

    // Someone deletes a replica by version id, and someone removes the destination policy.
    let gone = version_of(src, &data, "old-1.txt").await;
    dst.s3(&region("us-east-1"))
        .delete_object()
        .bucket(&dest)
        .key("old-1.txt")
        .version_id(&gone)
        .send()
        .await
        .unwrap();
    dst.s3(&region("us-east-1"))
        .delete_bucket_policy()
        .bucket(&dest)
        .send()
        .await
        .unwrap();
    put_object(src, &data, "us-east-1", "new-3.txt", "written while broken").await;
    env.emu.wait_replication();
    let failing = version_of(src, &data, "new-3.txt").await;

    let broken = env
        .crossrep()
        .args(["verify", "--sample", "all", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(3), "{}", stdout(&broken));
    let text = env
        .crossrep()
        .args(["verify", "--sample", "all"])
        .output()
        .unwrap();
    let out = stdout(&text);
    assert!(
        out.contains(&format!(
            "missing in the destination: `old-1.txt` (version {gone})"
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!("FAILED `new-3.txt` (version {failing})")),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "bucket_policy[{}/{dest}] would be created",
            env.dst
        )),
        "drift: {out}"
    );

    // A re-drive while the policy is still missing fails again, but now with a report: the
    // failure code is known.
    let redrive = env
        .crossrep()
        .args(["backfill", "--only-failed", "--wait"])
        .output()
        .unwrap();
    let redrive = stdout(&redrive);
    assert!(redrive.contains("DstPutObjectNotPermitted: 1"), "{redrive}");
    let out = stdout(
        &env.crossrep()
            .args(["verify", "--sample", "all"])
            .output()
            .unwrap(),
    );
    assert!(
        out.contains(&format!(
            "FAILED `new-3.txt` (version {failing}): DstPutObjectNotPermitted"
        )),
        "{redrive}\n{out}"
    );

    // Repair: apply puts the policy back, the re-drive replicates the failed version.
    env.ok(&["apply", "--yes"]);
    env.ok(&["backfill", "--only-failed", "--wait"]);
    let out = stdout(&env.crossrep().arg("verify").output().unwrap());
    assert!(!out.contains("FAILED `new-3.txt`"), "{out}");
    // S3 never replicates a version deleted from the destination by version id again
    // (DstObjectHardDeleted); verify keeps naming it, with the fix.
    assert!(
        out.contains("`old-1.txt`") && out.contains("DstObjectHardDeleted"),
        "{out}"
    );
    src.s3(&region("us-east-1"))
        .copy_object()
        .bucket(&data)
        .key("old-1.txt")
        .copy_source(format!("{data}/old-1.txt"))
        .metadata_directive(aws_sdk_s3::types::MetadataDirective::Replace)
        .send()
        .await
        .unwrap();
    env.emu.wait_replication();
    let fixed = env.crossrep().arg("verify").output().unwrap();
    assert_eq!(fixed.status.code(), Some(0), "{}", stdout(&fixed));
}

/// Issue 4, done-when 3: a rule edited by hand is drift, for verify and for plan.
#[tokio::test(flavor = "multi_thread")]
async fn a_rule_edited_by_hand_is_drift_for_verify_and_plan() {
    let env = Env::new(41);
    let admin = env.admin().await;
    let src = admin.src();
    let data = env.bucket("data");
    create_bucket(src, &data, "us-east-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);
    let mut cfg = get_replication(src, &data, "us-east-1").await;
    cfg.rules[0].destination.storage_class = Some("GLACIER".into());
    put_replication(src, &data, "us-east-1", &cfg).await;

    let verify = env.crossrep().arg("verify").output().unwrap();
    let out = stdout(&verify);
    assert_eq!(verify.status.code(), Some(3), "{out}");
    assert!(
        out.contains(&format!("replication[{}/{data}] would be updated", env.src)),
        "{out}"
    );
    assert!(
        out.contains("-         \"storage_class\": \"GLACIER\"")
            || out.contains("\"storage_class\": \"GLACIER\""),
        "{out}"
    );
    let plan = env
        .crossrep()
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(2));
    assert!(
        stdout(&plan).contains("\"storage_class\": \"GLACIER\""),
        "{}",
        stdout(&plan)
    );
}

/// Issue 8: a destination policy with a foreign `Deny` on the replication actions made apply
/// say complete and verify's configuration check say "ok", and advised `apply` for the FAILED
/// objects, which changes nothing. The plan and verify now name the statement by its Sid.
#[tokio::test(flavor = "multi_thread")]
async fn a_foreign_deny_in_the_destination_policy_is_named_by_plan_and_verify() {
    let env = Env::new(42);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    create_bucket(dst, &dest, "us-east-1").await;
    put_policy(
        dst,
        &dest,
        "us-east-1",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "FreezeBackups", "Effect": "Deny", "Principal": "*",
            "Action": "s3:ReplicateObject", "Resource": format!("arn:aws:s3:::{dest}/*")
        }]}),
    )
    .await;
    env.write_config("backfill = \"none\"");

    let plan = env.ok(&["plan"]);
    assert!(
        plan.contains(&format!(
            "warning: {data} ({}) -> {dest}: the policy of destination `{dest}` has statement `FreezeBackups`, not crossrep's, that denies role",
            env.src
        )),
        "{plan}"
    );
    env.ok(&["apply", "--yes"]);
    // The statement is someone else's: still there, unchanged.
    let policy = get_policy(dst, &dest, "us-east-1").await;
    assert!(policy.to_string().contains("FreezeBackups"), "{policy}");

    put_object(src, &data, "us-east-1", "k.txt", "denied").await;
    env.emu.wait_replication();
    let out = env.crossrep().args(["verify"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains("denied: a statement crossrep did not write blocks replication"),
        "{text}"
    );
    assert!(text.contains("`FreezeBackups`"), "{text}");
}

/// The most common foreign statement, a Deny on insecure transport, is kept, is not taken for a
/// denial of replication, and does not stop it: S3 replicates over TLS (the emulator now
/// evaluates `aws:SecureTransport` instead of applying every Deny with a condition).
#[tokio::test(flavor = "multi_thread")]
async fn a_deny_on_insecure_transport_does_not_stop_replication() {
    let env = Env::new(43);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    create_bucket(dst, &dest, "us-east-1").await;
    put_policy(
        dst,
        &dest,
        "us-east-1",
        &serde_json::json!({"Version": "2012-10-17", "Statement": [{
            "Sid": "DenyInsecureTransport", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
            "Resource": [format!("arn:aws:s3:::{dest}"), format!("arn:aws:s3:::{dest}/*")],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}}
        }]}),
    )
    .await;
    env.write_config("backfill = \"none\"");
    let plan = env.ok(&["plan"]);
    assert!(!plan.contains("warning:"), "{plan}");
    env.ok(&["apply", "--yes"]);
    put_object(src, &data, "us-east-1", "k.txt", "tls").await;
    env.emu.wait_replication();
    let out = env.crossrep().args(["verify"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let policy = get_policy(dst, &dest, "us-east-1").await;
    assert!(
        policy.to_string().contains("DenyInsecureTransport"),
        "{policy}"
    );
}

async fn put_tagged(s: &crossrep_aws::session::Session, bucket: &str, key: &str, tags: &str) {
    s.s3(&region("us-east-1"))
        .put_object()
        .bucket(bucket)
        .key(key)
        .tagging(tags)
        .body(b"tagged".to_vec().into())
        .send()
        .await
        .unwrap();
}

async fn delete_version(s: &crossrep_aws::session::Session, bucket: &str, key: &str, v: &str) {
    s.s3(&region("us-east-1"))
        .delete_object()
        .bucket(bucket)
        .key(key)
        .version_id(v)
        .send()
        .await
        .unwrap();
}

fn verify_json(env: &Env, args: &[&str]) -> serde_json::Value {
    let out = env
        .crossrep()
        .arg("verify")
        .args(args)
        .args(["--format", "json"])
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// Issue 9.4 (1, 2): a pair whose rule filters by tags was reported healthy with no evidence
/// ("not compared", exit 0, nothing replicated). The sample's tags now decide which versions
/// are judged; with none carrying the rule's tags there is nothing to verify: SKIP, NOT
/// VERIFIED, exit 3.
#[tokio::test(flavor = "multi_thread")]
async fn a_tag_filtered_pair_is_judged_on_the_sampled_versions_carrying_its_tags() {
    let env = Env::new(70);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    env.write_config("tags = { replicate = \"yes\" }\nbackfill = \"none\"");
    env.ok(&["apply", "--yes"]);
    for k in ["plain-1.txt", "plain-2.txt"] {
        put_object(src, &data, "us-east-1", k, "not selected by the rule").await;
    }
    put_tagged(src, &data, "other-tag.txt", "replicate=no").await;
    env.emu.wait_replication();

    let out = env
        .crossrep()
        .args(["verify", "--sample", "all"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!("{dest} ({}, us-east-1): NOT VERIFIED\n", env.dst)),
        "{text}"
    );
    assert!(
        text.contains("  SKIP replication status no version in the sample carries the rule's tags: nothing to verify (3 sampled source version(s), 3 not selected by the rule)"),
        "{text}"
    );
    assert!(
        text.contains("0 of 1 bucket pair(s) healthy. 1 not verified"),
        "{text}"
    );
    let json = verify_json(&env, &["--sample", "all"]);
    assert_eq!(json[0]["verdict"], "not_verified", "{json}");
    assert_eq!(json[0]["healthy"], false);
    assert_eq!(json[0]["checks"][2]["state"], "skip", "{json}");

    // Versions carrying the tags replicate: that is evidence.
    put_tagged(src, &data, "t-1.txt", "replicate=yes").await;
    put_tagged(src, &data, "t-2.txt", "team=a&replicate=yes").await;
    env.emu.wait_replication();
    let out = env
        .crossrep()
        .args(["verify", "--sample", "all"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{text}{}", stderr(&out));
    assert!(
        text.contains("5 sampled source version(s), 2 carrying the rule's tags: 2 COMPLETED; 3 not selected by the rule"),
        "{text}"
    );
    assert!(text.contains("1 of 1 bucket pair(s) healthy."), "{text}");

    // A replica deleted by hand and a tagged version that failed (the destination policy is
    // gone) are named; the untagged objects, missing in the destination, are not failures.
    let gone = version_of(src, &data, "t-1.txt").await;
    delete_version(dst, &dest, "t-1.txt", &gone).await;
    dst.s3(&region("us-east-1"))
        .delete_bucket_policy()
        .bucket(&dest)
        .send()
        .await
        .unwrap();
    put_tagged(src, &data, "t-3.txt", "replicate=yes").await;
    env.emu.wait_replication();
    let failing = version_of(src, &data, "t-3.txt").await;
    let out = env
        .crossrep()
        .args(["verify", "--sample", "all"])
        .output()
        .unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(
        text.contains(&format!(
            "COMPLETED but not in the destination: `t-1.txt` (version {gone})"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!("FAILED `t-3.txt` (version {failing})")),
        "{text}"
    );
    assert!(!text.contains("`plain-1.txt`"), "{text}");
}

/// Issue 9.4 (3): a version replicated (COMPLETED) and then deleted from the destination is a
/// failure at any age, whatever `--settle` says; with `backfill = "none"` verify said healthy.
#[tokio::test(flavor = "multi_thread")]
async fn a_completed_version_missing_in_the_destination_fails_whatever_its_age() {
    let env = Env::new(71);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);
    for k in ["k-1.txt", "k-2.txt"] {
        put_object(src, &data, "us-east-1", k, "replicated").await;
    }
    env.emu.wait_replication();
    let healthy = env.crossrep().arg("verify").output().unwrap();
    assert_eq!(healthy.status.code(), Some(0), "{}", stdout(&healthy));

    let gone = version_of(src, &data, "k-1.txt").await;
    delete_version(dst, &dest, "k-1.txt", &gone).await;
    for settle in [None, Some("2h"), Some("0")] {
        let mut cmd = env.crossrep();
        cmd.arg("verify");
        if let Some(s) = settle {
            cmd.args(["--settle", s]);
        }
        let out = cmd.output().unwrap();
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(3), "--settle {settle:?}: {text}");
        assert!(
            text.contains(&format!(
                "COMPLETED but not in the destination: `k-1.txt` (version {gone})"
            )),
            "--settle {settle:?}: {text}"
        );
        assert!(text.contains("DstObjectHardDeleted"), "{text}");
    }
}

/// Issue 9.4 (3): `--settle` decides whether a missing current version fails the objects check
/// (default 15 minutes; `0` counts every one). A version without a replication status is never
/// pending: S3 does not replicate it by itself, so the status check fails it at any age.
#[tokio::test(flavor = "multi_thread")]
async fn the_settle_window_decides_whether_a_missing_version_fails() {
    let env = Env::new(72);
    let admin = env.admin().await;
    let src = admin.src();
    let data = env.bucket("data");
    create_bucket(src, &data, "us-east-1").await;
    enable_versioning(src, &data, "us-east-1").await;
    for k in ["old-1.txt", "old-2.txt"] {
        put_object(src, &data, "us-east-1", k, "before the rule").await;
    }
    env.write_config("");
    env.ok(&["apply", "--yes"]);

    for settle in [None, Some("90s"), Some("2h")] {
        let mut cmd = env.crossrep();
        cmd.arg("verify");
        if let Some(s) = settle {
            cmd.args(["--settle", s]);
        }
        let out = cmd.output().unwrap();
        let text = stdout(&out);
        assert_eq!(out.status.code(), Some(3), "{text}");
        let window = match settle {
            None => "15m",
            Some("90s") => "1m30s",
            Some(s) => s,
        };
        assert!(
            text.contains(&format!("  ok   objects            2 source and 0 destination versions over 2 keys: 0 current missing (2 more pending: younger than the settle window, {window})")),
            "--settle {settle:?}: {text}"
        );
        assert!(
            text.contains("  FAIL replication status 2 sampled source version(s): 2 NONE"),
            "{text}"
        );
        assert!(
            text.contains("2 sampled version(s) were never replicated: run `crossrep backfill`"),
            "{text}"
        );
    }
    let json = verify_json(&env, &["--settle", "0"]);
    assert_eq!(json[0]["checks"][1]["name"], "objects", "{json}");
    assert_eq!(json[0]["checks"][1]["state"], "fail", "{json}");
    let text = stdout(
        &env.crossrep()
            .args(["verify", "--settle", "0"])
            .output()
            .unwrap(),
    );
    assert!(
        text.contains("  FAIL objects            2 source and 0 destination versions over 2 keys: 2 current missing, "),
        "{text}"
    );

    let bad = env
        .crossrep()
        .args(["verify", "--settle", "15"])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        stderr(&bad).contains("is not a duration"),
        "{}",
        stderr(&bad)
    );

    env.ok(&["backfill", "--wait"]);
    for settle in ["15m", "0"] {
        let out = env
            .crossrep()
            .args(["verify", "--settle", settle])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    }
}

/// Issue 9.4 (2): `--sample 0` sampled nothing and called the replication status healthy. It
/// is refused before anything is read.
#[tokio::test(flavor = "multi_thread")]
async fn verify_refuses_an_empty_sample() {
    let env = Env::new(73);
    env.write_config("backfill = \"none\"");
    let out = env
        .crossrep()
        .args(["verify", "--sample", "0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("use a positive number or `all`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(env.emu.requests(&env.src), 0);
    let help = env.ok(&["verify", "--help"]);
    assert!(help.contains("--settle <DURATION>"), "{help}");
    assert!(help.contains("NOT VERIFIED"), "{help}");
}

/// Issue 9.4 (5a): with `backfill = "none"` everywhere there are no jobs to read failure codes
/// from: verify makes no S3 Control call at all.
#[tokio::test(flavor = "multi_thread")]
async fn verify_without_backfill_makes_no_s3_control_call() {
    let env = Env::new(74);
    let admin = env.admin().await;
    let src = admin.src();
    let data = env.bucket("data");
    create_bucket(src, &data, "us-east-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);
    put_object(src, &data, "us-east-1", "k.txt", "replicated").await;
    env.emu.wait_replication();
    let before = env.emu.summary(&env.src);
    let out = env.crossrep().arg("verify").output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let after = env.emu.summary(&env.src);
    let s3control = |s: &serde_json::Value| s["by_service"]["s3control"].as_u64().unwrap_or(0);
    assert_eq!(s3control(&after), s3control(&before), "{after}");
    assert!(after["by_operation"]["ListJobs"].is_null(), "{after}");
}

/// Issue 9.4 (5b): S3 Control denied (no `s3:ListJobs`, or an S3-compatible endpoint without
/// it) made verify exit 1. Failure codes are unavailable, said once on stderr, and every other
/// check is made.
#[tokio::test(flavor = "multi_thread")]
async fn verify_goes_on_without_s3_control() {
    let env = Env::new(75);
    let admin = env.admin().await;
    let src = admin.src();
    let data = env.bucket("data");
    create_bucket(src, &data, "us-east-1").await;
    env.write_config("");
    env.ok(&["apply", "--yes"]);
    put_object(src, &data, "us-east-1", "k.txt", "replicated").await;
    env.emu.wait_replication();
    env.emu.inject_fault(&format!(
        "operation=ListJobs&account={}&code=AccessDenied&status=403&message=Access%20Denied",
        env.src
    ));
    let out = env.crossrep().arg("verify").output().unwrap();
    let (text, err) = (stdout(&out), stderr(&out));
    assert_eq!(out.status.code(), Some(0), "{text}{err}");
    assert!(text.contains("1 of 1 bucket pair(s) healthy."), "{text}");
    assert!(
        text.contains("1 sampled source version(s): 1 COMPLETED"),
        "{text}"
    );
    assert_eq!(
        err.matches("failure codes of FAILED versions are unavailable")
            .count(),
        1,
        "{err}"
    );
    assert!(
        err.contains("`s3:ListJobs`") && err.contains("AccessDenied"),
        "{err}"
    );
    // `-q`: nothing on stderr.
    let quiet = env.crossrep().args(["-q", "verify"]).output().unwrap();
    assert_eq!(quiet.status.code(), Some(0));
    assert_eq!(stderr(&quiet), "");
}

/// Issue 10 (SPEC §8): with `kms = "off"`, SSE-KMS objects never replicate; verify said healthy
/// (with `backfill = "none"` a version without a status was only a note). It fails now and
/// names them.
#[tokio::test(flavor = "multi_thread")]
async fn kms_objects_without_the_opt_in_are_unhealthy_and_named() {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::ServerSideEncryption;
    let env = Env::new(76);
    let admin = env.admin().await;
    let data = env.bucket("data");
    create_bucket(admin.src(), &data, "us-east-1").await;
    env.write_config("backfill = \"none\"\nkms = \"off\"");
    env.ok(&["apply", "--yes"]);
    let key = kms_key(admin.src()).await;
    admin
        .src()
        .s3(&crossrep_core::names::Region::new("us-east-1").unwrap())
        .put_object()
        .bucket(&data)
        .key("secret.txt")
        .body(ByteStream::from_static(b"secret"))
        .server_side_encryption(ServerSideEncryption::AwsKms)
        .ssekms_key_id(&key)
        .send()
        .await
        .unwrap();
    env.emu.wait_replication();
    let out = env.crossrep().args(["verify"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(3), "{text}");
    assert!(text.contains("not eligible: `secret.txt`"), "{text}");
    assert!(text.contains("NOT ELIGIBLE (SSE-KMS)"), "{text}");
}
