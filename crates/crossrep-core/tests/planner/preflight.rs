//! Preflight (SPEC §12, issue 13): each rule, pure. Discovery's facts go in
//! `ActualState::preflight`; what a rule finds is a conflict of the pairs concerned (regions,
//! the merged key policy) or a plan-wide error `apply` refuses (quotas).

use crossrep_core::observed::{ErrorKind, Observed, ReadError};
use crossrep_core::plan::plan;
use crossrep_core::preflight::{RegionOptStatus, RoleQuota, Severity};

use super::fixtures::*;
use super::{kms_sources, role_policy_of};

const TWO_REGIONS: &[(&str, &str, &str)] =
    &[(PROD, "cape", "af-south-1"), (PROD, "data", "us-east-1")];

fn with_region(
    mut a: crossrep_core::model::ActualState,
    account: &str,
    r: &str,
    status: Observed<RegionOptStatus>,
) -> crossrep_core::model::ActualState {
    a.preflight
        .regions
        .insert((acct(account), region(r)), status);
    a
}

/// The destination account has not enabled the source's opt-in region (the destination is
/// created in the source's region): that pair is a conflict naming the region, the account and
/// the fix, nothing is planned for it, and the other pair is planned as usual.
#[test]
fn a_region_the_destination_account_has_not_enabled_makes_its_pairs_conflicts() {
    let d = want(PROD_TO_BACKUP, TWO_REGIONS);
    let a = Actual::sources(TWO_REGIONS).build();
    let a = with_region(
        a,
        PROD,
        "af-south-1",
        Observed::Present(RegionOptStatus::Enabled),
    );
    let a = with_region(
        a,
        BACKUP,
        "af-south-1",
        Observed::Present(RegionOptStatus::Disabled),
    );
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
        conflict 111111111111/cape -> replicated-cape: region af-south-1 is not enabled in account 222222222222 (DISABLED): S3 replication needs it enabled
        ",
    );
    let c = &p.conflicts[0];
    assert_eq!(c.code, "region_not_enabled");
    let hint = c.hint.as_deref().unwrap();
    assert!(
        hint.contains("aws account enable-region --region-name af-south-1"),
        "{hint}"
    );
    assert!(hint.contains("--account-id 222222222222"), "{hint}");
    assert_eq!(p.preflight.len(), 1);
    let f = &p.preflight[0];
    assert_eq!(f.severity, Severity::Conflict);
    assert_eq!(f.code, "region_not_enabled");
    assert_eq!(f.account, acct(BACKUP));
    assert_eq!(f.region, Some(region("af-south-1")));
    assert!(f.message.ends_with("1 pair(s) left alone"), "{}", f.message);
    // No request for the pair anywhere: the role is not granted its destination either.
    assert!(!serde_json::to_string(&role_policy_of(&p, PROD))
        .unwrap()
        .contains("replicated-cape"));
    assert_eq!(p.preflight_errors(), 0);

    // Enabled: planned like any other pair, and preflight has nothing to say.
    let a = with_region(
        Actual::sources(TWO_REGIONS).build(),
        BACKUP,
        "af-south-1",
        Observed::Present(RegionOptStatus::Enabled),
    );
    let p = plan(&d, &a);
    assert!(p.conflicts.is_empty(), "{}", summary(&p));
    assert!(p.preflight.is_empty(), "{:?}", p.preflight);
    assert!(summary(&p).contains("create bucket[222222222222/replicated-cape]"));
}

/// `ENABLING` (asynchronous, minutes to hours) is not enabled yet; nor is `DISABLING`.
#[test]
fn a_region_being_enabled_is_not_enabled_yet() {
    let d = want(PROD_TO_BACKUP, TWO_REGIONS);
    for (status, says) in [
        (
            RegionOptStatus::Enabling,
            "is still being enabled in account 222222222222 (ENABLING)",
        ),
        (
            RegionOptStatus::Disabling,
            "is not enabled in account 222222222222 (DISABLING)",
        ),
    ] {
        let a = with_region(
            Actual::sources(TWO_REGIONS).build(),
            BACKUP,
            "af-south-1",
            Observed::Present(status),
        );
        let p = plan(&d, &a);
        assert_eq!(p.conflicts.len(), 1, "{}", summary(&p));
        assert!(
            p.conflicts[0].message.contains(says),
            "{}",
            p.conflicts[0].message
        );
    }
}

