//! Execution: follows a plan, makes no decisions. Changes run phase by phase (roles and
//! buckets, then permissions, tags, ownership, lifecycle and versioning, then bucket policies,
//! then replication), each phase concurrently; a change whose dependency failed is skipped,
//! every other one still runs. What each change does is its kind's (`kinds/`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, Ordering};

use futures::{stream, StreamExt};

use crossrep_core::names::{AccountId, BucketName};
use crossrep_core::plan::{Address, AnyChange, Plan};
use crossrep_core::progress::Reporter;

use crate::error::CallError;
use crate::session::Sessions;

/// A change's result; `None`: not started (interrupted).
type Ran = (Address, Option<Result<(), CallError>>);

/// What happened to each change.
#[derive(Debug, Default)]
pub struct Outcome {
    pub applied: Vec<Address>,
    /// The change and why it failed (the hint apart, for the printer to place).
    pub failed: Vec<(Address, CallError)>,
    /// Not attempted because a change it depends on failed: (change, that dependency).
    pub skipped: Vec<(Address, Address)>,
    /// Not started because the run was interrupted (SIGINT): what was in flight finished.
    pub interrupted: Vec<Address>,
}

impl Outcome {
    pub fn ok(&self) -> bool {
        self.failed.is_empty() && self.skipped.is_empty() && self.interrupted.is_empty()
    }
}

/// `stop`: once set (SIGINT), no further change starts; those in flight finish, and the rest
/// are reported as interrupted.
pub async fn execute(
    plan: &Plan,
    sessions: &Sessions,
    concurrency: usize,
    reporter: &dyn Reporter,
    stop: &AtomicBool,
) -> Outcome {
    let mut outcome = Outcome::default();
    let mut bad: BTreeSet<Address> = BTreeSet::new();
    let mut applied_here: BTreeSet<Address> = BTreeSet::new();
    let mut phases: BTreeMap<u8, Vec<&AnyChange>> = BTreeMap::new();
    for c in &plan.changes {
        phases.entry(c.phase()).or_default().push(c);
    }
    reporter.start("applying", plan.changes.len() as u64);
    for (_, changes) in phases {
        let mut runnable = Vec::new();
        for c in changes {
            match c.depends_on().iter().find(|d| bad.contains(d)) {
                Some(dep) => {
                    outcome.skipped.push((c.addr(), dep.clone()));
                    bad.insert(c.addr());
                    reporter.advance(1);
                }
                None => runnable.push(c),
            }
        }
        // One bucket's changes of a phase (its tags, ownership, lifecycle, versioning) run one
        // after another: S3 answers concurrent writes to one bucket's sub-resources with
        // `OperationAborted` (AWS-NOTES, control-plane faults). Buckets run concurrently.
        let mut by_target: BTreeMap<Option<(AccountId, BucketName)>, Vec<&AnyChange>> =
            BTreeMap::new();
        let mut unbucketed = Vec::new();
        for c in runnable {
            let addr = c.addr();
            match addr.bucket() {
                Some(b) => by_target
                    .entry(Some((addr.account().clone(), b.clone())))
                    .or_default()
                    .push(c),
                None => unbucketed.push(vec![c]),
            }
        }
        let groups: Vec<Vec<&AnyChange>> = by_target.into_values().chain(unbucketed).collect();
        let done = &applied_here;
        let results: Vec<Vec<Ran>> = stream::iter(groups)
            .map(|group| async move {
                let mut out = Vec::with_capacity(group.len());
                for c in group {
                    if stop.load(Ordering::SeqCst) {
                        reporter.advance(1);
                        out.push((c.addr(), None));
                        continue;
                    }
                    // A dependency made in this run (a new role, new versioning) may not have
                    // propagated yet: only then are propagation errors retried.
                    let fresh = c.depends_on().iter().any(|d| done.contains(d));
                    let r = crate::kinds::apply(c, sessions, fresh).await;
                    reporter.advance(1);
                    out.push((c.addr(), Some(r)));
                }
                out
            })
            .buffer_unordered(concurrency)
            .collect()
            .await;
        let results = results.into_iter().flatten();
        for (addr, r) in results {
            match r {
                Some(Ok(())) => {
                    applied_here.insert(addr.clone());
                    outcome.applied.push(addr);
                }
                Some(Err(e)) => {
                    bad.insert(addr.clone());
                    outcome.failed.push((addr, e));
                }
                None => {
                    bad.insert(addr.clone());
                    outcome.interrupted.push(addr);
                }
            }
        }
    }
    reporter.finish();
    outcome.applied.sort();
    outcome.failed.sort_by(|a, b| a.0.cmp(&b.0));
    outcome.skipped.sort();
    outcome.interrupted.sort();
    outcome
}
