//! `sealtrail-collector`: starts the reference collector (see `--help`).

use std::process::ExitCode;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use sealtrail_collector::Config;

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = Config::parse();
    let running = match sealtrail_collector::start(&config).await {
        Ok(r) => r,
        Err(e) => {
            eprintln!("sealtrail-collector: {e}");
            return ExitCode::FAILURE;
        }
    };
    tracing::info!(addr = %running.addr, database = %config.database, "collector listening");
    println!("sealtrail-collector listening on http://{}", running.addr);
    match running.task.await {
        Ok(Ok(())) => ExitCode::SUCCESS,
        Ok(Err(e)) => {
            eprintln!("sealtrail-collector: {e}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("sealtrail-collector: {e}");
            ExitCode::FAILURE
        }
    }
}
