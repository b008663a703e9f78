//! (being built by the daemon engineer)
use crate::config::DaemonConfig;

pub fn main(_cfg: DaemonConfig) -> Result<(), Box<dyn std::error::Error>> {
    Err("the daemon is not built yet".into())
}
