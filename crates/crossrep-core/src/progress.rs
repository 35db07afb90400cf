//! Progress reporting, implemented by the binary (indicatif on a TTY, nothing otherwise).

/// Receives progress of long operations. Implementations must be cheap and thread-safe.
pub trait Reporter: Send + Sync {
    /// A new phase with `total` steps (0 when unknown).
    fn start(&self, phase: &str, total: u64);
    /// `n` more steps of the current phase are done.
    fn advance(&self, n: u64);
    /// The current phase is over.
    fn finish(&self);
}

/// Reports nothing.
pub struct Silent;

impl Reporter for Silent {
    fn start(&self, _: &str, _: u64) {}
    fn advance(&self, _: u64) {}
    fn finish(&self) {}
}
