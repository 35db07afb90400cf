//! IAM documents: the role's trust policy, its permissions (packed to fit IAM's size quota),
//! and the destination bucket policy statements, merged into whatever policy is already there.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{json, Map, Value};

use crate::config::{Backfill, Owner};
use crate::desired::{partition, BucketRef, Pair, RoleRef};
use crate::kinds::bucket_policy::strings;
use crate::model::SID_PREFIX;
use crate::names::AccountId;

/// Name of the inline policy crossrep puts on its role.
pub const ROLE_POLICY_NAME: &str = "crossrep-replication";

/// IAM's limit on the inline policies of one role, in characters, whitespace not counted.
pub const INLINE_POLICY_LIMIT: usize = 10_240;
/// S3's limit on a bucket policy, in bytes.
pub const BUCKET_POLICY_LIMIT: usize = 20 * 1024;

/// Actions the role needs on source buckets (AWS `setting-repl-config-perm-overview.md`).
const SOURCE_BUCKET_ACTIONS: &[&str] = &["s3:GetReplicationConfiguration", "s3:ListBucket"];
/// Replicating the objects of an Object Lock source also reads their retention and legal hold
/// (`SrcGetRetentionNotPermitted`, `SrcGetLegalHoldNotPermitted`) and writes them on the replica
/// (`DstPutRetentionNotPermitted`, `DstPutLegalHoldNotPermitted`; AWS "Amazon S3 replication
/// failure reasons"): in the role's policy and, for the writes, the destination bucket policy.
const SOURCE_LOCK_ACTIONS: &[&str] = &["s3:GetObjectRetention", "s3:GetObjectLegalHold"];
const DEST_LOCK_ACTIONS: &[&str] = &["s3:PutObjectRetention", "s3:PutObjectLegalHold"];
const SOURCE_OBJECT_ACTIONS: &[&str] = &[
    "s3:GetObjectVersionForReplication",
    "s3:GetObjectVersionAcl",
    "s3:GetObjectVersionTagging",
];
/// S3 Batch Replication with a generated manifest adds these (AWS
/// `s3-batch-replication-policies.md`): the manifest is generated from an inventory of the
/// source bucket, and the job reads the manifest and writes reports in the report bucket.
const BATCH_SOURCE_BUCKET_ACTIONS: &[&str] = &["s3:PutInventoryConfiguration"];
const BATCH_SOURCE_OBJECT_ACTIONS: &[&str] = &["s3:InitiateReplication"];
const REPORT_OBJECT_ACTIONS: &[&str] = &["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"];
const DEST_OBJECT_ACTIONS: &[&str] = &[
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
];
const OWNER_OVERRIDE: &str = "s3:ObjectOwnerOverrideToBucketOwner";
/// What the destination bucket policy grants the role (SPEC §4.4).
const POLICY_OBJECT_ACTIONS: &[&str] = &[
    "s3:ReplicateObject",
    "s3:ReplicateDelete",
    "s3:ReplicateTags",
    "s3:ObjectOwnerOverrideToBucketOwner",
];
const POLICY_BUCKET_ACTIONS: &[&str] = &[
    "s3:List*",
    "s3:GetBucketVersioning",
    "s3:PutBucketVersioning",
];

/// Trust for S3 replication and S3 Batch Operations, limited to the role's own account
/// (confused-deputy protection, `aws:SourceAccount`).
pub fn trust_policy(account: &AccountId) -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": ["batchoperations.s3.amazonaws.com", "s3.amazonaws.com"]},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": account.as_str()}}
        }]
    })
}

/// The role's permissions for every pair of its account, as one inline policy.
///
/// Packing strategy (IAM allows 10,240 characters of inline policy per role): one statement
/// for the source buckets, one for their objects, and one per destination account for the
/// destination objects, each pinned to its account with `s3:ResourceAccount`. Resources are
/// exact bucket ARNs while they fit. When they do not, names are grouped by their first `L`
/// characters and each group of two or more becomes one `prefix*` pattern, with `L` the longest
/// prefix length for which the document fits (searched from 63 down to 0; at 0 every list is
/// `*`). The `s3:ResourceAccount` condition keeps a wildcard inside the right account, so a
/// coarser pattern widens the grant only to other buckets of that same account. The result is
/// deterministic and covers every pair whatever the number of buckets.
pub fn role_policy(
    pairs: &[&Pair],
    reports: &[&BucketRef],
    locked: &BTreeSet<&str>,
    kms: &KmsGrants<'_>,
) -> Value {
    for level in (0..=63).rev() {
        let doc = role_policy_at(pairs, reports, locked, kms, level);
        if policy_size(&doc) <= INLINE_POLICY_LIMIT {
            return doc;
        }
    }
    unreachable!("at prefix length 0 every resource list is a single `*`")
}

