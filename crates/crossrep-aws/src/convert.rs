//! The core's replication model ↔ the S3 SDK's types. Every field S3 defines for a rule is
//! carried both ways, because `PutBucketReplication` replaces the whole configuration and a
//! rule someone else wrote must come back exactly as it was.

use std::collections::BTreeMap;

use aws_sdk_s3::types as s3;
use crossrep_core::model::{Destination, Filter, ReplicationConfiguration, Rule};

pub fn from_sdk(c: &s3::ReplicationConfiguration) -> ReplicationConfiguration {
    ReplicationConfiguration {
        role: c.role().to_string(),
        rules: c.rules().iter().map(rule_from_sdk).collect(),
    }
}

fn enabled(s: &str) -> bool {
    s == "Enabled"
}

// The rule-level `Prefix` is deprecated (V1 rules), but a V1 rule someone else wrote must be
// read and written back as it is.
#[allow(deprecated)]
fn rule_from_sdk(r: &s3::ReplicationRule) -> Rule {
    let filter = r.filter().map(|f| {
        let mut tags = BTreeMap::new();
        if let Some(t) = f.tag() {
            tags.insert(t.key().to_string(), t.value().to_string());
        }
        let mut prefix = f.prefix().map(str::to_string);
        if let Some(and) = f.and() {
            prefix = and.prefix().map(str::to_string);
            for t in and.tags() {
                tags.insert(t.key().to_string(), t.value().to_string());
            }
        }
        Filter {
            prefix,
            tags,
            and: f.and().is_some(),
        }
    });
    let ssc = r.source_selection_criteria();
    let d = r.destination();
    Rule {
        id: r.id().map(str::to_string),
        priority: r.priority(),
        enabled: enabled(r.status().as_str()),
        prefix: r.prefix().map(str::to_string),
        filter,
        delete_marker_replication: r
            .delete_marker_replication()
            .and_then(|d| d.status())
            .map(|s| enabled(s.as_str())),
        sse_kms_encrypted_objects: ssc
            .and_then(|s| s.sse_kms_encrypted_objects())
            .map(|s| enabled(s.status().as_str())),
        replica_modifications: ssc
            .and_then(|s| s.replica_modifications())
            .map(|s| enabled(s.status().as_str())),
        existing_object_replication: r
            .existing_object_replication()
            .map(|e| enabled(e.status().as_str())),
        destination: Destination {
            bucket: d.map(|d| d.bucket().to_string()).unwrap_or_default(),
            account: d.and_then(|d| d.account()).map(str::to_string),
            storage_class: d
                .and_then(|d| d.storage_class())
                .map(|s| s.as_str().to_string()),
            owner_override: d.and_then(|d| d.access_control_translation()).is_some(),
            replica_kms_key_id: d
                .and_then(|d| d.encryption_configuration())
                .and_then(|e| e.replica_kms_key_id())
                .map(str::to_string),
            replication_time_minutes: d
                .and_then(|d| d.replication_time())
                .filter(|t| enabled(t.status().as_str()))
                .map(|t| t.time().and_then(|t| t.minutes()).unwrap_or(15)),
            metrics_enabled: d
                .and_then(|d| d.metrics())
                .is_some_and(|m| enabled(m.status().as_str())),
            metrics_minutes: d
                .and_then(|d| d.metrics())
                .and_then(|m| m.event_threshold())
                .and_then(|t| t.minutes()),
        },
    }
}

fn status<T: From<&'static str>>(on: bool) -> T {
    T::from(if on { "Enabled" } else { "Disabled" })
}

fn tag(k: &str, v: &str) -> s3::Tag {
    s3::Tag::builder()
        .key(k)
        .value(v)
        .build()
        .expect("key and value are set")
}

pub fn to_sdk(c: &ReplicationConfiguration) -> s3::ReplicationConfiguration {
    s3::ReplicationConfiguration::builder()
        .role(&c.role)
        .set_rules(Some(c.rules.iter().map(rule_to_sdk).collect()))
        .build()
        .expect("role and rules are set")
}

