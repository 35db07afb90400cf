//! The pure planner: `plan(&DesiredState, &ActualState)`, SPEC §4 items 1–5 and §5.
//!
//! Every example goes through `fixtures::check`, which also proves that applying the plan
//! converges and that no change drops anything crossrep does not own; `props` proves the same
//! for generated configs and states.

// Test and bench helpers outside `#[test]` functions unwrap too.
#![allow(clippy::unwrap_used, unreachable_pub)]

#[path = "planner/fixtures.rs"]
mod fixtures;
#[path = "planner/preflight.rs"]
mod preflight;
#[path = "planner/props.rs"]
mod props;

use crossrep_core::kinds::bucket::{Bucket, BucketSpec};
use crossrep_core::kinds::bucket_tags::{BucketTags, BucketTagsSpec};
use crossrep_core::kinds::lifecycle::{Lifecycle, LifecycleRule, LifecycleSpec};
use crossrep_core::kinds::ownership_controls::{OwnershipControls, OwnershipSpec};
use crossrep_core::kinds::replication::{Replication, ReplicationSpec};
use crossrep_core::kinds::role::{Role, RoleSpec};
use crossrep_core::kinds::role_policy::{RolePolicy, RolePolicySpec};
use crossrep_core::kinds::versioning::{Versioning as VersioningKind, VersioningSpec};
use crossrep_core::kinds::BucketAddr;
use crossrep_core::model::ActualState;
use crossrep_core::model::{ReplicationConfiguration, Versioning, MANAGED_TAG};
use crossrep_core::observed::{ErrorKind, Observed, ReadError};
use crossrep_core::plan::{apply_in_memory, plan, Plan};

/// The document of the bucket policy at `b`, to edit.
fn policy_mut<'s>(s: &'s mut ActualState, b: &BucketAddr) -> &'s mut serde_json::Value {
    match s.bucket_policy.get_mut(b) {
        Some(Observed::Present(p)) => &mut p.document,
        _ => panic!("no policy"),
    }
}
use serde_json::json;

use fixtures::*;

const ONE: &[(&str, &str, &str)] = &[(PROD, "data", "us-east-1")];

#[test]
fn fresh_account_gets_role_destination_versioning_policy_and_replication() {
    let d = want(PROD_TO_BACKUP, ONE);
    let p = check(
        &d,
        &Actual::sources(ONE).build(),
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        update versioning[111111111111/data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );

    // The destination bucket is tagged as managed and owned by the destination account.
    assert_eq!(
        typed::<BucketTags>(&p, "bucket_tags[222222222222/replicated-data]").after,
        Some(BucketTagsSpec {
            tags: [(MANAGED_TAG.0.to_string(), MANAGED_TAG.1.to_string())].into(),
        })
    );
    assert_eq!(
        typed::<OwnershipControls>(&p, "ownership_controls[222222222222/replicated-data]").after,
        Some(OwnershipSpec::enforced())
    );
    for addr in [
        "versioning[111111111111/data]",
        "versioning[222222222222/replicated-data]",
    ] {
        assert_eq!(
            typed::<VersioningKind>(&p, addr).after,
            Some(VersioningSpec {
                status: Versioning::Enabled
            })
        );
    }

    // The role trusts S3 and Batch Operations, only on behalf of its own account.
    let Some(RoleSpec {
        trust_policy, tags, ..
    }) = &typed::<Role>(&p, "role[111111111111/crossrep-replication]").after
    else {
        panic!()
    };
    assert_eq!(tags.get("managed-by").map(String::as_str), Some("crossrep"));
    let trust = &trust_policy["Statement"][0];
    assert_eq!(
        trust["Principal"]["Service"],
        json!(["batchoperations.s3.amazonaws.com", "s3.amazonaws.com"])
    );
    assert_eq!(
        trust["Condition"]["StringEquals"]["aws:SourceAccount"],
        PROD
    );

    // The destination policy grants exactly SPEC §4.4 to the role, under Crossrep Sids.
    let policy = written_policy(&p, "bucket_policy[222222222222/replicated-data]");
    assert_eq!(
        policy,
        &json!({
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "CrossrepReplicateObjects111111111111",
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arn(PROD)},
                    "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags", "s3:ObjectOwnerOverrideToBucketOwner"],
                    "Resource": "arn:aws:s3:::replicated-data/*"
                },
                {
                    "Sid": "CrossrepReplicationBucket111111111111",
                    "Effect": "Allow",
                    "Principal": {"AWS": role_arn(PROD)},
                    "Action": ["s3:List*", "s3:GetBucketVersioning", "s3:PutBucketVersioning"],
                    "Resource": "arn:aws:s3:::replicated-data"
                }
            ]
        })
    );

    // One V2 rule: filter, priority, delete markers, destination account, class, ownership.
    let config = written_config(&p, "replication[111111111111/data]");
    assert_eq!(config.role, role_arn(PROD));
    let rule = serde_json::to_value(&config.rules).unwrap();
    assert_eq!(
        rule,
        json!([{
            "id": "crossrep-replicated-data",
            "priority": 1,
            "enabled": true,
            "filter": {"prefix": ""},
            "delete_marker_replication": true,
            "destination": {
                "bucket": "arn:aws:s3:::replicated-data",
                "account": BACKUP,
                "storage_class": "STANDARD",
                "owner_override": true
            }
        }])
    );
    assert_eq!(p.pairs.len(), 1);
}

#[test]
fn fresh_account_dependency_edges() {
    let d = want(PROD_TO_BACKUP, ONE);
    let p = plan(&d, &Actual::sources(ONE).build());
    assert_eq!(
        edges(&p),
        "\
role_policy[111111111111/crossrep-replication/crossrep-replication] <- role[111111111111/crossrep-replication]
bucket_tags[222222222222/replicated-data] <- bucket[222222222222/replicated-data]
ownership_controls[222222222222/replicated-data] <- bucket[222222222222/replicated-data]
versioning[222222222222/replicated-data] <- bucket[222222222222/replicated-data]
bucket_policy[222222222222/replicated-data] <- bucket[222222222222/replicated-data], role[111111111111/crossrep-replication]
replication[111111111111/data] <- versioning[111111111111/data], role[111111111111/crossrep-replication], \
role_policy[111111111111/crossrep-replication/crossrep-replication], bucket[222222222222/replicated-data], \
versioning[222222222222/replicated-data], bucket_policy[222222222222/replicated-data]"
    );
}

#[test]
fn dependency_edges_only_name_changes_in_the_plan() {
    // Role, destination bucket and its versioning exist: the replication change waits only for
    // what is still to be done.
    let d = want(PROD_TO_BACKUP, ONE);
    let a = Actual::sources(ONE)
        .versioning(Versioning::Enabled)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .build();
    let p = check(
        &d,
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket_tags[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
    assert_eq!(
        edges(&p),
        "replication[111111111111/data] <- role_policy[111111111111/crossrep-replication/crossrep-replication], \
bucket_policy[222222222222/replicated-data]"
    );
}

#[test]
fn us_east_1_and_eu_west_1_buckets_carry_their_region() {
    let buckets = &[(PROD, "east", "us-east-1"), (PROD, "west", "eu-west-1")];
    let d = want(PROD_TO_BACKUP, buckets);
    let p = check(
        &d,
        &Actual::sources(buckets).build(),
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-east]
        create bucket[222222222222/replicated-west]
        create bucket_tags[222222222222/replicated-east]
        create bucket_tags[222222222222/replicated-west]
        create ownership_controls[222222222222/replicated-east]
        create ownership_controls[222222222222/replicated-west]
        update versioning[111111111111/east]
        update versioning[111111111111/west]
        create versioning[222222222222/replicated-east]
        create versioning[222222222222/replicated-west]
        create bucket_policy[222222222222/replicated-east]
        create bucket_policy[222222222222/replicated-west]
        create replication[111111111111/east]
        create replication[111111111111/west]
        ",
    );
    let regions: Vec<String> = p
        .changes
        .iter()
        .map(|c| format!("{}@{}", c.addr(), c.region()))
        .collect();
    assert_eq!(
        regions,
        [
            // IAM requests go to the source account's home region.
            "role[111111111111/crossrep-replication]@us-east-1",
            "role_policy[111111111111/crossrep-replication/crossrep-replication]@us-east-1",
            "bucket[222222222222/replicated-east]@us-east-1",
            "bucket[222222222222/replicated-west]@eu-west-1",
            "bucket_tags[222222222222/replicated-east]@us-east-1",
            "bucket_tags[222222222222/replicated-west]@eu-west-1",
            "ownership_controls[222222222222/replicated-east]@us-east-1",
            "ownership_controls[222222222222/replicated-west]@eu-west-1",
            "versioning[111111111111/east]@us-east-1",
            "versioning[111111111111/west]@eu-west-1",
            "versioning[222222222222/replicated-east]@us-east-1",
            "versioning[222222222222/replicated-west]@eu-west-1",
            "bucket_policy[222222222222/replicated-east]@us-east-1",
            "bucket_policy[222222222222/replicated-west]@eu-west-1",
            "replication[111111111111/east]@us-east-1",
            "replication[111111111111/west]@eu-west-1",
        ]
    );
}

#[test]
fn a_fixed_destination_region_is_in_the_destination_addresses() {
    let block = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
destination_region = "us-east-1"
"#;
    let buckets = &[(PROD, "west", "eu-west-1")];
    let p = plan(&want(block, buckets), &Actual::sources(buckets).build());
    assert_eq!(
        change(&p, "bucket[222222222222/replicated-west]")
            .region()
            .as_str(),
        "us-east-1"
    );
    assert_eq!(
        change(&p, "bucket_policy[222222222222/replicated-west]")
            .region()
            .as_str(),
        "us-east-1"
    );
    assert_eq!(
        change(&p, "replication[111111111111/west]")
            .region()
            .as_str(),
        "eu-west-1"
    );
    let rule = &written_config(&p, "replication[111111111111/west]").rules[0];
    assert_eq!(rule.destination.bucket, "arn:aws:s3:::replicated-west");
}

#[test]
fn a_destination_name_over_63_characters_is_shortened_and_shown() {
    let long = "analytics-clickstream-raw-events-partitioned-by-day-v2";
    let buckets = &[(PROD, long, "eu-west-1")];
    let d = want(PROD_TO_BACKUP, buckets);
    let rendered = format!("replicated-{long}");
    assert!(rendered.len() > 63);
    let short = d.pairs[0].destination.bucket.to_string();
    assert_eq!(short.len(), 63, "{short}");
    assert!(
        short.starts_with("replicated-analytics-clickstream"),
        "{short}"
    );
    assert!(!short.ends_with('-'));
    let p = check(
        &d,
        &Actual::sources(buckets).build(),
        &format!(
            "
            create role[111111111111/crossrep-replication]
            create role_policy[111111111111/crossrep-replication/crossrep-replication]
            create bucket[222222222222/{short}]
            create bucket_tags[222222222222/{short}]
            create ownership_controls[222222222222/{short}]
            update versioning[111111111111/{long}]
            create versioning[222222222222/{short}]
            create bucket_policy[222222222222/{short}]
            create replication[111111111111/{long}]
            "
        ),
    );
    assert_eq!(
        p.pairs[0].shortened_from.as_deref(),
        Some(rendered.as_str())
    );
    let reason = &change(&p, &format!("bucket[222222222222/{short}]")).reason();
    assert!(
        reason.contains(&rendered) && reason.contains("shortened"),
        "{reason}"
    );
    let config = written_config(&p, &format!("replication[111111111111/{long}]"));
    assert_eq!(
        config.rules[0].id.as_deref(),
        Some(format!("crossrep-{short}").as_str())
    );
}

#[test]
fn a_foreign_rule_of_the_same_role_is_kept_verbatim_in_place_and_ours_takes_a_free_priority() {
    let theirs = foreign_rule("to-analytics", 1, "analytics-copy");
    let a = Actual::sources(ONE)
        .versioning(Versioning::Enabled)
        .replication(&role_arn(PROD), vec![theirs.clone()])
        .role(PROD)
        .build();
    let p = check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        update replication[111111111111/data]
        ",
    );
    let config = written_config(&p, "replication[111111111111/data]");
    assert_eq!(config.rules[0], theirs);
    assert_eq!(
        rule_ids(config),
        [
            ("to-analytics".into(), Some(1)),
            ("crossrep-replicated-data".into(), Some(2))
        ]
    );
}

