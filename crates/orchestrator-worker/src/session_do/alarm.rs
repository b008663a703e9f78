//! The alarm: the one clock of the session. It drives heartbeats, the silence check, the idle
//! close and redials with backoff (session-core's `link` decides which).
//!
//! A failing alarm handler is retried only a few times and then dropped, which would end
//! reconnects for good; so the handler never fails: it re-arms FIRST (the core's next wake, or a
//! fallback when the core itself failed), then dials, and swallows every error.

use std::rc::Rc;

use wasm_bindgen::JsValue;
use worker::{console_error, console_warn};

use super::{now_ms, Shell};
use crate::rules::alarm::should_set;

/// When storage itself failed, try again this much later.
const RETRY_AFTER_FAILURE_MS: u64 = 30_000;


/// The alarm handler.
pub async fn fired(shell: &Rc<Shell>) {
    // The alarm that was set has fired: whatever comes next must be set again.
    shell.alarm_at.set(None);
    let woke = match shell.ensure_awake() {
        Ok(action) => action,
        Err(e) => {
            console_error!("the session did not wake in its alarm ({e}); retrying in {RETRY_AFTER_FAILURE_MS} ms");
            shell.arm(Some(now_ms() + RETRY_AFTER_FAILURE_MS));
            return;
        }
    };
    // `input` carries out the output in order: the alarm is set before any dial starts.
    let step = shell.input(None, |core, now| core.on_alarm(now));
    if let Some(action) = woke {
        shell.clone().follow(action).await;
    }
    match step {
        Ok(done) => shell.clone().follow(done.link).await,
        Err(e) => {
            console_error!("the alarm step failed ({e}); retrying in {RETRY_AFTER_FAILURE_MS} ms");
            shell.arm(Some(now_ms() + RETRY_AFTER_FAILURE_MS));
        }
    }
}

impl Shell {
    /// Sets the alarm the core asked for (see [`should_set`](crate::rules::alarm::should_set)). `None` leaves a set alarm to
    /// fire once, uselessly.
    pub(super) fn arm(&self, at: Option<u64>) {
        let Some(at) = at else { return };
        if !should_set(self.alarm_at.get(), at, now_ms()) {
            return;
        }
        self.alarm_at.set(Some(at));
        let date = js_sys::Date::new(&JsValue::from_f64(at as f64));
        match self.state.storage().as_raw().set_alarm(date, js_sys::Object::new()) {
            Ok(promise) => wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = wasm_bindgen_futures::JsFuture::from(promise).await {
                    console_error!("setting the alarm failed: {e:?}");
                }
            }),
            Err(e) => {
                console_warn!("setting the alarm failed: {e:?}");
                self.alarm_at.set(None);
            }
        }
    }
}
