//! The VPS files in `deploy/` agree with the daemon (DESIGN.md, "Auth and deploy"): the systemd
//! unit's `ExecStart` parses with the daemon's own flags and binds 127.0.0.1 on the default
//! port, the unit keeps runners alive (`KillMode=process`, runtime dir preserved) and hardened,
//! and cloudflared sends the gateway's hostname to that port and nothing else anywhere.
//!
//! Both files are read with small line parsers: the unit is INI-like, and the cloudflared file
//! uses a tiny subset of YAML (top-level keys and one list of flat maps).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use cc_gateway::config::{DaemonConfig, DEFAULT_PORT};
use clap::{Args, FromArgMatches};

fn deploy_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../deploy").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `section -> key -> values` (a key may repeat, as `Environment=` does).
type Unit = BTreeMap<String, BTreeMap<String, Vec<String>>>;

fn parse_unit(text: &str) -> Unit {
    let mut unit = Unit::new();
    let mut section = None;
    for (n, line) in text.lines().enumerate().map(|(n, l)| (n + 1, l.trim())) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = Some(name.to_string());
            unit.entry(name.to_string()).or_default();
            continue;
        }
        let (key, value) = line.split_once('=').unwrap_or_else(|| panic!("line {n} is not key=value: {line}"));
        let section = section.as_ref().unwrap_or_else(|| panic!("line {n} is outside a section"));
        let keys = unit.get_mut(section).expect("section exists");
        keys.entry(key.trim().to_string()).or_default().push(value.trim().to_string());
    }
    unit
}

fn one<'a>(unit: &'a Unit, key: &str) -> &'a str {
    let values = unit["Service"].get(key).unwrap_or_else(|| panic!("[Service] has no {key}="));
    assert_eq!(values.len(), 1, "{key}= is set once");
    &values[0]
}

/// The `serve` arguments of `ExecStart`, parsed with the daemon's own clap definition.
fn exec_start_config(exec_start: &str) -> DaemonConfig {
    let words: Vec<&str> = exec_start.split_whitespace().collect();
    assert!(words[0].starts_with('/') && words[0].ends_with("/cc-gateway"), "an absolute path to the binary: {}", words[0]);
    assert_eq!(words[1], "serve");
    let command = DaemonConfig::augment_args(clap::Command::new("serve").no_binary_name(true));
    let matches = command.try_get_matches_from(&words[2..]).unwrap_or_else(|e| panic!("ExecStart does not parse: {e}"));
    DaemonConfig::from_arg_matches(&matches).expect("a daemon configuration")
}

#[test]
fn the_systemd_unit_runs_the_daemon_on_loopback_and_keeps_its_runners() {
    let unit = parse_unit(&deploy_file("cc-gateway.service"));
    assert_eq!(unit.keys().map(String::as_str).collect::<Vec<_>>(), ["Install", "Service", "Unit"]);
    let config = exec_start_config(one(&unit, "ExecStart"));
    assert_eq!(config.bind, SocketAddr::from(([127, 0, 0, 1], DEFAULT_PORT)));
    assert!(!config.allow_non_loopback);
    assert!(!one(&unit, "ExecStart").contains("--token "), "no token in argv");

    let (credential, source) = one(&unit, "LoadCredential").split_once(':').expect("LoadCredential=name:path");
    assert_eq!(config.token_file, Some(PathBuf::from(format!("%d/{credential}"))), "the token comes from the credential");
    assert!(source.starts_with('/'));

    assert_eq!(one(&unit, "KillMode"), "process", "a stop must not kill the runners");
    assert_eq!(one(&unit, "RuntimeDirectory"), "cc-gateway");
    assert_eq!(one(&unit, "RuntimeDirectoryPreserve"), "yes", "the runners' sockets survive a restart");
    assert_eq!(config.dirs.runtime_dir, Path::new("/run/cc-gateway"));
    let state_dirs: Vec<&str> = one(&unit, "StateDirectory").split_whitespace().collect();
    assert_eq!(state_dirs[0], "cc-gateway");
    assert_eq!(config.dirs.state_dir, Path::new("/var/lib/cc-gateway"));

    for (key, value) in [("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("PrivateTmp", "yes")] {
        assert_eq!(one(&unit, key), value, "hardening: {key}");
    }
    let writable = one(&unit, "ReadWritePaths");
    assert!(config.projects_root.starts_with(writable), "the projects root {} is writable", config.projects_root.display());
    let env = &unit["Service"]["Environment"];
    assert!(!env.iter().any(|e| e.starts_with("CC_GATEWAY_TOKEN=")), "no token in the environment");
    let tmp = env.iter().find_map(|e| e.strip_prefix("TMPDIR=")).expect("TMPDIR set");
    assert!(state_dirs.iter().any(|d| Path::new("/var/lib").join(d) == Path::new(tmp)), "TMPDIR is a state directory");
}

/// `(top-level keys, ingress rules)` of the cloudflared file.
fn parse_cloudflared(text: &str) -> (BTreeMap<String, String>, Vec<BTreeMap<String, String>>) {
    let (mut top, mut rules) = (BTreeMap::new(), Vec::<BTreeMap<String, String>>::new());
    let mut in_ingress = false;
    for line in text.lines().filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#')) {
        let indented = line.starts_with(' ');
        let item = line.trim().strip_prefix("- ");
        let (key, value) = item.unwrap_or(line.trim()).split_once(':').unwrap_or_else(|| panic!("not key: value: {line}"));
        let (key, value) = (key.trim().to_string(), value.trim().to_string());
        match (indented, item.is_some()) {
            (false, _) => {
                in_ingress = key == "ingress";
                top.insert(key, value);
            }
            (true, true) if in_ingress => rules.push(BTreeMap::from([(key, value)])),
            (true, false) if in_ingress && !rules.is_empty() => {
                rules.last_mut().expect("a rule").insert(key, value);
            }
            _ => panic!("unexpected line: {line}"),
        }
    }
    (top, rules)
}

#[test]
fn cloudflared_sends_one_hostname_to_the_daemon_and_refuses_the_rest() {
    let (top, rules) = parse_cloudflared(&deploy_file("cloudflared.yml"));
    assert!(top.contains_key("tunnel") && top.contains_key("credentials-file"));
    assert_eq!(rules.len(), 2, "{rules:?}");
    assert!(rules[0].contains_key("hostname"));
    assert_eq!(rules[0]["service"], format!("http://127.0.0.1:{DEFAULT_PORT}"));
    assert_eq!(rules[1].get("hostname"), None, "the last rule catches everything");
    assert_eq!(rules[1]["service"], "http_status:404");
}
