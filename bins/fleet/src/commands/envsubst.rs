//! `fleet envsubst [--strict]`

use anyhow::{Context, Result};
use fleet_kustomize::envsubst::{Vars, substitute};
use std::io::{Read, Write};
use std::process::ExitCode;

/// Arguments of `fleet envsubst`.
#[derive(clap::Args)]
pub struct Args {
    /// Fail when a variable is not set in the environment (as `flux envsubst --strict`).
    #[arg(long)]
    strict: bool,
}

/// Reads standard input, substitutes, writes standard output.
pub fn run(args: &Args) -> Result<ExitCode> {
    let mut input = String::new();
    std::io::stdin()
        .read_to_string(&mut input)
        .context("reading standard input")?;
    let vars = Vars(std::env::vars().collect());
    match substitute(&input, &vars, args.strict) {
        Ok(out) => {
            std::io::stdout().lock().write_all(out.as_bytes())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}
