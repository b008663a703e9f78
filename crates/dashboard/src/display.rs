//! How numbers and times read on screen.

/// "just now", "5 min ago", "3 h ago", "2 d ago".
pub fn ago(ms: f64) -> String {
    if ms <= 0.0 {
        return String::new();
    }
    let secs = ((now_ms() - ms) / 1000.0).max(0.0) as u64;
    match secs {
        0..=44 => "just now".into(),
        45..=3599 => format!("{} min ago", (secs + 30) / 60),
        3600..=86_399 => format!("{} h ago", secs / 3600),
        _ => format!("{} d ago", secs / 86_400),
    }
}

/// Milliseconds since the epoch, by the browser's clock (natively, for the unit tests, the system's).
#[cfg(target_arch = "wasm32")]
pub fn now_ms() -> f64 {
    js_sys::Date::now()
}

#[cfg(not(target_arch = "wasm32"))]
pub fn now_ms() -> f64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0.0, |d| d.as_millis() as f64)
}

pub fn cost(usd: f64) -> String {
    if usd >= 1.0 {
        format!("${usd:.2}")
    } else {
        format!("${usd:.4}")
    }
}

/// 950, 12.3k, 4.1M.
pub fn count(n: u64) -> String {
    match n {
        0..=999 => n.to_string(),
        1000..=999_999 => format!("{:.1}k", n as f64 / 1e3),
        _ => format!("{:.1}M", n as f64 / 1e6),
    }
}

pub fn bytes(n: u64) -> String {
    match n {
        0..=1023 => format!("{n} B"),
        1024..=1_048_575 => format!("{:.1} KB", n as f64 / 1024.0),
        _ => format!("{:.1} MB", n as f64 / 1_048_576.0),
    }
}

/// A status name as a label: `awaiting_approval` -> "needs approval".
pub fn status_label(name: &str) -> &str {
    match name {
        "awaiting_approval" => "needs approval",
        "awaiting_answer" => "needs an answer",
        "disconnected" => "gateway down",
        other => other,
    }
}

/// How far a kata phase has got: "tasks 2/3 · gates 1/2 passed".
pub fn phase_progress(p: &shared_types::kata::KataPhase) -> String {
    let done = p.tasks.iter().filter(|t| t.done).count();
    format!("tasks {}/{} · gates {}/{} passed", done, p.tasks.len(), p.gates_passed, p.gates_total)
}
