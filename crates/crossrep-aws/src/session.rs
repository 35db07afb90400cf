//! One place builds every AWS client: a [`Session`] per configured account, with credentials
//! from the default chain or an assumed role, and S3 clients per region built once and reused.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant, SystemTime};

use aws_config::{BehaviorVersion, SdkConfig};
use aws_credential_types::provider::{self, ProvideCredentials, SharedCredentialsProvider};
use aws_credential_types::Credentials;
use aws_smithy_http_client::tls::{self, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::http::SharedHttpClient;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use crossrep_core::config::{Account, Config};
use crossrep_core::names::{AccountId, Region};

use crate::error::{call_error, AwsError, CallError};
use crate::limits::{Limits, Service};

/// Clients for one account.
pub struct Session {
    pub name: String,
    pub id: AccountId,
    pub home: Region,
    sdk: SdkConfig,
    /// This account's credentials as the source of the `AssumeRole`s of the accounts reached
    /// through it (`[organization]` members), cached: see [`CachedCredentials`].
    chain_source: SharedCredentialsProvider,
    path_style: bool,
    /// The run's HTTP client, and the in-flight limits every client of this session keeps to.
    http: SharedHttpClient,
    limits: Arc<Limits>,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    s3: Mutex<HashMap<Region, aws_sdk_s3::Client>>,
    s3control: Mutex<HashMap<Region, aws_sdk_s3control::Client>>,
    kms: Mutex<HashMap<Region, aws_sdk_kms::Client>>,
    sqs: Mutex<HashMap<Region, aws_sdk_sqs::Client>>,
    sns: Mutex<HashMap<Region, aws_sdk_sns::Client>>,
    cloudwatch: Mutex<HashMap<Region, aws_sdk_cloudwatch::Client>>,
    account: OnceLock<aws_sdk_account::Client>,
    service_quotas: OnceLock<aws_sdk_servicequotas::Client>,
    /// The caller's ARN as `GetCallerIdentity` named it when the identity was checked.
    caller: OnceLock<String>,
}

/// Retries have one owner: the SDK, for throttling, 5xx and transient network errors, with
/// exponential backoff and jitter (standard mode). Five attempts: with 10 % of requests failing
/// at random, one call in 100,000 still fails, not one in 1,000 as with the default three.
/// crossrep's own retries are only for AWS eventual consistency (`kinds::with_consistency_retry`).
pub const MAX_ATTEMPTS: u32 = 5;

fn retry_config() -> aws_config::retry::RetryConfig {
    aws_config::retry::RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS)
}

