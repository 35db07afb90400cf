//! One module per resource kind (the other half of `crossrep-core/src/kinds/`): how it is
//! read during discovery and written or deleted during execution. [`apply`] is the one
//! dispatch over kinds, exhaustive: a kind added to the core registry does not compile until
//! it is handled here.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use crossrep_core::kinds::{AnyChange, KindAddr};
use crossrep_core::observed::Observed;

use crate::error::CallError;
use crate::session::Sessions;

pub(crate) mod alarm;
pub(crate) mod alert_queue;
pub(crate) mod alert_topic;
pub mod bucket;
pub mod bucket_encryption;
pub mod bucket_policy;
pub mod bucket_tags;
pub mod lifecycle;
pub(crate) mod notification;
pub mod object_encryption;
pub mod object_lock;
pub mod ownership_controls;
pub(crate) mod replica_key;
pub mod replication;
pub mod request_payment;
pub mod role;
pub mod role_policy;
pub mod versioning;

#[cfg(test)]
mod tests;

/// Applies one change of a plan, whatever its kind. `fresh`: a change it depends on was made in
/// this run (a new role, new versioning), so AWS eventual consistency may still answer with a
/// propagation error, which is then retried; otherwise such an error is real and fails at once.
pub(crate) async fn apply(
    change: &AnyChange,
    sessions: &Sessions,
    fresh: bool,
) -> Result<(), CallError> {
    match change {
        AnyChange::Role(c) => role::apply(c, sessions).await,
        AnyChange::RolePolicy(c) => role_policy::apply(c, sessions).await,
        AnyChange::Bucket(c) => bucket::apply(c, sessions).await,
        AnyChange::BucketTags(c) => bucket_tags::apply(c, sessions).await,
        AnyChange::OwnershipControls(c) => ownership_controls::apply(c, sessions).await,
        AnyChange::Lifecycle(c) => lifecycle::apply(c, sessions).await,
        AnyChange::BucketEncryption(c) => bucket_encryption::apply(c, sessions).await,
        AnyChange::ObjectEncryption(c) => object_encryption::apply(c, sessions).await,
        AnyChange::RequestPayment(c) => request_payment::apply(c, sessions).await,
        AnyChange::ObjectLock(c) => object_lock::apply(c, sessions).await,
        AnyChange::Versioning(c) => versioning::apply(c, sessions).await,
        AnyChange::BucketPolicy(c) => bucket_policy::apply(c, sessions, fresh).await,
        AnyChange::ReplicaKey(c) => replica_key::apply(c, sessions).await,
        AnyChange::KeyPolicy(c) => replica_key::apply_policy(c, sessions, fresh).await,
        AnyChange::Replication(c) => replication::apply(c, sessions, fresh).await,
        AnyChange::AlertQueue(c) => alert_queue::apply(c, sessions).await,
        AnyChange::AlertTopic(c) => alert_topic::apply(c, sessions).await,
        AnyChange::Alarm(c) => alarm::apply(c, sessions).await,
        AnyChange::Notification(c) => notification::apply(c, sessions, fresh).await,
    }
}

/// A read's result as discovery records it: "not found" (the codes given) is a state,
/// any other failure makes the resource unreadable.
pub(crate) fn observed<T, E: ProvideErrorMetadata>(
    result: Result<T, E>,
    not_found: &[&str],
    error: impl FnOnce(E) -> CallError,
) -> Observed<T> {
    match result {
        Ok(t) => Observed::Present(t),
        Err(e) if e.code().is_some_and(|c| not_found.contains(&c)) => Observed::Absent,
        Err(e) => Observed::Unreadable(error(e).to_read_error()),
    }
}

/// A read that finds the resource or not, as discovery records it (an error: unreadable).
pub(crate) fn optional<T>(result: Result<Option<T>, CallError>) -> Observed<T> {
    match result {
        Ok(Some(t)) => Observed::Present(t),
        Ok(None) => Observed::Absent,
        Err(e) => Observed::Unreadable(e.to_read_error()),
    }
}

/// The precondition of a write of a merged document (AWS-NOTES: bucket-configuration writes
/// have no `If-Match`): what is there now must still be what the plan merged into, else a rule
/// or statement someone added while the plan waited would be overwritten. `now` is a fresh read.
pub(crate) fn unchanged_since_plan<K: crossrep_core::kinds::Kind>(
    now: Observed<K::Spec>,
    c: &crossrep_core::kinds::Change<K>,
    account: &str,
    action: &'static str,
) -> Result<(), CallError> {
    let same = match (&now, &c.before) {
        (Observed::Absent, None) => true,
        (Observed::Present(n), Some(b)) => K::same(n, b),
        (Observed::Unreadable(e), _) => {
            return Err(CallError::invalid(
                account,
                action,
                c.addr.label(),
                format!("could not read it again just before writing: {e}"),
            ))
        }
        _ => false,
    };
    if same {
        Ok(())
    } else {
        Err(CallError::invalid(
            account,
            action,
            c.addr.label(),
            "changed since the plan was made (someone else wrote it meanwhile, perhaps another `crossrep apply` running at the same time): nothing was written; run `crossrep plan` and `crossrep apply` again",
        ))
    }
}

