//! Password hashing: PBKDF2-HMAC-SHA256 through WebCrypto at 100,000 iterations (workerd's
//! maximum; argon2 in wasm costs too much CPU per request on Workers), a 16-byte random salt per
//! user, and a constant-time comparison of the derived bytes.

use subtle::ConstantTimeEq;

use super::crypto;
use crate::api::error::ApiError;

/// The PBKDF2 iteration count for new hashes. Each user row keeps its own count, so raising this
/// later leaves old hashes verifiable.
pub const ITERATIONS: u32 = 100_000;
const SALT_BYTES: usize = 16;

/// What the `users` row stores about a password (hex strings).
#[derive(Debug, Clone)]
pub struct PasswordHash {
    pub hash_hex: String,
    pub salt_hex: String,
    pub iterations: u32,
}

impl PasswordHash {
    /// Hashes a new password with a fresh salt.
    pub async fn new(password: &str) -> Result<PasswordHash, ApiError> {
        let salt = crypto::random_bytes::<SALT_BYTES>()?;
        let derived = crypto::pbkdf2_sha256(password.as_bytes(), &salt, ITERATIONS).await?;
        Ok(PasswordHash { hash_hex: hex::encode(derived), salt_hex: hex::encode(salt), iterations: ITERATIONS })
    }

    /// Whether `password` matches, compared in constant time.
    pub async fn verify(&self, password: &str) -> Result<bool, ApiError> {
        let corrupt = |what: &str| ApiError::Internal(format!("a stored password {what} is not valid hex"));
        let salt = hex::decode(&self.salt_hex).map_err(|_| corrupt("salt"))?;
        let expected = hex::decode(&self.hash_hex).map_err(|_| corrupt("hash"))?;
        let derived = crypto::pbkdf2_sha256(password.as_bytes(), &salt, self.iterations).await?;
        Ok(bool::from(derived.as_slice().ct_eq(&expected)))
    }
}

/// Spends the same work as a real verification, so that a login for an unknown name takes as long
/// as one with a wrong password (no user enumeration by timing).
pub async fn burn_equivalent_work(password: &str) -> Result<(), ApiError> {
    crypto::pbkdf2_sha256(password.as_bytes(), &[0u8; SALT_BYTES], ITERATIONS).await.map(|_| ())
}