impl Session {
    /// `via`: the session whose credentials assume `account.role_arn` (a member account of
    /// `[organization]`, through the listing account); otherwise the base credentials.
    pub async fn new(
        account: &Account,
        http: SharedHttpClient,
        limits: Arc<Limits>,
        via: Option<&Session>,
    ) -> Result<Session, AwsError> {
        let base = match via {
            Some(v) => v
                .sdk
                .clone()
                .into_builder()
                .credentials_provider(v.chain_source.clone())
                .region(aws_config::Region::new(account.region.to_string()))
                .build(),
            None => {
                let mut loader = aws_config::defaults(BehaviorVersion::latest())
                    .http_client(http.clone())
                    .retry_config(retry_config())
                    .region(aws_config::Region::new(account.region.to_string()));
                if let Some(profile) = &account.profile {
                    loader = loader.profile_name(profile);
                }
                if let Some(url) = &account.endpoint_url {
                    loader = loader.endpoint_url(url);
                }
                loader.load().await
            }
        };
        let sdk = match &account.role_arn {
            None => base,
            Some(arn) => {
                let mut builder = aws_config::sts::AssumeRoleProvider::builder(arn)
                    .session_name("crossrep")
                    .region(aws_config::Region::new(account.region.to_string()));
                if let Some(ext) = &account.external_id {
                    builder = builder.external_id(ext);
                }
                let provider = builder.configure(&base).build().await;
                base.into_builder()
                    .credentials_provider(SharedCredentialsProvider::new(provider))
                    .build()
            }
        };
        let Some(credentials) = sdk.credentials_provider() else {
            return Err(AwsError::Setup {
                name: account.name.clone(),
                message: "no credentials provider could be configured".into(),
            });
        };
        let chain_source = SharedCredentialsProvider::new(CachedCredentials::new(credentials));
        // Every client of the session resolves credentials through that one cache: the SDK's
        // identity cache is per client, so each client (S3, IAM, STS, SQS, SNS, CloudWatch)
        // assumed the account's role once more (measured at 10,000 pairs: 5.1 `AssumeRole`s per
        // member account and run; BENCHMARKS, "Organizations").
        let sdk = sdk
            .into_builder()
            .credentials_provider(chain_source.clone())
            .build();
        Ok(Session {
            name: account.name.clone(),
            id: account.id.clone(),
            home: account.region.clone(),
            iam: aws_sdk_iam::Client::from_conf(
                aws_sdk_iam::config::Builder::from(&sdk)
                    .http_client(limits.client(
                        http.clone(),
                        &account.id,
                        Service::Iam,
                        &account.region,
                    ))
                    .interceptor(CallLog::new(&account.id, &account.region))
                    .build(),
            ),
            sts: aws_sdk_sts::Client::from_conf(
                aws_sdk_sts::config::Builder::from(&sdk)
                    .http_client(limits.client(
                        http.clone(),
                        &account.id,
                        Service::Sts,
                        &account.region,
                    ))
                    .interceptor(CallLog::new(&account.id, &account.region))
                    .build(),
            ),
            path_style: account.endpoint_url.is_some(),
            sdk,
            chain_source,
            http,
            limits,
            s3: Mutex::new(HashMap::new()),
            s3control: Mutex::new(HashMap::new()),
            kms: Mutex::new(HashMap::new()),
            sqs: Mutex::new(HashMap::new()),
            sns: Mutex::new(HashMap::new()),
            cloudwatch: Mutex::new(HashMap::new()),
            account: OnceLock::new(),
            service_quotas: OnceLock::new(),
            caller: OnceLock::new(),
        })
    }

    /// The run's HTTP client, keeping to this account's in-flight limit for `service` in
    /// `region` ([`Limits`]).
    fn limited(&self, service: Service, region: &Region) -> SharedHttpClient {
        self.limits
            .client(self.http.clone(), &self.id, service, region)
    }

    /// The S3 client for `region`, built on first use. Requests about a bucket go to its own
    /// region: `CreateBucket` must match the endpoint's region, and S3 redirects others.
    pub fn s3(&self, region: &Region) -> aws_sdk_s3::Client {
        let mut cache = self.s3.lock().expect("s3 client cache poisoned");
        cache
            .entry(region.clone())
            .or_insert_with(|| {
                let conf = aws_sdk_s3::config::Builder::from(&self.sdk)
                    .http_client(self.limited(Service::S3, region))
                    .region(aws_sdk_s3::config::Region::new(region.to_string()))
                    // An emulator or S3-compatible endpoint serves buckets by path.
                    .force_path_style(self.path_style)
                    .interceptor(CallLog::new(&self.id, region))
                    .build();
                aws_sdk_s3::Client::from_conf(conf)
            })
            .clone()
    }

    /// The S3 Control client for `region` (Batch Operations jobs live in the source bucket's
    /// region), built on first use.
    pub fn s3control(&self, region: &Region) -> aws_sdk_s3control::Client {
        let mut cache = self
            .s3control
            .lock()
            .expect("s3control client cache poisoned");
        cache
            .entry(region.clone())
            .or_insert_with(|| {
                let mut conf = aws_sdk_s3control::config::Builder::from(&self.sdk)
                    .http_client(self.limited(Service::S3Control, region))
                    .region(aws_sdk_s3control::config::Region::new(region.to_string()))
                    .interceptor(CallLog::new(&self.id, region));
                // With an endpoint override the endpoint rules give `{AccountId}.{host}`, which
                // does not resolve; keep the configured host (AWS-NOTES, "S3 Control endpoint").
                if self.path_style {
                    conf = conf.endpoint_resolver(KeepHost(
                        aws_sdk_s3control::config::endpoint::DefaultResolver::new(),
                    ));
                }
                aws_sdk_s3control::Client::from_conf(conf.build())
            })
            .clone()
    }

