//! Reading what a request carries: a JSON body under a size cap, and query parameters.

use serde::de::DeserializeOwned;
use worker::{Request, Url};

use super::error::ApiError;

/// The largest request body the API reads (a prompt is at most
/// [`crate::api::sessions::MAX_PROMPT_BYTES`]; the rest is small).
pub const MAX_BODY_BYTES: usize = 256 * 1024;

/// Reads the body as JSON of type `T`, refusing more than [`MAX_BODY_BYTES`] (413) and anything
/// that is not JSON of that shape (400 `bad_frame`, naming what serde found wrong).
pub async fn read_json<T: DeserializeOwned>(req: &mut Request) -> Result<T, ApiError> {
    let bytes = read_capped(req).await?;
    if bytes.is_empty() {
        return Err(ApiError::BadJson("the request needs a JSON body".into()));
    }
    // from text, not bytes: every body then shares serde_json's one (string) reader in the wasm
    let text = std::str::from_utf8(&bytes).map_err(|_| ApiError::BadJson("the body is not UTF-8 text".into()))?;
    serde_json::from_str(text).map_err(|e| ApiError::BadJson(format!("the body is not the JSON this route takes: {e}")))
}

/// Reads the raw body, refusing more than [`MAX_BODY_BYTES`]: a declared `Content-Length` is
/// checked before reading, the actual length after.
pub async fn read_capped(req: &mut Request) -> Result<Vec<u8>, ApiError> {
    let too_large = || ApiError::TooLarge(format!("the body is over the {MAX_BODY_BYTES}-byte limit"));
    let declared = req.headers().get("content-length").ok().flatten().and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return Err(too_large());
    }
    let bytes = req.bytes().await.map_err(|e| ApiError::BadJson(format!("cannot read the body: {e}")))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(too_large());
    }
    Ok(bytes)
}

/// The value of query parameter `name`, if present (the last one wins).
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs().filter(|(k, _)| k == name).map(|(_, v)| v.into_owned()).last()
}

/// An optional unsigned query parameter; junk is a 400 naming the parameter.
pub fn query_u64(url: &Url, name: &str) -> Result<Option<u64>, ApiError> {
    match query_param(url, name).filter(|v| !v.is_empty()) {
        None => Ok(None),
        Some(v) => v
            .parse()
            .map(Some)
            .map_err(|_| ApiError::Invalid(format!("query parameter `{name}` must be a non-negative integer, got {v:?}"))),
    }
}
