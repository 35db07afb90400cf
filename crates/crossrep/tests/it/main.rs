//! End-to-end tests through the `crossrep` binary against the local emulator (one test binary,
//! one emulator; every test has its own accounts and bucket names).

mod apply;
mod backfill;
mod cli;
mod destroy;
mod errors;
mod harness;
mod verify;
