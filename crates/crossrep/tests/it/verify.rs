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
