//! `fake-anthropic`: serves the scripted fake Messages API (see the library docs) for scripts.
//!
//! Prints exactly one line, `listening on http://127.0.0.1:PORT`, on stdout once it accepts
//! connections, so a script can read the address; logs go to stderr (`RUST_LOG`).

use std::io::Write;

use clap::Parser;
use fake_anthropic::FakeModel;
use tokio::signal::unix::{signal, SignalKind};
use tracing_subscriber::EnvFilter;

#[derive(Debug, Parser)]
#[command(about = "A scripted fake of the Anthropic Messages API on 127.0.0.1")]
struct Args {
    /// Port to bind on 127.0.0.1; 0 picks a free one.
    #[arg(long, env = "FAKE_ANTHROPIC_PORT", default_value_t = 0)]
    port: u16,
    /// Demo mode: a prompt with no `[[...]]` directive plays a short realistic session (read a
    /// file, edit it, run a command, ask a question, summarise) instead of `You said: ...`.
    /// Switch it at run time with `POST /_fake/demo {"on": true|false}`.
    #[arg(long, env = "FAKE_ANTHROPIC_DEMO", value_parser = clap::builder::BoolishValueParser::new())]
    demo: bool,
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let args = Args::parse();
    let fake = FakeModel::start_on(args.port).await?;
    fake.set_demo(args.demo);
    let mut stdout = std::io::stdout();
    writeln!(stdout, "listening on {}", fake.base_url())?;
    stdout.flush()?;
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    fake.shutdown().await;
    Ok(())
}
