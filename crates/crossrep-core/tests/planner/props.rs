//! The planner's convergence property, for generated configs, listings and actual states:
//! `plan(d, apply_in_memory(a, plan(d, a)))` has no changes and the same conflicts, and no
//! plan drops a rule or statement crossrep does not own (`fixtures::assert_invariants`).

use std::collections::{BTreeMap, BTreeSet};

use crossrep_core::desired::{desired, DesiredState};
use crossrep_core::kinds::bucket_encryption::{BucketEncryption, EncryptionSpec};
use crossrep_core::kinds::lifecycle::{Lifecycle, LifecycleRule, LifecycleSpec};
use crossrep_core::kinds::object_encryption::{ObjectEncryption, ObjectEncryptionSpec};
use crossrep_core::kinds::object_lock::{ObjectLock, ObjectLockSpec};
use crossrep_core::kinds::ownership_controls::{OwnershipControls, OwnershipSpec};
use crossrep_core::kinds::request_payment::{RequestPayment, RequestPaymentSpec};
use crossrep_core::kinds::role::{Role, RoleAddr, RoleSpec};
use crossrep_core::kinds::role_policy::{RolePolicy, RolePolicyAddr, RolePolicySpec};
use crossrep_core::kinds::AnyChange;
use crossrep_core::model::{ActualState, Rule, Versioning};
use crossrep_core::observed::{ErrorKind, Observed, ReadError};
use proptest::prelude::*;
use serde_json::json;

use crate::fixtures::*;

/// Source accounts (name, id, home region) and the destination accounts blocks may use.
const SOURCES: &[(&str, &str)] = &[
    ("prod", PROD),
    ("staging", STAGING),
    ("dev", "444444444444"),
];
const REGIONS: &[&str] = &["us-east-1", "eu-west-1", "us-west-2"];
const STEMS: &[&str] = &[
    "data",
    "logs",
    "app",
    "cdk-assets",
    "media",
    "raw.events",
    "analytics-clickstream-raw-events-partitioned-by-day",
];
const PATTERNS: &[&str] = &[
    r#"["*"]"#,
    r#"["data-*", "logs-*"]"#,
    r#"["*-1", "*-2", "app-*"]"#,
    r#"["*a*"]"#,
];
const TEMPLATES: &[&str] = &[
    "replicated-{bucket}",
    "{bucket}-{account}",
    "dr-{region}-{bucket}",
    "backup-of-{bucket}-from-{account}-in-{region}-to-{dest_account}",
    "{bucket}-copy",
];
const CLASSES: &[&str] = &["STANDARD", "STANDARD_IA", "GLACIER_IR", "DEEP_ARCHIVE"];

#[derive(Debug, Clone)]
struct Block {
    from: usize,
    /// Into staging (a source account too) rather than backup.
    to_staging: bool,
    pattern: usize,
    exclude: bool,
    template: usize,
    fixed_region: Option<usize>,
    class: usize,
    delete_markers: bool,
    prefix: bool,
    tags: bool,
    owner_source: bool,
    rtc: bool,
}

fn block() -> impl Strategy<Value = Block> {
    (
        (
            0..SOURCES.len(),
            prop::bool::weighted(0.15),
            0..PATTERNS.len(),
            any::<bool>(),
            0..TEMPLATES.len(),
        ),
        (
            prop::option::weighted(0.3, 0..REGIONS.len()),
            0..CLASSES.len(),
            any::<bool>(),
            any::<bool>(),
            prop::bool::weighted(0.2),
            any::<bool>(),
            prop::bool::weighted(0.2),
        ),
    )
        .prop_map(
            |(
                (from, to_staging, pattern, exclude, template),
                (fixed_region, class, dm, prefix, tags, owner_source, rtc),
            )| Block {
                from,
                to_staging,
                pattern,
                exclude,
                template,
                fixed_region,
                class,
                delete_markers: dm,
                prefix,
                tags,
                owner_source,
                rtc,
            },
        )
}

fn toml(blocks: &[Block], role_name: Option<&str>) -> String {
    let mut s =
        String::from("[accounts.dev]\nid = \"444444444444\"\nregion = \"ap-southeast-2\"\n");
    for b in blocks {
        s += "[[replication]]\n";
        s += &format!("from = \"{}\"\n", SOURCES[b.from].0);
        s += &format!(
            "to = \"{}\"\n",
            if b.to_staging { "staging" } else { "backup" }
        );
        s += &format!("buckets = {}\n", PATTERNS[b.pattern]);
        if b.exclude {
            s += "exclude = [\"cdk-*\", \"*-4\"]\n";
        }
        s += &format!("destination = \"{}\"\n", TEMPLATES[b.template]);
        if let Some(r) = b.fixed_region {
            s += &format!("destination_region = \"{}\"\n", REGIONS[r]);
        }
        s += &format!("storage_class = \"{}\"\n", CLASSES[b.class]);
        s += &format!("delete_markers = {}\n", b.delete_markers && !b.tags);
        if b.prefix {
            s += "prefix = \"exports/\"\n";
        }
        if b.tags {
            s += "tags = { replicate = \"yes\", tier = \"gold\" }\n";
        }
        if b.owner_source {
            s += "owner = \"source\"\n";
        }
        s += &format!("replication_time = {}\n", b.rtc);
    }
    if let Some(r) = role_name {
        s += &format!("[settings]\nrole_name = \"{r}\"\n");
    }
    s
}