#[allow(non_snake_case)]
fn PROD_TO_BACKUP_ONE() -> crossrep_core::desired::DesiredState {
    want(PROD_TO_BACKUP, ONE)
}

#[test]
fn our_existing_rule_is_replaced_in_place_and_keeps_its_free_priority() {
    // Someone else's rules before and after ours; ours is stale (wrong storage class).
    let mut stale = foreign_rule("crossrep-replicated-data", 5, "replicated-data");
    stale.destination.storage_class = Some("GLACIER".into());
    let a = Actual::sources(ONE)
        .versioning(Versioning::Enabled)
        .replication(
            &role_arn(PROD),
            vec![
                foreign_rule("first", 2, "x-copy"),
                stale,
                foreign_rule("last", 1, "y-copy"),
            ],
        )
        .role(PROD)
        .build();
    let p = check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        update replication[111111111111/data]
        ",
    );
    let config = written_config(&p, "replication[111111111111/data]");
    assert_eq!(
        rule_ids(config),
        [
            ("first".into(), Some(2)),
            ("crossrep-replicated-data".into(), Some(5)),
            ("last".into(), Some(1))
        ]
    );
    assert_eq!(
        config.rules[1].destination.storage_class.as_deref(),
        Some("STANDARD")
    );
}

#[test]
fn our_rule_whose_priority_someone_else_took_moves_to_a_free_one() {
    let a = Actual::sources(ONE)
        .versioning(Versioning::Enabled)
        .replication(
            &role_arn(PROD),
            vec![
                foreign_rule("crossrep-replicated-data", 1, "replicated-data"),
                foreign_rule("theirs", 1, "z-copy"),
            ],
        )
        .role(PROD)
        .build();
    let p = plan(&PROD_TO_BACKUP_ONE(), &a);
    let config = written_config(&p, "replication[111111111111/data]");
    assert_eq!(
        rule_ids(config),
        [
            ("crossrep-replicated-data".into(), Some(2)),
            ("theirs".into(), Some(1))
        ]
    );
}

/// Issue 9 (SPEC §5): a `crossrep-*` rule the configuration no longer produces (the
/// `destination` template changed) stayed enabled while the role policy lost its grants, so
/// every new object failed. It is removed with the merge; foreign rules stay.
#[test]
fn crossrep_rules_for_destinations_no_longer_configured_are_removed() {
    let old = foreign_rule("crossrep-old-destination", 1, "old-destination");
    let theirs = foreign_rule("theirs", 5, "their-copy");
    let a = Actual::sources(ONE)
        .versioning(Versioning::Enabled)
        .replication(&role_arn(PROD), vec![old.clone(), theirs.clone()])
        .role(PROD)
        .build();
    let p = plan(&PROD_TO_BACKUP_ONE(), &a);
    let config = written_config(&p, "replication[111111111111/data]");
    let ids: Vec<_> = config.rules.iter().map(|r| r.id.clone().unwrap()).collect();
    assert_eq!(ids, ["theirs", "crossrep-replicated-data"]);
    assert_eq!(config.rules[0], theirs);
}

/// Issue 9 (SPEC §5): a bucket dropped from the selection (here: `exclude`) kept its enabled
/// `crossrep-*` rule while the role policy was rewritten without it. The rule is removed in
/// phase 0, before the role policy changes; a foreign rule on it stays.
#[test]
fn the_rules_of_a_bucket_no_longer_selected_are_removed_before_its_grants() {
    let d = PROD_TO_BACKUP_ONE();
    let a = Actual::sources(ONE)
        .versioning(Versioning::Enabled)
        .role(PROD)
        .build();
    let mut a = a;
    // `old` is a bucket of the source account the configuration does not select.
    let old = BucketAddr::new(&acct(PROD), &bucket("old"));
    a.set::<Bucket>(
        old.clone(),
        Observed::Present(BucketSpec::at(region("us-east-1"))),
    );
    let ours = foreign_rule("crossrep-replicated-old", 1, "replicated-old");
    let theirs = foreign_rule("theirs", 2, "their-copy");
    a.set::<Replication>(
        old.clone(),
        Observed::Present(ReplicationSpec {
            configuration: ReplicationConfiguration {
                role: role_arn(PROD),
                rules: vec![ours, theirs.clone()],
            },
        }),
    );
    let p = plan(&d, &a);
    let c = typed::<Replication>(&p, "replication[111111111111/old]");
    assert_eq!(c.phase, 0, "before the role policy (phase 1)");
    assert_eq!(c.after.as_ref().unwrap().configuration.rules, vec![theirs]);
    assert!(c.reason.contains("no longer selected"), "{}", c.reason);
    // Only crossrep's rules: the configuration is deleted.
    let mut a2 = a.clone();
    a2.set::<Replication>(
        old.clone(),
        Observed::Present(ReplicationSpec {
            configuration: ReplicationConfiguration {
                role: role_arn(PROD),
                rules: vec![foreign_rule("crossrep-replicated-old", 1, "replicated-old")],
            },
        }),
    );
    let p = plan(&d, &a2);
    assert_eq!(
        typed::<Replication>(&p, "replication[111111111111/old]").after,
        None
    );
    // Another role's configuration is not crossrep's, whatever its rule IDs.
    let mut a3 = a.clone();
    a3.set::<Replication>(
        old,
        Observed::Present(ReplicationSpec {
            configuration: ReplicationConfiguration {
                role: "arn:aws:iam::111111111111:role/theirs".into(),
                rules: vec![foreign_rule("crossrep-replicated-old", 1, "replicated-old")],
            },
        }),
    );
    let p = plan(&d, &a3);
    assert!(
        !p.changes
            .iter()
            .any(|c| c.addr().to_string() == "replication[111111111111/old]"),
        "{}",
        summary(&p)
    );
}

/// Issue 9: one failed read broke a working pair: the pair became a conflict "left exactly as
/// it is", but the role policy was rewritten without it while its rule stayed enabled. A pair
/// that is not planned keeps its grants while its rule may exist.
#[test]
fn a_pair_that_cannot_be_read_keeps_its_grants() {
    // Two working pairs; the second source's replication cannot be read this time.
    const TWO: &[(&str, &str, &str)] = &[(PROD, "data", "us-east-1"), (PROD, "logs", "us-east-1")];
    const THREE: &[(&str, &str, &str)] = &[
        (PROD, "data", "us-east-1"),
        (PROD, "logs", "us-east-1"),
        (PROD, "media", "us-east-1"),
    ];
    let d = want(PROD_TO_BACKUP, TWO);
    let converged = {
        let a = Actual::sources(TWO).build();
        let p = plan(&d, &a);
        apply_in_memory(&a, &p)
    };
    let mut a = converged.clone();
    let logs = BucketAddr::new(&acct(PROD), &bucket("logs"));
    a.set::<Replication>(
        logs,
        Observed::Unreadable(ReadError::new(ErrorKind::AccessDenied, "AccessDenied")),
    );
    // And a new source appears, so the role policy is rewritten.
    let d = want(PROD_TO_BACKUP, THREE);
    a.set::<Bucket>(
        BucketAddr::new(&acct(PROD), &bucket("media")),
        Observed::Present(BucketSpec::at(region("us-east-1"))),
    );
    let p = plan(&d, &a);
    assert!(
        p.conflicts.iter().any(|c| c.bucket.as_str() == "logs"),
        "{}",
        summary(&p)
    );
    let doc = role_policy_of(&p, PROD);
    let sources = statement(&doc, "CrossrepSourceObjects").unwrap();
    let dests = statement(&doc, "CrossrepDestinationObjects222222222222").unwrap();
    let covers = |s: &serde_json::Value, arn: &str| {
        s["Resource"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| crossrep_core::policy::resource_matches(r.as_str().unwrap(), arn))
    };
    assert!(covers(sources, "arn:aws:s3:::logs/k"), "{doc}");
    assert!(covers(dests, "arn:aws:s3:::replicated-logs/k"), "{doc}");
    assert!(covers(sources, "arn:aws:s3:::media/k"), "{doc}");
}

#[test]
fn a_foreign_statement_in_the_destination_policy_is_kept() {
    let existing = json!({
        "Version": "2012-10-17",
        "Id": "their-policy",
        "Statement": [foreign_statement("replicated-data")]
    });
    let a = Actual::sources(ONE)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .policy(existing.clone())
        .build();
    let p = check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        update versioning[111111111111/data]
        update bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
    let doc = written_policy(&p, "bucket_policy[222222222222/replicated-data]");
    assert_eq!(doc["Id"], "their-policy");
    let sids: Vec<&str> = statements(doc)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "DenyInsecureTransport",
            "CrossrepReplicateObjects111111111111",
            "CrossrepReplicationBucket111111111111"
        ]
    );
    assert_eq!(statements(doc)[0], &foreign_statement("replicated-data"));
}

#[test]
fn a_stale_crossrep_statement_is_replaced_not_duplicated() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    // Someone trims our statement and appends their own after it.
    let a = Actual::from_state(done)
        .at(BACKUP, "replicated-data")
        .edit(|s, b| {
            let doc = policy_mut(s, b);
            doc["Statement"][0]["Action"] = json!("s3:ReplicateObject");
            doc["Statement"]
                .as_array_mut()
                .unwrap()
                .push(foreign_statement("replicated-data"));
        })
        .build();
    let p = check(&d, &a, "update bucket_policy[222222222222/replicated-data]");
    let doc = written_policy(&p, "bucket_policy[222222222222/replicated-data]");
    let sids: Vec<&str> = statements(doc)
        .iter()
        .map(|s| s["Sid"].as_str().unwrap())
        .collect();
    assert_eq!(
        sids,
        [
            "CrossrepReplicateObjects111111111111",
            "CrossrepReplicationBucket111111111111",
            "DenyInsecureTransport"
        ]
    );
}

#[test]
fn already_correct_state_has_no_changes() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let p = check(&d, &done, "");
    assert!(!p.has_changes());
    assert_eq!(p.pairs.len(), 1);
}

#[test]
fn equivalent_documents_in_another_order_are_not_drift() {
    // IAM and S3 return lists in their own order and one-element lists as strings.
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(BACKUP, "replicated-data")
        .edit(|s, b| {
            let doc = policy_mut(s, b);
            doc["Statement"].as_array_mut().unwrap().reverse();
            doc["Statement"][0]["Action"]
                .as_array_mut()
                .unwrap()
                .reverse();
        })
        .edit_role(PROD, |r| {
            r.trust_policy["Statement"][0]["Principal"]["Service"]
                .as_array_mut()
                .unwrap()
                .reverse();
        })
        .build();
    check(&d, &a, "");
}

#[test]
fn a_configuration_of_another_role_is_a_conflict_and_nothing_touches_that_bucket() {
    let buckets = &[(PROD, "data", "us-east-1"), (PROD, "legacy", "us-east-1")];
    let d = want(PROD_TO_BACKUP, buckets);
    let a = Actual::sources(buckets)
        .at(PROD, "legacy")
        .replication(
            "arn:aws:iam::111111111111:role/old-replication",
            vec![foreign_rule("old", 1, "old-copy")],
        )
        .build();
    let p = check(
        &d,
        &a,
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        update versioning[111111111111/data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        conflict 111111111111/legacy: its replication configuration uses role `arn:aws:iam::111111111111:role/old-replication`; S3 allows one role per configuration...
        ",
    );
    assert!(
        !p.changes
            .iter()
            .any(|c| c.addr().to_string().contains("legacy")),
        "{}",
        summary(&p)
    );
    // The role may not replicate anything for the bucket in conflict.
    let Some(RolePolicySpec { document }) = &typed::<RolePolicy>(
        &p,
        "role_policy[111111111111/crossrep-replication/crossrep-replication]",
    )
    .after
    else {
        panic!()
    };
    assert!(!document.to_string().contains("legacy"), "{document}");
}

#[test]
fn a_taken_destination_name_is_a_conflict_for_that_pair_only() {
    // `data` replicates to two destinations; one of the names belongs to a stranger.
    let blocks = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
[[replication]]
from = "prod"
to = "backup"
buckets = ["data"]
backfill = "none"
alerts = false
destination = "{bucket}-dr"
"#;
    let buckets = &[(PROD, "data", "us-east-1"), (PROD, "logs", "us-east-1")];
    let d = want(blocks, buckets);
    let a = Actual::sources(buckets)
        .role(PROD)
        .taken("replicated-data")
        .build();
    let p = check(
        &d,
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/data-dr]
        create bucket[222222222222/replicated-logs]
        create bucket_tags[222222222222/data-dr]
        create bucket_tags[222222222222/replicated-logs]
        create ownership_controls[222222222222/data-dr]
        create ownership_controls[222222222222/replicated-logs]
        update versioning[111111111111/data]
        update versioning[111111111111/logs]
        create versioning[222222222222/data-dr]
        create versioning[222222222222/replicated-logs]
        create bucket_policy[222222222222/data-dr]
        create bucket_policy[222222222222/replicated-logs]
        create replication[111111111111/data]
        create replication[111111111111/logs]
        conflict 111111111111/data -> replicated-data: destination bucket name `replicated-data` belongs to another AWS account (BucketAlreadyExists)...
        ",
    );
    let ids = rule_ids(written_config(&p, "replication[111111111111/data]"));
    assert_eq!(ids, [("crossrep-data-dr".into(), Some(1))]);
}