/// What a role needs for SSE-KMS and DSSE-KMS objects (SPEC §8).
#[derive(Debug, Default)]
pub struct KmsGrants<'a> {
    /// Sources whose objects may be KMS-encrypted (`kms = "auto"` and KMS in use): the role
    /// may decrypt with the source account's keys in their region, through S3 and for these
    /// buckets only (`kms:ViaService`, `kms:EncryptionContext:aws:s3:arn` = the bucket ARN, for
    /// Bucket Keys, and `bucket/*`). Every key of the account is covered this way, so an object
    /// under a key no sample saw, or first used tomorrow, still replicates; keys of other
    /// accounts are not.
    pub sources: BTreeSet<&'a BucketRef>,
    /// The replica keys (ARN, or the token of a key the plan creates), by their region.
    pub replica_keys: BTreeMap<String, BTreeSet<String>>,
}

/// Sid-safe form of a region (`us-east-1` → `UsEast1`): Sids are alphanumeric.
fn sid_region(region: &str) -> String {
    region
        .split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn role_policy_at(
    pairs: &[&Pair],
    reports: &[&BucketRef],
    locked: &BTreeSet<&str>,
    kms: &KmsGrants<'_>,
    level: usize,
) -> Value {
    let Some(first) = pairs.first() else {
        return json!({"Version": "2012-10-17", "Statement": []});
    };
    let part = partition(&first.source.region);
    let source_account = first.source.account.as_str();
    let sources: BTreeSet<&str> = pairs.iter().map(|p| p.source.bucket.as_str()).collect();
    let mut dests: BTreeMap<&str, (BTreeSet<&str>, bool)> = BTreeMap::new();
    // Destinations of Object Lock sources, per destination account.
    let mut locked_dests: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for p in pairs {
        let e = dests.entry(p.destination.account.as_str()).or_default();
        e.0.insert(p.destination.bucket.as_str());
        e.1 |= p.rule.owner == Owner::Destination && p.cross_account();
        if locked.contains(p.source.bucket.as_str()) {
            locked_dests
                .entry(p.destination.account.as_str())
                .or_default()
                .insert(p.destination.bucket.as_str());
        }
    }
    let arns = |names: &BTreeSet<&str>, suffix: &str| -> Value {
        let list: Vec<Value> = compress(names, level)
            .into_iter()
            .map(|n| Value::String(format!("arn:{part}:s3:::{n}{suffix}")))
            .collect();
        Value::Array(list)
    };
    let cond = |acct: &str| json!({"StringEquals": {"s3:ResourceAccount": acct}});
    let batch = pairs.iter().any(|p| p.backfill == Backfill::Batch);
    let with_batch = |base: &[&'static str], extra: &[&'static str]| -> Vec<&'static str> {
        let mut v = base.to_vec();
        if batch {
            v.extend_from_slice(extra);
        }
        v
    };
    let mut statements = vec![
        json!({
            "Sid": "CrossrepSourceBuckets",
            "Effect": "Allow",
            "Action": with_batch(SOURCE_BUCKET_ACTIONS, BATCH_SOURCE_BUCKET_ACTIONS),
            "Resource": arns(&sources, ""),
            "Condition": cond(source_account),
        }),
        json!({
            "Sid": "CrossrepSourceObjects",
            "Effect": "Allow",
            "Action": with_batch(SOURCE_OBJECT_ACTIONS, BATCH_SOURCE_OBJECT_ACTIONS),
            "Resource": arns(&sources, "/*"),
            "Condition": cond(source_account),
        }),
    ];
    if !locked.is_empty() {
        // Object Lock sources (AWS "Object Lock considerations", replication): packed like the
        // other source lists.
        statements.push(json!({
            "Sid": "CrossrepSourceObjectLock",
            "Effect": "Allow",
            "Action": SOURCE_LOCK_ACTIONS,
            "Resource": arns(locked, "/*"),
            "Condition": cond(source_account),
        }));
    }
    if batch && !reports.is_empty() {
        // Few (one per region in use): always exact.
        let list: BTreeSet<String> = reports.iter().map(|r| format!("{}/*", r.arn())).collect();
        statements.push(json!({
            "Sid": "CrossrepBackfillReports",
            "Effect": "Allow",
            "Action": REPORT_OBJECT_ACTIONS,
            "Resource": list,
            "Condition": cond(source_account),
        }));
    }
    for (acct, (names, owner_override)) in &dests {
        let mut actions: Vec<&str> = DEST_OBJECT_ACTIONS.to_vec();
        if *owner_override {
            actions.push(OWNER_OVERRIDE);
        }
        statements.push(json!({
            "Sid": format!("CrossrepDestinationObjects{acct}"),
            "Effect": "Allow",
            "Action": actions,
            "Resource": arns(names, "/*"),
            "Condition": cond(acct),
        }));
    }
    let mut kms_sources: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for src in &kms.sources {
        kms_sources
            .entry(src.region.as_str())
            .or_default()
            .insert(src.bucket.as_str());
    }
    for (region, names) in &kms_sources {
        let context: Vec<String> = compress(names, level)
            .into_iter()
            .flat_map(|n| {
                [
                    format!("arn:{part}:s3:::{n}"),
                    format!("arn:{part}:s3:::{n}/*"),
                ]
            })
            .collect();
        statements.push(json!({
            "Sid": format!("CrossrepSourceKeys{}", sid_region(region)),
            "Effect": "Allow",
            "Action": ["kms:Decrypt"],
            "Resource": format!("arn:{part}:kms:{region}:{source_account}:key/*"),
            "Condition": {
                "StringEquals": {"kms:ViaService": format!("s3.{region}.amazonaws.com")},
                "StringLike": {"kms:EncryptionContext:aws:s3:arn": context}
            }
        }));
    }
    for (region, keys) in &kms.replica_keys {
        statements.push(json!({
            "Sid": format!("CrossrepReplicaKeys{}", sid_region(region)),
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey", "kms:Decrypt"],
            "Resource": keys,
            "Condition": {"StringEquals": {"kms:ViaService": format!("s3.{region}.amazonaws.com")}}
        }));
    }
    for (acct, names) in &locked_dests {
        statements.push(json!({
            "Sid": format!("CrossrepDestinationObjectLock{acct}"),
            "Effect": "Allow",
            "Action": DEST_LOCK_ACTIONS,
            "Resource": arns(names, "/*"),
            "Condition": cond(acct),
        }));
    }
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Keeps in `new` every destination grant (`CrossrepDestinationObject*` statements) that
/// `current` has: resources are merged by Sid, statements `new` lacks are added as they are.
pub fn keep_destination_grants(new: &mut Value, current: &Value) {
    let ours = |s: &Value| {
        s.get("Sid")
            .and_then(Value::as_str)
            .is_some_and(|sid| sid.starts_with("CrossrepDestinationObject"))
    };
    let resources = |s: &Value| -> BTreeSet<String> {
        strings(s.get("Resource"))
            .into_iter()
            .map(String::from)
            .collect()
    };
    let Some(list) = new.get_mut("Statement").and_then(Value::as_array_mut) else {
        return;
    };
    for old in crate::kinds::bucket_policy::statements(current)
        .into_iter()
        .filter(|s| ours(s))
    {
        match list.iter_mut().find(|s| s.get("Sid") == old.get("Sid")) {
            Some(s) => {
                let mut all = resources(s);
                all.extend(resources(&old));
                s["Resource"] = json!(all);
            }
            None => list.push(old),
        }
    }
}

/// SQS's limit on a queue policy (AWS "Amazon SQS policy quotas").
pub const QUEUE_POLICY_LIMIT: usize = 8_192;

/// The alert queue's statement `CrossrepS3FailureEvents`: S3 may send messages to `queue_arn`
/// from `buckets` of `account` only (`aws:SourceArn`, `aws:SourceAccount`, as AWS's event
/// notification walkthrough has it). Bucket names are grouped into `prefix*` patterns, as few
/// as needed to stay under [`QUEUE_POLICY_LIMIT`] with room for other statements; at worst
/// every bucket of the account (`arn:aws:s3:::*`, still only that account).
pub fn queue_policy(queue_arn: &str, account: &str, buckets: &BTreeSet<&str>) -> Vec<Value> {
    let part = queue_arn.split(':').nth(1).unwrap_or("aws");
    let at = |level: usize| {
        let arns: Vec<String> = compress(buckets, level)
            .into_iter()
            .map(|n| format!("arn:{part}:s3:::{n}"))
            .collect();
        json!({
            "Sid": "CrossrepS3FailureEvents",
            "Effect": "Allow",
            "Principal": {"Service": "s3.amazonaws.com"},
            "Action": "sqs:SendMessage",
            "Resource": queue_arn,
            "Condition": {
                "StringEquals": {"aws:SourceAccount": account},
                "ArnLike": {"aws:SourceArn": arns}
            }
        })
    };
    // Half the quota: the rest is for statements others add.
    for level in (1..=63).rev() {
        let s = at(level);
        if policy_bytes(&s) <= QUEUE_POLICY_LIMIT / 2 {
            return vec![s];
        }
    }
    vec![at(0)]
}

/// Names grouped by their first `level` characters: a group of two or more becomes
/// `prefix*`; a name no longer than `level`, or alone in its group, stays exact.
fn compress(names: &BTreeSet<&str>, level: usize) -> Vec<String> {
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut out = Vec::new();
    for n in names {
        if n.len() <= level {
            out.push(n.to_string());
        } else {
            groups.entry(&n[..level]).or_default().push(n);
        }
    }
    for (prefix, members) in groups {
        if members.len() == 1 {
            out.push(members[0].to_string());
        } else {
            out.push(format!("{prefix}*"));
        }
    }
    out.sort();
    out
}

/// Whether an IAM resource pattern (`*` and `?` wildcards) matches an ARN.
pub fn resource_matches(pattern: &str, arn: &str) -> bool {
    crate::template::Glob::new_unchecked(pattern).matches(arn)
}

/// Characters IAM counts against its size quotas: the minified JSON without whitespace
/// outside strings (serde_json's compact form has none).
pub fn policy_size(doc: &Value) -> usize {
    serde_json::to_string(doc)
        .map(|s| s.chars().count())
        .unwrap_or(usize::MAX)
}

/// Bytes S3 counts against a bucket policy's 20 KB: the document as crossrep sends it (compact
/// JSON, UTF-8). Not characters: a Sid or condition value outside ASCII takes several bytes.
pub fn policy_bytes(doc: &Value) -> usize {
    serde_json::to_string(doc)
        .map(|s| s.len())
        .unwrap_or(usize::MAX)
}

/// The Sids crossrep uses in a destination bucket policy for one source account's role.
pub fn destination_sids(source_account: &AccountId) -> [String; 2] {
    [
        format!("{SID_PREFIX}ReplicateObjects{source_account}"),
        format!("{SID_PREFIX}ReplicationBucket{source_account}"),
    ]
}

/// The statements a destination bucket needs for `role` (SPEC §4.4); the destination of an
/// Object Lock source also lets the role put retention and legal holds on the replicas.
pub fn destination_statements(
    role: &RoleRef,
    dest_bucket_arn: &str,
    object_lock: bool,
) -> Vec<Value> {
    let [objects, bucket] = destination_sids(&role.account);
    let mut actions = POLICY_OBJECT_ACTIONS.to_vec();
    if object_lock {
        actions.extend_from_slice(DEST_LOCK_ACTIONS);
    }
    vec![
        json!({
            "Sid": objects,
            "Effect": "Allow",
            "Principal": {"AWS": role.arn()},
            "Action": actions,
            "Resource": format!("{dest_bucket_arn}/*"),
        }),
        json!({
            "Sid": bucket,
            "Effect": "Allow",
            "Principal": {"AWS": role.arn()},
            "Action": POLICY_BUCKET_ACTIONS,
            "Resource": dest_bucket_arn,
        }),
    ]
}

/// KMS's limit on a key policy, in bytes.
pub const KEY_POLICY_LIMIT: usize = 32 * 1024;

/// The replica key's statement (SPEC §8): the source accounts' roles may use it through S3 in
/// its region: `kms:Encrypt` and `kms:GenerateDataKey*` for new replicas, `kms:Decrypt` to
/// verify Bucket Keys. One statement lists every principal, so 500 source accounts fit.
pub fn key_policy_statements(role_arns: &BTreeSet<String>, region: &str) -> Vec<Value> {
    vec![json!({
        "Sid": "CrossrepReplication",
        "Effect": "Allow",
        "Principal": {"AWS": role_arns},
        "Action": ["kms:Encrypt", "kms:GenerateDataKey*", "kms:Decrypt"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": format!("s3.{region}.amazonaws.com")}}
    })]
}

/// The `Principal.AWS` entries of a statement.
fn aws_principals(statement: &Value) -> Vec<String> {
    strings(statement.get("Principal").and_then(|p| p.get("AWS")))
        .into_iter()
        .map(String::from)
        .collect()
}

/// The AWS principals of the statement `sid` of `doc`.
pub fn principals_of(doc: &Value, sid: &str) -> Vec<String> {
    crate::kinds::bucket_policy::statements(doc)
        .iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))
        .flat_map(aws_principals)
        .collect()
}

