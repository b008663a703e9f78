//! session-core (placeholder: being built).
