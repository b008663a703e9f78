//! Outgoing requests (to the gateway, to a session's Durable Object), built on web_sys's
//! `RequestInit` rather than `worker::RequestInit`: the latter's conversion to JavaScript
//! serialises Cloudflare's `cf` options (image resizing, Polish, minify) through
//! serde_wasm_bindgen, about 12 KB of code (by the wasm's name section) that no request here uses.

use wasm_bindgen::JsValue;
use worker::{Headers, Method, Request};

/// Where a redirect from the other side leaves the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Redirect {
    Follow,
    /// The 3xx is the answer (the gateway must never bounce the bearer token elsewhere).
    Manual,
}

/// A request to `url` with these headers and, when given, this body.
pub fn request(url: &str, method: Method, headers: &Headers, body: Option<&JsValue>, redirect: Redirect) -> worker::Result<Request> {
    let init = web_sys::RequestInit::new();
    init.set_method(method.as_ref());
    init.set_headers(headers.as_ref());
    if let Some(body) = body {
        init.set_body(body);
    }
    if redirect == Redirect::Manual {
        init.set_redirect(web_sys::RequestRedirect::Manual);
    }
    web_sys::Request::new_with_str_and_init(url, &init).map(Request::from).map_err(worker::Error::from)
}
