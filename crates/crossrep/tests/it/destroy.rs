//! The destroy user story: crossrep's rules, statements and role go; everything else stays.

use serde_json::json;

use crossrep_core::model::{Destination, Filter, Rule};

use crate::harness::*;

/// Issue 4: with another rule and another policy statement in place, destroy leaves exactly
/// those, never touches buckets or objects, and a second destroy does nothing.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_removes_only_what_crossrep_configured() {
    let env = Env::new(30);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let other = env.bucket("other");
    let dest = format!("replicated-{data}");
    for b in [&data, &other] {
        create_bucket(src, b, "us-east-1").await;
    }
    put_object(src, &data, "us-east-1", "keep.txt", "precious").await;
    env.write_config(&format!("exclude = [\"{other}\"]\nbackfill = \"none\""));
    env.ok(&["apply", "--yes"]);

    // Someone adds a rule of their own (with a role of their own account's choosing) into the
    // configuration, and a statement of their own into the destination policy.
    enable_versioning(src, &other, "us-east-1").await;
    let mut cfg = get_replication(src, &data, "us-east-1").await;
    let theirs = Rule {
        id: Some("their-rule".into()),
        priority: Some(7),
        enabled: true,
        prefix: None,
        filter: Some(Filter {
            prefix: Some("archive/".into()),
            ..Filter::default()
        }),
        delete_marker_replication: Some(false),
        sse_kms_encrypted_objects: None,
        replica_modifications: None,
        existing_object_replication: None,
        destination: Destination {
            bucket: format!("arn:aws:s3:::{other}"),
            account: None,
            storage_class: None,
            owner_override: false,
            replica_kms_key_id: None,
            replication_time_minutes: None,
            metrics_enabled: false,
            metrics_minutes: None,
        },
    };
    cfg.rules.push(theirs.clone());
    put_replication(src, &data, "us-east-1", &cfg).await;
    let mut policy = get_policy(dst, &dest, "us-east-1").await;
    let statement = json!({"Sid": "AuditRead", "Effect": "Allow",
        "Principal": {"AWS": format!("arn:aws:iam::{}:root", env.dst)},
        "Action": "s3:GetObject", "Resource": format!("arn:aws:s3:::{dest}/*")});
    policy["Statement"]
        .as_array_mut()
        .unwrap()
        .push(statement.clone());
    put_policy(dst, &dest, "us-east-1", &policy).await;

    let no_yes = env.crossrep().arg("destroy").output().unwrap();
    assert_eq!(no_yes.status.code(), Some(1), "needs --yes without a TTY");

    let destroy = env.crossrep().args(["destroy", "--yes"]).output().unwrap();
    let out = stdout(&destroy);
    assert!(destroy.status.success(), "{out}{}", stderr(&destroy));
    assert!(
        out.contains(&format!(
            "# replication[{}/{data}] will be updated in-place",
            env.src
        )),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "# bucket_policy[{}/{dest}] will be updated in-place",
            env.dst
        )),
        "{out}"
    );
    // Their rule uses crossrep's role, so the role stays.
    assert!(
        out.contains("the role and its permissions are kept"),
        "{out}"
    );
    assert!(out.contains("Destroy complete!"), "{out}");

    assert_eq!(
        get_replication(src, &data, "us-east-1").await.rules,
        vec![theirs]
    );
    assert_eq!(
        get_policy(dst, &dest, "us-east-1").await["Statement"],
        json!([statement])
    );
    // Buckets, versioning and objects are untouched.
    assert_eq!(
        versioning(src, &data, "us-east-1").await.as_deref(),
        Some("Enabled")
    );
    assert_eq!(
        versioning(dst, &dest, "us-east-1").await.as_deref(),
        Some("Enabled")
    );
    let obj = src
        .s3(&region("us-east-1"))
        .get_object()
        .bucket(&data)
        .key("keep.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        obj.body.collect().await.unwrap().into_bytes().as_ref(),
        b"precious"
    );

    let writes = (env.emu.writes(&env.src), env.emu.writes(&env.dst));
    let again = env.crossrep().args(["destroy", "--yes"]).output().unwrap();
    assert!(again.status.success(), "{}", stdout(&again));
    assert!(stdout(&again).contains("No changes."), "{}", stdout(&again));
    assert_eq!(
        (env.emu.writes(&env.src), env.emu.writes(&env.dst)),
        writes,
        "destroy again writes nothing"
    );

    // Once their rule is gone too, the role goes with the next destroy.
    src.s3(&region("us-east-1"))
        .delete_bucket_replication()
        .bucket(&data)
        .send()
        .await
        .unwrap();
    let last = env.crossrep().args(["destroy", "--yes"]).output().unwrap();
    assert!(last.status.success(), "{}", stdout(&last));
    assert!(
        stdout(&last).contains(&format!(
            "# role[{}/crossrep-replication] will be destroyed",
            env.src
        )),
        "{}",
        stdout(&last)
    );
    let role = src
        .iam
        .get_role()
        .role_name("crossrep-replication")
        .send()
        .await;
    assert!(role.is_err(), "the role is gone");
}

