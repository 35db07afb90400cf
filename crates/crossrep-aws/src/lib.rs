//! crossrep-aws: every AWS call crossrep makes, and nothing else. Sessions per account
//! ([`session`]), discovery into the core's `ActualState` ([`discover`]), plan execution
//! ([`execute`]), and the SDK ↔ core conversions ([`convert`]). This is the only crate that
//! depends on `aws-sdk-*`.

pub mod alerts;
pub mod backfill;
pub mod convert;
pub mod discover;
pub mod error;
pub mod execute;
pub mod kinds;
pub mod limits;
pub mod organization;
pub mod preflight;
pub mod session;
mod stored;
pub mod verify;

pub use error::AwsError;
pub use session::Sessions;
