pub mod apply;
pub mod backfill;
pub mod init;
pub mod plan;
pub mod status;
