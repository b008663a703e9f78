//! `cc-gateway`: the daemon (`serve`) and the session runner it starts (`runner`).

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "cc-gateway", version, about = "Duraclaw's gateway: runs Claude Code sessions next to the code")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the daemon (HTTP + WebSocket on 127.0.0.1). The token comes from CC_GATEWAY_TOKEN or
    /// --token-file, never from argv.
    Serve(cc_gateway::config::DaemonConfig),
    /// Run one session's runner (started detached by the daemon).
    Runner(cc_gateway::config::RunnerArgs),
}

fn main() -> std::process::ExitCode {
    cc_gateway::init_tracing();
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(cfg) => cc_gateway::daemon::main(cfg),
        Command::Runner(args) => cc_gateway::runner::main(args),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cc-gateway: {e}");
            std::process::ExitCode::FAILURE
        }
    }
}
