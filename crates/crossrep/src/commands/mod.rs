pub mod apply;
pub mod backfill;
pub mod destroy;
pub mod init;
pub mod plan;
pub mod status;
pub mod verify;