/// `(source account index, stem, number, region)`.
fn listed() -> impl Strategy<Value = Vec<(usize, usize, u8, usize)>> {
    prop::collection::vec(
        (0..SOURCES.len(), 0..STEMS.len(), 0..5u8, 0..REGIONS.len()),
        0..=20,
    )
}

/// What discovery sees of one source bucket.
#[derive(Debug, Clone)]
enum Repl {
    None,
    /// Our role; foreign rules with these (unique) priorities, and maybe a stale rule of ours at
    /// the given position with the next free priority.
    SameRole {
        foreign: BTreeSet<i32>,
        stale_ours_at: Option<usize>,
    },
    OtherRole,
    V1,
    /// Our role and enough foreign rules to reach S3's 1,000-rule limit.
    Full,
}

#[derive(Debug, Clone)]
struct SourceKnob {
    missing: bool,
    error: bool,
    versioning: Versioning,
    repl: Repl,
    /// Object Lock enabled (its destination must have it too).
    lock: bool,
    /// SSE-KMS by default (a warning, nothing planned differently).
    kms: bool,
    /// Holds SSE-C objects (its destination must accept SSE-C writes).
    sse_c: bool,
    /// Someone else's notification entry (an ObjectCreated queue) on the bucket.
    notified: bool,
}

#[derive(Debug, Clone)]
struct DestKnob {
    exists: bool,
    versioning: Versioning,
    /// 0 none, 1 foreign statement, 2 foreign + stale crossrep statement, 3 single foreign
    /// statement object, 4 another account's crossrep statements, 5 too big to merge into.
    policy: u8,
    taken: bool,
    error: bool,
    /// 0 no tags, 1 crossrep's tag, 2 someone else's tags.
    tags: u8,
    /// 0 `BucketOwnerEnforced` (the default of new buckets), 1 `BucketOwnerPreferred`, 2 none.
    ownership: u8,
    /// The bucket exists in another region than the pair's.
    elsewhere: bool,
    /// Requester Pays (a conflict for a cross-account pair).
    requester_pays: bool,
    /// Object Lock enabled.
    lock: bool,
}

#[derive(Debug, Clone, Copy)]
enum RoleKnob {
    Unlooked,
    Absent,
    Managed,
    /// crossrep's role, under the IAM path `/service-role/`.
    ManagedWithPath,
    DriftedTrust,
    DriftedPolicy,
    Unmanaged,
}

fn versioning() -> impl Strategy<Value = Versioning> {
    prop_oneof![
        Just(Versioning::Off),
        Just(Versioning::Enabled),
        Just(Versioning::Suspended)
    ]
}

fn repl() -> impl Strategy<Value = Repl> {
    prop_oneof![
        6 => Just(Repl::None),
        6 => (prop::collection::btree_set(1..10i32, 0..4), prop::option::of(0..4usize))
            .prop_map(|(foreign, stale_ours_at)| Repl::SameRole { foreign, stale_ours_at }),
        1 => Just(Repl::OtherRole),
        1 => Just(Repl::V1),
        1 => Just(Repl::Full),
    ]
}

fn source_knob() -> impl Strategy<Value = SourceKnob> {
    (
        prop::bool::weighted(0.05),
        prop::bool::weighted(0.05),
        versioning(),
        repl(),
        prop::bool::weighted(0.15),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(missing, error, versioning, repl, lock, kms, sse_c, notified)| SourceKnob {
                missing,
                error,
                versioning,
                repl,
                lock,
                kms,
                sse_c,
                notified,
            },
        )
}

fn dest_knob() -> impl Strategy<Value = DestKnob> {
    (
        any::<bool>(),
        versioning(),
        prop_oneof![4 => Just(0u8), 1 => 1..=5u8],
        prop::bool::weighted(0.1),
        prop::bool::weighted(0.05),
        0..3u8,
        0..3u8,
        prop::bool::weighted(0.1),
        (prop::bool::weighted(0.1), prop::bool::weighted(0.3)),
    )
        .prop_map(
            |(
                exists,
                versioning,
                policy,
                taken,
                error,
                tags,
                ownership,
                elsewhere,
                (requester_pays, lock),
            )| DestKnob {
                exists,
                versioning,
                policy,
                taken,
                error,
                tags,
                ownership,
                elsewhere,
                requester_pays,
                lock,
            },
        )
}