    /// The KMS client for `region` (a replica key lives in its destination's region), built on
    /// first use.
    pub fn kms(&self, region: &Region) -> aws_sdk_kms::Client {
        let mut cache = self.kms.lock().expect("kms client cache poisoned");
        cache
            .entry(region.clone())
            .or_insert_with(|| {
                let conf = aws_sdk_kms::config::Builder::from(&self.sdk)
                    .http_client(self.limited(Service::Kms, region))
                    .region(aws_sdk_kms::config::Region::new(region.to_string()))
                    .interceptor(CallLog::new(&self.id, region))
                    .build();
                aws_sdk_kms::Client::from_conf(conf)
            })
            .clone()
    }

    /// The SQS client for `region` (alert queues live in their sources' regions).
    pub fn sqs(&self, region: &Region) -> aws_sdk_sqs::Client {
        let mut cache = self.sqs.lock().expect("sqs client cache poisoned");
        cache
            .entry(region.clone())
            .or_insert_with(|| {
                let conf = aws_sdk_sqs::config::Builder::from(&self.sdk)
                    .http_client(self.limited(Service::Sqs, region))
                    .region(aws_sdk_sqs::config::Region::new(region.to_string()))
                    .interceptor(CallLog::new(&self.id, region))
                    .build();
                aws_sdk_sqs::Client::from_conf(conf)
            })
            .clone()
    }

    /// The SNS client for `region`.
    pub fn sns(&self, region: &Region) -> aws_sdk_sns::Client {
        let mut cache = self.sns.lock().expect("sns client cache poisoned");
        cache
            .entry(region.clone())
            .or_insert_with(|| {
                let conf = aws_sdk_sns::config::Builder::from(&self.sdk)
                    .http_client(self.limited(Service::Sns, region))
                    .region(aws_sdk_sns::config::Region::new(region.to_string()))
                    .interceptor(CallLog::new(&self.id, region))
                    .build();
                aws_sdk_sns::Client::from_conf(conf)
            })
            .clone()
    }

    /// The CloudWatch client for `region`.
    pub fn cloudwatch(&self, region: &Region) -> aws_sdk_cloudwatch::Client {
        let mut cache = self
            .cloudwatch
            .lock()
            .expect("cloudwatch client cache poisoned");
        cache
            .entry(region.clone())
            .or_insert_with(|| {
                let conf = aws_sdk_cloudwatch::config::Builder::from(&self.sdk)
                    .http_client(self.limited(Service::CloudWatch, region))
                    .region(aws_sdk_cloudwatch::config::Region::new(region.to_string()))
                    .interceptor(CallLog::new(&self.id, region))
                    .build();
                aws_sdk_cloudwatch::Client::from_conf(conf)
            })
            .clone()
    }

    /// The Organizations client (a global service, reached in the account's home region).
    pub fn organizations(&self) -> aws_sdk_organizations::Client {
        aws_sdk_organizations::Client::from_conf(
            aws_sdk_organizations::config::Builder::from(&self.sdk)
                .http_client(self.limited(Service::Organizations, &self.home))
                .interceptor(CallLog::new(&self.id, &self.home))
                .build(),
        )
    }

    /// The Account Management client (a global service: region opt-in status, SPEC §12),
    /// built on first use.
    pub fn account(&self) -> aws_sdk_account::Client {
        self.account
            .get_or_init(|| {
                aws_sdk_account::Client::from_conf(
                    aws_sdk_account::config::Builder::from(&self.sdk)
                        .http_client(self.limited(Service::Account, &self.home))
                        .interceptor(CallLog::new(&self.id, &self.home))
                        .build(),
                )
            })
            .clone()
    }

    /// The Service Quotas client for the general purpose bucket quota, built on first use: in
    /// us-east-1 ("General purpose bucket quotas for commercial Regions can only be viewed and
    /// managed from US East (N. Virginia)", S3 User Guide; elsewhere `NoSuchResourceException`,
    /// which would read as "no quota applied"); in GovCloud and China, the home region.
    pub fn service_quotas(&self) -> aws_sdk_servicequotas::Client {
        self.service_quotas
            .get_or_init(|| {
                let region = if crossrep_core::desired::partition(&self.home) == "aws" {
                    Region::new("us-east-1").expect("a valid region")
                } else {
                    self.home.clone()
                };
                aws_sdk_servicequotas::Client::from_conf(
                    aws_sdk_servicequotas::config::Builder::from(&self.sdk)
                        .region(aws_sdk_servicequotas::config::Region::new(
                            region.to_string(),
                        ))
                        .http_client(self.limited(Service::ServiceQuotas, &region))
                        .interceptor(CallLog::new(&self.id, &region))
                        .build(),
                )
            })
            .clone()
    }

