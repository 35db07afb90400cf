//! Progress bars on stderr (indicatif), hidden when stderr is not a terminal or when asked.

use std::io::IsTerminal;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use crossrep_core::progress::Reporter;
use indicatif::{ProgressBar, ProgressStyle};

pub(crate) struct Bars {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    pub(crate) fn new(wanted: bool) -> Bars {
        Bars {
            enabled: wanted && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }
}

impl Bars {
    /// The current bar. A panic elsewhere while it was held leaves nothing inconsistent in a
    /// progress bar, so a poisoned lock is used as it is.
    fn bar(&self) -> MutexGuard<'_, Option<ProgressBar>> {
        self.bar.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Reporter for Bars {
    fn start(&self, phase: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg:24} [{bar:30}] {pos}/{len} ({elapsed})")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(phase.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        if let Some(old) = self.bar().replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(b) = self.bar().as_ref() {
            b.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(b) = self.bar().take() {
            b.finish_and_clear();
        }
    }
}