fn role_knob() -> impl Strategy<Value = RoleKnob> {
    prop_oneof![
        Just(RoleKnob::Unlooked),
        Just(RoleKnob::Absent),
        Just(RoleKnob::Managed),
        Just(RoleKnob::ManagedWithPath),
        Just(RoleKnob::DriftedTrust),
        Just(RoleKnob::DriftedPolicy),
        Just(RoleKnob::Unmanaged),
    ]
}

#[derive(Debug, Clone)]
struct Knobs {
    sources: Vec<SourceKnob>,
    dests: Vec<DestKnob>,
    roles: Vec<RoleKnob>,
    /// Per report bucket: 0 absent, 1 bare (no tags, no lifecycle), 2 crossrep's with another
    /// expiry, 3 someone else's (tagged), 4 crossrep's with a rule crossrep cannot rewrite,
    /// 5 unreadable.
    reports: Vec<u8>,
    /// Per source account and region, the alert resources: 0 none, 1 crossrep's with someone
    /// else's queue statement and subscriber, 2 a queue of that name that is not crossrep's,
    /// 3 unreadable.
    alerts: Vec<u8>,
}

fn knobs() -> impl Strategy<Value = Knobs> {
    (
        prop::collection::vec(source_knob(), 1..24),
        prop::collection::vec(dest_knob(), 1..24),
        prop::collection::vec(role_knob(), SOURCES.len()),
        prop::collection::vec(0..6u8, 1..6),
        prop::collection::vec(
            prop_oneof![6 => Just(0u8), 2 => Just(1u8), 1 => Just(2u8), 1 => Just(3u8)],
            1..6,
        ),
    )
        .prop_map(|(sources, dests, roles, reports, alerts)| Knobs {
            sources,
            dests,
            roles,
            reports,
            alerts,
        })
}

fn rule_of(id: &str, priority: i32) -> Rule {
    foreign_rule(id, priority, "somewhere-else")
}

