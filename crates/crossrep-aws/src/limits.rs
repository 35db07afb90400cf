//! How many requests crossrep has in flight at once to one AWS service of one account (and
//! region, for regional services). AWS's request quotas are per account (and region): IAM's,
//! STS's, the S3 control plane's, S3 Control's, KMS's, and CloudWatch's `PutMetricAlarm` at a
//! few per second. `--concurrency` bounds the buckets worked on at once; a bucket's reads go out
//! together, so at estate scale one account could see dozens of requests at once. The limit
//! is applied where every request passes, the HTTP connector of each client, so discovery,
//! apply, backfill and verify all keep to it, and so do the SDK's retries (each attempt waits
//! for a permit; throttling that still happens is the SDK's to retry, `session::MAX_ATTEMPTS`).
//!
//! IAM writes are staggered by the same means: at most [`Service::Iam`]'s limit of an
//! account's IAM requests are in flight, and an account's role and role policy are written in
//! consecutive phases.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use tokio::sync::Semaphore;

use crossrep_core::names::{AccountId, Region};

/// The services crossrep calls, each with its own in-flight limit per account and region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    S3,
    S3Control,
    Iam,
    Sts,
    Kms,
    Sqs,
    Sns,
    CloudWatch,
    Organizations,
    /// Account Management (region opt-in status), global.
    Account,
    /// Service Quotas (the bucket quota, an account-wide quota read in the home region).
    ServiceQuotas,
}

impl Service {
    /// Requests in flight at once, per account and region. S3's control plane takes the most
    /// (a bucket's reads go out together); IAM, CloudWatch alarms and Organizations have the
    /// lowest quotas (a few requests per second).
    pub const fn limit(self) -> usize {
        match self {
            Service::S3 => 64,
            Service::S3Control => 8,
            Service::Sts | Service::Kms | Service::Sqs | Service::Sns => 8,
            Service::Iam | Service::CloudWatch | Service::Organizations => 2,
            Service::Account | Service::ServiceQuotas => 2,
        }
    }

    /// IAM and Organizations are global: one limit per account, whatever the region.
    fn global(self) -> bool {
        matches!(
            self,
            Service::Iam | Service::Organizations | Service::Account | Service::ServiceQuotas
        )
    }
}

/// Whose permits: an account's, for a service, in a region (`None` for a global service).
type Holder = (AccountId, Service, Option<Region>);

/// The permits of every (account, service, region), shared by all sessions of a run.
#[derive(Default)]
pub struct Limits {
    permits: Mutex<HashMap<Holder, Arc<Semaphore>>>,
}

impl Limits {
    /// `inner`, with at most `service.limit()` requests of `account` in `region` in flight.
    pub fn client(
        &self,
        inner: SharedHttpClient,
        account: &AccountId,
        service: Service,
        region: &Region,
    ) -> SharedHttpClient {
        let permits = self.permits(account, service, region);
        SharedHttpClient::new(Limited { inner, permits })
    }

    fn permits(&self, account: &AccountId, service: Service, region: &Region) -> Arc<Semaphore> {
        let key = (
            account.clone(),
            service,
            (!service.global()).then(|| region.clone()),
        );
        self.permits
            .lock()
            .expect("not poisoned")
            .entry(key)
            .or_insert_with(|| Arc::new(Semaphore::new(service.limit())))
            .clone()
    }
}

#[derive(Clone)]
struct Limited {
    inner: SharedHttpClient,
    permits: Arc<Semaphore>,
}

impl fmt::Debug for Limited {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Limited")
            .field("available", &self.permits.available_permits())
            .finish()
    }
}

impl HttpClient for Limited {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(LimitedConnector {
            inner: self.inner.http_connector(settings, components),
            permits: self.permits.clone(),
        })
    }
}

#[derive(Debug)]
struct LimitedConnector {
    inner: SharedHttpConnector,
    permits: Arc<Semaphore>,
}

impl HttpConnector for LimitedConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let inner = self.inner.clone();
        let permits = self.permits.clone();
        HttpConnectorFuture::new(async move {
            // The semaphore is never closed: a permit always comes.
            let _permit = permits.acquire_owned().await.expect("never closed");
            inner.call(request).await
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
    use aws_smithy_types::body::SdkBody;

    use super::*;

    /// A connector that counts the requests in flight and remembers the most at once.
    #[derive(Debug, Default)]
    struct Slow {
        now: AtomicUsize,
        most: AtomicUsize,
    }

    #[derive(Debug)]
    struct SlowConnector(Arc<Slow>);

    impl HttpConnector for SlowConnector {
        fn call(&self, _: HttpRequest) -> HttpConnectorFuture {
            let me = self.0.clone();
            HttpConnectorFuture::new(async move {
                let n = me.now.fetch_add(1, Ordering::SeqCst) + 1;
                me.most.fetch_max(n, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                me.now.fetch_sub(1, Ordering::SeqCst);
                Ok(HttpResponse::new(200.try_into().unwrap(), SdkBody::empty()))
            })
        }
    }

    #[tokio::test]
    async fn at_most_the_limit_is_in_flight_per_account_and_service() {
        let slow = Arc::new(Slow::default());
        let inner = SharedHttpConnector::new(SlowConnector(slow.clone()));
        let limits = Limits::default();
        let account = AccountId::new("111111111111").unwrap();
        let (east, west) = (
            Region::new("us-east-1").unwrap(),
            Region::new("eu-west-1").unwrap(),
        );
        let connector = |account: &AccountId, service: Service, region: &Region| LimitedConnector {
            inner: inner.clone(),
            permits: limits.permits(account, service, region),
        };
        let run = |connectors: Vec<LimitedConnector>, n: usize| {
            slow.most.store(0, Ordering::SeqCst);
            let calls: Vec<_> = (0..n)
                .map(|i| connectors[i % connectors.len()].call(HttpRequest::empty()))
                .collect();
            async move {
                for r in futures::future::join_all(calls).await {
                    r.unwrap();
                }
            }
        };
        // Two clients of one account's IAM (two sessions, two regions: IAM is global) share
        // the limit.
        run(
            vec![
                connector(&account, Service::Iam, &east),
                connector(&account, Service::Iam, &west),
            ],
            20,
        )
        .await;
        assert_eq!(slow.most.load(Ordering::SeqCst), Service::Iam.limit());
        // Another account has permits of its own, and so has S3 in another region.
        let other = AccountId::new("222222222222").unwrap();
        run(
            vec![
                connector(&account, Service::Iam, &east),
                connector(&other, Service::Iam, &east),
            ],
            20,
        )
        .await;
        assert_eq!(slow.most.load(Ordering::SeqCst), 2 * Service::Iam.limit());
        run(
            vec![
                connector(&account, Service::S3Control, &east),
                connector(&account, Service::S3Control, &west),
            ],
            40,
        )
        .await;
        assert_eq!(
            slow.most.load(Ordering::SeqCst),
            2 * Service::S3Control.limit()
        );
    }
}
