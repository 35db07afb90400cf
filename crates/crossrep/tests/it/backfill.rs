//! The backfill/status user story: existing objects arrive with their version ids, failures
//! are visible with their reason, a re-drive fixes them, and nothing runs twice.

use std::collections::BTreeMap;

use crossrep_aws::session::Session;

use crate::harness::*;

/// (key, version id, is delete marker) of every version, sorted.
async fn versions(s: &Session, bucket: &str, r: &str) -> Vec<(String, String, bool)> {
    let out = s
        .s3(&region(r))
        .list_object_versions()
        .bucket(bucket)
        .send()
        .await
        .unwrap();
    let mut v: Vec<(String, String, bool)> = out
        .versions()
        .iter()
        .map(|v| {
            (
                v.key().unwrap().to_string(),
                v.version_id().unwrap().to_string(),
                false,
            )
        })
        .chain(out.delete_markers().iter().map(|d| {
            (
                d.key().unwrap().to_string(),
                d.version_id().unwrap().to_string(),
                true,
            )
        }))
        .collect();
    v.sort();
    v
}

async fn body(
    s: &Session,
    bucket: &str,
    r: &str,
    key: &str,
    version: &str,
) -> (String, Option<String>) {
    let out = s
        .s3(&region(r))
        .get_object()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap();
    let status = out.replication_status().map(|s| s.as_str().to_string());
    let bytes = out.body.collect().await.unwrap().into_bytes();
    (String::from_utf8(bytes.to_vec()).unwrap(), status)
}

async fn tags(
    s: &Session,
    bucket: &str,
    r: &str,
    key: &str,
    version: &str,
) -> BTreeMap<String, String> {
    let out = s
        .s3(&region(r))
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .version_id(version)
        .send()
        .await
        .unwrap();
    out.tag_set()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect()
}

async fn seed_objects(s: &Session, bucket: &str, r: &str) {
    enable_versioning(s, bucket, r).await;
    put_object(s, bucket, r, "a.txt", "a v1").await;
    put_object(s, bucket, r, "a.txt", "a v2").await;
    put_object(s, bucket, r, "dir/b, with comma.txt", "b").await;
    put_object(s, bucket, r, "gone.txt", "soon deleted").await;
    s.s3(&region(r))
        .delete_object()
        .bucket(bucket)
        .key("gone.txt")
        .send()
        .await
        .unwrap();
    s.s3(&region(r))
        .put_object()
        .bucket(bucket)
        .key("tagged.txt")
        .body(b"t".to_vec().into())
        .tagging("team=data&class=gold")
        .send()
        .await
        .unwrap();
}

/// Issue 3, done-when 1: apply → backfill --wait → every version in its destination with the
/// same id, content and tags; status Complete with 0 failures; backfill again creates nothing.
#[tokio::test(flavor = "multi_thread")]
async fn backfill_replicates_existing_versions_and_is_not_repeated() {
    let env = Env::new(20);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let us = env.bucket("us");
    let eu = env.bucket("eu");
    create_bucket(src, &us, "us-east-1").await;
    create_bucket(src, &eu, "eu-west-1").await;
    seed_objects(src, &us, "us-east-1").await;
    seed_objects(src, &eu, "eu-west-1").await;
    env.write_config("");

    let apply = env.crossrep().args(["apply", "--yes"]).output().unwrap();
    assert!(
        apply.status.success(),
        "{}{}",
        stdout(&apply),
        stderr(&apply)
    );
    let backfill = env
        .crossrep()
        .args(["backfill", "--wait"])
        .output()
        .unwrap();
    let out = stdout(&backfill);
    assert!(backfill.status.success(), "{out}{}", stderr(&backfill));
    assert_eq!(out.matches(" created (all versions)").count(), 2, "{out}");

    for (bucket, r) in [(&us, "us-east-1"), (&eu, "eu-west-1")] {
        let dest = format!("replicated-{bucket}");
        let source_versions = versions(src, bucket, r).await;
        assert_eq!(source_versions.len(), 6, "{source_versions:?}");
        assert_eq!(
            versions(dst, &dest, r).await,
            source_versions,
            "same keys, version ids and delete marker"
        );
        for (key, version, marker) in &source_versions {
            if *marker {
                continue;
            }
            let (content, status) = body(src, bucket, r, key, version).await;
            assert_eq!(status.as_deref(), Some("COMPLETED"), "{key}");
            let (copy, copy_status) = body(dst, &dest, r, key, version).await;
            assert_eq!(copy, content, "{key}");
            assert_eq!(copy_status.as_deref(), Some("REPLICA"), "{key}");
        }
        let tagged = source_versions
            .iter()
            .find(|v| v.0 == "tagged.txt")
            .unwrap();
        assert_eq!(
            tags(dst, &dest, r, "tagged.txt", &tagged.1).await,
            BTreeMap::from([
                ("class".into(), "gold".into()),
                ("team".into(), "data".into())
            ])
        );
    }

    let status = env.crossrep().arg("status").output().unwrap();
    let text = stdout(&status);
    assert!(status.status.success(), "{text}");
    assert_eq!(
        text.matches("Complete: 6/6 tasks, 6 succeeded, 0 failed")
            .count(),
        2,
        "{text}"
    );
    let json = env
        .crossrep()
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows.as_array().unwrap().len(), 2);
    assert_eq!(rows[0]["rule"], "enabled");
    assert_eq!(rows[0]["failures"]["failed"], 0);

    let writes = env.emu.summary(&env.src)["by_operation"]["CreateJob"]["count"].as_u64();
    let again = env.crossrep().arg("backfill").output().unwrap();
    assert!(again.status.success(), "{}", stdout(&again));
    assert_eq!(
        stdout(&again).matches("nothing to do").count(),
        2,
        "{}",
        stdout(&again)
    );
    assert_eq!(
        env.emu.summary(&env.src)["by_operation"]["CreateJob"]["count"].as_u64(),
        writes
    );
}