/// An actual state for `d`: the listed buckets as sources, with `k` deciding what discovery
/// saw of each source bucket, destination bucket and role.
fn actual(
    d: &DesiredState,
    listing: &crossrep_core::model::Listing,
    role_name: &str,
    k: &Knobs,
) -> ActualState {
    let mut a = ActualState::default();
    let arn = |acct: &str| format!("arn:aws:iam::{acct}:role/{role_name}");
    // Alert resources, where discovery reads them: each source account and region.
    {
        use crossrep_core::kinds::alarm::{Alarm, AlarmSpec};
        use crossrep_core::kinds::alert_queue::{AlertAddr, AlertQueue, AlertQueueSpec};
        use crossrep_core::kinds::alert_topic::{AlertTopic, AlertTopicSpec};
        let places: BTreeSet<AlertAddr> =
            d.pairs.iter().map(|p| AlertAddr::of(&p.source)).collect();
        for (i, at) in places.into_iter().enumerate() {
            fn e<T>() -> Observed<T> {
                Observed::Unreadable(ReadError::new(ErrorKind::AccessDenied, "AccessDenied"))
            }
            let foreign_statement = serde_json::json!({"Version": "2012-10-17", "Statement": [{
                "Sid": "Audit", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                "Action": "sqs:GetQueueAttributes", "Resource": at.queue_arn()}]});
            match k.alerts[i % k.alerts.len()] {
                0 => {
                    a.set::<AlertQueue>(at.clone(), Observed::Absent);
                    a.set::<AlertTopic>(at.clone(), Observed::Absent);
                    a.set::<Alarm>(at, Observed::Absent);
                }
                1 => {
                    a.set::<AlertQueue>(
                        at.clone(),
                        Observed::Present(AlertQueueSpec::new(foreign_statement)),
                    );
                    let mut topic = AlertTopicSpec::merged(None, Some("someone@example.com"));
                    topic.tags.insert("team".into(), "storage".into());
                    a.set::<AlertTopic>(at.clone(), Observed::Present(topic));
                    let mut alarm = AlarmSpec::new(&at);
                    alarm.period = 60;
                    a.set::<Alarm>(at, Observed::Present(alarm));
                }
                2 => {
                    let mut q = AlertQueueSpec::new(foreign_statement);
                    q.tags.clear();
                    a.set::<AlertQueue>(at.clone(), Observed::Present(q));
                    a.set::<AlertTopic>(at.clone(), Observed::Absent);
                    a.set::<Alarm>(at, Observed::Absent);
                }
                _ => {
                    a.set::<AlertQueue>(at.clone(), e());
                    a.set::<AlertTopic>(at.clone(), e());
                    a.set::<Alarm>(at, e());
                }
            }
        }
    }
    // Roles.
    for (i, (_, id)) in SOURCES.iter().enumerate() {
        let addr = RoleAddr {
            account: acct(id),
            name: role_name.to_string(),
        };
        let managed = || RoleSpec {
            trust_policy: crossrep_core::policy::trust_policy(&acct(id)),
            tags: BTreeMap::from([("managed-by".to_string(), "crossrep".to_string())]),
            description: String::new(),
            arn: Some(arn(id)),
        };
        let policy = |name: &str| RolePolicyAddr {
            account: acct(id),
            role: role_name.to_string(),
            name: name.to_string(),
        };
        let (role, ours) = match k.roles[i] {
            RoleKnob::Unlooked => continue,
            RoleKnob::Absent => (None, None),
            RoleKnob::Managed => (Some(managed()), None),
            RoleKnob::ManagedWithPath => (
                Some(RoleSpec {
                    arn: Some(format!("arn:aws:iam::{id}:role/service-role/{role_name}")),
                    ..managed()
                }),
                None,
            ),
            RoleKnob::DriftedTrust => (
                Some(RoleSpec {
                    trust_policy: json!({"Statement": []}),
                    ..managed()
                }),
                None,
            ),
            RoleKnob::DriftedPolicy => (
                Some(managed()),
                Some(json!({"Version": "2012-10-17", "Statement": []})),
            ),
            RoleKnob::Unmanaged => (
                Some(RoleSpec {
                    tags: BTreeMap::from([("owner".to_string(), "someone".to_string())]),
                    ..managed()
                }),
                None,
            ),
        };
        if role.is_some() {
            a.set::<RolePolicy>(
                policy("someone-elses"),
                Observed::Present(RolePolicySpec {
                    document: json!({"Statement": []}),
                }),
            );
        }
        a.set::<RolePolicy>(
            policy(crossrep_core::policy::ROLE_POLICY_NAME),
            Observed::from_option(ours.map(|document| RolePolicySpec { document })),
        );
        a.set::<Role>(addr, Observed::from_option(role));
    }

    // Source buckets.
    let ours_by_source: BTreeMap<(String, String), Vec<String>> =
        d.pairs.iter().fold(BTreeMap::new(), |mut m, p| {
            m.entry((p.source.account.to_string(), p.source.bucket.to_string()))
                .or_insert_with(Vec::new)
                .push(format!("crossrep-{}", p.destination.bucket));
            m
        });
    let mut i = 0;
    for (account, buckets) in listing {
        for (name, reg) in buckets {
            let knob = &k.sources[i % k.sources.len()];
            i += 1;
            if knob.missing {
                continue;
            }
            let mut b = Actual::from_state(std::mem::take(&mut a))
                .bucket(account.as_str(), name.as_str(), reg.as_str())
                .versioning(knob.versioning);
            if knob.error {
                b = b.error("AccessDenied");
            } else {
                b = b.edit(|s, addr| {
                    if knob.lock {
                        s.set::<ObjectLock>(
                            addr.clone(),
                            Observed::Present(ObjectLockSpec { enabled: true }),
                        );
                    }
                    if knob.kms {
                        s.set::<BucketEncryption>(
                            addr.clone(),
                            Observed::Present(EncryptionSpec {
                                algorithm: "aws:kms".into(),
                                kms_key: None,
                                bucket_key: true,
                                sse_c_blocked: true,
                            }),
                        );
                    }
                    if knob.notified {
                        use crossrep_core::kinds::notification::*;
                        s.set::<Notification>(
                            addr.clone(),
                            Observed::Present(NotificationSpec {
                                entries: vec![Entry {
                                    target: Target::Queue,
                                    id: Some("uploads".into()),
                                    arn: format!("arn:aws:sqs:{reg}:{account}:uploads"),
                                    events: vec!["s3:ObjectCreated:*".into()],
                                    filter: vec![("prefix".into(), "in/".into())],
                                }],
                                eventbridge: true,
                            }),
                        );
                    }
                    if knob.sse_c {
                        s.set::<ObjectEncryption>(
                            addr.clone(),
                            Observed::Present(ObjectEncryptionSpec {
                                sampled: 1,
                                sse_c: 1,
                                ..Default::default()
                            }),
                        );
                    }
                });
            }
            let own = arn(account.as_str());
            b = match &knob.repl {
                Repl::None => b,
                Repl::SameRole {
                    foreign,
                    stale_ours_at,
                } => {
                    let mut rules: Vec<Rule> = foreign
                        .iter()
                        .map(|p| rule_of(&format!("theirs-{p}"), *p))
                        .collect();
                    let ours = ours_by_source.get(&(account.to_string(), name.to_string()));
                    if let (Some(at), Some(id)) = (stale_ours_at, ours.and_then(|o| o.first())) {
                        let free = (1..).find(|p| !foreign.contains(p)).unwrap();
                        let mut stale = rule_of(id, free);
                        stale.destination.storage_class = Some("GLACIER".into());
                        rules.insert((*at).min(rules.len()), stale);
                    }
                    b.replication(&own, rules)
                }
                Repl::OtherRole => b.replication(
                    &format!("arn:aws:iam::{account}:role/someone-elses"),
                    vec![rule_of("theirs", 1)],
                ),
                Repl::V1 => b.replication(&own, vec![v1_rule("old", "old-copy")]),
                Repl::Full => b.replication(
                    &own,
                    (1..=1000).map(|p| rule_of(&format!("r{p}"), p)).collect(),
                ),
            };
            a = b.build();
        }
    }

    // Destination buckets.
    for (j, p) in d.pairs.iter().enumerate() {
        let knob = &k.dests[j % k.dests.len()];
        let dest = &p.destination;
        let name = dest.bucket.as_str();
        if knob.taken {
            a.taken_names.insert(dest.bucket.clone());
            continue;
        }
        if !knob.exists {
            continue;
        }
        let region = match (knob.elsewhere, dest.region.as_str()) {
            (false, r) => r,
            (true, "ap-southeast-2") => "us-west-2",
            (true, _) => "ap-southeast-2",
        };
        let mut b = Actual::from_state(std::mem::take(&mut a))
            .bucket(dest.account.as_str(), name, region)
            .versioning(knob.versioning);
        if knob.error {
            b = b.error("SlowDown");
        }
        let src = p.source.account.as_str();
        b = match knob.policy {
            0 => b,
            1 => b.policy(json!({"Version": "2012-10-17", "Statement": [foreign_statement(name)]})),
            2 => b.policy(json!({"Version": "2012-10-17", "Id": "keep", "Statement": [
                {"Sid": format!("CrossrepReplicateObjects{src}"), "Effect": "Allow", "Action": "s3:ReplicateObject",
                 "Principal": {"AWS": arn(src)}, "Resource": format!("arn:aws:s3:::{name}/*")},
                foreign_statement(name),
                {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::999999999999:root"}, "Action": "s3:GetObject",
                 "Resource": format!("arn:aws:s3:::{name}/*")},
            ]})),
            3 => b.policy(json!({"Version": "2012-10-17", "Statement": foreign_statement(name)})),
            4 => b.policy(json!({"Version": "2012-10-17", "Statement": [
                {"Sid": "CrossrepReplicateObjects999999999999", "Effect": "Allow", "Action": "s3:ReplicateObject",
                 "Principal": {"AWS": "arn:aws:iam::999999999999:role/x"}, "Resource": format!("arn:aws:s3:::{name}/*")},
            ]})),
            _ => b.policy(json!({"Version": "2012-10-17", "Statement": (0..200).map(|i| json!({
                "Sid": format!("Theirs{i}"), "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteObject",
                "Resource": format!("arn:aws:s3:::{name}/some/long/prefix/*")})).collect::<Vec<_>>()})),
        };
        if !knob.error {
            b = match knob.tags {
                0 => b,
                1 => b.tags(&[("managed-by", "crossrep"), ("team", "dr")]),
                _ => b.tags(&[("owner", "dr-team")]),
            };
            b = b.edit(|s, addr| {
                if knob.requester_pays {
                    s.set::<RequestPayment>(
                        addr.clone(),
                        Observed::Present(RequestPaymentSpec {
                            payer: "Requester".into(),
                        }),
                    );
                }
                if knob.lock {
                    s.set::<ObjectLock>(
                        addr.clone(),
                        Observed::Present(ObjectLockSpec { enabled: true }),
                    );
                }
            });
            b = b.edit(|s, addr| match knob.ownership {
                0 => {}
                1 => s.set::<OwnershipControls>(
                    addr.clone(),
                    Observed::Present(OwnershipSpec {
                        object_ownership: "BucketOwnerPreferred".into(),
                    }),
                ),
                _ => s.set::<OwnershipControls>(addr.clone(), Observed::Absent),
            });
        }
        a = b.build();
    }

    // Report buckets.
    for (j, r) in d.report_buckets.iter().enumerate() {
        let knob = k.reports[j % k.reports.len()];
        if knob == 0 {
            continue;
        }
        let mut b = Actual::from_state(std::mem::take(&mut a)).bucket(
            r.account.as_str(),
            r.bucket.as_str(),
            r.region.as_str(),
        );
        let lifecycle = |days: u32, unmodelled: bool| LifecycleSpec {
            rules: vec![LifecycleRule {
                id: Some(
                    if unmodelled {
                        "archive"
                    } else {
                        "crossrep-expire-reports"
                    }
                    .into(),
                ),
                enabled: true,
                expire_after_days: Some(days),
                unmodelled,
            }],
        };
        b = match knob {
            1 => b,
            2 => b.tags(&[("managed-by", "crossrep")]).edit(|s, addr| {
                s.set::<Lifecycle>(addr.clone(), Observed::Present(lifecycle(90, false)))
            }),
            3 => b.tags(&[("owner", "someone")]),
            4 => b.tags(&[("managed-by", "crossrep")]).edit(|s, addr| {
                s.set::<Lifecycle>(addr.clone(), Observed::Present(lifecycle(365, true)))
            }),
            _ => b.error("AccessDenied"),
        };
        a = b.build();
    }
    a
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn applying_a_plan_converges_and_keeps_what_is_not_ours(
        blocks in prop::collection::vec(block(), 1..=3),
        custom_role in any::<bool>(),
        listed in listed(),
        k in knobs(),
    ) {
        let role_name = if custom_role { "dr-replication" } else { ROLE };
        let text = toml(&blocks, custom_role.then_some(role_name));
        // Blocks that map one bucket to one destination with different settings are a config
        // error (SPEC §2), which the generator does not avoid: those cases are not plans.
        let parsed = crossrep_core::config::Config::parse(&format!("{ACCOUNTS}{text}"), std::path::Path::new("crossrep.toml"));
        prop_assume!(
            !parsed.as_ref().is_err_and(|e| e.key.ends_with(".buckets") && e.message.contains("also selected by")),
            "conflicting blocks"
        );
        let config = config(&text);
        let mut l: crossrep_core::model::Listing = BTreeMap::new();
        for (acc, stem, n, reg) in &listed {
            l.entry(acct(SOURCES[*acc].1))
                .or_default()
                .insert(bucket(&format!("{}-{n}", STEMS[*stem])), region(REGIONS[*reg]));
        }
        let d = desired(&config, &l);
        let a = actual(&d, &l, role_name, &k);

        let first = crossrep_core::plan::plan(&d, &a);
        assert_invariants(&a, &first);
        let next = assert_converges(&d, &a, &first);
        // Planning is a function of its inputs.
        prop_assert_eq!(&crossrep_core::plan::plan(&d, &a), &first);
        // Every pair is planned or in conflict.
        let conflicted: BTreeSet<_> = first.conflicts.iter().map(|c| (&c.account, &c.bucket)).collect();
        for p in &d.pairs {
            let planned = first.pairs.iter().any(|s| s.source == p.source && s.destination == p.destination);
            prop_assert!(planned || conflicted.contains(&(&p.source.account, &p.source.bucket)), "{:?} vanished", p);
        }
        // And the converged state plans nothing, again, also as AWS returns it.
        let again = crossrep_core::plan::plan(&d, &next);
        assert_invariants(&next, &again);
        prop_assert!(!again.has_changes());
        let read_back = as_aws_returns_it(next);
        let again = crossrep_core::plan::plan(&d, &read_back);
        prop_assert!(!again.has_changes(), "drift after a read back:\n{}", summary(&again));

        // Destroy, from the converged state: removes only crossrep's things, converges, and a
        // second destroy has nothing to do.
        let destroy = crossrep_core::destroy::destroy_plan(&d, &read_back);
        for c in &destroy.changes {
            let addr = c.addr();
            match c {
                AnyChange::Replication(c) => {
                    let before_rules = c.before.as_ref().map(|s| s.configuration.rules.clone()).unwrap_or_default();
                    let after_rules = c.after.as_ref().map(|s| s.configuration.rules.clone()).unwrap_or_default();
                    let theirs: Vec<_> = before_rules.iter().filter(|r| !r.is_managed()).cloned().collect();
                    prop_assert_eq!(&after_rules, &theirs, "{}: foreign rules must stay, in order", addr);
                }
                AnyChange::BucketPolicy(c) => {
                    let before: Vec<_> = c.before.as_ref().and_then(|b| b.document["Statement"].as_array().cloned()).unwrap_or_default();
                    let got: Vec<_> = c.after.as_ref().and_then(|a| a.document["Statement"].as_array().cloned()).unwrap_or_default();
                    // What stays is what was there, in order; what goes is crossrep's.
                    let kept: Vec<_> = before.iter().filter(|s| got.contains(s)).cloned().collect();
                    prop_assert_eq!(&kept, &got, "{}: statements kept in order", addr);
                    for gone in before.iter().filter(|s| !got.contains(s)) {
                        prop_assert!(gone["Sid"].as_str().unwrap_or("").starts_with("Crossrep"), "{}: removed {}", addr, gone);
                    }
                }
                AnyChange::Role(c) => {
                    prop_assert!(read_back.present::<Role>(&c.addr).is_some_and(|r| r.is_managed()), "{} is not crossrep's", addr);
                }
                AnyChange::RolePolicy(_) => {}
                AnyChange::ReplicaKey(_) => {
                    prop_assert!(false, "{} is never destroyed: replicas would become unreadable", addr);
                }
                AnyChange::KeyPolicy(_) => {}
                AnyChange::Notification(c) => {
                    let before = c.before.clone().unwrap_or_default();
                    let after = c.after.clone().unwrap_or_default();
                    prop_assert!(!after.has_ours(), "{}: crossrep's entry stays", addr);
                    let theirs: Vec<_> = before.entries.iter().filter(|e| e.id.as_deref() != Some(crossrep_core::kinds::notification::ENTRY_ID)).cloned().collect();
                    prop_assert_eq!(&after.entries, &theirs, "{}: foreign entries must stay, in order", addr);
                }
                AnyChange::AlertQueue(c) => {
                    prop_assert!(c.before.as_ref().is_some_and(|q| q.is_managed()), "{} is not crossrep's", addr);
                }
                AnyChange::AlertTopic(c) => {
                    prop_assert!(c.before.as_ref().is_some_and(|t| t.is_managed()), "{} is not crossrep's", addr);
                }
                AnyChange::Alarm(_) => {}
                AnyChange::Bucket(_) | AnyChange::BucketTags(_) | AnyChange::OwnershipControls(_)
                | AnyChange::Lifecycle(_) | AnyChange::BucketEncryption(_) | AnyChange::ObjectEncryption(_) | AnyChange::RequestPayment(_)
                | AnyChange::ObjectLock(_)
                | AnyChange::Versioning(_) => {
                    prop_assert!(false, "{} is never destroyed", addr);
                }
            }
        }
        let gone = crossrep_core::plan::apply_in_memory(&read_back, &destroy);
        let twice = crossrep_core::destroy::destroy_plan(&d, &gone);
        prop_assert!(!twice.has_changes(), "destroy again:\n{}", summary(&twice));
    }
}