    /// The caller's ARN as `GetCallerIdentity` names it: the one the identity check read, or
    /// read now.
    pub async fn caller_arn(&self) -> Result<String, CallError> {
        if let Some(arn) = self.caller.get() {
            return Ok(arn.clone());
        }
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| call_error(e, self.id.as_str(), "sts:GetCallerIdentity", "caller"))?;
        let arn = out.arn().unwrap_or_default().to_string();
        Ok(self.caller.get_or_init(|| arn).clone())
    }

    /// STS GetCallerIdentity must name the configured account before anything else happens.
    pub async fn verify_identity(&self) -> Result<(), AwsError> {
        let out = self
            .sts
            .get_caller_identity()
            .send()
            .await
            .map_err(|e| call_error(e, self.id.as_str(), "sts:GetCallerIdentity", "caller"))?;
        let actual = out.account().unwrap_or_default();
        if actual != self.id.as_str() {
            return Err(AwsError::WrongAccount {
                name: self.name.clone(),
                expected: self.id.to_string(),
                actual: actual.to_string(),
                arn: out.arn().unwrap_or_default().to_string(),
            });
        }
        let _ = self.caller.set(out.arn().unwrap_or_default().to_string());
        Ok(())
    }
}

/// Credentials fetched once and reused until less than [`CachedCredentials::REFRESH`] is left
/// before they expire (for the run when they do not expire); an error is not kept, the next
/// call asks again.
///
/// Why: a member account's session is an `AssumeRoleProvider` whose source credentials are the
/// listing account's `AssumeRoleProvider`, and `AssumeRoleProvider::build` gives the STS client
/// it calls with no identity cache (aws-config 1.13: `IdentityCache::no_cache()`), so every
/// member's `AssumeRole` first assumed the listing role again. Measured on the emulator,
/// `plan` over an organization of M members assumed the listing role 2 + M times (3 members:
/// 5, 6 members: 8; 100 members ~200 STS calls instead of ~100), and once more at each member
/// refresh; with this cache, 3 times whatever M (test
/// `organizations::members_do_not_assume_the_listing_role_again`). Each session's clients also
/// resolve their credentials through it (the SDK's identity cache is per client: each client
/// assumed the role once more, about 5 `AssumeRole`s per account and run): 2 times.
///
/// Five minutes: a member's `AssumeRole` is never signed with source credentials about to
/// expire (AWS sessions last 15 minutes at least). The lock is held while fetching, so the
/// members set up concurrently share one `AssumeRole` of the listing role. Credentials that
/// live less than five minutes (the emulator's lifetime knob in `credentials.rs`) are fetched
/// for every use, as before.
#[derive(Debug)]
struct CachedCredentials {
    inner: SharedCredentialsProvider,
    cached: tokio::sync::Mutex<Option<Credentials>>,
}

impl CachedCredentials {
    const REFRESH: Duration = Duration::from_secs(5 * 60);

    fn new(inner: SharedCredentialsProvider) -> CachedCredentials {
        CachedCredentials {
            inner,
            cached: tokio::sync::Mutex::new(None),
        }
    }

    async fn credentials(&self) -> provider::Result {
        let mut cached = self.cached.lock().await;
        if let Some(c) = cached.as_ref() {
            let fresh = c.expiry().is_none_or(|expiry| {
                expiry
                    .duration_since(SystemTime::now())
                    .is_ok_and(|left| left >= Self::REFRESH)
            });
            if fresh {
                return Ok(c.clone());
            }
        }
        let c = self.inner.provide_credentials().await?;
        *cached = Some(c.clone());
        Ok(c)
    }
}

impl ProvideCredentials for CachedCredentials {
    fn provide_credentials<'a>(&'a self) -> provider::future::ProvideCredentials<'a>
    where
        Self: 'a,
    {
        provider::future::ProvideCredentials::new(self.credentials())
    }
}

/// Logs every AWS call of one client at info level (`crossrep -v`, target `crossrep_aws`):
/// operation, account, region, target (the bucket, key or job, read from the request's URL,
/// so nothing for IAM and STS, whose parameters are in the body), outcome (`ok` or `error`,
/// with the error `code` and HTTP `status` of the answer, or the `error` when there was none)
/// and duration (`ms`), retries included. Installed on every
/// client [`Session`] builds, so no call can be missed; costs nothing when info is off.
#[derive(Debug)]
struct CallLog {
    account: String,
    region: String,
}