/// The source account itself has not enabled the source bucket's region: the bucket is in
/// conflict (whatever its destinations), named once.
#[test]
fn a_source_in_a_region_its_own_account_has_not_enabled_is_a_conflict() {
    let d = want(PROD_TO_BACKUP, TWO_REGIONS);
    let a = with_region(
        Actual::sources(TWO_REGIONS).build(),
        PROD,
        "af-south-1",
        Observed::Present(RegionOptStatus::Disabled),
    );
    let p = plan(&d, &a);
    assert_eq!(p.conflicts.len(), 1, "{}", summary(&p));
    let c = &p.conflicts[0];
    assert_eq!(c.bucket, bucket("cape"));
    assert_eq!(c.destination, None);
    assert!(c
        .message
        .contains("region af-south-1 is not enabled in account 111111111111"));
}

/// A status that cannot be read (no `account:GetRegionOptStatus`) is said once per account,
/// and the pairs go on as if the region were enabled.
#[test]
fn an_unreadable_region_status_is_said_once_and_planning_goes_on() {
    let d = want(PROD_TO_BACKUP, TWO_REGIONS);
    let denied = || {
        Observed::Unreadable(ReadError::new(
            ErrorKind::AccessDenied,
            "AccessDeniedException: not authorized to perform account:GetRegionOptStatus",
        ))
    };
    let a = with_region(
        Actual::sources(TWO_REGIONS).build(),
        BACKUP,
        "af-south-1",
        denied(),
    );
    let a = with_region(a, BACKUP, "me-central-1", denied());
    let p = plan(&d, &a);
    assert!(p.conflicts.is_empty(), "{}", summary(&p));
    assert!(summary(&p).contains("create bucket[222222222222/replicated-cape]"));
    assert_eq!(p.preflight.len(), 1, "{:?}", p.preflight);
    let f = &p.preflight[0];
    assert_eq!(f.severity, Severity::Unchecked);
    assert_eq!(f.code, "region_status_unreadable");
    assert!(
        f.message.starts_with(
            "could not read whether af-south-1, me-central-1 are enabled in account 222222222222"
        ),
        "{}",
        f.message
    );
    assert_eq!(p.preflight_errors(), 0);
}

/// The destination account's bucket quota, against the buckets it holds plus those the plan
/// creates: past it, a plan-wide error with the numbers and the fix (apply refuses it).
#[test]
fn a_plan_past_the_destination_bucket_quota_is_an_error_with_the_numbers() {
    let d = want(PROD_TO_BACKUP, TWO_REGIONS);
    let mut a = Actual::sources(TWO_REGIONS).build();
    a.preflight.regions.insert(
        (acct(BACKUP), region("af-south-1")),
        Observed::Present(RegionOptStatus::Enabled),
    );
    a.preflight.buckets_held.insert(acct(BACKUP), 9_999);
    a.preflight
        .bucket_quotas
        .insert(acct(BACKUP), Observed::Absent);
    let p = plan(&d, &a);
    assert_eq!(p.preflight_errors(), 1, "{:?}", p.preflight);
    let f = &p.preflight[0];
    assert_eq!(
        (f.severity, f.code.as_str()),
        (Severity::Error, "bucket_quota")
    );
    assert_eq!(f.account, acct(BACKUP));
    assert!(
        f.message.contains("holds 9999 bucket(s) and this plan creates 2: 10001 in all, but its general purpose bucket quota is 10000"),
        "{}",
        f.message
    );
    assert!(f
        .hint
        .as_deref()
        .unwrap()
        .contains("--quota-code L-DC2B2D3D --desired-value 10001"));
    // The plan still shows what apply would do; the summary says apply refuses it.
    assert!(p.has_changes());
    let text = crossrep_core::render::render_plan(&p);
    assert!(
        text.starts_with("Preflight:\n  error: account 222222222222 holds 9999"),
        "{text}"
    );
    assert!(
        text.trim_end()
            .ends_with("Preflight found 1 error(s): apply refuses this plan until they are fixed."),
        "{text}"
    );

    // One bucket fewer held: it fits exactly.
    a.preflight.buckets_held.insert(acct(BACKUP), 9_998);
    assert!(plan(&d, &a).preflight.is_empty());
    // A raised quota is read from Service Quotas.
    a.preflight.buckets_held.insert(acct(BACKUP), 9_999);
    a.preflight
        .bucket_quotas
        .insert(acct(BACKUP), Observed::Present(20_000));
    assert!(plan(&d, &a).preflight.is_empty());
}

