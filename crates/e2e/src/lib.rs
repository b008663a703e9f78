//! e2e (placeholder: being built).