#[test]
fn an_unmanaged_role_is_a_conflict_for_every_pair_of_its_account() {
    let blocks = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
[[replication]]
from = "staging"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
destination = "{bucket}-{account}"
"#;
    let buckets = &[
        (PROD, "app1", "us-east-1"),
        (PROD, "app2", "us-east-1"),
        (STAGING, "site", "eu-west-1"),
    ];
    let d = want(blocks, buckets);
    let a = Actual::sources(buckets).unmanaged_role(PROD).build();
    let p = check(
        &d,
        &a,
        "
        create role[333333333333/crossrep-replication]
        create role_policy[333333333333/crossrep-replication/crossrep-replication]
        create bucket[222222222222/site-333333333333]
        create bucket_tags[222222222222/site-333333333333]
        create ownership_controls[222222222222/site-333333333333]
        create versioning[222222222222/site-333333333333]
        update versioning[333333333333/site]
        create bucket_policy[222222222222/site-333333333333]
        create replication[333333333333/site]
        conflict 111111111111/app1: role `crossrep-replication` already exists in 111111111111 and is not managed by crossrep...
        conflict 111111111111/app2: role `crossrep-replication` already exists in 111111111111 and is not managed by crossrep...
        ",
    );
    assert!(p
        .changes
        .iter()
        .all(|c| c.addr().account().as_str() != PROD));
}

#[test]
fn v1_rules_are_a_conflict() {
    let a = Actual::sources(ONE)
        .replication(&role_arn(PROD), vec![v1_rule("old-style", "old-copy")])
        .role(PROD)
        .build();
    check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "conflict 111111111111/data: its replication configuration has V1 rules (rule-level `Prefix`)...",
    );
}

#[test]
fn more_than_1000_rules_after_the_merge_is_a_conflict() {
    let rules = |n: i32| {
        (1..=n)
            .map(|i| foreign_rule(&format!("r{i}"), i, "somewhere"))
            .collect::<Vec<_>>()
    };
    let with = |n| {
        Actual::sources(ONE)
            .versioning(Versioning::Enabled)
            .replication(&role_arn(PROD), rules(n))
            .role(PROD)
            .bucket(BACKUP, "replicated-data", "us-east-1")
            .versioning(Versioning::Enabled)
            .build()
    };
    // 999 + ours = 1000: allowed.
    let p = check(
        &PROD_TO_BACKUP_ONE(),
        &with(999),
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket_tags[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        update replication[111111111111/data]
        ",
    );
    let config = written_config(&p, "replication[111111111111/data]");
    assert_eq!(config.rules.last().unwrap().priority, Some(1000));
    // 1000 + ours: not.
    check(
        &PROD_TO_BACKUP_ONE(),
        &with(1000),
        "conflict 111111111111/data: its replication configuration would have 1001 rules; S3 allows 1000",
    );
}

#[test]
fn suspended_versioning_is_enabled_again() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(PROD, "data")
        .versioning(Versioning::Suspended)
        .at(BACKUP, "replicated-data")
        .versioning(Versioning::Suspended)
        .build();
    let p = check(
        &d,
        &a,
        "
        update versioning[111111111111/data]
        update versioning[222222222222/replicated-data]
        ",
    );
    let c = typed::<VersioningKind>(&p, "versioning[111111111111/data]");
    assert_eq!(
        c.before,
        Some(VersioningSpec {
            status: Versioning::Suspended
        })
    );
}

#[test]
fn trust_policy_drift_updates_the_role_and_keeps_its_tags() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .edit_role(PROD, |r| {
            r.tags.insert("cost-center".into(), "42".into());
        })
        .trust(
            PROD,
            json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"Service": "s3.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
        )
        .build();
    let p = check(&d, &a, "update role[111111111111/crossrep-replication]");
    let Some(RoleSpec {
        trust_policy, tags, ..
    }) = &typed::<Role>(&p, "role[111111111111/crossrep-replication]").after
    else {
        panic!()
    };
    assert_eq!(
        trust_policy,
        &crossrep_core::policy::trust_policy(&acct(PROD))
    );
    assert_eq!(tags.get("cost-center").map(String::as_str), Some("42"));
}

#[test]
fn role_policy_drift_updates_the_policy() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .role_policy(PROD, json!({"Version": "2012-10-17", "Statement": []}))
        .build();
    let p = check(
        &d,
        &a,
        "update role_policy[111111111111/crossrep-replication/crossrep-replication]",
    );
    // Only the role policy: the role itself and everything else are fine.
    assert_eq!(p.changes.len(), 1);
}

#[test]
fn a_new_source_bucket_extends_the_role_policy() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let buckets = &[(PROD, "data", "us-east-1"), (PROD, "more", "us-east-1")];
    let a = Actual::from_state(done)
        .bucket(PROD, "more", "us-east-1")
        .build();
    let p = check(
        &want(PROD_TO_BACKUP, buckets),
        &a,
        "
        update role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-more]
        create bucket_tags[222222222222/replicated-more]
        create ownership_controls[222222222222/replicated-more]
        update versioning[111111111111/more]
        create versioning[222222222222/replicated-more]
        create bucket_policy[222222222222/replicated-more]
        create replication[111111111111/more]
        ",
    );
    let Some(RolePolicySpec { document }) = &typed::<RolePolicy>(
        &p,
        "role_policy[111111111111/crossrep-replication/crossrep-replication]",
    )
    .after
    else {
        panic!()
    };
    let text = document.to_string();
    assert!(
        text.contains("arn:aws:s3:::data") && text.contains("arn:aws:s3:::more"),
        "{text}"
    );
}

#[test]
fn a_bucket_read_error_is_a_conflict() {
    let buckets = &[
        (PROD, "data", "us-east-1"),
        (PROD, "locked", "us-east-1"),
        (PROD, "other", "us-east-1"),
    ];
    let d = want(PROD_TO_BACKUP, buckets);
    let a = Actual::sources(buckets)
        .role(PROD)
        .at(PROD, "locked")
        .error("AccessDenied: Access Denied")
        .bucket(BACKUP, "replicated-other", "us-east-1")
        .error("SlowDown: throttled past retries")
        .build();
    check(
        &d,
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        update versioning[111111111111/data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        conflict 111111111111/locked: could not read source bucket `locked`: AccessDenied: Access Denied
        conflict 111111111111/other -> replicated-other: could not read destination bucket `replicated-other`: SlowDown: throttled past retries
        ",
    );
}

#[test]
fn an_undiscovered_source_bucket_is_a_conflict() {
    check(
        &PROD_TO_BACKUP_ONE(),
        &Actual::new().role(PROD).build(),
        "conflict 111111111111/data: source bucket `data` was not discovered",
    );
}

/// Regression: a configuration or policy that was never read was taken for "none", so the plan
/// would have written over rules and statements nobody had seen.
#[test]
fn unread_configurations_and_policies_are_conflicts_not_empty() {
    let a = Actual::new()
        .role(PROD)
        .bucket(PROD, "data", "us-east-1")
        .edit(|s, b| {
            s.replication.remove(b);
        })
        .build();
    check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "conflict 111111111111/data: source bucket `data` was not discovered",
    );
    let a = Actual::new()
        .role(PROD)
        .bucket(PROD, "data", "us-east-1")
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .edit(|s, b| {
            s.bucket_policy.remove(b);
        })
        .build();
    check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "conflict 111111111111/data -> replicated-data: destination bucket `replicated-data` was not fully discovered",
    );
}