/// Issue 9 (SPEC §5): destroy deleted inline policies someone else put on its role (a
/// security team's Deny), and said "Destroy complete!" with exit 0 after skipping a destination
/// it could not read. Now it keeps the role with those policies, names what it could not read,
/// and exits 1 until a run finishes.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_keeps_a_role_with_foreign_policies_and_says_when_it_did_not_finish() {
    let env = Env::new(58);
    let admin = env.admin().await;
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(admin.src(), &data, "us-east-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);
    let deny = json!({"Version": "2012-10-17", "Statement": [{"Sid": "NoDeletes",
        "Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]});
    admin
        .src()
        .iam
        .put_role_policy()
        .role_name("crossrep-replication")
        .policy_name("security-deny")
        .policy_document(deny.to_string())
        .send()
        .await
        .unwrap();

    // The destination's policy cannot be read this time.
    env.emu.inject_fault(&format!(
        "operation=GetBucketPolicy&bucket={dest}&code=AccessDenied&status=403&message=Access%20Denied"
    ));
    let first = env.crossrep().args(["destroy", "--yes"]).output().unwrap();
    assert_eq!(
        first.status.code(),
        Some(1),
        "{}{}",
        stdout(&first),
        stderr(&first)
    );
    assert!(
        stderr(&first).contains("Destroy incomplete"),
        "{}",
        stderr(&first)
    );
    assert!(
        stdout(&first).contains(&format!(
            "could not read the bucket policy of destination `{dest}`"
        )),
        "{}",
        stdout(&first)
    );
    env.emu.clear_faults(&dest);

    let second = env.crossrep().args(["destroy", "--yes"]).output().unwrap();
    assert_eq!(
        second.status.code(),
        Some(0),
        "{}{}",
        stdout(&second),
        stderr(&second)
    );
    assert!(
        stdout(&second).contains("security-deny"),
        "{}",
        stdout(&second)
    );
    // The role and the foreign policy are there; crossrep's policy is gone.
    let iam = &admin.src().iam;
    let names = iam
        .list_role_policies()
        .role_name("crossrep-replication")
        .send()
        .await
        .unwrap()
        .policy_names()
        .to_vec();
    assert_eq!(names, vec!["security-deny".to_string()]);
    // And the destination policy, which held only crossrep's statements, is gone.
    let policy = admin
        .dst()
        .s3(&region("us-east-1"))
        .get_bucket_policy()
        .bucket(&dest)
        .send()
        .await;
    assert!(
        policy.as_ref().is_err_and(|e| e
            .as_service_error()
            .and_then(|s| aws_sdk_s3::error::ProvideErrorMetadata::code(s))
            == Some("NoSuchBucketPolicy")),
        "{policy:?}"
    );
}

/// Issue 9 (SPEC §5): destroy deleted the role while a bucket dropped from the selection still
/// replicated with it. Every bucket of the account is read: the role is kept, the bucket named.
#[tokio::test(flavor = "multi_thread")]
async fn destroy_keeps_the_role_while_an_unselected_bucket_uses_it() {
    let env = Env::new(60);
    let admin = env.admin().await;
    let a = env.bucket("a");
    let b = env.bucket("b");
    create_bucket(admin.src(), &a, "us-east-1").await;
    create_bucket(admin.src(), &b, "us-east-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);
    // `b` leaves the selection, and destroy runs before any apply removes its rule.
    env.write_config(&format!("backfill = \"none\"\nexclude = [\"{b}\"]"));
    let out = env.crossrep().args(["destroy", "--yes"]).output().unwrap();
    let text = stdout(&out);
    assert!(out.status.success(), "{text}{}", stderr(&out));
    assert!(
        text.contains(&format!("conflict: {b} ({}): its replication configuration (not selected by this configuration) uses the role", env.src)),
        "{text}"
    );
    assert!(
        !text.contains(&format!(
            "# role[{}/crossrep-replication] will be destroyed",
            env.src
        )),
        "{text}"
    );
    let role = admin
        .src()
        .iam
        .get_role()
        .role_name("crossrep-replication")
        .send()
        .await;
    assert!(role.is_ok(), "the role is kept: {role:?}");
    // `b` still replicates.
    put_object(admin.src(), &b, "us-east-1", "k.txt", "x").await;
    env.emu.wait_replication();
    let head = admin
        .src()
        .s3(&region("us-east-1"))
        .head_object()
        .bucket(&b)
        .key("k.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.replication_status().map(|s| s.as_str()),
        Some("COMPLETED")
    );
}
