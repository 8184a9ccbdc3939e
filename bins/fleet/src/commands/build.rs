//! `fleet build DIR` and `fleet build kustomization NAME --path DIR`

use anyhow::{Context, Result};
use fleet_kustomize::{BuildOptions, LoadRestrictor, fs::DiskFs};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fleet build`.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    what: Option<What>,
    /// The kustomization directory.
    #[arg(required = true)]
    dir: Option<PathBuf>,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Format::Yaml)]
    output: Format,
    /// Which files a kustomization may read (as kustomize's flag).
    #[arg(long, value_enum, default_value_t = Restrictor::LoadRestrictionsRootOnly)]
    load_restrictor: Restrictor,
}

#[derive(clap::Subcommand)]
enum What {
    /// Build a Flux Kustomization as kustomize-controller would apply it
    /// (like `flux build kustomization`).
    #[command(visible_alias = "ks")]
    Kustomization(super::build_kustomization::Args),
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub(crate) enum Format {
    /// YAML documents, as `kubectl kustomize` prints them.
    Yaml,
    /// JSON, one indented object per resource.
    Json,
}

#[derive(Clone, Copy, clap::ValueEnum)]
#[clap(rename_all = "verbatim")]
#[allow(clippy::enum_variant_names)]
enum Restrictor {
    /// Files must be in or below the kustomization directory.
    LoadRestrictionsRootOnly,
    /// Any file may be read.
    LoadRestrictionsNone,
}

/// Builds and prints.
pub fn run(args: &Args) -> Result<ExitCode> {
    if let Some(What::Kustomization(ks)) = &args.what {
        return super::build_kustomization::run(ks);
    }
    let Some(dir) = &args.dir else {
        anyhow::bail!("give a kustomization directory: fleet build DIR");
    };
    let dir = std::fs::canonicalize(dir)
        .with_context(|| format!("{}: no such directory", dir.display()))?;
    let opts = BuildOptions {
        load_restrictor: match args.load_restrictor {
            Restrictor::LoadRestrictionsRootOnly => LoadRestrictor::RootOnly,
            Restrictor::LoadRestrictionsNone => LoadRestrictor::None,
        },
    };
    let set = fleet_kustomize::build(&DiskFs, &dir.to_string_lossy(), &opts)?;
    let text = match args.output {
        Format::Yaml => set.to_yaml(),
        Format::Json => set.to_json()?,
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    // The process ends here: let the OS reclaim the tree instead of freeing
    // every node (a tenth of a large build's time).
    std::mem::forget(set);
    std::mem::forget(text);
    Ok(ExitCode::SUCCESS)
}