#[test]
fn two_destinations_for_one_source_make_one_replication_change_with_two_rules() {
    let blocks = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
destination = "archive-{bucket}"
destination_region = "eu-west-1"
storage_class = "DEEP_ARCHIVE"
delete_markers = false
owner = "source"
"#;
    let d = want(blocks, ONE);
    let p = check(
        &d,
        &Actual::sources(ONE).role(PROD).build(),
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/archive-data]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/archive-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        update versioning[111111111111/data]
        create versioning[222222222222/archive-data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/archive-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
    let config = written_config(&p, "replication[111111111111/data]");
    assert_eq!(
        rule_ids(config),
        [
            ("crossrep-archive-data".into(), Some(1)),
            ("crossrep-replicated-data".into(), Some(2))
        ]
    );
    let archive = &config.rules[0];
    assert_eq!(
        archive.destination.storage_class.as_deref(),
        Some("DEEP_ARCHIVE")
    );
    assert_eq!(archive.delete_marker_replication, Some(false));
    assert!(!archive.destination.owner_override);
    // Replicas keep their owner: no BucketOwnerEnforced on that destination.
    assert!(!p
        .changes
        .iter()
        .any(|c| c.addr().to_string() == "ownership_controls[222222222222/archive-data]"));
    assert!(
        typed::<BucketTags>(&p, "bucket_tags[222222222222/archive-data]")
            .after
            .as_ref()
            .is_some_and(|t| t.is_managed())
    );
    // The replication waits for both destinations.
    let deps = change(&p, "replication[111111111111/data]").depends_on();
    for d in [
        "bucket_policy[222222222222/archive-data]",
        "bucket_policy[222222222222/replicated-data]",
    ] {
        assert!(deps.iter().any(|a| a.to_string() == d), "{d}");
    }
}

#[test]
fn same_account_replication_has_no_destination_account_or_owner_override() {
    let block = r#"
[[replication]]
from = "prod"
to = "prod"
buckets = ["*"]
backfill = "none"
destination_region = "eu-west-1"
"#;
    let p = plan(&want(block, ONE), &Actual::sources(ONE).build());
    let rule = &written_config(&p, "replication[111111111111/data]").rules[0];
    assert_eq!(rule.destination.account, None);
    assert!(!rule.destination.owner_override);
}

#[test]
fn rule_options_reach_the_rule() {
    let block = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
prefix = "exports/"
tags = { replicate = "yes" }
delete_markers = false
replication_time = true
storage_class = "STANDARD_IA"
"#;
    let d = want(block, ONE);
    let p = check(
        &d,
        &Actual::sources(ONE).build(),
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        update versioning[111111111111/data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
    ",
    );
    let rule = serde_json::to_value(&written_config(&p, "replication[111111111111/data]").rules[0])
        .unwrap();
    assert_eq!(
        rule["filter"],
        json!({"prefix": "exports/", "tags": {"replicate": "yes"}})
    );
    assert_eq!(rule["delete_marker_replication"], false);
    assert_eq!(rule["destination"]["storage_class"], "STANDARD_IA");
    assert_eq!(rule["destination"]["replication_time_minutes"], 15);
    assert_eq!(rule["destination"]["metrics_minutes"], 15);
}

#[test]
fn an_existing_unmanaged_destination_bucket_is_used_not_recreated_or_retagged() {
    let a = Actual::sources(ONE)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .tags(&[("owner", "dr-team")])
        .versioning(Versioning::Enabled)
        .build();
    check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        update versioning[111111111111/data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
}

#[test]
fn an_oversized_destination_policy_is_a_conflict_and_its_rule_is_not_written() {
    let blocks = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
destination = "{bucket}-dr"
"#;
    let huge: Vec<serde_json::Value> = (0..200)
        .map(|i| json!({"Sid": format!("Theirs{i}"), "Effect": "Deny", "Principal": "*",
                         "Action": "s3:DeleteObject", "Resource": "arn:aws:s3:::data-dr/some/long/prefix/*"}))
        .collect();
    let a = Actual::sources(ONE)
        .role(PROD)
        .bucket(BACKUP, "data-dr", "us-east-1")
        .versioning(Versioning::Enabled)
        .policy(json!({"Version": "2012-10-17", "Statement": huge}))
        .build();
    let p = check(
        &want(blocks, ONE),
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        update versioning[111111111111/data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        conflict 111111111111/data -> data-dr: the merged policy of destination `data-dr` would be ...
        ",
    );
    let ids = rule_ids(written_config(&p, "replication[111111111111/data]"));
    assert_eq!(ids, [("crossrep-replicated-data".into(), Some(1))]);
}

#[test]
fn two_sources_into_one_destination_are_both_conflicts() {
    let blocks = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
[[replication]]
from = "staging"
to = "backup"
buckets = ["*"]
backfill = "none"
"#;
    let buckets = &[(PROD, "data", "us-east-1"), (STAGING, "data", "eu-west-1")];
    check(
        &want(blocks, buckets),
        &Actual::sources(buckets).build(),
        "
        conflict 111111111111/data -> replicated-data: destination `replicated-data` is also the destination of `data` (333333333333)...
        conflict 333333333333/data -> replicated-data: destination `replicated-data` is also the destination of `data` (111111111111)...
        ",
    );
}

fn json_of(p: &Plan) -> String {
    serde_json::to_string_pretty(p).unwrap()
}

/// A plan touching every kind of resource, merge and conflict.
fn rich_plan() -> Plan {
    let blocks = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
[[replication]]
from = "staging"
to = "backup"
buckets = ["*"]
backfill = "none"
destination = "{bucket}-{account}-{region}"
tags = { a = "1", b = "2" }
delete_markers = false
replication_time = true
"#;
    let buckets = &[
        (PROD, "data", "us-east-1"),
        (PROD, "legacy", "us-east-1"),
        (
            PROD,
            "analytics-clickstream-raw-events-partitioned-by-day-v2",
            "eu-west-1",
        ),
        (STAGING, "web", "eu-west-1"),
        (STAGING, "api", "us-east-1"),
    ];
    let a = Actual::sources(buckets)
        .at(PROD, "data")
        .replication(
            &role_arn(PROD),
            vec![foreign_rule("theirs", 1, "elsewhere")],
        )
        .at(PROD, "legacy")
        .replication("arn:aws:iam::111111111111:role/other", vec![])
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .policy(json!({"Version": "2012-10-17", "Statement": foreign_statement("replicated-data")}))
        .role(STAGING)
        .trust(STAGING, json!({}))
        .taken("api-333333333333-us-east-1")
        .build();
    plan(&want(blocks, buckets), &a)
}

#[test]
fn plans_are_deterministic() {
    let first = json_of(&rich_plan());
    for _ in 0..3 {
        assert_eq!(json_of(&rich_plan()), first);
    }
    // Listing and state given in another order make the same plan.
    let d1 = want(
        PROD_TO_BACKUP,
        &[
            (PROD, "bbb", "us-east-1"),
            (PROD, "aaa", "eu-west-1"),
            (STAGING, "ccc", "eu-west-1"),
        ],
    );
    let d2 = want(
        PROD_TO_BACKUP,
        &[
            (STAGING, "ccc", "eu-west-1"),
            (PROD, "aaa", "eu-west-1"),
            (PROD, "bbb", "us-east-1"),
        ],
    );
    let a1 = Actual::sources(&[(PROD, "bbb", "us-east-1"), (PROD, "aaa", "eu-west-1")]).build();
    let a2 = Actual::sources(&[(PROD, "aaa", "eu-west-1"), (PROD, "bbb", "us-east-1")]).build();
    assert_eq!(json_of(&plan(&d1, &a1)), json_of(&plan(&d2, &a2)));
}

#[test]
fn a_plan_round_trips_through_json() {
    let p = rich_plan();
    assert!(
        p.has_changes()
            && !p.conflicts.is_empty()
            && p.pairs.iter().any(|s| s.shortened_from.is_some())
    );
    let text = serde_json::to_string(&p).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, p);
    assert_eq!(serde_json::to_string(&back).unwrap(), text);
}

/// Two blocks of one source into two destination accounts with the same template gave two
/// pairs with the same destination name: two `CreateBucket`s of one global name, and two
/// rules with one ID and one priority in the source's configuration.
#[test]
fn one_destination_name_in_two_destination_accounts_is_a_conflict() {
    let blocks = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
destination = "{bucket}-copy"
[[replication]]
from = "prod"
to = "staging"
buckets = ["*"]
backfill = "none"
destination = "{bucket}-copy"
"#;
    check(
        &want(blocks, ONE),
        &Actual::sources(ONE).build(),
        "
        conflict 111111111111/data -> data-copy: destination `data-copy` is also the destination of `data` (111111111111) into 222222222222 (bucket names are global); make the `destination` template unique with `{dest_account}`
        conflict 111111111111/data -> data-copy: destination `data-copy` is also the destination of `data` (111111111111) into 333333333333 (bucket names are global); make the `destination` template unique with `{dest_account}`
        ",
    );
}

/// S3 writes a filter with a prefix and a tag, or several tags, as `And`, and discovery reads
/// it back with `and: true`: that is the rule crossrep wrote, not drift (it made every second
/// `apply` rewrite the configuration).
#[test]
fn tag_filters_read_back_as_and_are_not_drift() {
    let block = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
prefix = "exports/"
tags = { replicate = "yes" }
delete_markers = false
"#;
    let d = want(block, ONE);
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(PROD, "data")
        .edit(|s, b| {
            let Some(Observed::Present(spec)) = s.replication.get_mut(b) else {
                panic!("no configuration")
            };
            let config = &mut spec.configuration;
            config.rules[0].filter.as_mut().unwrap().and = true;
        })
        .build();
    check(&d, &a, "");
}

/// IAM and S3 do not promise to return a policy's keys in the order they were written; the
/// comparison sorted statements by their text, so reordered keys reordered the statements and
/// looked like drift.
#[test]
fn policies_read_back_with_keys_in_another_order_are_not_drift() {
    fn reverse_keys(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), reverse_keys(v)))
                    .collect(),
            ),
            serde_json::Value::Array(a) => {
                serde_json::Value::Array(a.iter().map(reverse_keys).collect())
            }
            other => other.clone(),
        }
    }
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(BACKUP, "replicated-data")
        .edit(|s, b| {
            let doc = policy_mut(s, b);
            *doc = reverse_keys(doc);
            for p in s.role_policy.values_mut() {
                if let Observed::Present(p) = p {
                    p.document = reverse_keys(&p.document);
                }
            }
        })
        .edit_role(PROD, |r| {
            r.trust_policy = reverse_keys(&r.trust_policy);
        })
        .build();
    check(&d, &a, "");
}

/// The human and JSON forms of a plan that merges into existing state, as users see them.
#[test]
fn rendered_plans_are_stable() {
    let buckets: &[(&str, &str, &str)] =
        &[(PROD, "data", "us-east-1"), (PROD, "eu-logs", "eu-west-1")];
    let d = want(PROD_TO_BACKUP, buckets);
    let a = Actual::sources(buckets)
        .role(PROD)
        .at(PROD, "data")
        .versioning(Versioning::Enabled)
        .replication(
            &role_arn(PROD),
            vec![foreign_rule("their-rule", 1, "their-target")],
        )
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .policy(
            json!({"Version": "2012-10-17", "Statement": [foreign_statement("replicated-data")]}),
        )
        .build();
    let p = plan(&d, &a);
    insta::assert_snapshot!("merge_plan_text", crossrep_core::render::render_plan(&p));
    insta::assert_json_snapshot!("merge_plan_json", p);
    let done = crossrep_core::plan::apply_in_memory(&a, &p);
    insta::assert_snapshot!(
        "no_changes_text",
        crossrep_core::render::render_plan(&plan(&d, &done))
    );
}

fn role_policy_of(p: &Plan, account: &str) -> serde_json::Value {
    match &typed::<RolePolicy>(
        p,
        &format!("role_policy[{account}/crossrep-replication/crossrep-replication]"),
    )
    .after
    {
        Some(RolePolicySpec { document }) => document.clone(),
        other => panic!("{other:?}"),
    }
}

fn statement<'v>(doc: &'v serde_json::Value, sid: &str) -> Option<&'v serde_json::Value> {
    doc["Statement"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["Sid"] == sid)
}

const BATCH: &str = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
alerts = false
"#;

/// SPEC §4.6: one report bucket per source account and region with `batch` pairs, expiring
/// its reports, and the Batch Replication permissions on the role.
#[test]
fn batch_backfill_gets_report_buckets_and_batch_permissions() {
    let buckets: &[(&str, &str, &str)] = &[
        (PROD, "data", "us-east-1"),
        (PROD, "more", "us-east-1"),
        (PROD, "eu-data", "eu-west-1"),
    ];
    let p = check(
        &want(BATCH, buckets),
        &Actual::sources(buckets).build(),
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[111111111111/crossrep-reports-111111111111-eu-west-1]
        create bucket[111111111111/crossrep-reports-111111111111-us-east-1]
        create bucket[222222222222/replicated-data]
        create bucket[222222222222/replicated-eu-data]
        create bucket[222222222222/replicated-more]
        create bucket_tags[111111111111/crossrep-reports-111111111111-eu-west-1]
        create bucket_tags[111111111111/crossrep-reports-111111111111-us-east-1]
        create bucket_tags[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-eu-data]
        create bucket_tags[222222222222/replicated-more]
        create ownership_controls[111111111111/crossrep-reports-111111111111-eu-west-1]
        create ownership_controls[111111111111/crossrep-reports-111111111111-us-east-1]
        create ownership_controls[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-eu-data]
        create ownership_controls[222222222222/replicated-more]
        create lifecycle[111111111111/crossrep-reports-111111111111-eu-west-1]
        create lifecycle[111111111111/crossrep-reports-111111111111-us-east-1]
        update versioning[111111111111/data]
        update versioning[111111111111/eu-data]
        update versioning[111111111111/more]
        create versioning[222222222222/replicated-data]
        create versioning[222222222222/replicated-eu-data]
        create versioning[222222222222/replicated-more]
        create bucket_policy[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-eu-data]
        create bucket_policy[222222222222/replicated-more]
        create replication[111111111111/data]
        create replication[111111111111/eu-data]
        create replication[111111111111/more]
        ",
    );
    let report = change(
        &p,
        "bucket[111111111111/crossrep-reports-111111111111-eu-west-1]",
    );
    assert_eq!(report.region().as_str(), "eu-west-1");
    let reports = "crossrep-reports-111111111111-eu-west-1";
    assert!(
        typed::<BucketTags>(&p, &format!("bucket_tags[111111111111/{reports}]"))
            .after
            .as_ref()
            .is_some_and(|t| t.is_managed())
    );
    assert_eq!(
        typed::<OwnershipControls>(&p, &format!("ownership_controls[111111111111/{reports}]"))
            .after,
        Some(OwnershipSpec::enforced())
    );
    assert_eq!(
        typed::<Lifecycle>(&p, &format!("lifecycle[111111111111/{reports}]")).after,
        Some(LifecycleSpec {
            rules: vec![crossrep_core::kinds::lifecycle::our_rule(30)]
        })
    );
    let doc = role_policy_of(&p, PROD);
    assert!(statement(&doc, "CrossrepSourceObjects").unwrap()["Action"]
        .as_array()
        .unwrap()
        .contains(&json!("s3:InitiateReplication")));
    assert!(statement(&doc, "CrossrepSourceBuckets").unwrap()["Action"]
        .as_array()
        .unwrap()
        .contains(&json!("s3:PutInventoryConfiguration")));
    assert_eq!(
        statement(&doc, "CrossrepBackfillReports").unwrap()["Resource"],
        json!([
            "arn:aws:s3:::crossrep-reports-111111111111-eu-west-1/*",
            "arn:aws:s3:::crossrep-reports-111111111111-us-east-1/*"
        ])
    );
}

