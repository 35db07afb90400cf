//! Discovery: reads what exists into a plain [`ActualState`] for the pure planner.
//!
//! Two phases. [`list_sources`] lists the buckets of every source account (paginated) and
//! finds the regions of those a `[[replication]]` block selects. [`discover`] then reads only
//! what the plan needs: versioning and replication of the sources, ownership, versioning and
//! policy of the destinations, and the replication roles. "Not found" is a state, not an
//! error; a bucket that cannot be read is marked so the planner leaves it alone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use aws_sdk_s3::error::ProvideErrorMetadata;
use futures::{stream, StreamExt, TryStreamExt};
use serde_json::Value;

use crossrep_core::config::Config;
use crossrep_core::desired::{selects, DesiredState, RoleRef};
use crossrep_core::model::{ActualState, BucketState, Listing, RoleState, Versioning, MANAGED_TAG};
use crossrep_core::names::{AccountId, BucketName, Region};
use crossrep_core::progress::Reporter;

use crate::error::{call_error, AwsError, CallError};
use crate::session::{Session, Sessions};

/// Buckets an account owns, with their regions when `ListBuckets` gives them.
async fn list_owned(session: &Session) -> Result<BTreeMap<BucketName, Option<Region>>, AwsError> {
    let pages = session
        .s3(&session.home)
        .list_buckets()
        .max_buckets(1000)
        .into_paginator()
        .send();
    let pages: Vec<_> = pages
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<_, _>>()
        .map_err(|e| call_error(e, session.id.as_str(), "s3:ListAllMyBuckets", "*"))?;
    let mut out = BTreeMap::new();
    for page in pages {
        for b in page.buckets() {
            // A name that is not valid today (legacy us-east-1 names with capitals or `_`)
            // cannot be a source of a V2 configuration through crossrep; skip it.
            let Some(name) = b.name().and_then(|n| BucketName::new(n).ok()) else {
                continue;
            };
            let region = b.bucket_region().and_then(|r| Region::new(r).ok());
            out.insert(name, region);
        }
    }
    Ok(out)
}

async fn bucket_region(session: &Session, bucket: &BucketName) -> Result<Region, CallError> {
    let out = session
        .s3(&session.home)
        .get_bucket_location()
        .bucket(bucket.as_str())
        .send()
        .await
        .map_err(|e| {
            call_error(
                e,
                session.id.as_str(),
                "s3:GetBucketLocation",
                bucket.as_str(),
            )
        })?;
    // us-east-1 answers with no constraint; very old eu-west-1 buckets answer `EU`.
    let raw = out.location_constraint().map(|c| c.as_str()).unwrap_or("");
    let region = match raw {
        "" => "us-east-1",
        "EU" => "eu-west-1",
        other => other,
    };
    Region::new(region)
        .map_err(|e| CallError::invalid(&session.id, "s3:GetBucketLocation", bucket, e.0))
}