impl CallLog {
    fn new(account: &AccountId, region: &Region) -> CallLog {
        CallLog {
            account: account.to_string(),
            region: region.to_string(),
        }
    }
}

/// When a call started, kept in its config bag between the hooks.
#[derive(Debug, Clone)]
struct CallStarted(Instant);

impl Storable for CallStarted {
    type Storer = StoreReplace<Self>;
}

/// What the call is about, from the URL of its (latest) request.
#[derive(Debug, Clone)]
struct CallTarget(String);

impl Storable for CallTarget {
    type Storer = StoreReplace<Self>;
}

impl Intercept for CallLog {
    fn name(&self) -> &'static str {
        "CallLog"
    }

    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if tracing::enabled!(tracing::Level::INFO) {
            cfg.interceptor_state()
                .store_put(CallStarted(Instant::now()));
        }
        Ok(())
    }

    fn read_before_transmit(
        &self,
        context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if cfg.load::<CallStarted>().is_some() {
            if let Some(target) = url_target(context.request().uri()) {
                cfg.interceptor_state().store_put(CallTarget(target));
            }
        }
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(CallStarted(started)) = cfg.load::<CallStarted>() else {
            return Ok(());
        };
        let ms = started.elapsed().as_millis();
        let operation = cfg
            .load::<Metadata>()
            .map(|m| format!("{}.{}", m.service(), m.name()))
            .unwrap_or_else(|| "?".into());
        let target = cfg.load::<CallTarget>().map(|t| t.0.as_str());
        let (mut code, mut status, mut failure) = (None, None, None);
        let outcome = match context.output_or_error() {
            None | Some(Ok(_)) => "ok",
            Some(Err(e)) => {
                match context.response() {
                    Some(response) => {
                        status = Some(response.status().as_u16());
                        code = response.body().bytes().and_then(error_code);
                    }
                    // No answer at all: a connection, timeout or credentials failure.
                    None => failure = Some(e.to_string()),
                }
                "error"
            }
        };
        tracing::info!(
            account = %self.account,
            region = %self.region,
            target = target.map(tracing::field::display),
            outcome = %outcome,
            code = code.as_deref().map(tracing::field::display),
            status,
            error = failure.as_deref().map(tracing::field::display),
            ms,
            "{operation}"
        );
        Ok(())
    }
}

/// The bucket and key (S3) or job (S3 Control) in a request URL: the path, plus the bucket of
/// a virtual-hosted S3 host (`bucket.s3.us-east-1.amazonaws.com`). `None` for `/`.
fn url_target(uri: &str) -> Option<String> {
    let rest = uri.split_once("://").map_or(uri, |(_, rest)| rest);
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let path = path.split('?').next().unwrap_or_default();
    // S3 Control paths all start with the API version.
    let path = path.strip_prefix("v20180820/").unwrap_or(path);
    let path = path.trim_end_matches('/');
    let target = match host.split_once(".s3.") {
        Some((bucket, _)) if path.is_empty() => bucket.to_string(),
        Some((bucket, _)) => format!("{bucket}/{path}"),
        None => path.to_string(),
    };
    (!target.is_empty()).then_some(target)
}

/// The `<Code>` of an XML error answer (S3, S3 Control, IAM and STS all answer in XML).
fn error_code(body: &[u8]) -> Option<String> {
    let text = std::str::from_utf8(body).ok()?;
    let start = text.find("<Code>")? + "<Code>".len();
    let len = text[start..].find("</Code>")?;
    Some(text[start..start + len].to_string())
}

/// The default S3 Control endpoint resolver minus the `{AccountId}.` host prefix.
#[derive(Debug)]
struct KeepHost(aws_sdk_s3control::config::endpoint::DefaultResolver);

