//! `fleet build kustomization NAME --path DIR [--kustomization-file FILE]`
//! (`--recursive` follows the Flux Kustomizations it renders)

use anyhow::Result;
use fleet_kustomize::flux::local::{KeyFiles, LocalBuild, LocalError};
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fleet build kustomization`.
#[derive(clap::Args)]
pub struct Args {
    /// The Kustomization's name.
    name: String,
    /// The local directory holding the manifests of `spec.path`.
    #[arg(long)]
    path: PathBuf,
    /// A file holding the Kustomization; without it, the repository around
    /// `--path` is searched.
    #[arg(long)]
    kustomization_file: Option<PathBuf>,
    /// The Kustomization's namespace.
    #[arg(short, long, default_value = "flux-system")]
    namespace: String,
    /// Extra files of ConfigMaps and Secrets for `postBuild.substituteFrom`
    /// (they win over those found in the repository).
    #[arg(long, value_name = "FILE")]
    substitute_from: Vec<PathBuf>,
    /// Fail on variables that are unset and have no default, as
    /// kustomize-controller does with `StrictPostBuildSubstitutions`.
    #[arg(long)]
    strict: bool,
    /// A file holding the decryption Secret (`spec.decryption.secretRef`):
    /// its `*.agekey` and `*.asc` entries are the SOPS keys. Without it, the
    /// Secret is looked for in the repository.
    #[arg(long, value_name = "FILE")]
    decryption_secret: Option<PathBuf>,
    /// A private key file for SOPS (an age identity file, or an armored PGP
    /// secret key); may be repeated.
    #[arg(long, value_name = "FILE")]
    decryption_key: Vec<PathBuf>,
    /// Also build every Flux Kustomization the output holds that uses the
    /// same source, as rendered (a management Kustomization's per-cluster
    /// Kustomizations), and theirs in turn; prints all of it.
    #[arg(long)]
    recursive: bool,
    /// Print Secret values instead of masking them.
    #[arg(long)]
    show_secrets: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = super::build::Format::Yaml)]
    output: super::build::Format,
}

/// Builds and prints.
pub fn run(args: &Args) -> Result<ExitCode> {
    let build = LocalBuild {
        name: args.name.clone(),
        namespace: args.namespace.clone(),
        path: args.path.clone(),
        kustomization_file: args.kustomization_file.clone(),
        substitute_from: args.substitute_from.clone(),
        strict: args.strict,
        keys: KeyFiles {
            secret: args.decryption_secret.clone(),
            keys: args.decryption_key.clone(),
        },
        recursive: args.recursive,
        show_secrets: args.show_secrets,
    };
    let out = build.run().map_err(with_key_hint)?;
    for skipped in &out.skipped {
        eprintln!("skipped Kustomization {}: {}", skipped.id, skipped.reason);
    }
    let text = match args.output {
        super::build::Format::Yaml => out.set.to_yaml(),
        super::build::Format::Json => out.set.to_json()?,
    };
    std::io::stdout().lock().write_all(text.as_bytes())?;
    Ok(ExitCode::SUCCESS)
}

/// Adds where to give the keys when a build met encrypted files without any.
fn with_key_hint(e: LocalError) -> anyhow::Error {
    if e.is_missing_keys() {
        anyhow::anyhow!(
            "{e}\nhint: pass the Secret with --decryption-secret FILE or its keys with --decryption-key FILE"
        )
    } else {
        e.into()
    }
}