/// What discovery reads back of what was written: filters in the shape S3 stores them in
/// (`And` for a prefix with a tag, or several tags), policy documents with their keys in
/// another order.
fn as_aws_returns_it(mut a: ActualState) -> ActualState {
    fn reverse_keys(v: &serde_json::Value) -> serde_json::Value {
        match v {
            serde_json::Value::Object(m) => serde_json::Value::Object(
                m.iter()
                    .rev()
                    .map(|(k, v)| (k.clone(), reverse_keys(v)))
                    .collect(),
            ),
            serde_json::Value::Array(items) => {
                serde_json::Value::Array(items.iter().map(reverse_keys).collect())
            }
            other => other.clone(),
        }
    }
    for spec in a.replication.values_mut() {
        if let Observed::Present(c) = spec {
            for f in c
                .configuration
                .rules
                .iter_mut()
                .filter_map(|r| r.filter.as_mut())
            {
                f.and |= f.tags.len() > 1 || (f.prefix.is_some() && !f.tags.is_empty());
            }
        }
    }
    for spec in a.bucket_policy.values_mut() {
        if let Observed::Present(p) = spec {
            p.document = reverse_keys(&p.document);
        }
    }
    for spec in a.role.values_mut() {
        if let Observed::Present(r) = spec {
            r.trust_policy = reverse_keys(&r.trust_policy);
        }
    }
    for spec in a.role_policy.values_mut() {
        if let Observed::Present(p) = spec {
            p.document = reverse_keys(&p.document);
        }
    }
    a
}

