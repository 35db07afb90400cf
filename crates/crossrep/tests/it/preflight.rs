//! Preflight end to end (SPEC §12, issue 13): an opt-in region the destination account has not
//! enabled, and a destination bucket quota the plan would exceed, found before any write.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::harness::*;

const PLAIN: &str = "backfill = \"none\"\nalerts = false\n";

/// A source bucket in af-south-1 (enabled in the source account, not in the destination
/// account, as new accounts have it): that pair is a conflict naming the region, the account
/// and the fix; nothing is created for it; the other pair is applied; exit 1. Enabling the region
/// as the hint says (asynchronous: ENABLING, then ENABLED) and applying again completes it, and
/// objects replicate.
#[tokio::test(flavor = "multi_thread")]
async fn a_region_the_destination_has_not_enabled_is_a_conflict_until_it_is() {
    let env = Env::new(97);
    env.emu.set_region(&env.src, "af-south-1", "ENABLED");
    let admin = env.admin().await;
    let (cape, data) = (env.bucket("cape"), env.bucket("data"));
    create_bucket(admin.src(), &cape, "af-south-1").await;
    create_bucket(admin.src(), &data, "us-east-1").await;
    env.write_config(PLAIN);

    let text = env.conflicted(&["apply", "--yes"]);
    let why = format!(
        "conflict: {cape} ({}) -> replicated-{cape}: region af-south-1 is not enabled in account {} (DISABLED): S3 replication needs it enabled",
        env.src, env.dst
    );
    assert!(text.contains(&why), "{text}");
    assert!(
        text.contains("aws account enable-region --region-name af-south-1"),
        "{text}"
    );
    assert!(
        text.contains("Preflight:\n  conflict: region af-south-1 is not enabled in account"),
        "{text}"
    );
    // Nothing was created for it; the other pair was applied.
    let none = admin
        .src()
        .s3(&region("af-south-1"))
        .get_bucket_replication()
        .bucket(&cape)
        .send()
        .await;
    assert!(none.is_err(), "{none:?}");
    let rules = get_replication(admin.src(), &data, "us-east-1").await;
    assert_eq!(
        rules.rules[0].id,
        Some(format!("crossrep-replicated-{data}"))
    );
    let out = env
        .crossrep()
        .args(["plan", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let plan: Value = serde_json::from_str(&stdout(&out)).unwrap();
    let f = &plan["preflight"][0];
    assert_eq!(f["severity"], "conflict", "{f}");
    assert_eq!(f["code"], "region_not_enabled", "{f}");
    assert_eq!(f["account"], env.dst.as_str(), "{f}");
    assert_eq!(f["region"], "af-south-1", "{f}");

    // Enabled the way the hint says; it is asynchronous.
    let account = admin.dst().account();
    account
        .enable_region()
        .region_name("af-south-1")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let out = account
            .get_region_opt_status()
            .region_name("af-south-1")
            .send()
            .await
            .unwrap();
        let status = out.region_opt_status().map(|s| s.as_str().to_string());
        if status.as_deref() == Some("ENABLED") {
            break;
        }
        assert_eq!(status.as_deref(), Some("ENABLING"));
        assert!(Instant::now() < deadline, "af-south-1 never became ENABLED");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let text = env.ok(&["apply", "--yes"]);
    assert!(!text.contains("conflict"), "{text}");
    // Preflight has nothing left to say but that the test's callers' permissions cannot be
    // simulated (their roles are not IAM roles the emulator knows).
    assert!(!text.contains("is not enabled"), "{text}");
    assert!(!text.contains("  error:"), "{text}");
    let rules = get_replication(admin.src(), &cape, "af-south-1").await;
    assert_eq!(
        rules.rules[0].id,
        Some(format!("crossrep-replicated-{cape}"))
    );
    put_object(admin.src(), &cape, "af-south-1", "k", "v").await;
    env.emu.wait_replication();
    admin
        .dst()
        .s3(&region("af-south-1"))
        .head_object()
        .bucket(format!("replicated-{cape}"))
        .key("k")
        .send()
        .await
        .unwrap_or_else(|e| panic!("not replicated: {e:?}\n{}", env.emu.replication_failures()));
    let text = env.ok(&["plan"]);
    assert!(text.contains("No changes."), "{text}");
}

/// A plan that would take the destination account past its bucket quota fails before any write,
/// with the numbers and the fix; `apply` refuses it (exit 1, zero writes); once the quota is
/// raised, apply completes.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_past_the_bucket_quota_is_refused_before_any_write() {
    let env = Env::new(98);
    let admin = env.admin().await;
    for b in ["a", "b", "c"] {
        create_bucket(admin.src(), &env.bucket(b), "us-east-1").await;
    }
    // The destination holds one bucket already (not crossrep's).
    create_bucket(admin.dst(), &env.bucket("theirs"), "us-west-2").await;
    env.emu.set_bucket_quota(&env.dst, 3);
    env.write_config(PLAIN);

    let out = env.crossrep().args(["plan"]).output().unwrap();
    let text = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!(
            "error: account {} holds 1 bucket(s) and this plan creates 3: 4 in all, but its general purpose bucket quota is 3",
            env.dst
        )),
        "{text}"
    );
    assert!(
        text.contains("--quota-code L-DC2B2D3D --desired-value 4"),
        "{text}"
    );
    assert!(text.contains("apply refuses this plan"), "{text}");

    let (src_writes, dst_writes) = (env.emu.writes(&env.src), env.emu.writes(&env.dst));
    let out = env.crossrep().args(["apply", "--yes"]).output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("Apply refused: preflight found 1 error(s)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        env.emu.writes(&env.src),
        src_writes,
        "a write in the source account"
    );
    assert_eq!(
        env.emu.writes(&env.dst),
        dst_writes,
        "a write in the destination account"
    );
    let out = env
        .crossrep()
        .args(["apply", "--yes", "--format", "json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_str(&stdout(&out)).unwrap();
    assert_eq!(report["refused"], true, "{report}");
    assert_eq!(report["complete"], false, "{report}");
    assert_eq!(
        report["plan"]["preflight"][0]["code"], "bucket_quota",
        "{report}"
    );

    // Raised (what the hint asks for): apply completes.
    env.emu.set_bucket_quota(&env.dst, 4);
    let text = env.ok(&["apply", "--yes"]);
    assert!(!text.contains("  error:"), "{text}");
    assert!(!text.contains("bucket quota"), "{text}");
    for b in ["a", "b", "c"] {
        let config = get_replication(admin.src(), &env.bucket(b), "us-east-1").await;
        assert_eq!(config.rules.len(), 1);
    }
}

/// The operator's permissions, as the IAM policy simulator sees them (SPEC §12): the source
/// account is reached through a role whose policy denies `s3:PutReplicationConfiguration`, so
/// the plan warns, naming the action, the bucket and the role (a warning: the simulator does
/// not see resource policies); the destination's caller is an assumed role IAM does not know,
/// so its permissions are not checked, and the plan says so; a denied simulation likewise.
#[tokio::test(flavor = "multi_thread")]
async fn the_policy_simulator_names_what_the_caller_may_not_do() {
    let env = Env::new(99);
    let admin = env.admin().await;
    let data = env.bucket("data");
    create_bucket(admin.src(), &data, "us-east-1").await;
    let trust = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", env.src)}, "Action": "sts:AssumeRole"}]});
    let policy = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:PutReplicationConfiguration", "Resource": "*"}]});
    let iam = &admin.src().iam;
    iam.create_role()
        .role_name("operator")
        .path("/ops/")
        .assume_role_policy_document(trust.to_string())
        .send()
        .await
        .unwrap();
    iam.put_role_policy()
        .role_name("operator")
        .policy_name("all-but-replication")
        .policy_document(policy.to_string())
        .send()
        .await
        .unwrap();
    let text = env.accounts_toml().replacen(
        &format!("arn:aws:iam::{}:role/admin", env.src),
        &format!("arn:aws:iam::{}:role/ops/operator", env.src),
        1,
    );
    env.write_raw_config(&format!(
        "{text}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"{}*\"]\n{PLAIN}",
        env.prefix
    ));

    let text = env.ok(&["plan"]);
    let warning = format!(
        "warning: the IAM policy simulator says arn:aws:iam::{}:role/ops/operator may not: `s3:PutReplicationConfiguration` on `arn:aws:s3:::{data}`",
        env.src
    );
    assert!(text.contains(&warning), "{text}");
    assert!(
        text.contains(&format!(
            "not checked: could not check the operator's permissions in account {}: `iam:GetRole`",
            env.dst
        )),
        "{text}"
    );
    // Nothing else is missing for the source: one action named, not the allowed ones.
    assert!(!text.contains("`s3:PutBucketVersioning`"), "{text}");

    env.emu.inject_fault(&format!(
        "operation=SimulatePrincipalPolicy&account={}&code=AccessDenied&status=403",
        env.src
    ));
    let text = env.ok(&["plan", "--format", "json"]);
    let plan: Value = serde_json::from_str(&text).unwrap();
    let src = plan["preflight"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["account"] == env.src.as_str())
        .unwrap_or_else(|| panic!("{text}"));
    assert_eq!(src["code"], "permissions_unchecked", "{src}");
    assert!(
        src["message"]
            .as_str()
            .unwrap()
            .contains("iam:SimulatePrincipalPolicy"),
        "{src}"
    );
}
