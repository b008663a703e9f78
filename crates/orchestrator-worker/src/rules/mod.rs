//! The Worker's rules that need no runtime: written as plain functions, compiled on every target
//! and unit-tested natively (`cargo test -p orchestrator-worker --lib`), while the rest of the
//! crate, which needs workerd, builds for wasm32 only.

pub mod alarm;
pub mod cookie;
pub mod origin;
