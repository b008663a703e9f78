//! cc-gateway (placeholder: being built).