/// Issue 3, done-when 2: a destination policy broken by hand shows up as
/// DstPutObjectNotPermitted with its fix; apply repairs it; the re-drive completes.
#[tokio::test(flavor = "multi_thread")]
async fn a_broken_destination_policy_is_explained_and_the_redrive_fixes_it() {
    let env = Env::new(21);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    seed_objects(src, &data, "us-east-1").await;
    env.write_config("");
    let apply = env.crossrep().args(["apply", "--yes"]).output().unwrap();
    assert!(apply.status.success(), "{}", stdout(&apply));

    // Someone removes crossrep's statements from the destination policy.
    dst.s3(&region("us-east-1"))
        .delete_bucket_policy()
        .bucket(&dest)
        .send()
        .await
        .unwrap();

    let broken = env
        .crossrep()
        .args(["backfill", "--wait"])
        .output()
        .unwrap();
    let out = stdout(&broken);
    assert_eq!(broken.status.code(), Some(1), "tasks failed: {out}");
    assert!(out.contains("DstPutObjectNotPermitted: 5"), "{out}");
    assert!(
        out.contains("DstDelObjNotPermitted: 1"),
        "the delete marker: {out}"
    );
    assert!(out.contains("the destination bucket policy"), "{out}");
    assert!(out.contains("crossrep backfill --only-failed"), "{out}");
    assert!(versions(dst, &dest, "us-east-1").await.is_empty());

    // The plan sees the missing statements; apply puts them back.
    let plan = env
        .crossrep()
        .args(["plan", "--detailed-exitcode"])
        .output()
        .unwrap();
    assert_eq!(plan.status.code(), Some(2));
    assert!(
        stdout(&plan).contains(&format!(
            "bucket_policy[{}/{dest}] will be created",
            env.dst
        )),
        "{}",
        stdout(&plan)
    );
    env.ok(&["apply", "--yes"]);

    let out = env.ok(&["backfill", "--only-failed", "--wait"]);
    assert!(out.contains("created (failed versions)"), "{out}");
    // Five object versions and the delete marker failed; all six are re-driven.
    assert!(
        out.contains("6 succeeded, 0 failed (failed versions)"),
        "{out}"
    );
    assert_eq!(
        versions(dst, &dest, "us-east-1").await,
        versions(src, &data, "us-east-1").await
    );
}

/// Issue 3, done-when 3: `--review` creates suspended jobs; status says they wait for a person.
#[tokio::test(flavor = "multi_thread")]
async fn review_creates_suspended_jobs() {
    let env = Env::new(22);
    let admin = env.admin().await;
    let data = env.bucket("data");
    create_bucket(admin.src(), &data, "us-east-1").await;
    seed_objects(admin.src(), &data, "us-east-1").await;
    env.write_config("");
    env.ok(&["apply", "--yes"]);

    let review = env
        .crossrep()
        .args(["backfill", "--review", "--wait"])
        .output()
        .unwrap();
    let out = stdout(&review);
    assert!(review.status.success(), "{out}{}", stderr(&review));
    assert!(out.contains("created, suspended for review"), "{out}");
    assert!(out.contains("Suspended, awaiting confirmation"), "{out}");
    // A second run does not add a job next to the suspended one.
    let again = env.crossrep().arg("backfill").output().unwrap();
    assert!(
        stdout(&again).contains("is still Suspended"),
        "{}",
        stdout(&again)
    );
}

