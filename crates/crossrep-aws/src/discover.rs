//! Discovery: reads what exists into a plain [`ActualState`] for the pure planner.
//!
//! Two phases. [`list_sources`] lists the buckets of every source account (paginated) and
//! finds the regions of those a `[[replication]]` block selects. [`discover`] then reads only
//! what the plan needs: versioning and replication of the sources, ownership, versioning and
//! policy of the destinations, and the replication roles. "Not found" is a state, not an
//! error; a bucket that cannot be read is marked so the planner leaves it alone.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use futures::{stream, StreamExt, TryStreamExt};

use crossrep_core::config::Config;
use crossrep_core::desired::{selects, BucketRef, DesiredState};
use crossrep_core::kinds::alarm::Alarm;
use crossrep_core::kinds::alert_queue::{AlertAddr, AlertQueue};
use crossrep_core::kinds::alert_topic::AlertTopic;
use crossrep_core::kinds::bucket::{Bucket, BucketSpec};
use crossrep_core::kinds::key_policy::KeyPolicy;
use crossrep_core::kinds::object_encryption::{SampleCache, SAMPLE_CACHE_KEY};
use crossrep_core::kinds::replica_key::{KeyAddr, ReplicaKey};
use crossrep_core::kinds::role::{Role, RoleAddr};
use crossrep_core::kinds::versioning::VersioningSpec;
use crossrep_core::kinds::{
    bucket_encryption, bucket_policy, bucket_tags, lifecycle, notification, object_encryption,
    object_lock, ownership_controls, replication, request_payment, role_policy, versioning,
    BucketAddr,
};
use crossrep_core::model::{ActualState, Listing};
use crossrep_core::names::{AccountId, BucketName, Region};
use crossrep_core::observed::Observed;
use crossrep_core::policy::ROLE_POLICY_NAME;
use crossrep_core::preflight;
use crossrep_core::progress::Reporter;

use crate::kinds;
use crate::kinds::object_encryption::Sampled;

use crate::error::{call_error, AwsError, CallError};
use crate::session::{Session, Sessions};

/// Buckets an account owns, with their regions when `ListBuckets` gives them.
/// An account's buckets by name with the region listing gave (if any), and the names that are
/// not valid bucket names today (legacy us-east-1 names with capitals or `_`).
type Owned = (BTreeMap<BucketName, Option<Region>>, Vec<String>);

async fn list_owned(session: &Session) -> Result<Owned, AwsError> {
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
    let mut legacy = Vec::new();
    for page in pages {
        for b in page.buckets() {
            // A name that is not valid today (legacy us-east-1 names with capitals or `_`)
            // cannot be a source of crossrep's rules: kept aside, for the plan to name.
            let raw = b.name().unwrap_or_default();
            let Ok(name) = BucketName::new(raw) else {
                legacy.push(raw.to_string());
                continue;
            };
            let region = b.bucket_region().and_then(|r| Region::new(r).ok());
            out.insert(name, region);
        }
    }
    Ok((out, legacy))
}

