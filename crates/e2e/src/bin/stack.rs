//! `stack`: the whole system on this machine, the one launcher every script uses
//! (`scripts/lib.sh start_stack` for `run.sh`, `test.sh` and `bench.sh`; the Rust tests and the
//! session bench call [`e2e::stack::Stack`] directly, the same code).
//!
//! Starts the model (the scripted fake, or the user's own Claude login), `cc-gateway serve` on
//! 127.0.0.1 and `wrangler dev` with the D1 migrations applied, writes what a script needs to
//! `--env-out` (shell assignments, mode 600: it holds the set-up code), then runs until SIGTERM or
//! SIGINT, or until wrangler or the gateway exits (exit status 1, with the log's tail). Stopping
//! stops every process it started; the session runners too unless `--keep-runners`.
//!
//! ```text
//! stack [--run-dir DIR] [--projects DIR] [--persist DIR] [--logs DIR] [--env-out FILE]
//!       [--worker-port N] [--gateway-port N] [--real-model] [--demo] [--keep-runners]
//! ```

use std::path::PathBuf;
use std::time::Duration;

use e2e::stack::{tail, write_private, Options, Stack};
use tokio::signal::unix::{signal, SignalKind};

const USAGE: &str = "usage: stack [--run-dir DIR] [--projects DIR] [--persist DIR] [--logs DIR] [--env-out FILE]
             [--worker-port N] [--gateway-port N] [--real-model] [--demo] [--keep-runners]";

struct Args {
    options: Options,
    env_out: Option<PathBuf>,
}

fn parse(mut args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut options = Options::default();
    let mut env_out = None;
    while let Some(arg) = args.next() {
        let mut value = |name: &str| args.next().ok_or_else(|| format!("{name} needs a value"));
        let port = |name: &str, v: String| v.parse::<u16>().map_err(|_| format!("{name}: not a port: {v}"));
        match arg.as_str() {
            "--run-dir" => options.run_dir = Some(value(&arg)?.into()),
            "--projects" => options.projects = Some(value(&arg)?.into()),
            "--persist" => options.persist = Some(value(&arg)?.into()),
            "--logs" => options.log_dir = Some(value(&arg)?.into()),
            "--env-out" => env_out = Some(PathBuf::from(value(&arg)?)),
            "--worker-port" => options.worker_port = Some(port(&arg, value(&arg)?)?),
            "--gateway-port" => options.gateway_port = Some(port(&arg, value(&arg)?)?),
            "--real-model" => options.real_model = true,
            "--demo" => options.demo = true,
            "--keep-runners" => options.keep_runners = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other}\n{USAGE}")),
        }
    }
    if options.real_model && options.demo {
        return Err("--demo plays the fake model's demo: it does not go with --real-model".into());
    }
    Ok(Args { options, env_out })
}

/// A value for a `KEY='value'` line a shell sources.
fn quoted(value: &str) -> String {
    format!("'{}'", value.replace('\'', r"'\''"))
}

fn env_lines(stack: &Stack) -> String {
    let mut vars = vec![
        ("STACK_URL", stack.url()),
        ("WRANGLER_URL", stack.url()),
        ("WRANGLER_PERSIST", stack.persist.display().to_string()),
        ("WRANGLER_LOG", stack.log("wrangler").display().to_string()),
        ("GATEWAY_PORT", stack.gateway_port.to_string()),
        ("GATEWAY_LOG", stack.log("gateway").display().to_string()),
        ("STACK_RUN_DIR", stack.root.display().to_string()),
        ("STACK_SETUP_CODE", stack.setup_code.clone()),
    ];
    if let Some(fake) = &stack.fake {
        vars.push(("DURACLAW_FAKE_URL", fake.base_url()));
    }
    if let Some(sandbox) = &stack.sandbox {
        // where the CLI that runners start records its sessions: a test plants "terminal" ones there
        vars.push(("STACK_CLAUDE_CONFIG_DIR", sandbox.config_dir().display().to_string()));
    }
    vars.iter().map(|(k, v)| format!("{k}={}\n", quoted(v))).collect()
}

#[tokio::main]
async fn main() {
    // A failed start (no Claude login for --real-model, a missing build, wrangler not coming up)
    // panics with what to do; say only that, not a backtrace note.
    std::panic::set_hook(Box::new(|info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("the stack failed");
        eprintln!("stack: {msg}");
    }));
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            eprintln!("stack: {e}");
            std::process::exit(2);
        }
    };
    let (mut term, mut int) = match (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) {
        (Ok(t), Ok(i)) => (t, i),
        _ => {
            eprintln!("stack: cannot install the signal handlers");
            std::process::exit(1);
        }
    };
    let mut stack = Stack::start(args.options).await;
    if let Some(path) = &args.env_out {
        write_private(path, &env_lines(&stack));
    }
    eprintln!("    stack: up at {}", stack.url());
    let mut check = tokio::time::interval(Duration::from_secs(1));
    let failed = loop {
        tokio::select! {
            _ = term.recv() => break None,
            _ = int.recv() => break None,
            _ = check.tick() => {
                if let Some(name) = stack.exited() {
                    let log = if name == "wrangler" { "wrangler" } else { "gateway" };
                    break Some(format!("{name} exited; the tail of {}:\n{}", stack.log(log).display(), tail(&stack.read_log(log), 30)));
                }
            }
        }
    };
    if let Some(path) = &args.env_out {
        let _ = std::fs::remove_file(path);
    }
    drop(stack);
    if let Some(why) = failed {
        eprintln!("stack: {why}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        parse(list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn arguments_are_checked() {
        let a = args(&["--run-dir", "/r", "--worker-port", "8787", "--demo", "--keep-runners", "--env-out", "/e"]).unwrap();
        assert_eq!(a.options.run_dir, Some(PathBuf::from("/r")));
        assert_eq!(a.options.worker_port, Some(8787));
        assert!(a.options.demo && a.options.keep_runners && !a.options.real_model);
        assert_eq!(a.env_out, Some(PathBuf::from("/e")));
        for (bad, says) in [
            (&["--worker-port", "70000"][..], "not a port"),
            (&["--worker-port"][..], "needs a value"),
            (&["--bogus"][..], "unknown argument --bogus"),
            (&["--real-model", "--demo"][..], "does not go with"),
        ] {
            let err = args(bad).err().unwrap_or_else(|| panic!("{bad:?} was accepted"));
            assert!(err.contains(says), "{bad:?}: {err}");
        }
    }

    #[test]
    fn env_values_are_quoted_for_the_shell() {
        assert_eq!(quoted("/tmp/a b"), "'/tmp/a b'");
        assert_eq!(quoted("it's"), r"'it'\''s'");
    }
}
