pub mod apply;
pub mod init;
pub mod plan;
