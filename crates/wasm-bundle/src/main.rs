//! `wasm-bundle`: the post-processing step of `scripts/build-wasm.sh`.
//!
//! ```text
//! wasm-bundle web <in.wasm> <out-dir> <name>   the dashboard: wasm-bindgen's `--target web` glue
//!                                              (<name>.js, <name>_bg.wasm), no name or
//!                                              producers section
//! wasm-bundle worker <in.wasm> <out-dir>       the Worker: wasm-bindgen's `--target module` glue
//!                                              (index.js, index_bg.wasm, snippets/) with the
//!                                              reset-state function, and entry.js, the module
//!                                              esbuild bundles into build/index.js
//! ```
//!
//! It replaces two cargo tools a fresh machine had to build from source, worker-build and
//! wasm-bindgen-cli (about eight CPU-minutes, most of it HTTP clients, TLS and a test runner we
//! never use), with wasm-bindgen's own library, pinned to the `wasm-bindgen` the wasm crates link
//! (the glue must come from the same version as the macros' output; Cargo.lock keeps them
//! together). The Worker's entry module is ours: `src/entry.js`, completed with the handlers and
//! Durable Object classes the glue exports.

use std::path::Path;
use std::process::ExitCode;

use wasm_bindgen_cli_support::Bindgen;

const ENTRY_TEMPLATE: &str = include_str!("entry.js");

/// Functions the runtime calls on the default export, with `(arg, env, ctx)`.
const HANDLERS: &[&str] = &[
    "fetch",
    "queue",
    "scheduled",
    "email",
    "connect",
    "tail",
    "trace",
];
/// Exports of the glue that the entry module uses itself.
const SYSTEM_EXPORTS: &[&str] = &["__wbg_reset_state", "__worker_init_state"];

const USAGE: &str =
    "usage: wasm-bundle web <in.wasm> <out-dir> <name> | wasm-bundle worker <in.wasm> <out-dir>";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["web", input, out_dir, name] => web(Path::new(input), Path::new(out_dir), name),
        ["worker", input, out_dir] => worker(Path::new(input), Path::new(out_dir)),
        ["--version"] => {
            println!("wasm-bundle {}", env!("CARGO_PKG_VERSION"));
            Ok(())
        }
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wasm-bundle: {e}");
            ExitCode::from(2)
        }
    }
}

/// A `Bindgen` set as wasm-bindgen-cli sets it when given no flags (the library's own defaults
/// differ: it would omit the default wasm path the dashboard's `init()` relies on).
fn bindgen(input: &Path) -> Bindgen {
    let mut b = Bindgen::new();
    b.input_path(input)
        .typescript(false)
        .omit_default_module_path(false);
    b
}

fn web(input: &Path, out_dir: &Path, name: &str) -> Result<(), String> {
    let mut b = bindgen(input);
    b.out_name(name)
        .remove_name_section(true)
        .remove_producers_section(true);
    b.web(true).map_err(|e| format!("{e:#}"))?;
    b.generate(out_dir)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", input.display()))
}

fn worker(input: &Path, out_dir: &Path) -> Result<(), String> {
    let mut b = bindgen(input);
    b.out_name("index")
        .reset_state_function(true)
        .force_enable_abort_handler(true);
    b.module(true).map_err(|e| format!("{e:#}"))?;
    b.generate(out_dir)
        .map_err(|e| format!("wasm-bindgen on {}: {e:#}", input.display()))?;
    let glue_path = out_dir.join("index.js");
    let glue =
        std::fs::read_to_string(&glue_path).map_err(|e| format!("{}: {e}", glue_path.display()))?;
    let entry = entry_module(&Exports::of(&glue))?;
    let entry_path = out_dir.join("entry.js");
    std::fs::write(&entry_path, entry).map_err(|e| format!("{}: {e}", entry_path.display()))
}

/// What an ES module's text exports, as wasm-bindgen writes it: one declaration per line.
#[derive(Debug, Default, PartialEq)]
struct Exports {
    functions: Vec<String>,
    classes: Vec<String>,
}