#[test]
fn an_existing_report_bucket_is_kept_and_a_taken_one_is_a_warning() {
    let buckets: &[(&str, &str, &str)] =
        &[(PROD, "data", "us-east-1"), (PROD, "eu-data", "eu-west-1")];
    let a = Actual::sources(buckets)
        .bucket(PROD, "crossrep-reports-111111111111-us-east-1", "us-east-1")
        .tags(&[MANAGED_TAG])
        .edit(|s, b| {
            s.set::<Lifecycle>(
                b.clone(),
                Observed::Present(LifecycleSpec {
                    rules: vec![crossrep_core::kinds::lifecycle::our_rule(30)],
                }),
            )
        })
        .taken("crossrep-reports-111111111111-eu-west-1")
        .build();
    let p = plan(&want(BATCH, buckets), &a);
    assert!(
        !p.changes
            .iter()
            .any(|c| c.addr().to_string().contains("crossrep-reports")),
        "{p:#?}"
    );
    assert_eq!(p.warnings.len(), 1);
    assert!(p.warnings[0].message.contains(
        "report bucket `crossrep-reports-111111111111-eu-west-1` belongs to another AWS account"
    ));
    assert_eq!(p.warnings[0].code, "report_bucket_taken");
    // Shown to people too, one line each (SPEC §3), not only in the JSON.
    let text = crossrep_core::render::render_plan(&p);
    assert!(
        text.contains("\nwarning: crossrep-reports-111111111111-eu-west-1 (111111111111): report bucket `crossrep-reports-111111111111-eu-west-1` belongs to another AWS account"),
        "{text}"
    );
    let doc = role_policy_of(&p, PROD);
    assert_eq!(
        statement(&doc, "CrossrepBackfillReports").unwrap()["Resource"],
        json!(["arn:aws:s3:::crossrep-reports-111111111111-us-east-1/*"])
    );
}

#[test]
fn without_batch_backfill_there_is_no_report_bucket_and_no_batch_permission() {
    let p = plan(&want(PROD_TO_BACKUP, ONE), &Actual::sources(ONE).build());
    assert!(!p
        .changes
        .iter()
        .any(|c| c.addr().to_string().contains("crossrep-reports")));
    let doc = role_policy_of(&p, PROD);
    assert!(statement(&doc, "CrossrepBackfillReports").is_none());
    assert!(!doc.to_string().contains("s3:InitiateReplication"));
}

// --- The bucket's sub-resources: tags, ownership controls, lifecycle (issue 7) ---

fn set_tags(s: &mut ActualState, b: &BucketAddr, tags: &[(&str, &str)]) {
    s.set::<BucketTags>(
        b.clone(),
        Observed::Present(BucketTagsSpec {
            tags: tags
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }),
    );
}

/// A destination whose tagging failed right after CreateBucket: no tags, nothing in its
/// policy but crossrep's statements. It is crossrep's, and the next plan tags it.
#[test]
fn a_destination_left_untagged_by_an_interrupted_apply_is_tagged() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(BACKUP, "replicated-data")
        .edit(|s, b| s.set::<BucketTags>(b.clone(), Observed::Absent))
        .build();
    let p = check(&d, &a, "create bucket_tags[222222222222/replicated-data]");
    assert!(
        change(&p, "bucket_tags[222222222222/replicated-data]")
            .reason()
            .contains("tagging did not complete"),
        "{}",
        summary(&p)
    );
}

#[test]
fn a_destination_someone_else_tagged_keeps_its_tags_and_ownership() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(BACKUP, "replicated-data")
        .edit(|s, b| {
            set_tags(s, b, &[("owner", "dr-team")]);
            s.set::<OwnershipControls>(
                b.clone(),
                Observed::Present(OwnershipSpec {
                    object_ownership: "BucketOwnerPreferred".into(),
                }),
            );
        })
        .build();
    check(&d, &a, "");
}

/// An untagged bucket with a statement crossrep did not write is someone else's: used as it is.
#[test]
fn an_untagged_destination_with_foreign_statements_is_not_adopted() {
    let a = Actual::sources(ONE)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .policy(
            json!({"Version": "2012-10-17", "Statement": [foreign_statement("replicated-data")]}),
        )
        .edit(|s, b| s.set::<OwnershipControls>(b.clone(), Observed::Absent))
        .build();
    check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        update versioning[111111111111/data]
        update bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
}

#[test]
fn ownership_drift_on_a_managed_destination_is_repaired() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(BACKUP, "replicated-data")
        .edit(|s, b| {
            s.set::<OwnershipControls>(
                b.clone(),
                Observed::Present(OwnershipSpec {
                    object_ownership: "ObjectWriter".into(),
                }),
            )
        })
        .build();
    let p = check(
        &d,
        &a,
        "update ownership_controls[222222222222/replicated-data]",
    );
    assert_eq!(
        typed::<OwnershipControls>(&p, "ownership_controls[222222222222/replicated-data]").after,
        Some(OwnershipSpec::enforced())
    );
}

/// Tags and ownership decide what crossrep may change on an existing destination, so a tag set
/// nobody could read is a conflict, like any other unread resource.
#[test]
fn an_unreadable_tag_set_on_an_existing_destination_is_a_conflict() {
    let d = PROD_TO_BACKUP_ONE();
    let done = converged(&d, &Actual::sources(ONE).build());
    let a = Actual::from_state(done)
        .at(BACKUP, "replicated-data")
        .edit(|s, b| {
            s.set::<BucketTags>(
                b.clone(),
                Observed::Unreadable(ReadError {
                    hint: Some("the credentials used for account 222222222222 need `s3:GetBucketTagging` on `replicated-data`".into()),
                    ..ReadError::new(
                        ErrorKind::AccessDenied,
                        "`s3:GetBucketTagging` on `replicated-data` in account 222222222222 failed: AccessDenied: Access Denied",
                    )
                }),
            )
        })
        .build();
    let p = check(
        &d,
        &a,
        "conflict 111111111111/data -> replicated-data: could not read destination bucket `replicated-data`: `s3:GetBucketTagging` on `replicated-data` in account 222222222222 failed: AccessDenied: Access Denied",
    );
    // The hint is its own line under the message, not glued into it (REVIEW R18).
    let text = crossrep_core::render::render_plan(&p);
    assert!(
        text.contains(
            "failed: AccessDenied: Access Denied\n  hint: the credentials used for account 222222222222 need `s3:GetBucketTagging` on `replicated-data`\n"
        ),
        "{text}"
    );
}

#[test]
fn a_report_bucket_lifecycle_is_merged_by_id_and_one_crossrep_cannot_rewrite_is_a_warning() {
    let buckets: &[(&str, &str, &str)] = &[(PROD, "data", "us-east-1")];
    let reports = "crossrep-reports-111111111111-us-east-1";
    let lifecycle = |rules: Vec<LifecycleRule>| LifecycleSpec { rules };
    let theirs = LifecycleRule {
        id: Some("theirs".into()),
        enabled: true,
        expire_after_days: Some(7),
        unmodelled: false,
    };
    let base = |spec: LifecycleSpec| {
        Actual::sources(buckets)
            .role(PROD)
            .bucket(PROD, reports, "us-east-1")
            .tags(&[MANAGED_TAG])
            .edit(move |s, b| s.set::<Lifecycle>(b.clone(), Observed::Present(spec)))
    };
    let d = want(BATCH, buckets);
    // A rule of someone else's that crossrep can write back: kept, ours added after it.
    let p = plan(&d, &base(lifecycle(vec![theirs.clone()])).build());
    let after = typed::<Lifecycle>(&p, &format!("lifecycle[111111111111/{reports}]"))
        .after
        .clone();
    assert_eq!(
        after.map(|l| l.rules),
        Some(vec![
            theirs.clone(),
            crossrep_core::kinds::lifecycle::our_rule(30)
        ])
    );
    // One it could not write back unchanged: no lifecycle change, a warning that says why.
    let unmodelled = LifecycleRule {
        unmodelled: true,
        ..theirs
    };
    let p = plan(&d, &base(lifecycle(vec![unmodelled])).build());
    assert!(
        !p.changes.iter().any(|c| c.addr().kind() == "lifecycle"),
        "{}",
        summary(&p)
    );
    assert!(
        p.warnings.iter().any(|w| w
            .message
            .contains("lifecycle rule `theirs` has settings crossrep cannot write back")),
        "{:?}",
        p.warnings
    );
}

/// Whether a report bucket exists could not be read (HeadBucket failed): it is neither created
/// nor granted to the role, and the plan says why.
#[test]
fn a_report_bucket_nobody_could_look_up_is_not_created() {
    let buckets: &[(&str, &str, &str)] = &[(PROD, "data", "us-east-1")];
    let reports = "crossrep-reports-111111111111-us-east-1";
    let a = Actual::sources(buckets)
        .edit(|s, _| {
            s.set::<crossrep_core::kinds::bucket::Bucket>(
                BucketAddr::new(&acct(PROD), &bucket(reports)),
                Observed::Unreadable(ReadError::new(ErrorKind::Throttled, "SlowDown: throttled")),
            )
        })
        .build();
    let p = plan(&want(BATCH, buckets), &a);
    assert!(
        !p.changes
            .iter()
            .any(|c| c.addr().to_string().contains(reports)),
        "{}",
        summary(&p)
    );
    assert!(
        p.warnings.iter().any(|w| w.message.starts_with(&format!(
            "could not tell whether report bucket `{reports}` exists: SlowDown: throttled"
        ))),
        "{:?}",
        p.warnings
    );
    let doc = role_policy_of(&p, PROD);
    assert!(
        statement(&doc, "CrossrepBackfillReports").is_none(),
        "{doc}"
    );
}

/// A report bucket whose tagging and lifecycle rule failed after CreateBucket (no tags, no
/// lifecycle): the next plan completes it, and creates nothing.
#[test]
fn a_report_bucket_left_bare_by_an_interrupted_apply_is_completed() {
    let buckets: &[(&str, &str, &str)] = &[(PROD, "data", "us-east-1")];
    let d = want(BATCH, buckets);
    let done = converged(&d, &Actual::sources(buckets).build());
    let reports = "crossrep-reports-111111111111-us-east-1";
    let a = Actual::from_state(done)
        .at(PROD, reports)
        .edit(|s, b| {
            s.set::<BucketTags>(b.clone(), Observed::Absent);
            s.set::<Lifecycle>(b.clone(), Observed::Absent);
        })
        .build();
    check(
        &d,
        &a,
        &format!(
            "
            create bucket_tags[111111111111/{reports}]
            create lifecycle[111111111111/{reports}]
            "
        ),
    );
}

/// An existing destination in another region than the pair's is never used silently: data
/// residency rules are about exactly that (SPEC §4.1). Nothing is written for the pair.
#[test]
fn an_existing_destination_in_another_region_is_a_conflict_naming_both() {
    let a = Actual::sources(ONE)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "eu-west-1")
        .versioning(Versioning::Enabled)
        .tags(&[MANAGED_TAG])
        .build();
    check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "conflict 111111111111/data -> replicated-data: destination bucket `replicated-data` exists in eu-west-1, but this pair's destination region is us-east-1; set `destination_region = \"eu-west-1\"` in its `[[replication]]` block to use it where it is, or change the `destination` template",
    );
    // Configured where it is, it is used.
    let block = r#"
