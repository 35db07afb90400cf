//! Issue 9 (SPEC §5): grants are never dropped. A pair that cannot be read keeps replicating,
//! and a `crossrep-*` rule the configuration no longer produces is removed, never left enabled
//! without grants.

use crate::harness::*;
use crossrep_aws::session::Session;

/// The replication status of `key` in `bucket`, after live replication went idle.
async fn status_of(s: &Session, bucket: &str, key: &str) -> Option<String> {
    s.s3(&region("us-east-1"))
        .head_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .replication_status()
        .map(|s| s.as_str().to_string())
}

/// One failed read broke a working pair: the pair became a conflict, the role policy was
/// rewritten without it while its rule stayed enabled, and every new object FAILED.
#[tokio::test(flavor = "multi_thread")]
async fn a_pair_that_cannot_be_read_keeps_replicating() {
    let env = Env::new(56);
    let admin = env.admin().await;
    let a = env.bucket("a");
    let b = env.bucket("b");
    create_bucket(admin.src(), &a, "us-east-1").await;
    create_bucket(admin.src(), &b, "us-east-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);

    // Next run: `b`'s configuration cannot be read, and a new bucket makes the role policy
    // change.
    env.emu.inject_fault(&format!(
        "operation=GetBucketReplication&bucket={b}&code=AccessDenied&status=403&message=Access%20Denied"
    ));
    let c = env.bucket("c");
    create_bucket(admin.src(), &c, "us-east-1").await;
    env.crossrep().args(["apply", "--yes"]).output().unwrap();
    env.emu.clear_faults(&b);

    put_object(admin.src(), &b, "us-east-1", "after.txt", "x").await;
    put_object(admin.src(), &c, "us-east-1", "new.txt", "y").await;
    env.emu.wait_replication();
    assert_eq!(
        status_of(admin.src(), &b, "after.txt").await.as_deref(),
        Some("COMPLETED"),
        "{}",
        env.emu.replication_failures()
    );
    assert_eq!(
        status_of(admin.src(), &c, "new.txt").await.as_deref(),
        Some("COMPLETED")
    );
}

/// Excluding a bucket, or changing the `destination` template, left the old `crossrep-*` rule
/// enabled without grants: the rule is removed (shown in the plan), objects no longer FAIL.
#[tokio::test(flavor = "multi_thread")]
async fn excluded_buckets_and_old_templates_leave_no_ungranted_rule() {
    let env = Env::new(57);
    let admin = env.admin().await;
    let a = env.bucket("a");
    let b = env.bucket("b");
    create_bucket(admin.src(), &a, "us-east-1").await;
    create_bucket(admin.src(), &b, "us-east-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);

    // `b` is excluded, and `a` gets a new destination template.
    env.write_config(&format!(
        "backfill = \"none\"\nexclude = [\"{b}\"]\ndestination = \"dr-{{bucket}}\""
    ));
    let plan = env.ok(&["plan"]);
    assert!(
        plan.contains(&format!("replication[{}/{b}]", env.src)),
        "{plan}"
    );
    assert!(plan.contains("no longer selected"), "{plan}");
    env.ok(&["apply", "--yes"]);

    let rules = |bucket: String| {
        let s3 = admin.src().s3(&region("us-east-1"));
        async move {
            match s3.get_bucket_replication().bucket(&bucket).send().await {
                Ok(out) => out
                    .replication_configuration()
                    .map(|c| {
                        c.rules()
                            .iter()
                            .filter_map(|r| r.id().map(str::to_string))
                            .collect::<Vec<_>>()
                    })
                    .unwrap_or_default(),
                Err(_) => vec![],
            }
        }
    };
    assert_eq!(
        rules(b.clone()).await,
        Vec::<String>::new(),
        "the excluded bucket's rule is gone"
    );
    assert_eq!(rules(a.clone()).await, vec![format!("crossrep-dr-{a}")]);
    put_object(admin.src(), &a, "us-east-1", "k.txt", "x").await;
    env.emu.wait_replication();
    assert_eq!(
        status_of(admin.src(), &a, "k.txt").await.as_deref(),
        Some("COMPLETED"),
        "{}",
        env.emu.replication_failures()
    );
    // And it converged.
    let again = env
        .crossrep()
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(again.status.code(), Some(0), "{}", stdout(&again));
}