/// A source account at its IAM role quota cannot take crossrep's role: a plan-wide error.
#[test]
fn a_role_past_the_role_quota_is_an_error() {
    let d = want(PROD_TO_BACKUP, ONE_SOURCE);
    let mut a = Actual::sources(ONE_SOURCE).build();
    a.preflight.role_quotas.insert(
        acct(PROD),
        Observed::Present(RoleQuota {
            roles: 1000,
            quota: 1000,
        }),
    );
    let p = plan(&d, &a);
    assert_eq!(p.preflight_errors(), 1, "{:?}", p.preflight);
    assert_eq!(p.preflight[0].code, "role_quota");
    assert!(p.preflight[0]
        .message
        .contains("account 111111111111 has 1000 IAM role(s) and this plan creates 1, but its role quota is 1000"));
    // The role exists already: nothing is created, nothing to check.
    let a = Actual::from_state(a).role(PROD).build();
    assert_eq!(plan(&d, &a).preflight_errors(), 0);
}

const ONE_SOURCE: &[(&str, &str, &str)] = &[(PROD, "data", "us-east-1")];

/// KMS allows 32 KB of key policy: a replica key whose merged policy would be larger leaves its
/// pairs in conflict (their KMS objects could not replicate), and nothing is written to it.
#[test]
fn a_merged_key_policy_past_32_kb_is_a_conflict() {
    use crossrep_core::kinds::key_policy::{KeyPolicy, KeyPolicySpec};
    use crossrep_core::kinds::replica_key::{KeyAddr, ReplicaKey, ReplicaKeySpec};
    let d = want(PROD_TO_BACKUP, ONE_SOURCE);
    let mut a = kms_sources(ONE_SOURCE);
    let key = KeyAddr::managed(&acct(BACKUP), &region("us-east-1"));
    a.set::<ReplicaKey>(
        key.clone(),
        Observed::Present(ReplicaKeySpec {
            arn: Some("arn:aws:kms:us-east-1:222222222222:key/existing".into()),
            ..ReplicaKeySpec::new()
        }),
    );
    let mut theirs = crossrep_core::kinds::key_policy::default_policy(&acct(BACKUP));
    // The owner's statement, as large as fits with a little room: not enough for crossrep's.
    let limit = crossrep_core::policy::KEY_POLICY_LIMIT;
    let mut auditors: Vec<String> = Vec::new();
    loop {
        let mut doc = theirs.clone();
        doc["Statement"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "Sid": "Auditors", "Effect": "Allow", "Principal": {"AWS": auditors},
                "Action": "kms:DescribeKey", "Resource": "*"
            }));
        if crossrep_core::policy::policy_bytes(&doc) > limit - 100 {
            theirs = doc;
            break;
        }
        auditors.push(format!(
            "arn:aws:iam::222222222222:role/auditor-{:04}",
            auditors.len()
        ));
    }
    assert!(crossrep_core::policy::policy_bytes(&theirs) <= limit);
    a.set::<KeyPolicy>(key, Observed::Present(KeyPolicySpec { document: theirs }));
    let p = plan(&d, &a);
    let c = p
        .conflicts
        .iter()
        .find(|c| c.code == "key_policy_too_large")
        .unwrap_or_else(|| panic!("{}", summary(&p)));
    assert_eq!(c.bucket, bucket("data"));
    assert!(c.message.contains("KMS allows 32768"), "{}", c.message);
    assert!(!p.changes.iter().any(|c| c.addr().kind() == "key_policy"));
    assert!(!p
        .changes
        .iter()
        .any(|c| c.addr().to_string() == "replication[111111111111/data]"));
}
