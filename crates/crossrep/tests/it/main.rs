//! End-to-end tests through the `crossrep` binary against the local emulator (one test binary,
//! one emulator; every test has its own accounts and bucket names).

// clippy.toml's `allow-unwrap-in-tests` covers `#[test]` functions only, not the harness and
// the helpers around them; in a test binary a panic is the failure report.
#![allow(clippy::unwrap_used)]
// The harness's helpers are `pub` for the test modules beside it.
#![allow(unreachable_pub)]

mod alerts;
mod apply;
mod backfill;
mod cli;
mod credentials;
mod destroy;
mod errors;
mod grants;
mod harness;
mod organizations;
mod preflight;
mod verify;