/// `doc` without `principals` in the statement `sid` (which goes when no principal is left), or
/// `None` when there is nothing of theirs to remove.
pub fn without_principals(doc: &Value, sid: &str, principals: &BTreeSet<String>) -> Option<Value> {
    let all = crate::kinds::bucket_policy::statements(doc);
    let i = all
        .iter()
        .position(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))?;
    let listed = aws_principals(&all[i]);
    if !listed.iter().any(|p| principals.contains(p)) {
        return None;
    }
    let rest: Vec<String> = listed
        .into_iter()
        .filter(|p| !principals.contains(p))
        .collect();
    let mut statements = all;
    if rest.is_empty() {
        statements.remove(i);
    } else {
        statements[i]["Principal"]["AWS"] = json!(rest);
    }
    let mut out = doc.clone();
    out["Statement"] = Value::Array(statements);
    Some(out)
}

/// Merges `ours` into `existing` by Sid: a statement with one of our Sids is replaced in place,
/// ours not yet present are appended, every other statement is kept exactly as it was.
pub fn merge_bucket_policy(existing: Option<&Value>, ours: &[Value]) -> Value {
    let mut doc = match existing {
        Some(Value::Object(m)) => m.clone(),
        _ => {
            let mut m = Map::new();
            m.insert("Version".into(), json!("2012-10-17"));
            m
        }
    };
    let current: Vec<Value> = match doc.remove("Statement") {
        Some(Value::Array(a)) => a,
        Some(single @ Value::Object(_)) => vec![single],
        _ => Vec::new(),
    };
    let sid = |s: &Value| s.get("Sid").and_then(Value::as_str).map(str::to_string);
    let mut remaining: Vec<&Value> = ours.iter().collect();
    let mut out = Vec::with_capacity(current.len() + ours.len());
    for s in current {
        let replacement = sid(&s).and_then(|id| {
            remaining
                .iter()
                .position(|o| sid(o).as_deref() == Some(id.as_str()))
                .map(|i| remaining.remove(i))
        });
        out.push(replacement.cloned().unwrap_or(s));
    }
    out.extend(remaining.into_iter().cloned());
    doc.insert("Statement".into(), Value::Array(out));
    Value::Object(doc)
}

