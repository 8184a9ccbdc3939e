//! `fleet source fetch`: one GitRepository fetch, as source-controller
//! does it, into an artifact directory.

use super::Output;
use anyhow::{Result, bail};
use fleet_kustomize::flux::local::{git_repository_in_file, secret_data_in_file};
use fleet_model::flux::source::{GitRepositoryRef, GitRepositorySpec};
use fleet_reconcile::source::{self, FetchOutcome, GitSource, Observed, Storage};
use std::path::PathBuf;
use std::process::ExitCode;

/// Arguments of `fleet source`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Fetch a Git repository's reference and write its artifact (a
    /// content-addressed tar.gz) under DIR, as source-controller would.
    Fetch(FetchArgs),
}

/// Arguments of `fleet source fetch`.
#[derive(clap::Args)]
struct FetchArgs {
    /// A file holding the GitRepository.
    #[arg(
        value_name = "FILE",
        required_unless_present = "url",
        conflicts_with = "url"
    )]
    file: Option<PathBuf>,
    /// The repository URL (file://, git://, http://, https://).
    #[arg(long, value_name = "URL")]
    url: Option<String>,
    #[command(flatten)]
    reference: RefArgs,
    /// A file holding the credentials Secret (`username`/`password`,
    /// `bearerToken`), SOPS-encrypted or not.
    #[arg(long, value_name = "FILE")]
    secret: Option<PathBuf>,
    /// A private key file that decrypts a SOPS-encrypted --secret (an age
    /// identity file, or an armored PGP secret key); may be repeated.
    #[arg(long, value_name = "FILE", requires = "secret")]
    decryption_key: Vec<PathBuf>,
    /// An exclusion pattern in .sourceignore syntax, replacing the default
    /// exclusions (spec.ignore); may be repeated.
    #[arg(long, value_name = "PATTERN")]
    ignore: Vec<String>,
    /// The last observed revision: when the remote still points there,
    /// print that it is unchanged and write nothing.
    #[arg(long, value_name = "REVISION")]
    since: Option<String>,
    /// The artifact directory (laid out as gitrepository/NS/NAME/).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    output: Output,
}

/// At most one reference; the file's `spec.ref` when none is given.
#[derive(clap::Args)]
#[group(id = "reference", multiple = false)]
struct RefArgs {
    /// A branch.
    #[arg(long, value_name = "B")]
    branch: Option<String>,
    /// A tag.
    #[arg(long, value_name = "T")]
    tag: Option<String>,
    /// The highest tag in a SemVer range (Masterminds syntax, as Flux).
    #[arg(long, value_name = "RANGE")]
    semver: Option<String>,
    /// A commit SHA.
    #[arg(long, value_name = "SHA")]
    commit: Option<String>,
    /// A full reference name such as refs/pull/1/head.
    #[arg(long, value_name = "REF")]
    ref_name: Option<String>,
}

impl RefArgs {
    fn to_ref(&self) -> Option<GitRepositoryRef> {
        let any = self.branch.is_some()
            || self.tag.is_some()
            || self.semver.is_some()
            || self.commit.is_some()
            || self.ref_name.is_some();
        any.then(|| GitRepositoryRef {
            branch: self.branch.clone(),
            tag: self.tag.clone(),
            semver: self.semver.clone(),
            name: self.ref_name.clone(),
            commit: self.commit.clone(),
        })
    }
}

/// Runs `fleet source`.
pub fn run(args: &Args) -> Result<ExitCode> {
    match &args.command {
        Command::Fetch(a) => fetch(a),
    }
}

fn fetch(args: &FetchArgs) -> Result<ExitCode> {
    let (namespace, name, mut spec) = match (&args.file, &args.url) {
        (Some(file), _) => git_repository_in_file(file)?,
        (None, Some(url)) => {
            let name = url
                .trim_end_matches('/')
                .rsplit('/')
                .next()
                .unwrap_or("repository")
                .trim_end_matches(".git")
                .to_string();
            let spec = GitRepositorySpec {
                url: url.clone(),
                interval: "1m".into(),
                ..Default::default()
            };
            ("default".to_string(), name, spec)
        }
        (None, None) => bail!("give a GitRepository FILE or --url URL"),
    };
    if let Some(reference) = args.reference.to_ref() {
        spec.reference = Some(reference);
    }
    if !args.ignore.is_empty() {
        spec.ignore = Some(args.ignore.join("\n"));
    }
    let secret = match &args.secret {
        Some(file) => Some(secret_data_in_file("--secret", file, &args.decryption_key)?),
        None => None,
    };
    let storage = Storage::new(&args.out);
    // Included repositories are read from the same storage: fetch them
    // into DIR first.
    let git = GitSource::from_spec_including(&spec, secret.as_ref(), |included| {
        source::included_from_storage(&storage, &namespace, included)
    })
    .map_err(|e| match e {
        source::SourceError::IncludeUnavailable { name } => anyhow::anyhow!(
            "no artifact available for include '{name}': fetch GitRepository {namespace}/{name} into {} first",
            args.out.display()
        ),
        e => e.into(),
    })?;
    let last = args.since.as_ref().map(|revision| Observed {
        revision: revision.clone(),
        content: git.content.clone(),
    });
    let outcome = source::fetch(&git, &storage, &namespace, &name, last.as_ref())
        .map_err(|e| anyhow::anyhow!("{e} (reason: {})", e.reason()))?;
    match (outcome, args.output) {
        (FetchOutcome::Unchanged { revision }, Output::Text) => {
            println!("unchanged: {revision}");
        }
        (FetchOutcome::Unchanged { revision }, Output::Json) => {
            let out = serde_json::json!({
                "revision": revision,
                "digest": null,
                "path": null,
                "size": null,
                "unchanged": true,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
        (FetchOutcome::Stored(a), Output::Text) => {
            println!("revision: {}", a.revision);
            println!("digest: {}", a.digest);
            println!("size: {}", a.size);
            println!("path: {}", a.local_path.display());
        }
        (FetchOutcome::Stored(a), Output::Json) => {
            let out = serde_json::json!({
                "revision": a.revision,
                "digest": a.digest,
                "path": a.local_path.display().to_string(),
                "size": a.size,
                "unchanged": false,
            });
            println!("{}", serde_json::to_string_pretty(&out)?);
        }
    }
    Ok(ExitCode::SUCCESS)
}
