//! WebCrypto (the runtime's native `crypto`, no wasm re-implementation): random bytes, SHA-256,
//! and PBKDF2-HMAC-SHA256. workerd caps PBKDF2 at 100,000 iterations, which is what passwords use.

use js_sys::{Array, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Crypto, CryptoKey, Pbkdf2Params, SubtleCrypto};

use crate::api::error::ApiError;

fn js_error(what: &str, e: JsValue) -> ApiError {
    ApiError::Internal(format!("WebCrypto {what} failed: {e:?}"))
}

/// The global `crypto` (read as a property: the Workers global is not a `Window`).
fn crypto() -> Result<Crypto, ApiError> {
    let value = js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("crypto")).map_err(|e| js_error("lookup", e))?;
    if value.is_undefined() {
        return Err(ApiError::Internal("the runtime has no global `crypto`".into()));
    }
    Ok(value.unchecked_into())
}

fn subtle() -> Result<SubtleCrypto, ApiError> {
    Ok(crypto()?.subtle())
}

/// `N` bytes from the runtime's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N], ApiError> {
    let mut bytes = [0u8; N];
    crypto()?.get_random_values_with_u8_array(&mut bytes).map_err(|e| js_error("getRandomValues", e))?;
    Ok(bytes)
}

/// 16 random bytes as 32 lowercase hex characters: user ids, session ids, client ids.
pub fn random_id() -> Result<String, ApiError> {
    Ok(hex::encode(random_bytes::<16>()?))
}

pub async fn sha256(data: &[u8]) -> Result<[u8; 32], ApiError> {
    let promise = subtle()?.digest_with_str_and_u8_array("SHA-256", data).map_err(|e| js_error("digest", e))?;
    let buffer = JsFuture::from(promise).await.map_err(|e| js_error("digest", e))?;
    to_array(&buffer)
}

/// PBKDF2-HMAC-SHA256 of `password` with `salt`, 32 bytes out.
pub async fn pbkdf2_sha256(password: &[u8], salt: &[u8], iterations: u32) -> Result<[u8; 32], ApiError> {
    let subtle = subtle()?;
    let usages = Array::of1(&JsValue::from_str("deriveBits"));
    let key_data = Uint8Array::from(password);
    let key_promise = subtle
        .import_key_with_str("raw", &key_data, "PBKDF2", false, &usages)
        .map_err(|e| js_error("importKey", e))?;
    let key: CryptoKey = JsFuture::from(key_promise).await.map_err(|e| js_error("importKey", e))?.unchecked_into();
    let params = Pbkdf2Params::new("PBKDF2", &JsValue::from_str("SHA-256"), iterations, &Uint8Array::from(salt));
    let bits = subtle.derive_bits_with_object(&params, &key, 256).map_err(|e| js_error("deriveBits", e))?;
    let buffer = JsFuture::from(bits).await.map_err(|e| js_error("deriveBits", e))?;
    to_array(&buffer)
}

fn to_array(buffer: &JsValue) -> Result<[u8; 32], ApiError> {
    Uint8Array::new(buffer)
        .to_vec()
        .try_into()
        .map_err(|v: Vec<u8>| ApiError::Internal(format!("WebCrypto returned {} bytes, expected 32", v.len())))
}