impl aws_sdk_s3control::config::endpoint::ResolveEndpoint for KeepHost {
    fn resolve_endpoint<'a>(
        &'a self,
        params: &'a aws_sdk_s3control::config::endpoint::Params,
    ) -> aws_sdk_s3control::config::endpoint::EndpointFuture<'a> {
        let inner = self.0.resolve_endpoint(params);
        let account = params.account_id().map(str::to_string);
        aws_sdk_s3control::config::endpoint::EndpointFuture::new(async move {
            let endpoint = inner.await?;
            let Some(account) = account else {
                return Ok(endpoint);
            };
            let url = endpoint.url().replacen(&format!("://{account}."), "://", 1);
            Ok(endpoint.into_builder().url(url).build())
        })
    }
}

/// The account a named profile's credentials act in (for `crossrep init`).
pub async fn profile_account(profile: &str) -> Result<String, AwsError> {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
        .build_https();
    let sdk = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http)
        .profile_name(profile)
        .load()
        .await;
    let region = sdk.region().map(ToString::to_string).unwrap_or_default();
    let sts = aws_sdk_sts::config::Builder::from(&sdk)
        .interceptor(CallLog {
            account: format!("of profile `{profile}`"),
            region,
        })
        .build();
    let out = aws_sdk_sts::Client::from_conf(sts)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            call_error(
                e,
                &format!("of profile `{profile}`"),
                "sts:GetCallerIdentity",
                "caller",
            )
        })?;
    Ok(out.account().unwrap_or_default().to_string())
}

/// Every configured account's session, by account id.
pub struct Sessions {
    by_id: BTreeMap<AccountId, Arc<Session>>,
}

impl Sessions {
    /// Builds one session per configured account (the first `[accounts.*]` entry wins when two
    /// name the same id), sharing one HTTP client and its connection pool.
    pub async fn new(config: &Config) -> Result<Sessions, AwsError> {
        let http = aws_smithy_http_client::Builder::new()
            .tls_provider(tls::Provider::Rustls(CryptoMode::Ring))
            .build_https();
        let limits = Arc::new(Limits::default());
        let mut by_id: BTreeMap<AccountId, Arc<Session>> = BTreeMap::new();
        let mut by_name: BTreeMap<&str, Arc<Session>> = BTreeMap::new();
        // Accounts reached through another come after it.
        let (direct, through): (Vec<&Account>, Vec<&Account>) =
            config.accounts.values().partition(|a| a.via.is_none());
        for account in direct.into_iter().chain(through) {
            if let Some(s) = by_id.get(&account.id) {
                by_name.insert(&account.name, s.clone());
                continue;
            }
            let via = account.via.as_deref().and_then(|v| by_name.get(v)).cloned();
            let s = Arc::new(
                Session::new(account, http.clone(), limits.clone(), via.as_deref()).await?,
            );
            by_name.insert(&account.name, s.clone());
            by_id.insert(account.id.clone(), s);
        }
        Ok(Sessions { by_id })
    }

    pub fn get(&self, id: &AccountId) -> &Arc<Session> {
        self.by_id
            .get(id)
            .unwrap_or_else(|| panic!("account {id} has no session; it comes from the config"))
    }

