//! `fleet-controller`: the controller for a management cluster.
//!
//! It will run fleet's reconcilers (sources, Kustomizations, image
//! automation) as a drop-in for Flux's controllers. Today it prints the CRDs
//! of the kinds it serves, for installation with `kubectl apply -f -`.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// The fleet controller.
#[derive(Parser)]
#[command(name = "fleet-controller", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the CustomResourceDefinitions of the Flux kinds fleet serves.
    Crds,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Crds => match fleet_model::crd::flux_crd_files() {
            Ok(files) => {
                for (_, text) in files {
                    print!("{text}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: rendering CRDs: {e}");
                ExitCode::from(2)
            }
        },
    }
}