impl Exports {
    fn of(js: &str) -> Exports {
        let mut out = Exports::default();
        for line in js.lines() {
            let line = line.trim_start();
            if let Some(rest) = line
                .strip_prefix("export async function ")
                .or_else(|| line.strip_prefix("export function "))
            {
                out.functions.extend(ident(rest));
            } else if let Some(rest) = line.strip_prefix("export class ") {
                out.classes.extend(ident(rest));
            } else if let Some(list) = line
                .strip_prefix("export {")
                .and_then(|r| r.split('}').next())
            {
                // `export { local as exported, other };` (wasm-bindgen uses it for renamed functions)
                for item in list.split(',') {
                    let exported = item.rsplit(" as ").next().unwrap_or(item);
                    out.functions.extend(ident(exported.trim()));
                }
            }
        }
        out
    }
}

/// The JavaScript identifier at the start of `s`, if there is one.
fn ident(s: &str) -> Option<String> {
    let end = s
        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '$'))
        .unwrap_or(s.len());
    let id = &s[..end];
    (!id.is_empty() && !id.starts_with(|c: char| c.is_ascii_digit())).then(|| id.to_string())
}

/// The Worker's entry module: `src/entry.js` with a method on the default export per handler the
/// glue exports, and a wrapped export per Durable Object class. Any other exported function is an
/// error: nothing here would route to it.
fn entry_module(exports: &Exports) -> Result<String, String> {
    for needed in SYSTEM_EXPORTS {
        if !exports.functions.iter().any(|f| f == needed) {
            return Err(format!("the glue does not export {needed}: is this a workers-rs crate, built with the reset-state function?"));
        }
    }
    let mut handlers = String::new();
    for f in exports
        .functions
        .iter()
        .filter(|f| !SYSTEM_EXPORTS.contains(&f.as_str()))
    {
        if !HANDLERS.contains(&f.as_str()) {
            return Err(format!(
                "the glue exports a function `{f}` that is no Worker handler ({})",
                HANDLERS.join(", ")
            ));
        }
        handlers.push_str(&format!(
            "Entrypoint.prototype.{f} = function {f}(arg) {{\n  return guarded(() => glue.{f}(arg, this.env, this.ctx));\n}};\n"
        ));
    }
    if handlers.is_empty() {
        return Err("the glue exports no handler (a `#[event(fetch)]` function)".to_string());
    }
    let classes: String = exports
        .classes
        .iter()
        .map(|c| format!("export const {c} = durableObject(glue.{c});\n"))
        .collect();
    Ok(ENTRY_TEMPLATE
        .replace("/*HANDLERS*/\n", &handlers)
        .replace("/*CLASSES*/\n", &classes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GLUE: &str = "\
import source wasmModule from './index_bg.wasm';
export class SessionDO {
    free() {}
}
export function fetch(req, env, ctx) {}
export async function scheduled(ev, env, ctx) {}
function __worker_init_state_inner() {}
export { __worker_init_state_inner as __worker_init_state, reset as __wbg_reset_state };
";

    #[test]
    fn reads_functions_classes_and_renamed_exports() {
        let e = Exports::of(GLUE);
        assert_eq!(e.classes, ["SessionDO"]);
        assert_eq!(
            e.functions,
            [
                "fetch",
                "scheduled",
                "__worker_init_state",
                "__wbg_reset_state"
            ]
        );
    }

    #[test]
    fn entry_routes_each_handler_and_wraps_each_class() {
        let entry = entry_module(&Exports::of(GLUE)).unwrap();
        assert!(entry.contains("Entrypoint.prototype.fetch = function fetch(arg)"));
        assert!(entry.contains("glue.scheduled(arg, this.env, this.ctx)"));
        assert!(entry.contains("export const SessionDO = durableObject(glue.SessionDO);"));
        assert!(!entry.contains("/*HANDLERS*/") && !entry.contains("/*CLASSES*/"));
        assert!(!entry.contains("prototype.__worker_init_state"));
    }

    #[test]
    fn refuses_what_it_cannot_route() {
        let cases: &[(&str, &str)] = &[
            ("export function fetch() {}\n", "__wbg_reset_state"),
            ("export { a as __wbg_reset_state, b as __worker_init_state };\n", "no handler"),
            (
                "export function fetch() {}\nexport function helper() {}\nexport { a as __wbg_reset_state, b as __worker_init_state };\n",
                "`helper`",
            ),
        ];
        for (glue, why) in cases {
            let err = entry_module(&Exports::of(glue)).unwrap_err();
            assert!(err.contains(why), "{glue:?}: {err}");
        }
    }

    #[test]
    fn identifiers() {
        assert_eq!(ident("fetch(req)").as_deref(), Some("fetch"));
        assert_eq!(ident("$x_1 {").as_deref(), Some("$x_1"));
        assert_eq!(ident("1abc"), None);
        assert_eq!(ident("("), None);
    }
}

/// The entry module run by node against a stand-in for wasm-bindgen's glue (the runtime's
/// `cloudflare:workers` replaced by a plain base class, workerd's global `addEventListener` by a
/// no-op): a trap poisons the instance, the next
/// call resets it first, and a Durable Object rebuilds its Rust side once per reset.
#[cfg(test)]
mod entry_runs {
    use super::*;

    const STAND_IN_GLUE: &str = r#"
const state = { criticalError: false, instanceId: 0 };
export let resets = 0, built = 0;
export function __worker_init_state() { return state; }
export function __wbg_reset_state() { resets++; }
export class SessionDO {
  constructor(ctx, env) { built++; this.env = env; }
  async fetch(req) { if (req === "trap") throw new WebAssembly.RuntimeError("unreachable"); return `do:${req}:${this.env}`; }
  free() {}
}
export function fetch(req, env, ctx) { if (req === "trap") throw new WebAssembly.RuntimeError("unreachable"); return `worker:${req}:${env}`; }
"#;

    const SCRIPT: &str = r#"
import Entry, { SessionDO } from "./entry.mjs";
import * as glue from "./index.js";
const log = [];
const w = new Entry(); w.env = "E"; w.ctx = {};
log.push(w.fetch("a"));
try { w.fetch("trap"); } catch (e) { log.push(e.constructor.name); }
log.push(glue.resets, w.fetch("b"), glue.resets);
const d = new SessionDO({}, "D");
log.push(glue.built, await d.fetch("x"));
try { await d.fetch("trap"); } catch (e) { log.push(e.constructor.name); }
log.push(await d.fetch("y"), glue.built, glue.resets, typeof d.free);
console.log(JSON.stringify(log));
"#;

    #[test]
    fn a_trap_resets_the_instance_before_the_next_call_and_objects_rebuild() {
        let dir = std::env::temp_dir().join(format!("wasm-bundle-entry-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let entry = entry_module(&Exports::of(STAND_IN_GLUE)).unwrap().replace(
            r#"import { WorkerEntrypoint } from "cloudflare:workers";"#,
            "class WorkerEntrypoint {}\nglobalThis.addEventListener ??= () => {};",
        );
        std::fs::write(dir.join("entry.mjs"), entry).unwrap();
        std::fs::write(dir.join("index.js"), STAND_IN_GLUE).unwrap();
        std::fs::write(dir.join("package.json"), r#"{"type":"module"}"#).unwrap();
        std::fs::write(dir.join("run.mjs"), SCRIPT).unwrap();
        let out = std::process::Command::new("node")
            .arg("run.mjs")
            .current_dir(&dir)
            .output()
            .expect("node must be on PATH for this test (scripts/test.sh puts node 22 there)");
        std::fs::remove_dir_all(&dir).ok();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(stdout.matches("resetting it").count(), 2, "{stdout}");
        let got = stdout.lines().last().unwrap_or_default();
        // before the trap: no reset; after it: one reset before the next call. The object built
        // once, then rebuilt after the second trap's reset; `free` is not passed through.
        assert_eq!(
            got,
            r#"["worker:a:E","RuntimeError",0,"worker:b:E",1,1,"do:x:D","RuntimeError","do:y:D",2,2,"undefined"]"#
        );
    }
}