    /// Checks the identity of each of `ids`, concurrently; the first mismatch is the error.
    pub async fn verify_identities<'a>(
        &self,
        ids: impl IntoIterator<Item = &'a AccountId>,
    ) -> Result<(), AwsError> {
        let ids: std::collections::BTreeSet<&AccountId> = ids.into_iter().collect();
        let checks = ids
            .into_iter()
            .filter_map(|id| self.by_id.get(id))
            .map(|s| s.verify_identity());
        for r in futures::future::join_all(checks).await {
            r?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicU32, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use aws_credential_types::credential_fn::provide_credentials_fn;
    use aws_credential_types::provider::error::CredentialsError;
    use aws_credential_types::provider::{ProvideCredentials, SharedCredentialsProvider};
    use aws_credential_types::Credentials;

    use super::{error_code, url_target, CachedCredentials};

    /// A [`CachedCredentials`] over a provider that counts its calls; the n-th call (from 1)
    /// answers `answer(n)`.
    fn counted(
        answer: impl Fn(u32) -> Result<Option<SystemTime>, ()> + Send + Sync + 'static,
    ) -> (CachedCredentials, Arc<AtomicU32>) {
        let calls = Arc::new(AtomicU32::new(0));
        let (count, answer) = (calls.clone(), Arc::new(answer));
        let inner = provide_credentials_fn(move || {
            let n = count.fetch_add(1, Ordering::SeqCst) + 1;
            let answer = answer.clone();
            async move {
                // Slow enough for concurrent callers to find the fetch under way.
                tokio::time::sleep(Duration::from_millis(20)).await;
                match answer(n) {
                    Ok(expiry) => Ok(Credentials::new(format!("AK{n}"), "s", None, expiry, "t")),
                    Err(()) => Err(CredentialsError::provider_error(format!("call {n} failed"))),
                }
            }
        });
        let cached = CachedCredentials::new(SharedCredentialsProvider::new(inner));
        (cached, calls)
    }

    async fn key(c: &CachedCredentials) -> Result<String, String> {
        c.provide_credentials()
            .await
            .map(|c| c.access_key_id().to_string())
            .map_err(|e| format!("{e:?}"))
    }

    #[tokio::test]
    async fn credentials_are_reused_until_five_minutes_before_they_expire() {
        let in_ = |s: u64| Ok(Some(SystemTime::now() + Duration::from_secs(s)));
        // An hour left: reused.
        let (c, calls) = counted(move |_| in_(3600));
        for _ in 0..3 {
            assert_eq!(key(&c).await.unwrap(), "AK1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // Four minutes left, or already expired: fetched again on every call.
        for left in [240, 0] {
            let (c, calls) = counted(move |_| in_(left));
            for n in 1..=3 {
                assert_eq!(key(&c).await.unwrap(), format!("AK{n}"));
            }
            assert_eq!(calls.load(Ordering::SeqCst), 3);
        }
        // Refreshed once they are due, then the new ones are reused.
        let (c, calls) = counted(move |n| in_(if n == 1 { 240 } else { 3600 }));
        let keys = [key(&c).await, key(&c).await, key(&c).await];
        assert_eq!(keys.map(Result::unwrap), ["AK1", "AK2", "AK2"]);
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn credentials_without_expiry_are_kept_for_the_run() {
        let (c, calls) = counted(|_| Ok(None));
        for _ in 0..5 {
            assert_eq!(key(&c).await.unwrap(), "AK1");
        }
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn an_error_is_not_cached() {
        let (c, calls) = counted(|n| if n == 1 { Err(()) } else { Ok(None) });
        assert!(key(&c).await.unwrap_err().contains("call 1 failed"));
        assert_eq!(key(&c).await.unwrap(), "AK2");
        assert_eq!(key(&c).await.unwrap(), "AK2");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
        // Due for refresh and the refresh fails: the error, then a new fetch.
        let soon = |n| match n {
            2 => Err(()),
            _ => Ok(Some(SystemTime::now() + Duration::from_secs(60))),
        };
        let (c, calls) = counted(soon);
        assert_eq!(key(&c).await.unwrap(), "AK1");
        assert!(key(&c).await.unwrap_err().contains("call 2 failed"));
        assert_eq!(key(&c).await.unwrap(), "AK3");
        assert_eq!(calls.load(Ordering::SeqCst), 3);
    }

    #[tokio::test(flavor = "multi_thread")]
    async fn concurrent_callers_share_one_fetch() {
        let (c, calls) = counted(|_| Ok(Some(SystemTime::now() + Duration::from_secs(3600))));
        let keys = futures::future::join_all((0..20).map(|_| key(&c))).await;
        assert!(keys.iter().all(|k| k.as_deref() == Ok("AK1")), "{keys:?}");
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn call_targets_come_from_the_url() {
        assert_eq!(
            url_target("http://127.0.0.1:4566/data/some/key.txt?versionId=1"),
            Some("data/some/key.txt".into())
        );
        assert_eq!(
            url_target("https://data.s3.eu-west-1.amazonaws.com/?replication"),
            Some("data".into())
        );
        assert_eq!(
            url_target("https://data.s3.eu-west-1.amazonaws.com/k"),
            Some("data/k".into())
        );
        assert_eq!(
            url_target(
                "https://111111111111.s3-control.eu-west-1.amazonaws.com/v20180820/jobs/abc"
            ),
            Some("jobs/abc".into())
        );
        assert_eq!(url_target("https://iam.amazonaws.com/"), None);
    }

    #[test]
    fn error_codes_come_from_the_xml_answer() {
        assert_eq!(
            error_code(b"<Error><Code>NoSuchBucket</Code><Message>m</Message></Error>"),
            Some("NoSuchBucket".into())
        );
        assert_eq!(error_code(b""), None);
    }
}