[[replication]]
from = "prod"
to = "backup"
buckets = ["*"]
backfill = "none"
alerts = false
destination_region = "eu-west-1"
"#;
    check(
        &want(block, ONE),
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        update versioning[111111111111/data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
}

/// Issue 8: a foreign `Deny` in the destination policy that matches the role's replication
/// writes made "Apply complete" and a healthy configuration check while every replica failed.
/// crossrep keeps the statement (it is not crossrep's) and names it, with its Sid.
#[test]
fn a_foreign_deny_of_replication_in_the_destination_policy_is_named() {
    let deny = json!({"Sid": "FreezeBackups", "Effect": "Deny", "Principal": "*",
                      "Action": "s3:Replicate*", "Resource": "arn:aws:s3:::replicated-data/*"});
    let a = Actual::sources(ONE)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .policy(json!({"Version": "2012-10-17", "Statement": [foreign_statement("replicated-data"), deny]}))
        .build();
    let d = PROD_TO_BACKUP_ONE();
    let p = check(
        &d,
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        update versioning[111111111111/data]
        update bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
    assert_eq!(p.warnings.len(), 1, "{:?}", p.warnings);
    let w = &p.warnings[0];
    assert_eq!(w.code, crossrep_core::plan::DENIED_CODE);
    assert_eq!(
        (
            w.bucket.as_ref().map(|b| b.as_str()),
            w.destination.as_ref().map(|b| b.as_str())
        ),
        (Some("data"), Some("replicated-data"))
    );
    assert!(
        w.message.contains("has statement `FreezeBackups`, not crossrep's, that denies role `arn:aws:iam::111111111111:role/crossrep-replication`"),
        "{}",
        w.message
    );
    // The Deny on insecure transport (the fixture's foreign statement) is not one.
    assert!(!w.message.contains("DenyInsecureTransport"));

    // After apply the configuration check is not healthy, and says why.
    let done = assert_converges(&d, &a, &p);
    let again = plan(&d, &done);
    let check = crossrep_core::verify::configuration_check(&again, &d.pairs[0]);
    assert!(!check.ok, "{check:?}");
    assert!(check.summary.starts_with("denied:"), "{}", check.summary);
    assert!(
        check.details.iter().any(|l| l.contains("`FreezeBackups`")),
        "{check:?}"
    );
}

/// Issue 8 / SPEC §8: with `kms = "off"`, a source encrypting with SSE-KMS by default gets a
/// warning per bucket: its KMS objects never replicate.
#[test]
fn a_source_with_sse_kms_by_default_gets_a_warning_per_bucket_with_kms_off() {
    let buckets: &[(&str, &str, &str)] =
        &[(PROD, "data", "us-east-1"), (PROD, "plain", "us-east-1")];
    let a = kms_sources(buckets);
    let p = plan(
        &want(&format!("{PROD_TO_BACKUP}kms = \"off\"\n"), buckets),
        &a,
    );
    let kms: Vec<_> = p
        .warnings
        .iter()
        .filter(|w| w.code == crossrep_core::plan::KMS_CODE)
        .collect();
    assert_eq!(kms.len(), 1, "{:?}", p.warnings);
    assert_eq!(kms[0].bucket.as_ref().map(|b| b.as_str()), Some("data"));
    assert!(
        kms[0]
            .message
            .contains("SSE-KMS (key `arn:aws:kms:us-east-1:111111111111:key/k1`, Bucket Keys on)"),
        "{}",
        kms[0].message
    );
    let text = crossrep_core::render::render_plan(&p);
    assert!(
        text.contains("warning: data (111111111111): `data` encrypts new objects with SSE-KMS"),
        "{text}"
    );
    assert!(!p
        .changes
        .iter()
        .any(|c| c.addr().to_string().starts_with("replica_key")));
}

/// `data` with SSE-KMS by default (key k1, Bucket Keys), the others plain; discovery found no
/// replica key in the destination account.
fn kms_sources(buckets: &[(&str, &str, &str)]) -> ActualState {
    use crossrep_core::kinds::bucket_encryption::{BucketEncryption, EncryptionSpec};
    use crossrep_core::kinds::key_policy::KeyPolicy;
    use crossrep_core::kinds::replica_key::{KeyAddr, ReplicaKey};
    let key = KeyAddr::managed(&acct(BACKUP), &region("us-east-1"));
    let mut a = Actual::sources(buckets)
        .at(PROD, "data")
        .edit(|s, b| {
            s.set::<BucketEncryption>(
                b.clone(),
                Observed::Present(EncryptionSpec {
                    algorithm: "aws:kms".into(),
                    kms_key: Some("arn:aws:kms:us-east-1:111111111111:key/k1".into()),
                    bucket_key: true,
                    sse_c_blocked: true,
                }),
            )
        })
        .build();
    a.set::<ReplicaKey>(key.clone(), Observed::Absent);
    a.set::<KeyPolicy>(key, Observed::Absent);
    a
}

/// Issue 10 (SPEC §8), `kms = "auto"`: the KMS source opts in with the replica key, which the
/// plan creates and shows `(known after apply)`; the plain source does not opt in; the key
/// policy lets the source role use the key; applying (the token replaced by the key's ARN, as
/// apply does) converges; a foreign key-policy statement is kept.
#[test]
fn a_kms_source_opts_in_with_a_replica_key_known_after_apply() {
    use crossrep_core::kinds::key_policy::{KeyPolicy, KeyPolicySpec};
    use crossrep_core::kinds::replica_key::{KeyAddr, ReplicaKey, ReplicaKeySpec};
    let buckets: &[(&str, &str, &str)] =
        &[(PROD, "data", "us-east-1"), (PROD, "plain", "us-east-1")];
    let d = want(PROD_TO_BACKUP, buckets);
    let a = kms_sources(buckets);
    let p = plan(&d, &a);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    let key = KeyAddr::managed(&acct(BACKUP), &region("us-east-1"));
    let token = crossrep_core::kinds::replica_key::token(&key);
    assert!(
        typed::<ReplicaKey>(&p, "replica_key[222222222222/us-east-1]")
            .after
            .is_some()
    );
    let data = written_config(&p, "replication[111111111111/data]");
    assert_eq!(data.rules[0].sse_kms_encrypted_objects, Some(true));
    assert_eq!(
        data.rules[0].destination.replica_kms_key_id.as_deref(),
        Some(token.as_str())
    );
    let plain = written_config(&p, "replication[111111111111/plain]");
    assert_eq!(plain.rules[0].sse_kms_encrypted_objects, None);
    assert_eq!(plain.rules[0].destination.replica_kms_key_id, None);
    let doc = role_policy_of(&p, PROD);
    let decrypt = statement(&doc, "CrossrepSourceKeysUsEast1").unwrap();
    assert_eq!(
        decrypt["Resource"],
        "arn:aws:kms:us-east-1:111111111111:key/*"
    );
    assert_eq!(
        decrypt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"],
        json!(["arn:aws:s3:::data", "arn:aws:s3:::data/*"])
    );
    assert_eq!(
        statement(&doc, "CrossrepReplicaKeysUsEast1").unwrap()["Resource"],
        json!([token])
    );
    let policy = &typed::<KeyPolicy>(&p, "key_policy[222222222222/us-east-1]")
        .after
        .as_ref()
        .unwrap()
        .document;
    assert_eq!(
        statement(policy, "CrossrepReplication").unwrap()["Principal"]["AWS"],
        json!([role_arn(PROD)])
    );
    // Applied: the rule carries the key's ARN, and nothing is left to do.
    let next = apply_in_memory(&a, &p);
    let again = plan(&d, &next);
    assert!(!again.has_changes(), "{}", summary(&again));
    let arn = crossrep_core::kinds::replica_key::in_memory_arn(&key);
    let rule = &next
        .present::<Replication>(&BucketAddr::new(&acct(PROD), &bucket("data")))
        .unwrap()
        .configuration
        .rules[0];
    assert_eq!(
        rule.destination.replica_kms_key_id.as_deref(),
        Some(arn.as_str())
    );

    // An existing key with a foreign statement: kept, ours added; the ARN is used directly.
    let mut a2 = a.clone();
    let existing = "arn:aws:kms:us-east-1:222222222222:key/existing";
    a2.set::<ReplicaKey>(
        key.clone(),
        Observed::Present(ReplicaKeySpec {
            arn: Some(existing.into()),
            ..ReplicaKeySpec::new()
        }),
    );
    let mut theirs = crossrep_core::kinds::key_policy::default_policy(&acct(BACKUP));
    theirs["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "Auditors", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:role/audit"},
        "Action": "kms:DescribeKey", "Resource": "*"
    }));
    a2.set::<KeyPolicy>(
        key.clone(),
        Observed::Present(KeyPolicySpec { document: theirs }),
    );
    let p2 = plan(&d, &a2);
    assert!(!p2
        .changes
        .iter()
        .any(|c| c.addr().to_string().starts_with("replica_key")));
    let policy = &typed::<KeyPolicy>(&p2, "key_policy[222222222222/us-east-1]")
        .after
        .as_ref()
        .unwrap()
        .document;
    assert!(statement(policy, "Auditors").is_some(), "{policy}");
    assert!(
        statement(policy, "CrossrepReplication").is_some(),
        "{policy}"
    );
    let data = written_config(&p2, "replication[111111111111/data]");
    assert_eq!(
        data.rules[0].destination.replica_kms_key_id.as_deref(),
        Some(existing)
    );

    // A disabled key: the KMS pair is a conflict, the plain one goes on.
    let mut a3 = a2.clone();
    a3.set::<ReplicaKey>(
        key,
        Observed::Present(ReplicaKeySpec {
            arn: Some(existing.into()),
            enabled: false,
            ..ReplicaKeySpec::new()
        }),
    );
    let p3 = plan(&d, &a3);
    assert!(
        p3.conflicts
            .iter()
            .any(|c| c.bucket.as_str() == "data" && c.code == "replica_key_disabled"),
        "{}",
        summary(&p3)
    );
    assert!(p3.pairs.iter().any(|s| s.source.bucket.as_str() == "plain"));
}

/// Issue 10 (SPEC §8), `kms = "<arn>"`: the rule uses the named key, which is never created;
/// its policy gets crossrep's statement beside the owner's; the role may use it. A named key
/// that is missing, in another region, disabled or AWS managed makes the KMS pair a conflict
/// (S3 would accept the rule and fail every replica), and the plain pair goes on.
#[test]
fn a_named_replica_key_is_used_as_it_is_and_checked() {
    use crossrep_core::kinds::key_policy::{KeyPolicy, KeyPolicySpec};
    use crossrep_core::kinds::replica_key::{KeyAddr, ReplicaKey, ReplicaKeySpec};
    let arn = "arn:aws:kms:us-east-1:222222222222:key/theirs";
    let buckets: &[(&str, &str, &str)] =
        &[(PROD, "data", "us-east-1"), (PROD, "plain", "us-east-1")];
    let d = want(&format!("{PROD_TO_BACKUP}kms = \"{arn}\"\n"), buckets);
    let key = KeyAddr::of(&d.pairs[0]).unwrap();
    assert_eq!(key.key.as_deref(), Some(arn));
    let mut a = kms_sources(buckets);
    a.set::<ReplicaKey>(
        key.clone(),
        Observed::Present(ReplicaKeySpec {
            arn: Some(arn.into()),
            alias: String::new(),
            ..ReplicaKeySpec::new()
        }),
    );
    let mut theirs = crossrep_core::kinds::key_policy::default_policy(&acct(BACKUP));
    theirs["Statement"].as_array_mut().unwrap().push(json!({
        "Sid": "Auditors", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::222222222222:role/audit"},
        "Action": "kms:DescribeKey", "Resource": "*"
    }));
    a.set::<KeyPolicy>(
        key.clone(),
        Observed::Present(KeyPolicySpec { document: theirs }),
    );
    let p = plan(&d, &a);
    assert!(p.conflicts.is_empty(), "{}", summary(&p));
    assert!(
        !p.changes
            .iter()
            .any(|c| c.addr().to_string().starts_with("replica_key")),
        "{}",
        summary(&p)
    );
    let data = written_config(&p, "replication[111111111111/data]");
    assert_eq!(data.rules[0].sse_kms_encrypted_objects, Some(true));
    assert_eq!(
        data.rules[0].destination.replica_kms_key_id.as_deref(),
        Some(arn)
    );
    let plain = written_config(&p, "replication[111111111111/plain]");
    assert_eq!(plain.rules[0].destination.replica_kms_key_id, None);
    assert_eq!(
        statement(&role_policy_of(&p, PROD), "CrossrepReplicaKeysUsEast1").unwrap()["Resource"],
        json!([arn])
    );
    let policy = &typed::<KeyPolicy>(&p, "key_policy[222222222222/us-east-1/theirs]")
        .after
        .as_ref()
        .unwrap()
        .document;
    assert!(statement(policy, "Auditors").is_some(), "{policy}");
    assert_eq!(
        statement(policy, "CrossrepReplication").unwrap()["Principal"]["AWS"],
        json!([role_arn(PROD)])
    );
    let done = assert_converges(&d, &a, &p);
    assert!(!plan(&d, &done).has_changes());

    // What makes the named key unusable, each a conflict for `data` only.
    let conflict_of = |a: &ActualState| {
        let p = plan(&d, a);
        assert!(
            p.pairs.iter().any(|s| s.source.bucket.as_str() == "plain"),
            "{}",
            summary(&p)
        );
        let c: Vec<_> = p
            .conflicts
            .iter()
            .map(|c| (c.bucket.to_string(), c.code.to_string(), c.message.clone()))
            .collect();
        assert_eq!(c.len(), 1, "{c:?}");
        assert_eq!(c[0].0, "data");
        (c[0].1.clone(), c[0].2.clone())
    };
    let mut missing = a.clone();
    missing.set::<ReplicaKey>(key.clone(), Observed::Absent);
    missing.set::<KeyPolicy>(key.clone(), Observed::Absent);
    let (code, message) = conflict_of(&missing);
    assert_eq!(code, "replica_key_not_found");
    assert!(
        message.contains(&format!(
            "replica key `{arn}` (`kms`) does not exist in 222222222222 (us-east-1)"
        )),
        "{message}"
    );
    assert!(message.contains("DstKmsKeyNotFound"), "{message}");
    for (edit, want_code) in [
        (
            ReplicaKeySpec {
                enabled: false,
                ..ReplicaKeySpec::new()
            },
            "replica_key_disabled",
        ),
        (
            ReplicaKeySpec {
                symmetric: false,
                ..ReplicaKeySpec::new()
            },
            "replica_key_asymmetric",
        ),
        (
            ReplicaKeySpec {
                aws_managed: true,
                ..ReplicaKeySpec::new()
            },
            "replica_key_aws_managed",
        ),
    ] {
        let mut bad = a.clone();
        bad.set::<ReplicaKey>(
            key.clone(),
            Observed::Present(ReplicaKeySpec {
                arn: Some(arn.into()),
                ..edit
            }),
        );
        assert_eq!(conflict_of(&bad).0, want_code);
    }
    // A key in another region than the destination: a conflict before anything is read.
    let elsewhere = "arn:aws:kms:eu-west-1:222222222222:key/theirs";
    let d2 = want(&format!("{PROD_TO_BACKUP}kms = \"{elsewhere}\"\n"), buckets);
    let p2 = plan(&d2, &kms_sources(buckets));
    assert_eq!(p2.conflicts.len(), 1, "{}", summary(&p2));
    assert_eq!(p2.conflicts[0].code, "replica_key_region");
    assert!(
        p2.conflicts[0]
            .message
            .contains("is in eu-west-1, but the destination is in us-east-1"),
        "{}",
        p2.conflicts[0].message
    );
}

