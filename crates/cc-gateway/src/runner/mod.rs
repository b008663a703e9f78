//! (being built)
use crate::config::RunnerArgs;

pub fn main(_args: RunnerArgs) -> Result<(), Box<dyn std::error::Error>> {
    Err("the runner is not built yet".into())
}