/// Whether a policy statement whose Sid starts with `sid` covers `arn`.
fn grants(doc: Option<&serde_json::Value>, sid: &str, arn: &str) -> bool {
    let Some(doc) = doc else { return false };
    doc["Statement"].as_array().into_iter().flatten().any(|s| {
        s["Sid"].as_str().is_some_and(|x| x.starts_with(sid))
            && s["Effect"] == "Allow"
            && match &s["Resource"] {
                serde_json::Value::String(r) => crossrep_core::policy::resource_matches(r, arn),
                serde_json::Value::Array(rs) => rs.iter().any(|r| {
                    r.as_str()
                        .is_some_and(|r| crossrep_core::policy::resource_matches(r, arn))
                }),
                _ => false,
            }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// SPEC §5, issue 9: after any plan is applied — blocks removed or changed, reads failing —
    /// every enabled `crossrep-*` rule of crossrep's role is granted by the role policy and
    /// (another account's destination) by the destination's bucket policy. The one exception
    /// is a bucket no longer selected whose configuration could not be read: the plan warns.
    #[test]
    fn no_enabled_crossrep_rule_is_left_without_grants(
        blocks in prop::collection::vec(block(), 1..=3),
        keep in prop::collection::vec(any::<bool>(), 3),
        flip in any::<bool>(),
        listed in listed(),
        k in knobs(),
        failures in prop::collection::vec((0usize..64, 0usize..3), 0..3),
    ) {
        let mut l: crossrep_core::model::Listing = BTreeMap::new();
        for (acc, stem, n, reg) in &listed {
            l.entry(acct(SOURCES[*acc].1))
                .or_default()
                .insert(bucket(&format!("{}-{n}", STEMS[*stem])), region(REGIONS[*reg]));
        }
        // Blocks that map one bucket to one destination with different settings are a config
        // error (SPEC §2): not plans.
        let valid = |text: &str| {
            !crossrep_core::config::Config::parse(&format!("{ACCOUNTS}{text}"), std::path::Path::new("crossrep.toml"))
                .is_err_and(|e| e.key.ends_with(".buckets") && e.message.contains("also selected by"))
        };
        prop_assume!(valid(&toml(&blocks, None)), "conflicting blocks");
        let d1 = desired(&config(&toml(&blocks, None)), &l);
        let a = actual(&d1, &l, ROLE, &k);
        let s1 = crossrep_core::plan::apply_in_memory(&a, &crossrep_core::plan::plan(&d1, &a));

        // The configuration changes: blocks go, or one is excluded / re-templated.
        let mut blocks2: Vec<Block> = blocks
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(b, _)| b.clone())
            .collect();
        if blocks2.is_empty() || flip {
            let mut b = blocks[0].clone();
            if flip {
                b.template = (b.template + 1) % TEMPLATES.len();
            } else {
                b.exclude = !b.exclude;
            }
            blocks2.push(b);
        }
        prop_assume!(valid(&toml(&blocks2, None)), "conflicting blocks");
        let d2 = desired(&config(&toml(&blocks2, None)), &l);
        // And some reads fail this time.
        let mut seen = s1.clone();
        let sources: Vec<_> = s1.replication.keys().cloned().collect();
        let dests: Vec<_> = s1.bucket_policy.keys().cloned().collect();
        let denied = || crossrep_core::observed::ReadError::new(
            crossrep_core::observed::ErrorKind::AccessDenied, "AccessDenied");
        for (i, what) in &failures {
            match what {
                0 if !sources.is_empty() => {
                    seen.set::<crossrep_core::kinds::replication::Replication>(sources[i % sources.len()].clone(), Observed::Unreadable(denied()));
                }
                1 if !dests.is_empty() => {
                    seen.set::<crossrep_core::kinds::bucket_policy::BucketPolicy>(dests[i % dests.len()].clone(), Observed::Unreadable(denied()));
                }
                2 if !sources.is_empty() => {
                    seen.set::<crossrep_core::kinds::versioning::Versioning>(sources[i % sources.len()].clone(), Observed::Unreadable(denied()));
                }
                _ => {}
            }
        }
        let p2 = crossrep_core::plan::plan(&d2, &seen);
        let after = crossrep_core::plan::apply_in_memory(&seen, &p2);

        // What is really there: an unreadable resource was not written, so it is as in s1.
        let truth = |a: &ActualState| {
            let mut t = a.clone();
            for (addr, o) in &a.replication {
                if matches!(o, Observed::Unreadable(_)) {
                    t.replication.insert(addr.clone(), s1.replication[addr].clone());
                }
            }
            for (addr, o) in &a.bucket_policy {
                if matches!(o, Observed::Unreadable(_)) {
                    t.bucket_policy.insert(addr.clone(), s1.bucket_policy[addr].clone());
                }
            }
            t
        };
        let after = truth(&after);
        let selected: BTreeSet<_> = d2.pairs.iter().map(|p| (p.source.account.clone(), p.source.bucket.clone())).collect();
        for (addr, o) in &after.replication {
            let Observed::Present(spec) = o else { continue };
            let cfg = &spec.configuration;
            let role_arn = format!("arn:aws:iam::{}:role/{ROLE}", addr.account);
            if cfg.role != role_arn {
                continue;
            }
            let unread_unselected = matches!(seen.replication.get(addr), Some(Observed::Unreadable(_)))
                && !selected.contains(&(addr.account.clone(), addr.bucket.clone()));
            let warned = p2.warnings.iter().any(|w| w.code == "unselected_unreadable" && w.bucket.as_ref() == Some(&addr.bucket));
            if unread_unselected && warned {
                continue;
            }
            let policy = after
                .role_policy
                .iter()
                .find(|(a, _)| a.account == addr.account)
                .and_then(|(_, o)| o.present())
                .map(|p| &p.document);
            for r in cfg.rules.iter().filter(|r| r.is_managed() && r.enabled) {
                let dst = r.destination.bucket.trim_start_matches("arn:aws:s3:::");
                let dst_account = r.destination.account.clone().unwrap_or_else(|| addr.account.to_string());
                prop_assert!(
                    grants(policy, "CrossrepSourceObjects", &format!("arn:aws:s3:::{}/k", addr.bucket)),
                    "{:?}: rule {:?} enabled, source not granted\n{}", addr, r.id, summary(&p2)
                );
                prop_assert!(
                    grants(policy, &format!("CrossrepDestinationObjects{dst_account}"), &format!("arn:aws:s3:::{dst}/k")),
                    "{:?}: rule {:?} enabled, destination not granted\n{}", addr, r.id, summary(&p2)
                );
                if dst_account != addr.account.as_str() {
                    let dpol = after
                        .bucket_policy
                        .iter()
                        .find(|(a, _)| a.account.as_str() == dst_account && a.bucket.as_str() == dst)
                        .and_then(|(_, o)| o.present())
                        .map(|p| &p.document);
                    prop_assert!(
                        grants(dpol, &format!("CrossrepReplicateObjects{}", addr.account), &format!("arn:aws:s3:::{dst}/k")),
                        "{:?}: rule {:?} enabled, destination policy does not grant it\n{}", addr, r.id, summary(&p2)
                    );
                }
            }
        }
    }
}
