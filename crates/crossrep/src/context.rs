//! What the commands share: load the config, build sessions, check identities, discover,
//! and plan.

use anyhow::Context as _;
use crossrep_aws::{discover, Sessions};
use crossrep_core::config::Config;
use crossrep_core::desired::{desired, DesiredState};
use crossrep_core::model::ActualState;
use crossrep_core::plan::{plan, Plan};

use crate::printer::Printer;
use crate::progress::Bars;
use crate::Global;

pub(crate) struct Context {
    pub(crate) config: Config,
    pub(crate) sessions: Sessions,
    pub(crate) concurrency: usize,
    pub(crate) bars: Bars,
    pub(crate) printer: Printer,
}

impl Context {
    pub(crate) async fn load(global: &Global) -> anyhow::Result<Context> {
        // Config errors carry file, line, column and key already.
        let config = Config::load(&global.config)?;
        let sessions = Sessions::new(&config).await?;
        let concurrency = global.concurrency.unwrap_or(config.settings.concurrency);
        Ok(Context {
            config,
            sessions,
            concurrency,
            bars: Bars::new(global.progress),
            printer: global.printer,
        })
    }

    /// Identity checks and discovery. Reads only.
    pub(crate) async fn discover(&self) -> anyhow::Result<(DesiredState, ActualState)> {
        self.sessions.verify_identities().await?;
        let sources =
            discover::list_sources(&self.config, &self.sessions, self.concurrency, &self.bars)
                .await
                .context("listing source buckets")?;
        let mut desired = desired(&self.config, &sources.selected);
        desired.legacy_names = sources.legacy;
        let actual = discover::discover(
            &desired,
            &sources.unselected,
            &self.sessions,
            self.concurrency,
            &self.bars,
        )
        .await
        .context("discovering the current state")?;
        Ok((desired, actual))
    }

    /// Identity checks, discovery, planning. Reads only.
    pub(crate) async fn plan(&self) -> anyhow::Result<Plan> {
        let (desired, actual) = self.discover().await?;
        Ok(plan(&desired, &actual))
    }
}
