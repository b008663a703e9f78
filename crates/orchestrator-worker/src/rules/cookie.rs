//! The two cookie operations the Worker needs (RFC 6265): finding a cookie's value in a
//! request's `Cookie` header (§5.4, as a browser sends it, §4.2.1) and writing the login's
//! `Set-Cookie` (§4.1.1). Written here rather than taken from the `cookie` crate, which brought
//! the `time` crate's parsers and formatters into the Worker for these two functions (about
//! 50 KB of wasm code).

/// The value of the first cookie called `name` in a `Cookie` header (`a=1; b=2`), as sent: no
/// percent-decoding, whitespace around the name and the value trimmed. A pair without `=` is
/// not a cookie, and names compare exactly (case included), as browsers send them.
pub fn find<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header
        .split(';')
        .filter_map(|pair| pair.split_once('='))
        .find(|(n, _)| n.trim() == name)
        .map(|(_, v)| v.trim())
}

/// A `Set-Cookie` value for a login cookie: `HttpOnly; SameSite=Lax; Secure; Path=/` and a
/// `Max-Age` in seconds (0 removes it). `name` and `value` are the Worker's own (a constant name,
/// a hex token or nothing), never user input; a byte that would end the pair is refused.
pub fn set_cookie(name: &str, value: &str, max_age_secs: u64) -> String {
    let clean = |s: &str| s.bytes().all(|b| b.is_ascii_graphic() && !matches!(b, b';' | b',' | b'"' | b'\\'));
    assert!(clean(name) && !name.contains('=') && clean(value), "cookie name or value with a separator");
    format!("{name}={value}; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age={max_age_secs}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAME: &str = "duraclaw_session";

    #[test]
    fn find_reads_only_the_named_cookie_from_hostile_headers() {
        let cases: &[(&str, Option<&str>)] = &[
            ("duraclaw_session=abc", Some("abc")),
            ("a=1; duraclaw_session=abc; b=2", Some("abc")),
            ("a=1;duraclaw_session=abc", Some("abc")),
            ("  duraclaw_session  =  abc  ", Some("abc")),
            // the first of two wins (the browser sends the most specific path first)
            ("duraclaw_session=first; duraclaw_session=second", Some("first")),
            // a value may hold '=' (everything after the first '=')
            ("duraclaw_session=a=b", Some("a=b")),
            ("duraclaw_session=", Some("")),
            // not the cookie: other names, prefixes, suffixes, case, no '='
            ("", None),
            ("duraclaw_session", None),
            ("xduraclaw_session=abc", None),
            ("duraclaw_session_x=abc", None),
            ("Duraclaw_Session=abc", None),
            ("__Host-duraclaw_session=abc", None),
            ("a=duraclaw_session=abc", None),
            ("a=1, duraclaw_session=abc", None),
            (";;;", None),
            ("=abc", None),
        ];
        for (header, want) in cases {
            assert_eq!(find(header, NAME), *want, "Cookie: {header:?}");
        }
        assert_eq!(find("duraclaw_session=x; __Host-duraclaw_session=y", "__Host-duraclaw_session"), Some("y"));
        let long = format!("{}; duraclaw_session=abc", "a=b; ".repeat(10_000));
        assert_eq!(find(&long, NAME), Some("abc"));
    }

    #[test]
    fn set_cookie_writes_the_login_attributes() {
        assert_eq!(
            set_cookie(NAME, "00ff", 2_592_000),
            "duraclaw_session=00ff; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=2592000"
        );
        assert_eq!(set_cookie(NAME, "", 0), "duraclaw_session=; HttpOnly; SameSite=Lax; Secure; Path=/; Max-Age=0");
    }

    #[test]
    #[should_panic(expected = "separator")]
    fn set_cookie_refuses_a_value_that_would_add_an_attribute() {
        set_cookie(NAME, "x; Domain=evil.example", 0);
    }
}
