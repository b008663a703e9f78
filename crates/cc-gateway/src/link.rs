//! (being built)
pub fn router() -> axum::Router<crate::daemon::AppState> { axum::Router::new() }