/// What listing the source accounts found.
pub struct Sources {
    /// The buckets the configuration selects.
    pub selected: Listing,
    /// The other buckets (read only for rules an earlier configuration left; see
    /// [`discover`]).
    pub unselected: Listing,
    /// Selected names that are not valid bucket names today (see [`DesiredState::legacy_names`]).
    pub legacy: Vec<(AccountId, String)>,
    /// Member accounts of `[organization]` whose buckets could not be listed, and why: they are
    /// skipped, the others go on (SPEC §11). A configured account that cannot be listed is an
    /// error.
    pub unlisted: Vec<(AccountId, String)>,
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
/// The buckets of every source account (see [`Sources`]).
pub async fn list_sources(
    config: &Config,
    sessions: &Sessions,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Result<Sources, AwsError> {
    let sources: BTreeSet<&AccountId> = config
        .replication
        .iter()
        .filter(|b| b.from != crossrep_core::config::FROM_ORGANIZATION)
        .map(|b| &config.account(&b.from).id)
        .collect();
    let mut listing = Listing::new();
    let mut unselected = Listing::new();
    let mut legacy_names = Vec::new();
    let mut need_region = Vec::new();
    let mut unlisted = Vec::new();
    let members: BTreeSet<&AccountId> = config
        .accounts
        .values()
        .filter(|a| a.via.is_some())
        .map(|a| &a.id)
        .collect();
    // Accounts are listed concurrently (an organization has hundreds), in order.
    let listed: Vec<(&AccountId, Result<Owned, AwsError>)> = stream::iter(sources)
        .map(|id| async move { (id, list_owned(sessions.get(id)).await) })
        .buffered(concurrency.clamp(1, 16))
        .collect()
        .await;
    for (id, found) in listed {
        let session = sessions.get(id);
        let (owned, legacy) = match found {
            Ok(found) => found,
            Err(e) if members.contains(id) => {
                unlisted.push((id.clone(), e.to_string()));
                continue;
            }
            Err(e) => return Err(e),
        };
        legacy_names.extend(
            legacy
                .into_iter()
                .filter(|n| selects(config, id, n))
                .map(|n| (id.clone(), n)),
        );
        listing.entry(id.clone()).or_default();
        for (name, region) in owned {
            let selected = selects(config, id, name.as_str());
            match region {
                Some(r) => {
                    let into = if selected {
                        &mut listing
                    } else {
                        &mut unselected
                    };
                    into.entry(id.clone()).or_default().insert(name, r);
                }
                None => need_region.push((session.clone(), name, selected)),
            }
        }
    }
    reporter.start("finding bucket regions", need_region.len() as u64);
    let found: Vec<(AccountId, BucketName, Region, bool)> = stream::iter(need_region)
        .map(|(session, name, selected)| async move {
            let r = bucket_region(&session, &name).await;
            reporter.advance(1);
            r.map(|r| (session.id.clone(), name, r, selected))
        })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    reporter.finish();
    for (id, name, region, selected) in found {
        let into = if selected {
            &mut listing
        } else {
            &mut unselected
        };
        into.entry(id).or_default().insert(name, region);
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
            let tags = crate::kinds::bucket_tags::tags_of(&session, &name, &region).await?;
            let ours = tags.is_managed();
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
    Ok(Sources {
        selected: listing,
        unselected,
        legacy: legacy_names,
        unlisted,
    })
}

/// Whether a bucket name exists anywhere (HeadBucket: 404 = free; 200, 301 or 403 = taken).
async fn name_taken(session: &Session, bucket: &BucketName) -> Result<bool, CallError> {
    name_taken_with(&session.s3(&session.home), session.id.as_str(), bucket).await
}

/// HeadBucket answers 404 for a free name; 403 (someone else's), 301 (someone's, in another
/// region) or 400 mean the name is taken.
pub(crate) async fn name_taken_with(
    s3: &aws_sdk_s3::Client,
    account: &str,
    bucket: &BucketName,
) -> Result<bool, CallError> {
    match s3.head_bucket().bucket(bucket.as_str()).send().await {
        Ok(_) => Ok(true),
        Err(e) => match e.raw_response().map(|r| r.status().as_u16()) {
            Some(404) => Ok(false),
            Some(301 | 400 | 403) => Ok(true),
            _ => Err(call_error(e, account, "s3:ListBucket", bucket.as_str())),
        },
    }
}

/// What one discovery job found, to record in the [`ActualState`].
type Found = Box<dyn FnOnce(&mut ActualState) + Send>;

fn found(f: impl FnOnce(&mut ActualState) + Send + 'static) -> Found {
    Box::new(f)
}

/// A bucket discovery reads, and what of it.
enum Job {
    Role(Arc<Session>, RoleAddr),
    /// A selected source bucket (its event notifications too: crossrep's entry is added with
    /// `alerts` and removed without), with the versions of it an earlier run sampled, and where
    /// this run's sample goes.
    Source(Arc<Session>, BucketName, Region, Sampled, Arc<SampleSink>),
    /// A destination the account owns (region known or not yet).
    Destination(Arc<Session>, BucketName, Option<Region>),
    /// A report bucket the account owns.
    Report(Arc<Session>, BucketName, Region),
    /// A name the account does not own: free, or someone else's.
    Unowned(Arc<Session>, BucketName),
    /// A bucket of a source account that is not selected: only its replication configuration,
    /// for `crossrep-*` rules left from an earlier configuration (SPEC §5).
    Unselected(Arc<Session>, BucketName, Region),
    /// The replica key (and its policy) of a destination account and region (SPEC §8).
    ReplicaKey(Arc<Session>, KeyAddr),
    /// The alert queue, topic and alarm of a source account and region (SPEC §10).
    Alerts(Arc<Session>, AlertAddr),
    /// What an existing destination needs read only for some sources, after the sources: its
    /// default encryption (the source has SSE-C objects, SPEC §8), its Object Lock (the
    /// source has Object Lock).
    DestinationExtra {
        session: Arc<Session>,
        bucket: BucketName,
        region: Region,
        encryption: bool,
        lock: bool,
    },
}

async fn run(job: Job) -> Found {
    match job {
        Job::Role(s, addr) => {
            let (role, policies) = kinds::role::read(&s, &addr, ROLE_POLICY_NAME).await;
            found(move |a| {
                a.set::<Role>(addr, role);
                for (p, o) in policies {
                    a.set::<role_policy::RolePolicy>(p, o);
                }
            })
        }
        Job::Source(s, b, region, known, sink) => {
            let s3 = s.s3(&region);
            let account = s.id.as_str();
            // One bucket's reads go out together: on AWS each costs a round trip.
            let ((v, r), e, l, o, n) = futures::join!(
                async {
                    let r = kinds::replication::read(&s3, account, &b).await;
                    // S3 accepts a replication configuration only on a bucket whose versioning
                    // is Enabled, and while it is there the versioning state cannot change
                    // (409 `InvalidBucketState`, AWS-NOTES): no need to read it.
                    let v = match &r {
                        Observed::Present(_) => Observed::Present(VersioningSpec::ENABLED),
                        _ => kinds::versioning::read(&s3, account, &b).await,
                    };
                    (v, r)
                },
                kinds::bucket_encryption::read(&s3, account, &b),
                kinds::object_lock::read(&s3, account, &b),
                kinds::object_encryption::read(&s3, account, &b, &known),
                kinds::notification::read(&s3, account, &b),
            );
            let (o, sampled) = o;
            let addr = BucketAddr::new(&s.id, &b);
            if let Some(sampled) = sampled {
                sink.put(&s.id, &b, sampled);
            }
            found(move |a| {
                a.set::<notification::Notification>(addr.clone(), n);
                a.set::<Bucket>(addr.clone(), Observed::Present(BucketSpec::at(region)));
                a.set::<versioning::Versioning>(addr.clone(), v);
                a.set::<replication::Replication>(addr.clone(), r);
                a.set::<bucket_encryption::BucketEncryption>(addr.clone(), e);
                a.set::<object_encryption::ObjectEncryption>(addr.clone(), o);
                a.set::<object_lock::ObjectLock>(addr, l);
            })
        }
        Job::Destination(s, b, region) => {
            let addr = BucketAddr::new(&s.id, &b);
            let region = match region {
                Some(r) => r,
                None => match bucket_region(&s, &b).await {
                    Ok(r) => r,
                    Err(e) => {
                        let e = e.to_read_error();
                        return found(move |a| a.set::<Bucket>(addr, Observed::Unreadable(e)));
                    }
                },
            };
            let s3 = s.s3(&region);
            let account = s.id.as_str();
            // Its Object Lock matters only for an Object Lock source: read in the second wave.
            let (v, p, t, o, rp) = futures::join!(
                kinds::versioning::read(&s3, account, &b),
                kinds::bucket_policy::read(&s3, account, &b),
                kinds::bucket_tags::read(&s3, account, &b),
                kinds::ownership_controls::read(&s3, account, &b),
                kinds::request_payment::read(&s3, account, &b),
            );
            found(move |a| {
                a.set::<Bucket>(addr.clone(), Observed::Present(BucketSpec::at(region)));
                a.set::<versioning::Versioning>(addr.clone(), v);
                a.set::<bucket_policy::BucketPolicy>(addr.clone(), p);
                a.set::<bucket_tags::BucketTags>(addr.clone(), t);
                a.set::<ownership_controls::OwnershipControls>(addr.clone(), o);
                a.set::<request_payment::RequestPayment>(addr, rp);
            })
        }
        Job::Report(s, b, region) => {
            let s3 = s.s3(&region);
            let account = s.id.as_str();
            let (t, o, l) = futures::join!(
                kinds::bucket_tags::read(&s3, account, &b),
                kinds::ownership_controls::read(&s3, account, &b),
                kinds::lifecycle::read(&s3, account, &b),
            );
            let addr = BucketAddr::new(&s.id, &b);
            found(move |a| {
                a.set::<Bucket>(addr.clone(), Observed::Present(BucketSpec::at(region)));
                a.set::<bucket_tags::BucketTags>(addr.clone(), t);
                a.set::<ownership_controls::OwnershipControls>(addr.clone(), o);
                a.set::<lifecycle::Lifecycle>(addr, l);
            })
        }
        Job::Unselected(s, b, region) => {
            let s3 = s.s3(&region);
            let r = kinds::replication::read(&s3, s.id.as_str(), &b).await;
            let addr = BucketAddr::new(&s.id, &b);
            found(move |a| {
                a.set::<Bucket>(addr.clone(), Observed::Present(BucketSpec::at(region)));
                a.set::<replication::Replication>(addr, r);
            })
        }
        Job::DestinationExtra {
            session: s,
            bucket: b,
            region,
            encryption,
            lock,
        } => {
            let s3 = s.s3(&region);
            let account = s.id.as_str();
            let (e, l) = futures::join!(
                async {
                    if encryption {
                        Some(kinds::bucket_encryption::read(&s3, account, &b).await)
                    } else {
                        None
                    }
                },
                async {
                    if lock {
                        Some(kinds::object_lock::read(&s3, account, &b).await)
                    } else {
                        None
                    }
                },
            );
            let addr = BucketAddr::new(&s.id, &b);
            found(move |a| {
                if let Some(e) = e {
                    a.set::<bucket_encryption::BucketEncryption>(addr.clone(), e);
                }
                if let Some(l) = l {
                    a.set::<object_lock::ObjectLock>(addr, l);
                }
            })
        }
        Job::Alerts(s, addr) => {
            let (q, t, al) = futures::join!(
                kinds::alert_queue::read(&s, &addr),
                kinds::alert_topic::read(&s, &addr),
                kinds::alarm::read(&s, &addr),
            );
            found(move |a| {
                a.set::<AlertQueue>(addr.clone(), q);
                a.set::<AlertTopic>(addr.clone(), t);
                a.set::<Alarm>(addr, al);
            })
        }
        Job::ReplicaKey(s, addr) => {
            let (key, policy) = kinds::replica_key::read(&s, &addr).await;
            found(move |a| {
                a.set::<ReplicaKey>(addr.clone(), key);
                a.set::<KeyPolicy>(addr, policy);
            })
        }
        Job::Unowned(s, b) => {
            let addr = BucketAddr::new(&s.id, &b);
            match name_taken(&s, &b).await {
                Ok(true) => found(move |a| {
                    a.taken_names.insert(b);
                }),
                Ok(false) => found(move |a| a.set::<Bucket>(addr, Observed::Absent)),
                Err(e) => {
                    let e = e.to_read_error();
                    found(move |a| a.set::<Bucket>(addr, Observed::Unreadable(e)))
                }
            }
        }
    }
}

/// The versions each source job sampled (only those that can be remembered).
#[derive(Default)]
struct SampleSink(Mutex<BTreeMap<(AccountId, BucketName), Sampled>>);

impl SampleSink {
    fn put(&self, account: &AccountId, bucket: &BucketName, sampled: Sampled) {
        self.0
            .lock()
            .expect("not poisoned")
            .insert((account.clone(), bucket.clone()), sampled);
    }
}

/// One report bucket's [`SampleCache`]: as read, and as this run's samples make it.
struct SampleSlot {
    session: Arc<Session>,
    report: BucketRef,
    /// The report bucket existed when discovery began.
    existed: bool,
    read: SampleCache,
    now: SampleCache,
}

/// Sampled object encryption to remember for the next run ([`SampleCache`]), per report bucket.
#[derive(Default)]
pub struct Samples {
    slots: Vec<SampleSlot>,
}

impl Samples {
    fn cache_of(&self, account: &AccountId, region: &Region) -> Option<&SampleCache> {
        self.slots
            .iter()
            .find(|s| &s.report.account == account && &s.report.region == region)
            .map(|s| &s.read)
    }

    /// Writes the caches this run's samples changed (a run whose sources gained no versions
    /// writes nothing), into report buckets that existed or that `created` made; returns how
    /// many were written. Only a cache: one that cannot be written is logged, and the next run
    /// reads those versions again.
    pub async fn remember(&self, created: &BTreeSet<BucketAddr>) -> usize {
        let writes = self
            .slots
            .iter()
            .filter(|s| s.now != s.read)
            .filter(|s| {
                s.existed || created.contains(&BucketAddr::new(&s.report.account, &s.report.bucket))
            })
            .map(|s| async move {
            let r = &s.report;
            let s3 = s.session.s3(&r.region);
            match crate::stored::write_json(&s3, s.session.id.as_str(), &r.bucket, SAMPLE_CACHE_KEY, &s.now)
                .await
            {
                Ok(()) => 1,
                Err(e) => {
                    tracing::warn!(bucket = %r.bucket, error = %e, "sampled object encryption not remembered");
                    0
                }
            }
        });
        futures::future::join_all(writes).await.into_iter().sum()
    }

    /// This run's samples replace those of the same buckets; buckets the account no longer
    /// has are forgotten (the cache holds at most its buckets' latest samples).
    fn update(&mut self, sink: &SampleSink, desired: &DesiredState, unselected: &Listing) {
        let sampled = std::mem::take(&mut *sink.0.lock().expect("not poisoned"));
        let buckets: BTreeSet<(&AccountId, &str)> = desired
            .pairs
            .iter()
            .map(|p| (&p.source.account, p.source.bucket.as_str()))
            .chain(
                unselected
                    .iter()
                    .flat_map(|(a, l)| l.keys().map(move |b| (a, b.as_str()))),
            )
            .collect();
        let exists = |a: &AccountId, b: &str| buckets.contains(&(a, b));
        for slot in &mut self.slots {
            let (account, region) = (&slot.report.account, &slot.report.region);
            slot.now.buckets.retain(|b, _| exists(account, b));
            for p in &desired.pairs {
                if &p.source.account != account || &p.source.region != region {
                    continue;
                }
                if let Some(v) = sampled.get(&(account.clone(), p.source.bucket.clone())) {
                    slot.now
                        .buckets
                        .insert(p.source.bucket.to_string(), v.clone());
                }
            }
        }
    }
}

/// The sample caches of the report buckets that exist; one that cannot be read is empty (a
/// cache: its versions are read again).
async fn read_samples(
    desired: &DesiredState,
    owned: &BTreeMap<AccountId, BTreeMap<BucketName, Option<Region>>>,
    sessions: &Sessions,
    concurrency: usize,
) -> Samples {
    let reads = desired.report_buckets.iter().map(|r| {
        let session = sessions.get(&r.account).clone();
        let exists = owned.get(&r.account).is_some_and(|o| o.contains_key(&r.bucket));
        async move {
            let read = if exists {
                let s3 = session.s3(&r.region);
                crate::stored::read_json(
                    &s3,
                    session.id.as_str(),
                    &r.bucket,
                    SAMPLE_CACHE_KEY,
                    "sampled object encryption",
                )
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(bucket = %r.bucket, error = %e, "sampled object encryption not read");
                    SampleCache::default()
                })
            } else {
                SampleCache::default()
            };
            SampleSlot {
                session,
                report: r.clone(),
                existed: exists,
                now: read.clone(),
                read,
            }
        }
    });
    Samples {
        slots: stream::iter(reads).buffered(concurrency).collect().await,
    }
}

/// Reads everything `desired` touches. A resource that cannot be read is recorded as such
/// (the planner makes its pairs conflicts); only listing an account's buckets is fatal.
/// Also returns what the run sampled of the sources' objects, for [`Samples::remember`].
pub async fn discover(
    desired: &DesiredState,
    unselected: &Listing,
    sessions: &Sessions,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Result<(ActualState, Samples), AwsError> {
    // Which destination (and report bucket) names each account already owns.
    let dest_accounts: BTreeSet<&AccountId> = desired.own_buckets().map(|(a, _)| a).collect();
    let mut owned: BTreeMap<AccountId, BTreeMap<BucketName, Option<Region>>> = BTreeMap::new();
    let mut facts = preflight::Facts::default();
    for id in dest_accounts {
        let (buckets, legacy) = list_owned(sessions.get(id)).await?;
        facts
            .buckets_held
            .insert(id.clone(), (buckets.len() + legacy.len()) as u64);
        owned.insert(id.clone(), buckets);
    }
    // Preflight (SPEC §12): the opt-in regions the pairs use, and the bucket quota of the
    // accounts where a bucket may be created (a destination or report bucket they do not own).
    facts.regions =
        crate::preflight::region_statuses(&preflight::region_needs(desired), sessions, concurrency)
            .await;
    facts.bucket_quotas =
        crate::preflight::bucket_quotas(desired, &owned, sessions, concurrency).await;

    let mut jobs: Vec<Job> = desired
        .roles
        .values()
        .map(|r| {
            Job::Role(
                sessions.get(&r.account).clone(),
                RoleAddr {
                    account: r.account.clone(),
                    name: r.name.clone(),
                },
            )
        })
        .collect();
    let sources: BTreeSet<(&AccountId, &BucketName, &Region)> = desired
        .pairs
        .iter()
        .map(|p| (&p.source.account, &p.source.bucket, &p.source.region))
        .collect();
    // What earlier runs sampled, from the report bucket of each source's account and region.
    let mut remembered = read_samples(desired, &owned, sessions, concurrency).await;
    let sink = Arc::new(SampleSink::default());
    for (a, b, r) in sources {
        let known = remembered
            .cache_of(a, r)
            .and_then(|c| c.buckets.get(b.as_str()))
            .cloned()
            .unwrap_or_default();
        jobs.push(Job::Source(
            sessions.get(a).clone(),
            b.clone(),
            r.clone(),
            known,
            sink.clone(),
        ));
    }
    // Where alerts are, or were (`alerts = false` removes crossrep's).
    let places: BTreeSet<AlertAddr> = desired
        .pairs
        .iter()
        .map(|p| AlertAddr::of(&p.source))
        .collect();
    for at in places {
        jobs.push(Job::Alerts(sessions.get(&at.account).clone(), at));
    }
    let dests: BTreeSet<(&AccountId, &BucketName)> = desired
        .pairs
        .iter()
        .map(|p| (&p.destination.account, &p.destination.bucket))
        .collect();
    for (a, b) in dests {
        let s = sessions.get(a).clone();
        jobs.push(match owned.get(a).and_then(|o| o.get(b)) {
            Some(region) => Job::Destination(s, b.clone(), region.clone()),
            None => Job::Unowned(s, b.clone()),
        });
    }
    // The other buckets of each source account that has a role: a rule crossrep left there
    // must be removed before the role loses its grants (one read per bucket, SPEC §5).
    let busy: BTreeSet<(&AccountId, &BucketName)> = desired.own_buckets().collect();
    for (a, buckets) in unselected {
        if !desired.roles.contains_key(a) {
            continue;
        }
        for (b, r) in buckets {
            if !busy.contains(&(a, b)) {
                jobs.push(Job::Unselected(
                    sessions.get(a).clone(),
                    b.clone(),
                    r.clone(),
                ));
            }
        }
    }
    // Replica keys, where a pair may replicate KMS objects (not `kms = "off"`): whether its
    // source uses KMS is only known after discovery, and there are few such places. A named
    // key in another region than its destination is a conflict without a read.
    let keys: BTreeSet<KeyAddr> = desired
        .pairs
        .iter()
        .filter_map(KeyAddr::of)
        .filter(|k| k.arn_region() == k.region.as_str())
        .collect();
    for k in keys {
        jobs.push(Job::ReplicaKey(sessions.get(&k.account).clone(), k));
    }
    for r in &desired.report_buckets {
        let s = sessions.get(&r.account).clone();
        jobs.push(match owned.get(&r.account).and_then(|o| o.get(&r.bucket)) {
            Some(region) => Job::Report(
                s,
                r.bucket.clone(),
                region.clone().unwrap_or_else(|| r.region.clone()),
            ),
            None => Job::Unowned(s, r.bucket.clone()),
        });
    }

    reporter.start("reading buckets", jobs.len() as u64);
    let results: Vec<Found> = stream::iter(jobs)
        .map(|job| async move {
            let f = run(job).await;
            reporter.advance(1);
            f
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    reporter.finish();

    let mut actual = ActualState::default();
    for f in results {
        f(&mut actual);
    }
    facts.role_quotas =
        crate::preflight::role_quotas(desired, &actual, sessions, concurrency).await;
    actual.preflight = facts;

    // Second wave: what depends on what the sources hold.
    let mut extra: BTreeMap<(&AccountId, &BucketName), (bool, bool)> = BTreeMap::new();
    for p in &desired.pairs {
        let src = BucketAddr::new(&p.source.account, &p.source.bucket);
        let dst = BucketAddr::new(&p.destination.account, &p.destination.bucket);
        let encryption = bucket_encryption::sse_c_needed(&actual, &src).is_some()
            && actual
                .observed::<bucket_encryption::BucketEncryption>(&dst)
                .is_none();
        // Object Lock that could not be read on the source makes the pair a conflict anyway.
        let lock = object_lock::enabled(&actual, &src)
            && actual.observed::<object_lock::ObjectLock>(&dst).is_none();
        if encryption || lock {
            let e = extra
                .entry((&p.destination.account, &p.destination.bucket))
                .or_default();
            e.0 |= encryption;
            e.1 |= lock;
        }
    }
    let jobs: Vec<Job> = extra
        .into_iter()
        .filter_map(|((a, b), (encryption, lock))| {
            let region = actual
                .present::<Bucket>(&BucketAddr::new(a, b))?
                .region
                .clone();
            Some(Job::DestinationExtra {
                session: sessions.get(a).clone(),
                bucket: b.clone(),
                region,
                encryption,
                lock,
            })
        })
        .collect();
    if !jobs.is_empty() {
        let results: Vec<Found> = stream::iter(jobs)
            .map(run)
            .buffer_unordered(concurrency)
            .collect()
            .await;
        for f in results {
            f(&mut actual);
        }
    }
    remembered.update(&sink, desired, unselected);
    Ok((actual, remembered))
}
