//! The `nextneck` command: parses arguments, resolves settings, runs a
//! command and maps failures to exit codes (0 success, 1 runtime failure,
//! 2 usage error; a closed output pipe is not an error).

use std::io::{self, IsTerminal, Write};
use std::process::ExitCode;

use clap::{Parser, Subcommand};

mod args;
mod code;
mod completions;
mod config;
mod db;
mod delivery_config;
mod digest;
mod flow;
mod forecast;
mod import;
mod init;
mod output;
mod report;
mod reprocess;
mod serve;
mod server_config;
mod status;
mod sync;
mod sync_schedule;

/// Finds where your organisation's work waits: DORA metrics, the time
/// split into stages, and the bottleneck, from a plain git clone.
#[derive(Debug, Parser)]
#[command(name = "nextneck", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// DORA metrics, stages and the bottleneck of a git repository, or with
    /// --db of the delivery events in the event store.
    Report(Box<report::ReportArgs>),
    /// Hotspots, change coupling, knowledge islands and the truck factor.
    Code(code::CodeArgs),
    /// Flow metrics and the bottleneck of any value stream, from event logs
    /// (CSV, NDJSON, XES) or the streams of nextneck.toml.
    Flow(flow::FlowArgs),
    /// When will N items be done, how many in D days: Monte Carlo over daily
    /// throughput of an event log, a stream, or a repository (--git).
    Forecast(forecast::ForecastArgs),
    /// Receive webhooks: store every delivery durably, then derive events.
    Serve(serve::ServeArgs),
    /// Import API exports, saved webhook payloads, JUnit reports or generic events.
    Import(import::ImportArgs),
    /// Stored deliveries, events, backlog and unknown event types.
    Status(status::StatusArgs),
    /// Derive every normalized event again from the stored raw deliveries.
    Reprocess(reprocess::ReprocessArgs),
    /// The period's change in one message: the bottleneck now and before,
    /// what moved, incidents waiting for a postmortem; printed or posted to
    /// Slack, Teams, Mattermost or Discord.
    Digest(digest::DigestArgs),
    /// Look at a repository and write a commented nextneck.toml to edit.
    Init(init::InitArgs),
    /// Print the completion script for bash, zsh, fish or powershell.
    Completions(completions::CompletionsArgs),
    /// Print the manual page (roff), or write one page per command with --dir.
    Man(completions::ManArgs),
    /// Fetch history from a provider's API into the event store (GitHub).
    Sync(sync::SyncArgs),
}

/// An error in what the user asked for (exit code 2), as opposed to a
/// failure while doing it (exit code 1).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // Help and version go to stdout with 0; usage errors exit 2.
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Report(args) => report::run(*args),
        Command::Code(args) => code::run(args),
        Command::Flow(args) => flow::run(args),
        Command::Forecast(args) => forecast::run(args),
        Command::Serve(args) => serve::run(args),
        Command::Import(args) => import::run(args),
        Command::Status(args) => status::run(args),
        Command::Reprocess(args) => reprocess::run(args),
        Command::Digest(args) => digest::run(args),
        Command::Init(args) => init::run(args),
        Command::Completions(args) => completions::run_completions(args),
        Command::Man(args) => completions::run_man(args),
        Command::Sync(args) => sync::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            let mut stderr = io::stderr().lock();
            let color = io::stderr().is_terminal() && no_color_unset();
            let label = if color {
                "\x1b[1;31merror:\x1b[0m"
            } else {
                "error:"
            };
            // Input quoted in an error never reaches the terminal raw.
            let text = |e: &dyn std::fmt::Display| printable(&e.to_string());
            let _ = write!(stderr, "{label} {}", text(&err));
            for cause in err.chain().skip(1) {
                let _ = write!(stderr, ": {}", text(&cause));
            }
            let _ = writeln!(stderr);
            if err.downcast_ref::<UsageError>().is_some() {
                ExitCode::from(2)
            } else {
                ExitCode::from(1)
            }
        }
    }
}

/// Text with its control characters escaped (`\u{0}`), line breaks and
/// tabs aside (multi-line messages such as a TOML error keep their shape).
fn printable(text: &str) -> String {
    text.lines()
        .map(|line| {
            line.split('\t')
                .map(nextneck_ingest::escape_control)
                .collect::<Vec<_>>()
                .join("\t")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<io::Error>()
            .is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

/// True unless `NO_COLOR` is set to a non-empty value (no-color.org).
pub fn no_color_unset() -> bool {
    std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}