/// Issue 10 (SPEC §8), SSE-C: a source with SSE-C objects gets a destination that accepts SSE-C
/// writes (new buckets block them since April 2026, replicas included); a destination crossrep
/// manages is changed with its default encryption kept; someone else's is reported, not
/// changed; a source that neither holds nor accepts SSE-C changes nothing.
#[test]
fn a_source_with_sse_c_objects_gets_a_destination_that_accepts_them() {
    use crossrep_core::kinds::bucket_encryption::{BucketEncryption, EncryptionSpec};
    use crossrep_core::kinds::object_encryption::{ObjectEncryption, ObjectEncryptionSpec};
    let sse_c = |s: &mut ActualState, b: &BucketAddr| {
        s.set::<ObjectEncryption>(
            b.clone(),
            Observed::Present(ObjectEncryptionSpec {
                sampled: 2,
                sse_c: 1,
                ..Default::default()
            }),
        )
    };
    let d = PROD_TO_BACKUP_ONE();
    let a = Actual::sources(ONE).at(PROD, "data").edit(sse_c).build();
    let p = plan(&d, &a);
    let c = typed::<BucketEncryption>(&p, "bucket_encryption[222222222222/replicated-data]");
    assert_eq!(
        c.after,
        Some(EncryptionSpec {
            algorithm: "AES256".into(),
            kms_key: None,
            bucket_key: false,
            sse_c_blocked: false
        })
    );
    assert!(
        c.reason
            .contains("`data` holds SSE-C objects (1 of 2 sampled version(s))"),
        "{}",
        c.reason
    );
    assert_converges(&d, &a, &p);

    // Nothing SSE-C about the source: the destination keeps S3's default.
    let plain = plan(&d, &Actual::sources(ONE).build());
    assert!(
        !summary(&plain).contains("bucket_encryption"),
        "{}",
        summary(&plain)
    );

    // A destination crossrep manages, SSE-KMS by default and blocking SSE-C.
    let kms_default = EncryptionSpec {
        algorithm: "aws:kms".into(),
        kms_key: Some("arn:aws:kms:us-east-1:222222222222:key/d".into()),
        bucket_key: true,
        sse_c_blocked: true,
    };
    let managed = Actual::sources(ONE)
        .at(PROD, "data")
        .edit(sse_c)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .tags(&[MANAGED_TAG])
        .edit(|s, b| s.set::<BucketEncryption>(b.clone(), Observed::Present(kms_default.clone())))
        .build();
    let p = plan(&d, &managed);
    let c = typed::<BucketEncryption>(&p, "bucket_encryption[222222222222/replicated-data]");
    assert_eq!(
        c.after,
        Some(EncryptionSpec {
            sse_c_blocked: false,
            ..kms_default.clone()
        })
    );
    assert_converges(&d, &managed, &p);

    // Someone else's destination: reported with the fix, never written.
    let foreign = Actual::sources(ONE)
        .at(PROD, "data")
        .edit(sse_c)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .tags(&[("team", "storage")])
        .edit(|s, b| s.set::<BucketEncryption>(b.clone(), Observed::Present(kms_default.clone())))
        .build();
    let p = plan(&d, &foreign);
    assert!(
        !summary(&p).contains("bucket_encryption"),
        "{}",
        summary(&p)
    );
    let w: Vec<_> = p
        .warnings
        .iter()
        .filter(|w| w.code == crossrep_core::plan::SSE_C_CODE)
        .collect();
    assert_eq!(w.len(), 1, "{:?}", p.warnings);
    assert!(
        w[0].message.contains("destination `replicated-data` blocks SSE-C writes and is not crossrep's, and `data` holds SSE-C objects"),
        "{}",
        w[0].message
    );
    assert!(
        w[0].message
            .contains("aws s3api put-bucket-encryption --bucket replicated-data"),
        "{}",
        w[0].message
    );

    // A source that accepts SSE-C writes (no block) may get SSE-C objects tomorrow.
    let open = Actual::sources(ONE)
        .at(PROD, "data")
        .edit(|s, b| {
            s.set::<BucketEncryption>(
                b.clone(),
                Observed::Present(EncryptionSpec {
                    algorithm: "AES256".into(),
                    kms_key: None,
                    bucket_key: false,
                    sse_c_blocked: false,
                }),
            )
        })
        .build();
    let p = plan(&d, &open);
    let c = typed::<BucketEncryption>(&p, "bucket_encryption[222222222222/replicated-data]");
    assert!(c.reason.contains("accepts SSE-C writes"), "{}", c.reason);
}

/// Issue 11 (SPEC §10), `alerts = true`: the rules get replication metrics; the source
/// account and region get a queue whose policy lets S3 send from the selected sources only, a
/// topic with `alert_email` subscribed and an alarm notifying it; each source's notification
/// configuration gains crossrep's entry beside someone else's; the plan says what it costs,
/// once; applied, nothing is left to do; destroy removes crossrep's and keeps theirs.
#[test]
fn alerts_set_up_metrics_a_queue_a_topic_an_alarm_and_merged_notifications() {
    use crossrep_core::kinds::alarm::Alarm;
    use crossrep_core::kinds::alert_queue::{AlertAddr, AlertQueue};
    use crossrep_core::kinds::alert_topic::AlertTopic;
    use crossrep_core::kinds::notification::*;
    let buckets: &[(&str, &str, &str)] =
        &[(PROD, "data", "us-east-1"), (PROD, "logs", "us-east-1")];
    let blocks = format!(
        "{}\n[settings]\nalert_email = \"oncall@example.com\"\n",
        PROD_TO_BACKUP.replace("alerts = false", "alerts = true")
    );
    let d = want(&blocks, buckets);
    let at = AlertAddr {
        account: acct(PROD),
        region: region("us-east-1"),
    };
    let theirs = Entry {
        target: Target::Queue,
        id: Some("uploads".into()),
        arn: "arn:aws:sqs:us-east-1:111111111111:uploads".into(),
        events: vec!["s3:ObjectCreated:*".into()],
        filter: vec![],
    };
    let mut a = Actual::sources(buckets)
        .at(PROD, "data")
        .edit(|s, b| {
            s.set::<Notification>(
                b.clone(),
                Observed::Present(NotificationSpec {
                    entries: vec![theirs.clone()],
                    eventbridge: false,
                }),
            )
        })
        .build();
    a.set::<AlertQueue>(at.clone(), Observed::Absent);
    a.set::<AlertTopic>(at.clone(), Observed::Absent);
    a.set::<Alarm>(at.clone(), Observed::Absent);
    let p = check(
        &d,
        &a,
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[111111111111/crossrep-reports-111111111111-us-east-1]
        create bucket[222222222222/replicated-data]
        create bucket[222222222222/replicated-logs]
        create bucket_tags[111111111111/crossrep-reports-111111111111-us-east-1]
        create bucket_tags[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-logs]
        create ownership_controls[111111111111/crossrep-reports-111111111111-us-east-1]
        create ownership_controls[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-logs]
        create lifecycle[111111111111/crossrep-reports-111111111111-us-east-1]
        update versioning[111111111111/data]
        update versioning[111111111111/logs]
        create versioning[222222222222/replicated-data]
        create versioning[222222222222/replicated-logs]
        create bucket_policy[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-logs]
        create alert_queue[111111111111/us-east-1]
        create alert_topic[111111111111/us-east-1]
        create alarm[111111111111/us-east-1]
        create replication[111111111111/data]
        create replication[111111111111/logs]
        update notification[111111111111/data]
        update notification[111111111111/logs]
        ",
    );
    assert!(
        written_config(&p, "replication[111111111111/data]").rules[0]
            .destination
            .metrics_enabled
    );
    // The report bucket keeps failure summaries, which crossrep writes, not the role.
    assert!(statement(&role_policy_of(&p, PROD), "CrossrepBackfillReports").is_none());
    let queue = typed::<AlertQueue>(&p, "alert_queue[111111111111/us-east-1]")
        .after
        .clone()
        .unwrap();
    let sent = statement(&queue.policy, "CrossrepS3FailureEvents").unwrap();
    assert_eq!(sent["Principal"]["Service"], "s3.amazonaws.com");
    assert_eq!(sent["Condition"]["StringEquals"]["aws:SourceAccount"], PROD);
    assert_eq!(
        sent["Condition"]["ArnLike"]["aws:SourceArn"],
        json!(["arn:aws:s3:::data", "arn:aws:s3:::logs"])
    );
    let topic = typed::<AlertTopic>(&p, "alert_topic[111111111111/us-east-1]")
        .after
        .clone()
        .unwrap();
    assert!(topic.emails.contains("oncall@example.com"));
    assert_eq!(
        typed::<Alarm>(&p, "alarm[111111111111/us-east-1]")
            .after
            .as_ref()
            .unwrap()
            .actions,
        vec!["arn:aws:sns:us-east-1:111111111111:crossrep-replication-failures".to_string()]
    );
    let n = typed::<Notification>(&p, "notification[111111111111/data]")
        .after
        .clone()
        .unwrap();
    assert_eq!(n.entries[0], theirs);
    assert_eq!(n.entries[1].id.as_deref(), Some(ENTRY_ID));
    assert_eq!(n.entries[1].arn, at.queue_arn());
    assert_eq!(n.entries[1].events, vec![FAILED.to_string()]);
    assert_eq!(p.notes.len(), 1, "{:?}", p.notes);
    assert!(
        p.notes[0].contains("replication metrics on 2 rule(s)"),
        "{}",
        p.notes[0]
    );
    assert!(p.notes[0].contains("1 new alarm(s)"), "{}", p.notes[0]);
    assert!(crossrep_core::render::render_plan(&p).contains("note: alerts: "));

    let done = assert_converges(&d, &a, &p);
    assert!(plan(&d, &done).notes.is_empty(), "the cost is said once");

    let gone = crossrep_core::destroy::destroy_plan(&d, &done);
    let text = summary(&gone);
    for line in [
        "delete alarm[111111111111/us-east-1]",
        "delete alert_queue[111111111111/us-east-1]",
        "delete alert_topic[111111111111/us-east-1]",
        "update notification[111111111111/data]",
    ] {
        assert!(text.contains(line), "{text}");
    }
    let n = typed::<Notification>(&gone, "notification[111111111111/data]")
        .after
        .clone()
        .unwrap();
    assert_eq!(n.entries, vec![theirs.clone()]);

    // `alerts = false` afterwards: crossrep's entry leaves (theirs stays), and its alarm,
    // queue and topic go; applied, nothing is left to do.
    let off = want(&blocks.replace("alerts = true", "alerts = false"), buckets);
    let p_off = plan(&off, &done);
    let text = summary(&p_off);
    for line in [
        "delete alarm[111111111111/us-east-1]",
        "delete alert_queue[111111111111/us-east-1]",
        "delete alert_topic[111111111111/us-east-1]",
        "update notification[111111111111/data]",
        "update notification[111111111111/logs]",
    ] {
        assert!(text.contains(line), "{text}");
    }
    let n = typed::<Notification>(&p_off, "notification[111111111111/data]")
        .after
        .clone()
        .unwrap();
    assert_eq!(n.entries, vec![theirs.clone()]);
    assert!(
        !written_config(&p_off, "replication[111111111111/data]").rules[0]
            .destination
            .metrics_enabled
    );
    assert_converges(&off, &done, &p_off);

    // A queue of that name that is not crossrep's: no alerts there, a warning, replication
    // goes on.
    let mut foreign = a.clone();
    let mut q = crossrep_core::kinds::alert_queue::AlertQueueSpec::new(json!({}));
    q.tags.clear();
    foreign.set::<AlertQueue>(at, Observed::Present(q));
    let p = plan(&d, &foreign);
    assert!(!summary(&p).contains("alert_"), "{}", summary(&p));
    assert!(!summary(&p).contains("notification"), "{}", summary(&p));
    assert!(p
        .warnings
        .iter()
        .any(|w| w.code == crossrep_core::plan::ALERTS_CODE
            && w.message.contains("is not crossrep's")));
    assert_eq!(p.pairs.len(), 2);
}

