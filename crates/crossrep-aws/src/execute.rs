//! Execution: follows a plan, makes no decisions. Changes run phase by phase (roles and
//! buckets, then permissions and versioning, then bucket policies, then replication), each
//! phase concurrently; a change whose dependency failed is skipped, every other one still runs.

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::time::Duration;

use futures::{stream, StreamExt};

use crossrep_core::model::Versioning;
use crossrep_core::plan::{Action, Address, Change, Plan, Resource};
use crossrep_core::progress::Reporter;

use crate::error::{call_error, CallError};
use crate::session::Sessions;

/// What happened to each change.
#[derive(Debug, Default)]
pub struct Outcome {
    pub applied: Vec<Address>,
    pub failed: Vec<(Address, String)>,
    /// Not attempted because a change it depends on failed: (change, that dependency).
    pub skipped: Vec<(Address, Address)>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty()
    }
}

/// Bounded retries for AWS eventual consistency (a new role or versioning not visible yet):
/// only on the errors `retry_if` recognises, with backoff, returning the last real error.
async fn with_consistency_retry<T, F, Fut>(
    retry_if: impl Fn(&CallError) -> bool,
    mut call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1;
    loop {
        match call().await {
            Err(e) if attempt < 8 && retry_if(&e) => {
                tracing::debug!(attempt, error = %e, "retrying after eventual-consistency error");
                tokio::time::sleep(delay).await;
                delay = (delay * 2).min(Duration::from_secs(4));
                attempt += 1;
            }
            other => return other,
        }
    }
}

