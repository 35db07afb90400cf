//! One module per resource kind (the other half of `crossrep-core/src/kinds/`): how it is
//! read during discovery and written or deleted during execution. [`apply`] is the one
//! dispatch over kinds, exhaustive: a kind added to the core registry does not compile until
//! it is handled here.

use std::future::Future;
use std::time::Duration;

use aws_sdk_s3::error::ProvideErrorMetadata;
use crossrep_core::kinds::AnyChange;
use crossrep_core::observed::Observed;

use crate::error::CallError;
use crate::session::Sessions;

pub mod bucket;
pub mod bucket_encryption;
pub mod bucket_policy;
pub mod bucket_tags;
pub mod lifecycle;
pub mod object_lock;
pub mod ownership_controls;
pub mod replication;
pub mod request_payment;
pub mod role;
pub mod role_policy;
pub mod versioning;

#[cfg(test)]
mod tests;

/// Applies one change of a plan, whatever its kind.
pub(crate) async fn apply(change: &AnyChange, sessions: &Sessions) -> Result<(), CallError> {
    match change {
        AnyChange::Role(c) => role::apply(c, sessions).await,
        AnyChange::RolePolicy(c) => role_policy::apply(c, sessions).await,
        AnyChange::Bucket(c) => bucket::apply(c, sessions).await,
        AnyChange::BucketTags(c) => bucket_tags::apply(c, sessions).await,
        AnyChange::OwnershipControls(c) => ownership_controls::apply(c, sessions).await,
        AnyChange::Lifecycle(c) => lifecycle::apply(c, sessions).await,
        AnyChange::BucketEncryption(c) => bucket_encryption::apply(c, sessions).await,
        AnyChange::RequestPayment(c) => request_payment::apply(c, sessions).await,
        AnyChange::ObjectLock(c) => object_lock::apply(c, sessions).await,
        AnyChange::Versioning(c) => versioning::apply(c, sessions).await,
        AnyChange::BucketPolicy(c) => bucket_policy::apply(c, sessions).await,
        AnyChange::Replication(c) => replication::apply(c, sessions).await,
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

/// Bounded retries for AWS eventual consistency (a new role or versioning not visible yet):
/// only on the errors `retry_if` recognises, with backoff, returning the last real error.
pub(crate) async fn with_consistency_retry<T, F, Fut>(
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