/// Until every job it started is terminal (the emulator runs small jobs in well under a second).
async fn wait_terminal(s: &Session, job: crossrep_core::backfill::JobInfo) {
    for _ in 0..300 {
        let now = crossrep_aws::backfill::describe_job(s, &job).await.unwrap();
        if now.is_terminal() {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    panic!("job {} did not end", job.id);
}

/// Issue 9, item 4 (a), the bug as users met it: a `--only-failed` job from before any full
/// backfill (here made by hand, as an older crossrep made it) covers only FAILED versions,
/// none, and completes without a failure; plain `backfill` then said "nothing to do" forever
/// and the existing objects were never copied.
#[tokio::test(flavor = "multi_thread")]
async fn a_redrive_before_any_full_backfill_does_not_make_backfill_done() {
    let env = Env::new(80);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    seed_objects(src, &data, "us-east-1").await;
    env.write_config("");
    env.ok(&["apply", "--yes"]);

    use crossrep_core::backfill::{JobFilter, JobInfo, JobSpec};
    use crossrep_core::names::BucketName;
    let account = admin.src.clone();
    let spec = JobSpec {
        account: account.clone(),
        region: region("us-east-1"),
        source: BucketName::new(data.clone()).unwrap(),
        source_arn: format!("arn:aws:s3:::{data}"),
        destinations: vec![BucketName::new(dest.clone()).unwrap()],
        role_arn: format!("arn:aws:iam::{account}:role/crossrep-replication"),
        report_bucket_arn: format!("arn:aws:s3:::crossrep-reports-{account}-us-east-1"),
        report_prefix: format!("crossrep/{data}"),
        manifest_prefix: format!("crossrep/{data}/manifests"),
        filter: JobFilter::OnlyFailed,
        confirmation_required: false,
        client_request_token: "0".repeat(64),
        description: format!("crossrep backfill {data} -> {dest} (failed)"),
        tags: BTreeMap::from([
            ("managed-by".into(), "crossrep".into()),
            ("crossrep-source".into(), data.clone()),
            ("crossrep-filter".into(), "failed".into()),
        ]),
        priority: 10,
    };
    let id = crossrep_aws::backfill::create_job(src, &spec)
        .await
        .unwrap();
    let job = JobInfo {
        id,
        account: account.to_string(),
        region: "us-east-1".into(),
        ..JobInfo::default()
    };
    wait_terminal(src, job).await;
    let status = env.ok(&["status"]);
    assert!(
        status.contains("Complete: 0/0 tasks, 0 succeeded, 0 failed (failed versions)"),
        "{status}"
    );

    let out = env.ok(&["backfill", "--wait"]);
    assert!(!out.contains("nothing to do"), "{out}");
    assert!(out.contains("created (all versions)"), "{out}");
    assert_eq!(
        versions(dst, &dest, "us-east-1").await,
        versions(src, &data, "us-east-1").await
    );
    let again = env.ok(&["backfill"]);
    assert!(again.contains("nothing to do"), "{again}");
}

/// Issue 9, item 4 (b): `--only-failed` for a bucket that never had a full job starts a full
/// job instead, and says so; once there is one, `--only-failed` is a re-drive again.
#[tokio::test(flavor = "multi_thread")]
async fn only_failed_before_any_full_backfill_starts_a_full_one() {
    let env = Env::new(81);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    // Written before apply: live replication never sees them.
    seed_objects(src, &data, "us-east-1").await;
    env.write_config("");
    env.ok(&["apply", "--yes"]);
    assert!(versions(dst, &dest, "us-east-1").await.is_empty());

    let redrive = env
        .crossrep()
        .args(["backfill", "--only-failed", "--wait"])
        .output()
        .unwrap();
    let (out, err) = (stdout(&redrive), stderr(&redrive));
    assert!(redrive.status.success(), "{out}{err}");
    assert_eq!(
        err.matches(&format!(
            "no full backfill yet for {data}: starting one instead of --only-failed"
        ))
        .count(),
        1,
        "{err}"
    );
    assert!(out.contains("created (all versions)"), "{out}");
    assert!(
        out.contains("6 succeeded, 0 failed (all versions)"),
        "{out}"
    );
    assert_eq!(
        versions(dst, &dest, "us-east-1").await,
        versions(src, &data, "us-east-1").await
    );

    let again = env.ok(&["backfill"]);
    assert!(again.contains("nothing to do"), "{again}");
    let redrive = env
        .crossrep()
        .args(["backfill", "--only-failed", "--format", "json"])
        .output()
        .unwrap();
    assert!(redrive.status.success(), "{}", stderr(&redrive));
    assert!(
        !stderr(&redrive).contains("no full backfill yet"),
        "{}",
        stderr(&redrive)
    );
    let report: serde_json::Value = serde_json::from_slice(&redrive.stdout).unwrap();
    assert_eq!(report["buckets"][0]["decision"], "create");
    assert_eq!(report["buckets"][0]["spec"]["filter"], "only_failed");
}

/// Issue 9, item 7 (SPEC §3 status row): with `backfill = "none"` for every pair, `status`
/// makes no S3 Control call at all.
#[tokio::test(flavor = "multi_thread")]
async fn status_without_batch_backfill_makes_no_s3_control_call() {
    let env = Env::new(82);
    let admin = env.admin().await;
    create_bucket(admin.src(), &env.bucket("us"), "us-east-1").await;
    create_bucket(admin.src(), &env.bucket("eu"), "eu-west-1").await;
    env.write_config("backfill = \"none\"");
    env.ok(&["apply", "--yes"]);

    let out = env.ok(&["status"]);
    assert_eq!(out.matches("rule      enabled").count(), 2, "{out}");
    assert_eq!(
        out.matches("backfill  off (`backfill = \"none\"`)").count(),
        2,
        "{out}"
    );
    let backfill = env.ok(&["backfill"]);
    assert!(backfill.is_empty(), "{backfill}");
    for account in [&env.src, &env.dst] {
        let summary = env.emu.summary(account);
        assert!(
            summary["by_service"]["s3control"].is_null(),
            "{account}: {summary:#}"
        );
    }
}

/// Issue 9, item 7: S3 Control denied (`s3:ListJobs`) in one source account: `status` says
/// once that job information is unavailable, and why, and still shows every pair with its
/// rule (exit 0); `backfill` skips that account's buckets naming the permission (exit 1) and
/// starts the other account's job.
#[tokio::test(flavor = "multi_thread")]
async fn denied_job_listing_is_said_once_by_status_and_fails_backfill_for_that_account() {
    let env = Env::new(83);
    let admin = env.admin().await;
    let third = format!("33{:010}", 83);
    let ep = env.emu.endpoint();
    let other_toml = format!(
        "[accounts.other]\nid = \"{third}\"\nrole_arn = \"arn:aws:iam::{third}:role/admin\"\nregion = \"us-east-1\"\nendpoint_url = \"{ep}\"\n"
    );
    let sessions = crossrep_aws::Sessions::new(
        &crossrep_core::config::Config::parse(
            &format!("{}\n{other_toml}", env.accounts_toml()),
            std::path::Path::new("admin.toml"),
        )
        .unwrap(),
    )
    .await
    .unwrap();
    let other = sessions.get(&crossrep_core::names::AccountId::new(third.clone()).unwrap());
    let (p1, p2, o1) = (env.bucket("p1"), env.bucket("p2"), env.bucket("o1"));
    create_bucket(admin.src(), &p1, "us-east-1").await;
    create_bucket(admin.src(), &p2, "eu-west-1").await;
    create_bucket(other, &o1, "us-east-1").await;
    seed_objects(admin.src(), &p1, "us-east-1").await;
    seed_objects(admin.src(), &p2, "eu-west-1").await;
    seed_objects(other, &o1, "us-east-1").await;
    env.write_raw_config(&format!(
        "{}\n{other_toml}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"{p}*\"]\n\n[[replication]]\nfrom = \"other\"\nto = \"backup\"\nbuckets = [\"{p}*\"]\n",
        env.accounts_toml(),
        p = env.prefix
    ));
    env.ok(&["apply", "--yes"]);

    env.emu.inject_fault(&format!(
        "operation=ListJobs&account={}&code=AccessDenied&status=403&message=Access%20Denied",
        env.src
    ));
    let status = env.crossrep().arg("status").output().unwrap();
    let (out, err) = (stdout(&status), stderr(&status));
    assert_eq!(status.status.code(), Some(0), "{out}{err}");
    assert_eq!(
        err.matches("backfill job information is unavailable")
            .count(),
        1,
        "{err}"
    );
    assert!(err.contains("`s3:ListJobs`"), "{err}");
    assert!(err.contains(&format!("in account {}", env.src)), "{err}");
    assert!(
        err.contains(&format!(
            "hint: the credentials used for account {} need `s3:ListJobs`",
            env.src
        )),
        "{err}"
    );
    assert_eq!(out.matches("rule      enabled").count(), 3, "{out}");
    assert_eq!(
        out.matches("backfill  unknown: job information is unavailable")
            .count(),
        2,
        "{out}"
    );
    assert_eq!(out.matches("backfill  no job yet").count(), 1, "{out}");
    let json = env
        .crossrep()
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let unknown: Vec<&serde_json::Value> = rows
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["job_error"].is_string())
        .collect();
    assert_eq!(unknown.len(), 2, "{rows:#}");

    let backfill = env.crossrep().arg("backfill").output().unwrap();
    let out = stdout(&backfill);
    assert_eq!(
        backfill.status.code(),
        Some(1),
        "{out}{}",
        stderr(&backfill)
    );
    for b in [&p1, &p2] {
        assert!(
            out.contains(&format!("{b} ({}, ", env.src))
                && out.lines().any(|l| l.starts_with(b.as_str())
                    && l.contains("skipped: its backfill jobs could not be listed: `s3:ListJobs`")
                    && l.contains("need `s3:ListJobs`")),
            "{out}"
        );
    }
    assert!(
        out.lines()
            .any(|l| l.starts_with(o1.as_str()) && l.contains("created (all versions)")),
        "{out}"
    );
    assert!(env.emu.summary(&env.src)["by_operation"]["CreateJob"].is_null());
    assert_eq!(
        env.emu.summary(&third)["by_operation"]["CreateJob"]["count"],
        1
    );
}

/// Issue 9, item 7: `status` shows the selected buckets in conflict. When every selected
/// bucket was in conflict it said "No bucket pairs: no source bucket matches the
/// configuration"; a pair the plan leaves alone showed as an ordinary pair with no rule.
#[tokio::test(flavor = "multi_thread")]
async fn status_shows_selected_buckets_in_conflict() {
    let env = Env::new(84);
    let admin = env.admin().await;
    let (data, data_x, far) = (env.bucket("data"), env.bucket("data-x"), env.bucket("far"));
    create_bucket(admin.src(), &data, "us-east-1").await;
    create_bucket(admin.src(), &data_x, "us-east-1").await;
    // Two sources, one destination: `data` -> `replicated-<data>-x` <- `data-x`.
    let shared = format!(
        "{}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"{data}\"]\ndestination = \"replicated-{{bucket}}-x\"\n\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"{data_x}\"]\n",
        env.accounts_toml()
    );
    env.write_raw_config(&shared);
    let out = env.ok(&["status"]);
    assert!(!out.contains("No bucket pairs"), "{out}");
    for b in [&data, &data_x] {
        assert!(
            out.contains(&format!(
                "{b} ({}) -> replicated-{data_x}\n  rule      conflict  (no bucket pair: not replicated)\n  conflict  destination `replicated-{data_x}` is also the destination of",
                env.src
            )),
            "{out}"
        );
    }

    // A pair the plan leaves alone: its destination exists in another region.
    create_bucket(admin.src(), &far, "us-east-1").await;
    create_bucket(admin.dst(), &format!("replicated-{far}"), "eu-west-1").await;
    env.write_raw_config(&format!(
        "{shared}\n[[replication]]\nfrom = \"prod\"\nto = \"backup\"\nbuckets = [\"{far}\"]\n"
    ));
    let out = env.ok(&["status"]);
    assert!(
        out.contains(&format!(
            "{far} ({src}, us-east-1) -> replicated-{far} ({dst}, eu-west-1)\n  rule      conflict  (crossrep leaves this pair as it is)\n  conflict  destination bucket `replicated-{far}` exists in eu-west-1",
            src = env.src,
            dst = env.dst
        )),
        "{out}"
    );
    assert!(out.contains("  backfill  no job\n"), "{out}");
    let json = env
        .crossrep()
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    assert!(json.status.success());
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let rows = rows.as_array().unwrap();
    assert_eq!(rows.len(), 3, "{rows:#?}");
    assert!(rows.iter().all(|r| r["rule"] == "conflict"), "{rows:#?}");
    assert_eq!(rows[0]["source"]["bucket"], far.as_str());
    assert_eq!(rows[0]["conflict"]["bucket"], far.as_str());
    assert_eq!(rows[1]["source"]["bucket"], data.as_str());
    assert_eq!(rows[1]["conflict"]["code"], "destination_shared");
    assert_eq!(rows[2]["source"]["bucket"], data_x.as_str());
}

/// Issue 9, item 7: completion reports are streamed, and only their failed-task files are
/// fetched (the job's counters give the successes); the failures read the same.
#[tokio::test(flavor = "multi_thread")]
async fn status_reads_only_the_failed_tasks_of_a_report() {
    let env = Env::new(85);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    seed_objects(src, &data, "us-east-1").await;
    // Without alerts: `status` would also read the failure summary (one more GetObject).
    env.write_config("alerts = false");
    env.ok(&["apply", "--yes"]);

    // The destination policy loses `s3:ReplicateDelete`: the delete marker fails, the five
    // object versions replicate.
    let mut policy = get_policy(dst, &dest, "us-east-1").await;
    for statement in policy["Statement"].as_array_mut().unwrap() {
        if let Some(actions) = statement["Action"].as_array_mut() {
            actions.retain(|a| a != "s3:ReplicateDelete");
        }
    }
    put_policy(dst, &dest, "us-east-1", &policy).await;
    let backfill = env
        .crossrep()
        .args(["backfill", "--wait"])
        .output()
        .unwrap();
    assert_eq!(backfill.status.code(), Some(1), "{}", stdout(&backfill));

    // Of the report: discovery also reads crossrep's sample cache there.
    let reads = |env: &Env| {
        env.emu.summary(&env.src)["by_operation"]["GetObject"]["count"]
            .as_u64()
            .unwrap_or(0)
            - env.emu.sample_cache(&env.src, "GetObject")
    };
    let before = reads(&env);
    let out = env.ok(&["status"]);
    assert!(
        out.contains("Complete: 6/6 tasks, 5 succeeded, 1 failed (all versions)"),
        "{out}"
    );
    assert!(
        out.contains("  failures  1 of 6 tasks\n    DstDelObjNotPermitted: 1\n"),
        "{out}"
    );
    assert!(out.contains("e.g. gone.txt (version "), "{out}");
    // manifest.json and the one failed-task file; not the succeeded-task file.
    assert_eq!(reads(&env) - before, 2, "{out}");
    let json = env
        .crossrep()
        .args(["status", "--format", "json"])
        .output()
        .unwrap();
    let rows: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(rows[0]["failures"]["succeeded"], 5);
    assert_eq!(rows[0]["failures"]["failed"], 1);
}

/// Issue 10 (SPEC §8): SSE-KMS objects written before the rule existed are copied by the
/// backfill (Batch Replication uses the rule's role, its KMS grants and the replica key), each
/// copy under the replica key.
#[tokio::test(flavor = "multi_thread")]
async fn a_backfill_copies_existing_sse_kms_objects() {
    use aws_sdk_s3::primitives::ByteStream;
    use aws_sdk_s3::types::ServerSideEncryption;
    let env = Env::new(62);
    let admin = env.admin().await;
    let (src, dst) = (admin.src(), admin.dst());
    let data = env.bucket("data");
    let dest = format!("replicated-{data}");
    create_bucket(src, &data, "us-east-1").await;
    enable_versioning(src, &data, "us-east-1").await;
    let key = kms_key(src).await;
    default_kms(src, &data, &key).await;
    let s3 = src.s3(&region("us-east-1"));
    for k in ["old-1.txt", "old-2.txt"] {
        s3.put_object()
            .bucket(&data)
            .key(k)
            .body(ByteStream::from_static(b"before the rule"))
            .server_side_encryption(ServerSideEncryption::AwsKms)
            .ssekms_key_id(&key)
            .send()
            .await
            .unwrap();
    }
    env.write_config("");
    env.ok(&["apply", "--yes"]);
    let out = env.ok(&["backfill", "--wait"]);
    assert!(out.contains("created (all versions)"), "{out}");
    assert_eq!(
        versions(dst, &dest, "us-east-1").await,
        versions(src, &data, "us-east-1").await,
        "{}",
        env.emu.replication_failures()
    );
    let replica_key = replica_key_arn(dst).await;
    let head = dst
        .s3(&region("us-east-1"))
        .head_object()
        .bucket(&dest)
        .key("old-1.txt")
        .send()
        .await
        .unwrap();
    assert_eq!(head.ssekms_key_id(), Some(replica_key.as_str()));
}