/// Lists every source account's buckets and the regions of the selected ones.
pub async fn list_sources(
    config: &Config,
    sessions: &Sessions,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Result<Listing, AwsError> {
    let sources: BTreeSet<&AccountId> = config
        .replication
        .iter()
        .map(|b| &config.account(&b.from).id)
        .collect();
    let mut listing = Listing::new();
    let mut need_region = Vec::new();
    for id in sources {
        let session = sessions.get(id);
        let owned = list_owned(session).await?;
        let entry: &mut BTreeMap<BucketName, Region> = listing.entry(id.clone()).or_default();
        for (name, region) in owned {
            if !selects(config, id, name.as_str()) {
                continue;
            }
            match region {
                Some(r) => {
                    entry.insert(name, r);
                }
                None => need_region.push((session.clone(), name)),
            }
        }
    }
    reporter.start("finding bucket regions", need_region.len() as u64);
    let found: Vec<(AccountId, BucketName, Region)> = stream::iter(need_region)
        .map(|(session, name)| async move {
            let r = bucket_region(&session, &name).await;
            reporter.advance(1);
            r.map(|r| (session.id.clone(), name, r))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    reporter.finish();
    for (id, name, region) in found {
        listing.entry(id).or_default().insert(name, region);
    }

    // In an account that is also a destination, a bucket crossrep created (a destination of an
    // earlier template, a report bucket) carries the managed tag: never a source, or a second
    // run would replicate the replicas. Other accounts hold no such buckets: no request there.
    let destinations: BTreeSet<&AccountId> = config
        .replication
        .iter()
        .map(|b| &config.account(&b.to).id)
        .collect();
    let candidates: Vec<(Arc<Session>, BucketName, Region)> = listing
        .iter()
        .filter(|(id, _)| destinations.contains(id))
        .flat_map(|(id, buckets)| {
            buckets
                .iter()
                .map(|(b, r)| (sessions.get(id).clone(), b.clone(), r.clone()))
        })
        .collect();
    let managed: Vec<Option<(AccountId, BucketName)>> = stream::iter(candidates)
        .map(|(session, name, region)| async move {
            let tags = bucket_tags(&session, &name, &region).await?;
            let ours = tags.get(MANAGED_TAG.0).map(String::as_str) == Some(MANAGED_TAG.1);
            Ok::<_, CallError>(ours.then(|| (session.id.clone(), name)))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    for (id, name) in managed.into_iter().flatten() {
        tracing::info!(bucket = %name, account = %id, "not a source: tagged managed-by=crossrep");
        if let Some(b) = listing.get_mut(&id) {
            b.remove(&name);
        }
    }
    Ok(listing)
}

async fn bucket_tags(
    session: &Session,
    bucket: &BucketName,
    region: &Region,
) -> Result<BTreeMap<String, String>, CallError> {
    match session
        .s3(region)
        .get_bucket_tagging()
        .bucket(bucket.as_str())
        .send()
        .await
    {
        Ok(out) => Ok(out
            .tag_set()
            .iter()
            .map(|t| (t.key().to_string(), t.value().to_string()))
            .collect()),
        Err(e) if not_found(e.code(), &["NoSuchTagSet"]) => Ok(BTreeMap::new()),
        Err(e) => Err(call_error(
            e,
            session.id.as_str(),
            "s3:GetBucketTagging",
            bucket.as_str(),
        )),
    }
}

fn not_found(code: Option<&str>, codes: &[&str]) -> bool {
    code.is_some_and(|c| codes.contains(&c))
}

async fn versioning(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &str,
) -> Result<Versioning, CallError> {
    let out = s3
        .get_bucket_versioning()
        .bucket(bucket)
        .send()
        .await
        .map_err(|e| call_error(e, account, "s3:GetBucketVersioning", bucket))?;
    Ok(match out.status().map(|s| s.as_str()) {
        Some("Enabled") => Versioning::Enabled,
        Some("Suspended") => Versioning::Suspended,
        _ => Versioning::Off,
    })
}

async fn source_state(
    session: &Session,
    bucket: &BucketName,
    region: &Region,
) -> Result<BucketState, CallError> {
    let s3 = session.s3(region);
    let account = session.id.as_str();
    let versioning = versioning(&s3, account, bucket.as_str()).await?;
    let replication = match s3
        .get_bucket_replication()
        .bucket(bucket.as_str())
        .send()
        .await
    {
        Ok(out) => out
            .replication_configuration()
            .map(crate::convert::from_sdk),
        Err(e) if not_found(e.code(), &["ReplicationConfigurationNotFoundError"]) => None,
        Err(e) => {
            return Err(call_error(
                e,
                account,
                "s3:GetReplicationConfiguration",
                bucket.as_str(),
            ))
        }
    };
    Ok(BucketState {
        region: Some(region.clone()),
        versioning: Some(versioning),
        replication: Some(replication),
        ..BucketState::default()
    })
}

async fn destination_state(
    session: &Session,
    bucket: &BucketName,
    region: &Region,
) -> Result<BucketState, CallError> {
    let s3 = session.s3(region);
    let account = session.id.as_str();
    let versioning = versioning(&s3, account, bucket.as_str()).await?;
    let policy = match s3.get_bucket_policy().bucket(bucket.as_str()).send().await {
        Ok(out) => {
            let text = out.policy().unwrap_or_default();
            Some(serde_json::from_str::<Value>(text).map_err(|e| {
                CallError::invalid(
                    account,
                    "s3:GetBucketPolicy",
                    bucket.as_str(),
                    format!("the bucket policy is not valid JSON: {e}"),
                )
            })?)
        }
        Err(e) if not_found(e.code(), &["NoSuchBucketPolicy"]) => None,
        Err(e) => {
            return Err(call_error(
                e,
                account,
                "s3:GetBucketPolicy",
                bucket.as_str(),
            ))
        }
    };
    Ok(BucketState {
        region: Some(region.clone()),
        versioning: Some(versioning),
        policy: Some(policy),
        ..BucketState::default()
    })
}

/// Whether a bucket name exists anywhere (HeadBucket: 404 = free; 200, 301 or 403 = taken).
async fn name_taken(session: &Session, bucket: &BucketName) -> Result<bool, CallError> {
    match session
        .s3(&session.home)
        .head_bucket()
        .bucket(bucket.as_str())
        .send()
        .await
    {
        Ok(_) => Ok(true),
        Err(e) => {
            let status = e.raw_response().map(|r| r.status().as_u16());
            match status {
                Some(404) => Ok(false),
                Some(301 | 400 | 403) => Ok(true),
                _ => Err(call_error(
                    e,
                    session.id.as_str(),
                    "s3:ListBucket",
                    bucket.as_str(),
                )),
            }
        }
    }
}

/// IAM returns policy documents URL-encoded.
fn parse_iam_document(text: &str) -> Result<Value, String> {
    let decoded = if text.trim_start().starts_with('{') {
        text.to_string()
    } else {
        percent_encoding::percent_decode_str(text)
            .decode_utf8()
            .map_err(|e| e.to_string())?
            .into_owned()
    };
    serde_json::from_str(&decoded).map_err(|e| e.to_string())
}

async fn role_state(session: &Session, role: &RoleRef) -> Result<Option<RoleState>, CallError> {
    let account = session.id.as_str();
    let out = match session.iam.get_role().role_name(&role.name).send().await {
        Ok(out) => out,
        Err(e) if not_found(e.code(), &["NoSuchEntity"]) => return Ok(None),
        Err(e) => return Err(call_error(e, account, "iam:GetRole", &role.name)),
    };
    let r = out.role().ok_or_else(|| {
        CallError::invalid(
            account,
            "iam:GetRole",
            &role.name,
            "GetRole returned no role",
        )
    })?;
    let bad_doc = |action, message| CallError::invalid(account, action, &role.name, message);
    let trust = parse_iam_document(r.assume_role_policy_document().unwrap_or("{}"))
        .map_err(|m| bad_doc("iam:GetRole", m))?;
    let tags = r
        .tags()
        .iter()
        .map(|t| (t.key().to_string(), t.value().to_string()))
        .collect();
    let names: Vec<String> = session
        .iam
        .list_role_policies()
        .role_name(&role.name)
        .into_paginator()
        .items()
        .send()
        .try_collect()
        .await
        .map_err(|e| call_error(e, account, "iam:ListRolePolicies", &role.name))?;
    let mut inline_policies = BTreeMap::new();
    for name in names {
        let doc = session
            .iam
            .get_role_policy()
            .role_name(&role.name)
            .policy_name(&name)
            .send()
            .await
            .map_err(|e| call_error(e, account, "iam:GetRolePolicy", &role.name))?;
        let parsed = parse_iam_document(doc.policy_document())
            .map_err(|m| bad_doc("iam:GetRolePolicy", m))?;
        inline_policies.insert(name, parsed);
    }
    Ok(Some(RoleState {
        arn: r.arn().to_string(),
        trust_policy: trust,
        tags,
        inline_policies,
    }))
}

enum Found {
    // Boxed: a bucket state is large, the other variants are not.
    Bucket(AccountId, BucketName, Box<BucketState>),
    Taken(BucketName),
    Absent,
}

/// Reads everything `desired` touches.
pub async fn discover(
    desired: &DesiredState,
    sessions: &Sessions,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Result<ActualState, AwsError> {
    let mut actual = ActualState::default();

    for role in desired.roles.values() {
        let state = role_state(sessions.get(&role.account), role).await?;
        actual
            .accounts
            .entry(role.account.clone())
            .or_default()
            .roles
            .insert(role.name.clone(), state);
    }

    // Which destination (and report bucket) names each account already owns.
    let dest_accounts: BTreeSet<&AccountId> = desired
        .pairs
        .iter()
        .map(|p| &p.destination.account)
        .chain(desired.report_buckets.iter().map(|r| &r.account))
        .collect();
    let mut owned: BTreeMap<AccountId, BTreeMap<BucketName, Option<Region>>> = BTreeMap::new();
    for id in dest_accounts {
        owned.insert(id.clone(), list_owned(sessions.get(id)).await?);
    }

    let sources: BTreeSet<(AccountId, BucketName, Region)> = desired
        .pairs
        .iter()
        .map(|p| {
            (
                p.source.account.clone(),
                p.source.bucket.clone(),
                p.source.region.clone(),
            )
        })
        .collect();
    let dests: BTreeSet<(AccountId, BucketName)> = desired
        .pairs
        .iter()
        .map(|p| (p.destination.account.clone(), p.destination.bucket.clone()))
        .collect();
    // Report buckets only need to be known to exist (or to be someone else's).
    for r in &desired.report_buckets {
        match owned.get(&r.account).and_then(|o| o.get(&r.bucket)) {
            Some(region) => {
                let state = BucketState {
                    region: region.clone().or_else(|| Some(r.region.clone())),
                    ..BucketState::default()
                };
                actual
                    .accounts
                    .entry(r.account.clone())
                    .or_default()
                    .buckets
                    .insert(r.bucket.clone(), state);
            }
            None => {
                if name_taken(sessions.get(&r.account), &r.bucket).await? {
                    actual.taken_names.insert(r.bucket.clone());
                }
            }
        }
    }

    enum Job {
        Source(Arc<Session>, BucketName, Region),
        Dest(Arc<Session>, BucketName, Option<Option<Region>>),
    }
    let mut jobs: Vec<Job> = sources
        .into_iter()
        .map(|(a, b, r)| Job::Source(sessions.get(&a).clone(), b, r))
        .collect();
    for (a, b) in dests {
        let known = owned.get(&a).and_then(|o| o.get(&b)).cloned();
        jobs.push(Job::Dest(sessions.get(&a).clone(), b, known));
    }

    reporter.start("reading buckets", jobs.len() as u64);
    let results: Vec<Found> = stream::iter(jobs)
        .map(|job| async move {
            let found = match job {
                Job::Source(s, b, r) => {
                    let state = source_state(&s, &b, &r)
                        .await
                        .unwrap_or_else(|e| BucketState {
                            region: Some(r.clone()),
                            error: Some(e.to_string()),
                            ..BucketState::default()
                        });
                    Found::Bucket(s.id.clone(), b, Box::new(state))
                }
                // Owned: read it, in its own region.
                Job::Dest(s, b, Some(region)) => {
                    let region = match region {
                        Some(r) => Ok(r),
                        None => bucket_region(&s, &b).await,
                    };
                    let state =
                        match region {
                            Ok(r) => destination_state(&s, &b, &r).await.unwrap_or_else(|e| {
                                BucketState {
                                    region: Some(r.clone()),
                                    error: Some(e.to_string()),
                                    ..BucketState::default()
                                }
                            }),
                            Err(e) => BucketState {
                                error: Some(e.to_string()),
                                ..BucketState::default()
                            },
                        };
                    Found::Bucket(s.id.clone(), b, Box::new(state))
                }
                // Not owned: free, or someone else's.
                Job::Dest(s, b, None) => match name_taken(&s, &b).await {
                    Ok(true) => Found::Taken(b),
                    Ok(false) => Found::Absent,
                    Err(e) => Found::Bucket(
                        s.id.clone(),
                        b,
                        Box::new(BucketState {
                            error: Some(e.to_string()),
                            ..BucketState::default()
                        }),
                    ),
                },
            };
            reporter.advance(1);
            found
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    reporter.finish();

    for r in results {
        match r {
            Found::Bucket(a, b, state) => {
                actual
                    .accounts
                    .entry(a)
                    .or_default()
                    .buckets
                    .insert(b, *state);
            }
            Found::Taken(b) => {
                actual.taken_names.insert(b);
            }
            Found::Absent => {}
        }
    }
    Ok(actual)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iam_documents_are_url_decoded() {
        let encoded = "%7B%22Version%22%3A%222012-10-17%22%7D";
        assert_eq!(
            parse_iam_document(encoded).unwrap()["Version"],
            "2012-10-17"
        );
        assert_eq!(parse_iam_document("{\"a\":1}").unwrap()["a"], 1);
    }
}