pub async fn execute(
    plan: &Plan,
    sessions: &Sessions,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut bad: BTreeSet<Address> = BTreeSet::new();
    let mut phases: BTreeMap<u8, Vec<&Change>> = BTreeMap::new();
    for c in &plan.changes {
        phases.entry(c.phase).or_default().push(c);
    }
    reporter.start("applying", plan.changes.len() as u64);
    for (_, changes) in phases {
        let mut runnable = Vec::new();
        for c in changes {
            match c.depends_on.iter().find(|d| bad.contains(d)) {
                Some(dep) => {
                    outcome.skipped.push((c.addr.clone(), dep.clone()));
                    bad.insert(c.addr.clone());
                    reporter.advance(1);
                }
                None => runnable.push(c),
            }
        }
        let results: Vec<(Address, Result<(), CallError>)> = stream::iter(runnable)
            .map(|c| async move {
                let r = apply_change(c, sessions).await;
                reporter.advance(1);
                (c.addr.clone(), r)
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for (addr, r) in results {
            match r {
                Ok(()) => outcome.applied.push(addr),
                Err(e) => {
                    bad.insert(addr.clone());
                    outcome.failed.push((addr, e.to_string()));
                }
            }
        }
    }
    reporter.finish();
    outcome.applied.sort();
    outcome.failed.sort();
    outcome.skipped.sort();
    outcome
}

async fn apply_change(c: &Change, sessions: &Sessions) -> Result<(), CallError> {
    let session = sessions.get(c.addr.account());
    let account = session.id.as_str();
    let s3 = session.s3(&c.region);
    if c.action == Action::Delete {
        return delete(c, session, &s3).await;
    }
    match (&c.addr, &c.after) {
        (
            Address::Role { name, .. },
            Some(Resource::Role {
                trust_policy,
                tags,
                description,
            }),
        ) => {
            let trust = trust_policy.to_string();
            if c.before.is_none() {
                let mut req = session
                    .iam
                    .create_role()
                    .role_name(name)
                    .assume_role_policy_document(trust)
                    .description(description);
                for (k, v) in tags {
                    req = req.tags(
                        aws_sdk_iam::types::Tag::builder()
                            .key(k)
                            .value(v)
                            .build()
                            .expect("key and value are set"),
                    );
                }
                req.send()
                    .await
                    .map_err(|e| call_error(e, account, "iam:CreateRole", name))?;
            } else {
                session
                    .iam
                    .update_assume_role_policy()
                    .role_name(name)
                    .policy_document(trust)
                    .send()
                    .await
                    .map_err(|e| call_error(e, account, "iam:UpdateAssumeRolePolicy", name))?;
            }
        }
        (Address::RolePolicy { role, name, .. }, Some(Resource::RolePolicy { document })) => {
            session
                .iam
                .put_role_policy()
                .role_name(role)
                .policy_name(name)
                .policy_document(document.to_string())
                .send()
                .await
                .map_err(|e| call_error(e, account, "iam:PutRolePolicy", role))?;
        }
        (
            Address::Bucket { bucket, .. },
            Some(Resource::Bucket {
                tags,
                object_ownership,
                expire_after_days,
            }),
        ) => {
            use aws_sdk_s3::types::{
                BucketLocationConstraint, CreateBucketConfiguration, ObjectOwnership,
            };
            let mut req = s3.create_bucket().bucket(bucket.as_str());
            // us-east-1 takes no LocationConstraint (sending it is InvalidLocationConstraint);
            // every other region requires one matching the endpoint.
            if c.region.as_str() != "us-east-1" {
                req = req.create_bucket_configuration(
                    CreateBucketConfiguration::builder()
                        .location_constraint(BucketLocationConstraint::from(c.region.as_str()))
                        .build(),
                );
            }
            if let Some(o) = object_ownership {
                req = req.object_ownership(ObjectOwnership::from(o.as_str()));
            }
            match req.send().await {
                Ok(_) => {}
                // Ours already (an interrupted apply, or us-east-1's legacy answer): carry on.
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_bucket_already_owned_by_you()) => {}
                Err(e) => return Err(call_error(e, account, "s3:CreateBucket", bucket.as_str())),
            }
            let mut tagging = aws_sdk_s3::types::Tagging::builder();
            for (k, v) in tags {
                tagging = tagging.tag_set(
                    aws_sdk_s3::types::Tag::builder()
                        .key(k)
                        .value(v)
                        .build()
                        .expect("key and value are set"),
                );
            }
            s3.put_bucket_tagging()
                .bucket(bucket.as_str())
                .tagging(tagging.build().expect("tag set is set"))
                .send()
                .await
                .map_err(|e| call_error(e, account, "s3:PutBucketTagging", bucket.as_str()))?;
            if let Some(days) = expire_after_days {
                use aws_sdk_s3::types::{
                    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration,
                    LifecycleRule, LifecycleRuleFilter,
                };
                let rule = LifecycleRule::builder()
                    .id("crossrep-expire-reports")
                    .status(ExpirationStatus::Enabled)
                    .filter(LifecycleRuleFilter::builder().prefix("").build())
                    .expiration(LifecycleExpiration::builder().days(*days as i32).build())
                    .build()
                    .expect("status is set");
                s3.put_bucket_lifecycle_configuration()
                    .bucket(bucket.as_str())
                    .lifecycle_configuration(
                        BucketLifecycleConfiguration::builder()
                            .rules(rule)
                            .build()
                            .expect("rules are set"),
                    )
                    .send()
                    .await
                    .map_err(|e| {
                        call_error(e, account, "s3:PutLifecycleConfiguration", bucket.as_str())
                    })?;
            }
        }
        (Address::Versioning { bucket, .. }, Some(Resource::Versioning { status })) => {
            use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
            let status = match status {
                Versioning::Enabled => BucketVersioningStatus::Enabled,
                Versioning::Suspended | Versioning::Off => BucketVersioningStatus::Suspended,
            };
            s3.put_bucket_versioning()
                .bucket(bucket.as_str())
                .versioning_configuration(VersioningConfiguration::builder().status(status).build())
                .send()
                .await
                .map_err(|e| call_error(e, account, "s3:PutBucketVersioning", bucket.as_str()))?;
        }
        (Address::BucketPolicy { bucket, .. }, Some(Resource::BucketPolicy { document })) => {
            let body = document.to_string();
            // A role created moments ago may not be a valid principal yet
            // (`MalformedPolicy: Invalid principal in policy`); any other malformation is real.
            let propagating = |e: &CallError| {
                e.code() == Some("MalformedPolicy")
                    && e.message.to_ascii_lowercase().contains("principal")
            };
            with_consistency_retry(propagating, || async {
                s3.put_bucket_policy()
                    .bucket(bucket.as_str())
                    .policy(&body)
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| call_error(e, account, "s3:PutBucketPolicy", bucket.as_str()))
            })
            .await?;
        }
        (Address::Replication { bucket, .. }, Some(Resource::Replication { configuration })) => {
            let body = crate::convert::to_sdk(configuration);
            // New versioning (InvalidRequest) or a new role (InvalidArgument / AccessDenied)
            // take a moment to propagate.
            // Only the propagation errors: other `InvalidRequest`s are real validation errors.
            let propagating = |e: &CallError| match e.code() {
                Some("InvalidRequest") => e.message.contains("ersioning"),
                Some("InvalidArgument" | "AccessDenied") => true,
                _ => false,
            };
            with_consistency_retry(propagating, || async {
                s3.put_bucket_replication()
                    .bucket(bucket.as_str())
                    .replication_configuration(body.clone())
                    .send()
                    .await
                    .map(|_| ())
                    .map_err(|e| {
                        call_error(
                            e,
                            account,
                            "s3:PutReplicationConfiguration",
                            bucket.as_str(),
                        )
                    })
            })
            .await?;
        }
        (addr, after) => unreachable!("the planner never asks for {addr} to become {after:?}"),
    }
    Ok(())
}

