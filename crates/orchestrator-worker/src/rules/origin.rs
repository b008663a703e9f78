//! Which `Origin` and which `Content-Type` a state-changing request may carry (the rules of
//! `api/guard.rs`, which reads them off the request).

/// `origin` is `own` or one of the comma-separated `listed` (a trailing `/` ignored).
pub fn is_allowed(origin: &str, own: &str, listed: &str) -> bool {
    origin == own || listed.split(',').map(|o| o.trim().trim_end_matches('/')).any(|o| !o.is_empty() && o == origin)
}

/// `application/json`, in any case, with or without parameters.
pub fn is_json(content_type: &str) -> bool {
    content_type.split(';').next().is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let own = "https://duraclaw.example.com";
        assert!(is_allowed(own, own, ""));
        assert!(is_allowed("https://app.example.com", own, " https://app.example.com/ , https://x.example"));
        assert!(!is_allowed("https://evil.example.com", own, "https://app.example.com"));
        assert!(!is_allowed("https://duraclaw.example.com.evil.example", own, ""));
        assert!(!is_allowed("", own, ","));
    }

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(!is_json("text/plain"));
        assert!(!is_json("application/json-patch+json"));
        assert!(!is_json("multipart/form-data; boundary=x"));
    }
}