/// A canonical form for comparing policy documents: IAM and S3 may return a one-element list as
/// a string (and vice versa) and do not promise an order for lists of actions or resources, for
/// statements, or for the keys of an object. Order never changes what a policy means.
pub fn normalize(doc: &Value) -> Value {
    match doc {
        Value::Array(items) => {
            let mut items: Vec<Value> = items.iter().map(normalize).collect();
            items.sort_by_cached_key(|v| v.to_string());
            items.dedup();
            match items.as_slice() {
                [single] if single.is_string() => single.clone(),
                _ => Value::Array(items),
            }
        }
        // Keys sorted too: lists above are sorted by their text, which must not depend on the
        // order the service returned the keys in (serde_json keeps insertion order here).
        Value::Object(m) => {
            let sorted: BTreeMap<&String, Value> =
                m.iter().map(|(k, v)| (k, normalize(v))).collect();
            Value::Object(sorted.into_iter().map(|(k, v)| (k.clone(), v)).collect())
        }
        other => other.clone(),
    }
}

/// Whether two policy documents say the same thing.
pub fn same_policy(a: &Value, b: &Value) -> bool {
    normalize(a) == normalize(b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Kms;
    use crate::desired::RuleSpec;
    use crate::names::{BucketName, Region};

    fn pair(src: &str, dst: &str) -> Pair {
        let r = Region::new("us-east-1").unwrap();
        Pair {
            source: BucketRef {
                account: AccountId::new("111111111111").unwrap(),
                bucket: BucketName::new(src).unwrap(),
                region: r.clone(),
            },
            destination: BucketRef {
                account: AccountId::new("222222222222").unwrap(),
                bucket: BucketName::new(dst).unwrap(),
                region: r,
            },
            shortened_from: None,
            rule: RuleSpec {
                storage_class: "STANDARD".into(),
                delete_markers: true,
                prefix: String::new(),
                tags: BTreeMap::new(),
                owner: Owner::Destination,
                replication_time: false,
                kms: Kms::Auto,
                alerts: false,
            },
            backfill: Backfill::Batch,
            block: 0,
        }
    }

    fn covered(doc: &Value, sid_prefix: &str, arn: &str) -> bool {
        doc["Statement"].as_array().unwrap().iter().any(|s| {
            s["Sid"].as_str().unwrap().starts_with(sid_prefix)
                && s["Resource"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|r| resource_matches(r.as_str().unwrap(), arn))
        })
    }

    /// SPEC §8: the replica key's policy holds the roles of 500 source accounts within KMS's
    /// 32 KB (one statement, every principal listed once).
    #[test]
    fn five_hundred_source_accounts_fit_in_a_key_policy() {
        let roles: BTreeSet<String> = (0..500u64)
            .map(|i| {
                format!(
                    "arn:aws:iam::{:012}:role/crossrep-replication",
                    100_000_000_000 + i
                )
            })
            .collect();
        let merged = merge_bucket_policy(
            Some(&crate::kinds::key_policy::default_policy(
                &AccountId::new("222222222222").unwrap(),
            )),
            &key_policy_statements(&roles, "eu-west-1"),
        );
        let size = policy_bytes(&merged);
        assert!(size <= KEY_POLICY_LIMIT, "{size}");
        assert_eq!(
            merged["Statement"][1]["Principal"]["AWS"]
                .as_array()
                .unwrap()
                .len(),
            500
        );
    }

    /// 1,000 KMS sources and replica keys in three regions still fit the role's 10,240
    /// characters, and every source stays covered by the decrypt grant's context.
    #[test]
    fn kms_grants_for_a_thousand_buckets_fit() {
        let pairs: Vec<Pair> = (0..1000u32)
            .map(|i| {
                pair(
                    &format!("kms-{i:04}-data"),
                    &format!("replicated-kms-{i:04}-data"),
                )
            })
            .collect();
        let refs: Vec<&Pair> = pairs.iter().collect();
        let kms = KmsGrants {
            sources: pairs.iter().map(|p| &p.source).collect(),
            replica_keys: ["us-east-1", "eu-west-1", "ap-south-1"]
                .iter()
                .map(|r| {
                    (
                        r.to_string(),
                        BTreeSet::from([format!(
                            "arn:aws:kms:{r}:222222222222:key/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0"
                        )]),
                    )
                })
                .collect(),
        };
        let doc = role_policy(&refs, &[], &BTreeSet::new(), &kms);
        assert!(
            policy_size(&doc) <= INLINE_POLICY_LIMIT,
            "{}",
            policy_size(&doc)
        );
        let stmt = doc["Statement"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["Sid"] == "CrossrepSourceKeysUsEast1")
            .unwrap();
        let context = stmt["Condition"]["StringLike"]["kms:EncryptionContext:aws:s3:arn"]
            .as_array()
            .unwrap();
        for p in &pairs {
            for arn in [p.source.arn(), format!("{}/k", p.source.arn())] {
                assert!(
                    context
                        .iter()
                        .any(|c| resource_matches(c.as_str().unwrap(), &arn)),
                    "{arn}"
                );
            }
        }
    }

    #[test]
    fn bucket_policies_are_measured_in_bytes() {
        let doc = json!({"Sid": "Zugriff-für-Prüfer"});
        assert_eq!(policy_size(&doc), 28);
        assert_eq!(policy_bytes(&doc), 30, "ü is two bytes");
    }

    #[test]
    fn small_sets_use_exact_arns() {
        let pairs = [
            pair("a-data", "replicated-a-data"),
            pair("b-logs", "replicated-b-logs"),
        ];
        let refs: Vec<&Pair> = pairs.iter().collect();
        let doc = role_policy(&refs, &[], &BTreeSet::new(), &KmsGrants::default());
        assert_eq!(
            doc["Statement"][0]["Resource"],
            json!(["arn:aws:s3:::a-data", "arn:aws:s3:::b-logs"])
        );
        assert_eq!(
            doc["Statement"][2]["Action"],
            json!([
                "s3:ReplicateObject",
                "s3:ReplicateDelete",
                "s3:ReplicateTags",
                "s3:ObjectOwnerOverrideToBucketOwner"
            ])
        );
        assert_eq!(
            doc["Statement"][2]["Condition"]["StringEquals"]["s3:ResourceAccount"],
            "222222222222"
        );
    }

    /// The seed script's `put_role_policy` left only the last bucket covered; this proves the
    /// packed policy covers every one of 1,000 pairs and stays inside IAM's quota.
    #[test]
    fn a_thousand_pairs_fit_and_are_all_covered() {
        // Names with little shared structure, the hard case for prefix packing.
        let pairs: Vec<Pair> = (0..1000u32)
            .map(|i| {
                let h = i.wrapping_mul(2_654_435_761);
                let src = format!(
                    "{}-team{}-{:08x}",
                    ["app", "web", "etl", "ml"][i as usize % 4],
                    i % 37,
                    h
                );
                let dst = format!("replicated-{src}");
                pair(&src, &dst)
            })
            .collect();
        let refs: Vec<&Pair> = pairs.iter().collect();
        let doc = role_policy(&refs, &[], &BTreeSet::new(), &KmsGrants::default());
        assert!(
            policy_size(&doc) <= INLINE_POLICY_LIMIT,
            "{}",
            policy_size(&doc)
        );
        for p in &pairs {
            assert!(covered(&doc, "CrossrepSourceBuckets", &p.source.arn()));
            assert!(covered(
                &doc,
                "CrossrepSourceObjects",
                &format!("{}/k", p.source.arn())
            ));
            assert!(covered(
                &doc,
                "CrossrepDestinationObjects222222222222",
                &format!("{}/k", p.destination.arn())
            ));
        }
        // Coarsened, but not to a bare `*`.
        let n = doc["Statement"][0]["Resource"].as_array().unwrap().len();
        assert!(n > 1, "{doc}");
    }

    #[test]
    fn merge_keeps_foreign_statements_and_replaces_ours() {
        let role = RoleRef {
            account: AccountId::new("111111111111").unwrap(),
            name: "crossrep-replication".into(),
            region: Region::new("us-east-1").unwrap(),
            path: "/".into(),
        };
        let ours = destination_statements(&role, "arn:aws:s3:::dst", false);
        let foreign = json!({"Sid": "Theirs", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                             "Resource": "arn:aws:s3:::dst/*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}});
        let mut stale = ours[0].clone();
        stale["Action"] = json!("s3:ReplicateObject");
        let existing = json!({"Version": "2012-10-17", "Id": "keep-me", "Statement": [foreign.clone(), stale]});
        let merged = merge_bucket_policy(Some(&existing), &ours);
        assert_eq!(merged["Id"], "keep-me");
        assert_eq!(merged["Statement"], json!([foreign, ours[0], ours[1]]));
        // Merging again changes nothing.
        assert_eq!(merge_bucket_policy(Some(&merged), &ours), merged);
        // A single statement object is a valid policy too.
        let single = json!({"Version": "2012-10-17", "Statement": foreign});
        assert_eq!(
            merge_bucket_policy(Some(&single), &ours)["Statement"]
                .as_array()
                .unwrap()
                .len(),
            3
        );
    }

    #[test]
    fn normalize_ignores_order_and_singletons() {
        let a = json!({"Statement": [{"Action": ["s3:B", "s3:A"], "Resource": ["x"]}]});
        let b = json!({"Statement": {"Action": ["s3:A", "s3:B"], "Resource": "x"}});
        // A bare statement object and a one-element list differ structurally; both normalize.
        assert!(same_policy(
            &a,
            &json!({"Statement": [b["Statement"].clone()]})
        ));
    }
}