/// Deletions (destroy plans): only ever replication configurations, bucket policies, and
/// crossrep's role with its inline policies. "Already gone" is success: destroy is idempotent.
async fn delete(
    c: &Change,
    session: &crate::session::Session,
    s3: &aws_sdk_s3::Client,
) -> Result<(), CallError> {
    use aws_sdk_s3::error::ProvideErrorMetadata;
    let account = session.id.as_str();
    let gone = |code: Option<&str>, codes: &[&str]| code.is_some_and(|c| codes.contains(&c));
    match &c.addr {
        Address::Replication { bucket, .. } => match s3
            .delete_bucket_replication()
            .bucket(bucket.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if gone(e.code(), &["ReplicationConfigurationNotFoundError"]) => Ok(()),
            Err(e) => Err(call_error(
                e,
                account,
                "s3:PutReplicationConfiguration",
                bucket.as_str(),
            )),
        },
        Address::BucketPolicy { bucket, .. } => match s3
            .delete_bucket_policy()
            .bucket(bucket.as_str())
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if gone(e.code(), &["NoSuchBucketPolicy"]) => Ok(()),
            Err(e) => Err(call_error(
                e,
                account,
                "s3:DeleteBucketPolicy",
                bucket.as_str(),
            )),
        },
        Address::RolePolicy { role, name, .. } => {
            match session
                .iam
                .delete_role_policy()
                .role_name(role)
                .policy_name(name)
                .send()
                .await
            {
                Ok(_) => Ok(()),
                Err(e) if gone(e.code(), &["NoSuchEntity"]) => Ok(()),
                Err(e) => Err(call_error(e, account, "iam:DeleteRolePolicy", role)),
            }
        }
        Address::Role { name, .. } => {
            match session.iam.delete_role().role_name(name).send().await {
                Ok(_) => Ok(()),
                Err(e) if gone(e.code(), &["NoSuchEntity"]) => Ok(()),
                Err(e) => Err(call_error(e, account, "iam:DeleteRole", name)),
            }
        }
        addr => unreachable!("crossrep never deletes {addr}"),
    }
}
