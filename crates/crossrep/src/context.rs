//! What the commands share: load the config, build sessions, check identities, discover,
//! and plan.

use std::collections::BTreeSet;

use anyhow::Context as _;
use crossrep_aws::{discover, Sessions};
use crossrep_core::config::Config;
use crossrep_core::desired::{desired, DesiredState};
use crossrep_core::kinds::BucketAddr;
use crossrep_core::model::ActualState;
use crossrep_core::names::AccountId;
use crossrep_core::organization::Skipped;
use crossrep_core::plan::{plan, Address, Plan};

use crate::printer::Printer;
use crate::progress::Bars;
use crate::Global;

pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) sessions: Sessions,
    pub(crate) concurrency: usize,
    pub(crate) bars: Bars,
    pub(crate) printer: Printer,
    /// `--full`: every change of a large plan.
    pub(crate) full: bool,
    /// `[organization]`: the member accounts that are sources, and those that are not (SPEC
    /// §11).
    pub(crate) selected: Vec<AccountId>,
    pub(crate) skipped: Vec<Skipped>,
    /// Member accounts whose buckets could not be listed (found during discovery).
    pub(crate) unlisted: std::sync::Mutex<Vec<Skipped>>,
    /// What the last discovery sampled of the sources' objects, for [`Context::remember_samples`].
    samples: std::sync::Mutex<Option<discover::Samples>>,
}

impl Context {
    pub(crate) async fn load(global: &Global) -> anyhow::Result<Context> {
        // Config errors carry file, line, column and key already.
        let config = Config::load(&global.config)?;
        let (config, selected, skipped) = match &config.organization {
            None => (config, Vec::new(), Vec::new()),
            Some(_) => resolve_organization(config).await?,
        };
        let sessions = Sessions::new(&config).await?;
        let concurrency = global.concurrency.unwrap_or(config.settings.concurrency);
        let mut ctx = Context {
            config,
            sessions,
            concurrency,
            bars: Bars::new(global.progress),
            printer: global.printer,
            full: global.full,
            selected,
            skipped,
            unlisted: std::sync::Mutex::new(Vec::new()),
            samples: std::sync::Mutex::new(None),
        };
        ctx.isolate_unreachable_members().await;
        Ok(ctx)
    }

    /// A member account whose role cannot be assumed (or that is not who it should be) is
    /// skipped and named; the others go on (SPEC §11).
    async fn isolate_unreachable_members(&mut self) {
        let members: Vec<(AccountId, String)> = self
            .config
            .accounts
            .values()
            .filter(|a| a.via.is_some())
            .map(|a| (a.id.clone(), a.name.clone()))
            .collect();
        let checks = members
            .iter()
            .map(|(id, _)| async { (id.clone(), self.sessions.get(id).verify_identity().await) });
        for (id, result) in futures::future::join_all(checks).await {
            let Err(e) = result else {
                continue;
            };
            self.config = crossrep_core::organization::without(&self.config, &id);
            self.selected.retain(|s| s != &id);
            self.skipped.push(Skipped {
                account: id.clone(),
                name: String::new(),
                reason: format!("cannot be reached: {e}"),
                unreachable: true,
            });
        }
        self.skipped.sort();
    }

    /// Identity checks and discovery. Reads only.
    pub(crate) async fn discover(&self) -> anyhow::Result<(DesiredState, ActualState)> {
        // Member accounts were checked when they were isolated (those that failed are gone).
        self.sessions
            .verify_identities(
                self.config
                    .accounts
                    .values()
                    .filter(|a| a.via.is_none())
                    .map(|a| &a.id),
            )
            .await?;
        let sources =
            discover::list_sources(&self.config, &self.sessions, self.concurrency, &self.bars)
                .await
                .context("listing source buckets")?;
        if !sources.unlisted.is_empty() {
            let mut unlisted = self.unlisted.lock().expect("not poisoned");
            for (id, e) in &sources.unlisted {
                unlisted.push(Skipped {
                    account: id.clone(),
                    name: String::new(),
                    reason: format!("its buckets could not be listed: {e}"),
                    unreachable: true,
                });
            }
        }
        let mut desired = desired(&self.config, &sources.selected);
        desired.legacy_names = sources.legacy;
        let (actual, samples) = discover::discover(
            &desired,
            &sources.unselected,
            &self.sessions,
            self.concurrency,
            &self.bars,
        )
        .await
        .context("discovering the current state")?;
        *self.samples.lock().expect("not poisoned") = Some(samples);
        Ok((desired, actual))
    }

    /// Remembers the object versions discovery sampled (`apply` only: `plan` writes nothing),
    /// so that the next run need not read them again.
    /// `applied`: the changes this run made (a report bucket it created can hold them).
    pub(crate) async fn remember_samples(&self, applied: &[Address]) {
        let created: BTreeSet<BucketAddr> = applied
            .iter()
            .filter_map(|a| match a {
                Address::Bucket(b) => Some(b.clone()),
                _ => None,
            })
            .collect();
        let samples = self.samples.lock().expect("not poisoned").take();
        if let Some(samples) = samples {
            let written = samples.remember(&created).await;
            tracing::debug!(written, "sample caches written");
        }
    }

    /// Identity checks, discovery, planning. Reads only.
    pub(crate) async fn plan(&self) -> anyhow::Result<Plan> {
        let (desired, actual) = self.discover().await?;
        let mut plan = plan(&desired, &actual);
        // Preflight, operator permissions (SPEC §12): what the changes need, as the IAM policy
        // simulator sees the caller of each account that has changes.
        if plan.has_changes() {
            let required = crossrep_core::preflight::required_actions(&plan.changes);
            let simulations =
                crossrep_aws::preflight::simulate_all(&required, &self.sessions, self.concurrency)
                    .await;
            plan.preflight
                .extend(crossrep_core::preflight::permission_findings(&simulations));
            plan.preflight.sort();
        }
        let unlisted = self.unlisted.lock().expect("not poisoned").clone();
        plan.accounts_selected = self
            .selected
            .iter()
            .filter(|a| !unlisted.iter().any(|u| &u.account == *a))
            .cloned()
            .collect();
        plan.accounts_skipped = self.skipped.iter().chain(&unlisted).cloned().collect();
        plan.accounts_skipped.sort();
        Ok(plan)
    }
}

/// Lists the organization with the listing account's credentials and expands the
/// `from = "organization"` blocks into the accounts it selects.
async fn resolve_organization(
    config: Config,
) -> anyhow::Result<(Config, Vec<AccountId>, Vec<Skipped>)> {
    let org = config
        .organization
        .clone()
        .expect("called with an [organization]");
    let listing_config = Config {
        accounts: [(org.account.clone(), config.account(&org.account).clone())].into(),
        replication: Vec::new(),
        ..config.clone()
    };
    let sessions = Sessions::new(&listing_config).await?;
    let listing = sessions.get(&config.account(&org.account).id);
    listing.verify_identity().await?;
    let accounts = crossrep_aws::organization::list(listing, !org.tags.is_empty())
        .await
        .context("listing the accounts of the organization")?;
    let (destinations, listing_id) = crossrep_core::organization::never_sources(&config);
    let selection = crossrep_core::organization::select(
        &org,
        &accounts,
        &destinations,
        &listing_id.expect("the listing account"),
    );
    let expanded = crossrep_core::organization::expand(&config, &selection.selected);
    Ok((expanded, selection.selected, selection.skipped))
}