/// Issue 8: an existing destination with Requester Pays was applied and called healthy; AWS
/// refuses cross-account replication into it. It is a conflict now, with the fix.
#[test]
fn a_requester_pays_destination_of_another_account_is_a_conflict() {
    use crossrep_core::kinds::request_payment::{RequestPayment, RequestPaymentSpec};
    let a = Actual::sources(ONE)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .edit(|s, b| {
            s.set::<RequestPayment>(
                b.clone(),
                Observed::Present(RequestPaymentSpec {
                    payer: "Requester".into(),
                }),
            )
        })
        .build();
    let p = check(
        &PROD_TO_BACKUP_ONE(),
        &a,
        "conflict 111111111111/data -> replicated-data: destination bucket `replicated-data` is Requester Pays, and S3 does not replicate into a Requester Pays bucket of another account; have its owner set it back (`aws s3api put-bucket-request-payment --bucket replicated-data --request-payment-configuration Payer=BucketOwner`) or change the `destination` template",
    );
    // Programs get a stable code (SPEC §3), in the JSON plan too.
    assert_eq!(p.conflicts[0].code, "requester_pays");
    let json = serde_json::to_value(&p).unwrap();
    assert_eq!(json["conflicts"][0]["code"], "requester_pays");
}

/// Issue 8: a role crossrep manages that lives under an IAM path (`/service-role/`) was
/// written into rules and policies without it; on AWS that principal is invalid. The role is
/// named by the ARN `GetRole` returned, and a configuration naming it without the path is
/// repaired (one role name per account), not taken for someone else's.
#[test]
fn a_role_with_a_path_is_named_with_it_everywhere() {
    let with_path = "arn:aws:iam::111111111111:role/service-role/crossrep-replication";
    let d = PROD_TO_BACKUP_ONE();
    let a = Actual::sources(ONE)
        .versioning(Versioning::Enabled)
        .replication(&role_arn(PROD), vec![])
        .role(PROD)
        .edit_role(PROD, |r| r.arn = Some(with_path.into()))
        .build();
    let p = check(
        &d,
        &a,
        "
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        update replication[111111111111/data]
        ",
    );
    assert_eq!(
        written_config(&p, "replication[111111111111/data]").role,
        with_path
    );
    let policy = written_policy(&p, "bucket_policy[222222222222/replicated-data]");
    for s in statements(policy) {
        assert_eq!(s["Principal"]["AWS"], with_path, "{s}");
    }
}

/// Issue 8: an Object Lock source got a destination without Object Lock, and every object
/// failed on AWS (`DstBucketObjectLockConfigMissing`). The destination is created with Object
/// Lock and the role may read retention and legal holds; an existing destination without it is
/// a conflict (enabling it cannot be undone: its owner decides).
#[test]
fn an_object_lock_source_gets_an_object_lock_destination_or_a_conflict() {
    use crossrep_core::kinds::bucket::Bucket;
    use crossrep_core::kinds::object_lock::{ObjectLock, ObjectLockSpec};
    let lock = |s: &mut ActualState, b: &BucketAddr| {
        s.set::<ObjectLock>(
            b.clone(),
            Observed::Present(ObjectLockSpec { enabled: true }),
        )
    };
    let d = PROD_TO_BACKUP_ONE();
    let a = Actual::sources(ONE).edit(lock).build();
    let p = check(
        &d,
        &a,
        "
        create role[111111111111/crossrep-replication]
        create role_policy[111111111111/crossrep-replication/crossrep-replication]
        create bucket[222222222222/replicated-data]
        create bucket_tags[222222222222/replicated-data]
        create ownership_controls[222222222222/replicated-data]
        update versioning[111111111111/data]
        create versioning[222222222222/replicated-data]
        create bucket_policy[222222222222/replicated-data]
        create replication[111111111111/data]
        ",
    );
    assert!(typed::<Bucket>(&p, "bucket[222222222222/replicated-data]")
        .after
        .as_ref()
        .is_some_and(|b| b.object_lock));
    let doc = role_policy_of(&p, PROD);
    assert_eq!(
        statement(&doc, "CrossrepSourceObjectLock").unwrap()["Action"],
        json!(["s3:GetObjectRetention", "s3:GetObjectLegalHold"])
    );
    assert_eq!(
        statement(&doc, "CrossrepSourceObjectLock").unwrap()["Resource"],
        json!(["arn:aws:s3:::data/*"])
    );
    // Replicas carry retention and legal holds: the role and the destination policy allow
    // writing them (DstPutRetentionNotPermitted / DstPutLegalHoldNotPermitted otherwise).
    let dest_lock = statement(&doc, "CrossrepDestinationObjectLock222222222222").unwrap();
    assert_eq!(
        dest_lock["Action"],
        json!(["s3:PutObjectRetention", "s3:PutObjectLegalHold"])
    );
    assert_eq!(
        dest_lock["Resource"],
        json!(["arn:aws:s3:::replicated-data/*"])
    );
    use crossrep_core::kinds::bucket_policy::BucketPolicy;
    let policy = &typed::<BucketPolicy>(&p, "bucket_policy[222222222222/replicated-data]")
        .after
        .as_ref()
        .unwrap()
        .document;
    let objects = statement(policy, "CrossrepReplicateObjects111111111111").unwrap();
    for action in ["s3:PutObjectRetention", "s3:PutObjectLegalHold"] {
        assert!(
            objects["Action"]
                .as_array()
                .unwrap()
                .contains(&json!(action)),
            "{objects}"
        );
    }

    // An existing destination without Object Lock: left alone, with the fix.
    let a = Actual::sources(ONE)
        .edit(lock)
        .role(PROD)
        .bucket(BACKUP, "replicated-data", "us-east-1")
        .versioning(Versioning::Enabled)
        .build();
    check(
        &d,
        &a,
        "conflict 111111111111/data -> replicated-data: source bucket `data` has Object Lock and its existing destination `replicated-data` does not: every object would fail to replicate (`DstBucketObjectLockConfigMissing`); enable it there (`aws s3api put-object-lock-configuration --bucket replicated-data --object-lock-configuration ObjectLockEnabled=Enabled`, which cannot be undone) or change the `destination` template",
    );
    // With Object Lock there, it is used.
    let a = Actual::from_state(a)
        .at(BACKUP, "replicated-data")
        .edit(lock)
        .build();
    let p = plan(&d, &a);
    assert!(p.conflicts.is_empty(), "{}", summary(&p));
    // A source without Object Lock gets no such grant.
    let p = plan(&d, &Actual::sources(ONE).build());
    assert!(statement(&role_policy_of(&p, PROD), "CrossrepSourceObjectLock").is_none());
    assert!(statement(
        &role_policy_of(&p, PROD),
        "CrossrepDestinationObjectLock222222222222"
    )
    .is_none());
}

/// Issue 9: selected buckets with legacy names (capitals, `_`) were skipped silently.
#[test]
fn legacy_bucket_names_are_named_in_the_plan() {
    let mut d = PROD_TO_BACKUP_ONE();
    d.legacy_names = vec![(
        crossrep_core::names::AccountId::new(PROD).unwrap(),
        "Old_Data".to_string(),
    )];
    let p = plan(&d, &Actual::sources(ONE).build());
    let w = p
        .warnings
        .iter()
        .find(|w| w.code == "legacy_bucket_name")
        .unwrap();
    assert!(w.message.contains("`Old_Data`"), "{}", w.message);
    assert!(
        crossrep_core::render::render_plan(&p).contains("warning: "),
        "shown in the text plan"
    );
}

/// Issue 12: above 50 changes the plan for people counts plain creations by account and kind
/// and shows in full only what is not one (an update here); `--full` and JSON show everything.
#[test]
fn a_large_plan_summarises_plain_creations() {
    let names: Vec<String> = (0..30).map(|i| format!("b{i:02}")).collect();
    let buckets: Vec<(&str, &str, &str)> = names
        .iter()
        .map(|n| (PROD, n.as_str(), "us-east-1"))
        .collect();
    let a = Actual::sources(&buckets)
        .at(PROD, "b07")
        .versioning(Versioning::Suspended)
        .replication(
            &role_arn(PROD),
            vec![foreign_rule("theirs", 1, "elsewhere")],
        )
        .build();
    let p = plan(&want(PROD_TO_BACKUP, &buckets), &a);
    assert!(p.changes.len() > crossrep_core::render::SUMMARY_ABOVE);
    let short = crossrep_core::render::render_plan_as(&p, false);
    let full = crossrep_core::render::render_plan_as(&p, true);
    assert!(
        short.contains(
            "creations and 30 routine updates summarised below, 1 other change(s) in full"
        ),
        "{short}"
    );
    assert!(short.contains("  222222222222:\n"), "{short}");
    assert!(short.contains("    + 30 bucket\n"), "{short}");
    assert!(short.contains("  111111111111:\n"), "{short}");
    // Versioning turned on is routine, counted; a rule merged into someone's configuration is
    // shown in full.
    assert!(
        short.contains("    ~ 30 versioning: replication needs versioning on the source\n"),
        "{short}"
    );
    assert!(!short.contains("# versioning["), "{short}");
    assert!(
        short.contains("# replication[111111111111/b07] will be updated in-place"),
        "{short}"
    );
    assert!(!short.contains("will be created"), "{short}");
    assert!(full.contains("# bucket[222222222222/replicated-b00] will be created"));
    assert!(
        short.len() * 5 < full.len(),
        "{} vs {}",
        short.len(),
        full.len()
    );
    // A small plan is always shown in full.
    let small = plan(&want(PROD_TO_BACKUP, ONE), &Actual::sources(ONE).build());
    assert_eq!(
        crossrep_core::render::render_plan_as(&small, false),
        crossrep_core::render::render_plan(&small)
    );
}