/// For what crossrep never deletes (or, for observed-only kinds, never writes): a plan that
/// asks for it is refused, not followed.
pub(crate) fn never_deleted(account: &str, kind: &'static str, target: &str) -> CallError {
    CallError::invalid(
        account,
        kind,
        target,
        format!("crossrep never deletes or writes a {kind} this way; this plan was not made by crossrep"),
    )
}

/// How long AWS eventual consistency is waited for: IAM propagation is documented in seconds
/// but seen to take a minute or more (terraform-provider-aws waits minutes too).
pub(crate) const PROPAGATION_DEADLINE: Duration = Duration::from_secs(120);

/// Bounded retries for AWS eventual consistency (a role or versioning made in this run not
/// visible yet): only when `fresh`, only on the errors `retry_if` recognises, with jittered
/// backoff up to [`PROPAGATION_DEADLINE`], returning the last real error. A propagation error
/// on something this run did not create is not propagation: it fails at once.
pub(crate) async fn with_consistency_retry<T, F, Fut>(
    retry_if: impl Fn(&CallError) -> bool,
    fresh: bool,
    call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    retry_until(retry_if, fresh, call).await
}

/// A write that only `OperationAborted` (a concurrent write to the same bucket) is retried for.
pub(crate) async fn retry_aborted<T, F, Fut>(call: F) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    retry_until(|_| false, false, call).await
}

async fn retry_until<T, F, Fut>(
    retry_if: impl Fn(&CallError) -> bool,
    fresh: bool,
    mut call: F,
) -> Result<T, CallError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    // tokio's clock: the deadline follows the same time as the sleeps (and paused tests).
    let start = tokio::time::Instant::now();
    let mut delay = Duration::from_millis(250);
    let mut attempt = 1u32;
    loop {
        match call().await {
            Err(e)
                if (is_operation_aborted(&e) || (fresh && retry_if(&e)))
                    && start.elapsed() + delay < PROPAGATION_DEADLINE =>
            {
                tracing::debug!(attempt, error = %e, "retrying after eventual-consistency error");
                tokio::time::sleep(jittered(delay)).await;
                delay = (delay * 2).min(Duration::from_secs(8));
                attempt += 1;
            }
            other => return other,
        }
    }
}

/// S3's 409 "A conflicting conditional operation is currently in progress": another write to
/// the same bucket's sub-resources; the SDK does not retry it (AWS-NOTES), the tool does.
pub(crate) fn is_operation_aborted(e: &CallError) -> bool {
    e.code() == Some("OperationAborted")
}

/// `d` scaled by a factor in [0.5, 1.0) (equal jitter), so concurrent retries spread out.
fn jittered(d: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|t| t.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.5 + f64::from(nanos % 1000) / 2000.0;
    d.mul_f64(factor)
}

#[cfg(test)]
mod retry_tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    fn propagating() -> CallError {
        CallError::invalid(
            "111111111111",
            "s3:PutBucketPolicy",
            "b",
            "Invalid principal",
        )
    }

    #[tokio::test(start_paused = true)]
    async fn fresh_propagation_errors_are_retried_until_they_clear() {
        let calls = AtomicU32::new(0);
        let got = with_consistency_retry(
            |_| true,
            true,
            || async {
                if calls.fetch_add(1, Ordering::SeqCst) < 5 {
                    Err(propagating())
                } else {
                    Ok(())
                }
            },
        )
        .await;
        assert!(got.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 6);
    }

    #[tokio::test(start_paused = true)]
    async fn a_propagation_error_on_something_not_made_in_this_run_fails_at_once() {
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = with_consistency_retry(
            |_| true,
            false,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(propagating())
            },
        )
        .await;
        assert!(got.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn operation_aborted_is_retried_whatever_made_the_bucket() {
        let calls = AtomicU32::new(0);
        let got = retry_aborted(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(CallError {
                    code: Some("OperationAborted".into()),
                    ..propagating()
                })
            } else {
                Ok(())
            }
        })
        .await;
        assert!(got.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 3);
        // Anything else is not retried by it.
        let calls = AtomicU32::new(0);
        let got: Result<(), _> = retry_aborted(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(propagating())
        })
        .await;
        assert!(got.is_err());
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn retries_stop_at_the_deadline_with_the_last_error() {
        let calls = AtomicU32::new(0);
        let start = tokio::time::Instant::now();
        let got: Result<(), _> = with_consistency_retry(
            |_| true,
            true,
            || async {
                calls.fetch_add(1, Ordering::SeqCst);
                Err(propagating())
            },
        )
        .await;
        assert!(got.is_err());
        assert!(
            start.elapsed() <= PROPAGATION_DEADLINE,
            "{:?}",
            start.elapsed()
        );
        assert!(
            calls.load(Ordering::SeqCst) > 10,
            "{}",
            calls.load(Ordering::SeqCst)
        );
    }
}