#[allow(deprecated)]
fn rule_to_sdk(r: &Rule) -> s3::ReplicationRule {
    let filter = r.filter.as_ref().map(|f| {
        let b = s3::ReplicationRuleFilter::builder();
        if f.and || f.tags.len() > 1 || (f.prefix.is_some() && !f.tags.is_empty()) {
            let mut and = s3::ReplicationRuleAndOperator::builder().set_prefix(f.prefix.clone());
            for (k, v) in &f.tags {
                and = and.tags(tag(k, v));
            }
            b.and(and.build()).build()
        } else if let Some((k, v)) = f.tags.iter().next() {
            b.tag(tag(k, v)).build()
        } else {
            b.set_prefix(f.prefix.clone()).build()
        }
    });
    let ssc =
        (r.sse_kms_encrypted_objects.is_some() || r.replica_modifications.is_some()).then(|| {
            s3::SourceSelectionCriteria::builder()
                .set_sse_kms_encrypted_objects(r.sse_kms_encrypted_objects.map(|on| {
                    s3::SseKmsEncryptedObjects::builder()
                        .status(status(on))
                        .build()
                        .expect("status is set")
                }))
                .set_replica_modifications(r.replica_modifications.map(|on| {
                    s3::ReplicaModifications::builder()
                        .status(status(on))
                        .build()
                        .expect("status is set")
                }))
                .build()
        });
    let d = &r.destination;
    let mut dest = s3::Destination::builder()
        .bucket(&d.bucket)
        .set_account(d.account.clone())
        .set_storage_class(d.storage_class.as_deref().map(s3::StorageClass::from));
    if d.owner_override {
        dest = dest.access_control_translation(
            s3::AccessControlTranslation::builder()
                .owner(s3::OwnerOverride::Destination)
                .build()
                .expect("owner is set"),
        );
    }
    if let Some(key) = &d.replica_kms_key_id {
        dest = dest.encryption_configuration(
            s3::EncryptionConfiguration::builder()
                .replica_kms_key_id(key)
                .build(),
        );
    }
    if let Some(m) = d.replication_time_minutes {
        dest = dest.replication_time(
            s3::ReplicationTime::builder()
                .status(s3::ReplicationTimeStatus::Enabled)
                .time(s3::ReplicationTimeValue::builder().minutes(m).build())
                .build()
                .expect("status is set"),
        );
    }
    if d.metrics_enabled {
        dest = dest.metrics(
            s3::Metrics::builder()
                .status(s3::MetricsStatus::Enabled)
                .set_event_threshold(
                    d.metrics_minutes
                        .map(|m| s3::ReplicationTimeValue::builder().minutes(m).build()),
                )
                .build()
                .expect("status is set"),
        );
    }
    s3::ReplicationRule::builder()
        .set_id(r.id.clone())
        .set_priority(r.priority)
        .status(status(r.enabled))
        .set_prefix(r.prefix.clone())
        .set_filter(filter)
        .set_delete_marker_replication(r.delete_marker_replication.map(|on| {
            s3::DeleteMarkerReplication::builder()
                .status(status(on))
                .build()
        }))
        .set_source_selection_criteria(ssc)
        .set_existing_object_replication(r.existing_object_replication.map(|on| {
            s3::ExistingObjectReplication::builder()
                .status(status(on))
                .build()
                .expect("status is set")
        }))
        .destination(dest.build().expect("bucket is set"))
        .build()
        .expect("status and destination are set")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(filter: Filter) -> Rule {
        Rule {
            id: Some("theirs".into()),
            priority: Some(3),
            enabled: true,
            prefix: None,
            filter: Some(filter),
            delete_marker_replication: Some(false),
            sse_kms_encrypted_objects: Some(true),
            replica_modifications: Some(false),
            existing_object_replication: None,
            destination: Destination {
                bucket: "arn:aws:s3:::dst".into(),
                account: Some("222222222222".into()),
                storage_class: Some("GLACIER_IR".into()),
                owner_override: true,
                replica_kms_key_id: Some("arn:aws:kms:us-east-1:222222222222:key/k".into()),
                replication_time_minutes: Some(15),
                metrics_enabled: true,
                metrics_minutes: Some(15),
            },
        }
    }

    #[test]
    fn round_trips_every_field() {
        for filter in [
            Filter {
                prefix: Some("logs/".into()),
                tags: BTreeMap::new(),
                and: false,
            },
            Filter {
                prefix: None,
                tags: BTreeMap::from([("a".into(), "b".into())]),
                and: false,
            },
            Filter {
                prefix: None,
                tags: BTreeMap::from([("a".into(), "b".into())]),
                and: true,
            },
            Filter {
                prefix: Some("p".into()),
                tags: BTreeMap::from([("a".into(), "b".into()), ("c".into(), "d".into())]),
                and: true,
            },
        ] {
            let c = ReplicationConfiguration {
                role: "arn:aws:iam::111111111111:role/r".into(),
                rules: vec![rule(filter)],
            };
            assert_eq!(from_sdk(&to_sdk(&c)), c);
        }
    }
}
