//! `fleet image automate`: one run of an ImageUpdateAutomation from files
//! (`fleet_reconcile::automation::run`, as the controller runs it).

use super::Output;
use anyhow::{Context, Result, bail};
use fleet_imagepolicy::setters::Policies;
use fleet_kustomize::flux::local::{secret_data_in_file, typed_objects_in_files};
use fleet_model::flux::image::{ImagePolicy, ImageUpdateAutomation};
use fleet_model::flux::source::GitRepository;
use fleet_reconcile::automation::{self, Inputs};
use fleet_reconcile::source::writeback::WriteOutcome;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(clap::Args)]
pub(super) struct AutomateArgs {
    /// Files holding the ImageUpdateAutomation, its GitRepository and,
    /// unless `--policy` is given, the ImagePolicies with their
    /// `status.latestRef`.
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// The automation to run, when the files hold more than one.
    #[arg(long)]
    name: Option<String>,
    /// The GitRepository's `secretRef` Secret (a manifest, SOPS-encrypted
    /// or not).
    #[arg(long, value_name = "FILE")]
    secret: Option<PathBuf>,
    /// The `signingKey` Secret (`git.asc` and `passphrase`, or `identity`
    /// and `password`).
    #[arg(long, value_name = "FILE")]
    signing_secret: Option<PathBuf>,
    /// A private key (age or armored PGP) for SOPS-encrypted Secrets.
    #[arg(long, value_name = "FILE")]
    decryption_key: Vec<PathBuf>,
    /// A policy's latest image, `NAMESPACE:NAME=IMAGE:TAG[@DIGEST]`
    /// (repeatable); replaces the ImagePolicies of the files.
    #[arg(long = "policy", value_name = "NS:NAME=IMAGE")]
    policies: Vec<String>,
    #[arg(short = 'o', long, value_enum, default_value = "text")]
    output: Output,
}

pub(super) fn automate(args: &AutomateArgs) -> Result<ExitCode> {
    let automations: Vec<ImageUpdateAutomation> =
        typed_objects_in_files("FILE", &args.files, "ImageUpdateAutomation")?;
    let automation = pick_automation(automations, args.name.as_deref())?;
    let namespace = automation
        .metadata
        .namespace
        .clone()
        .unwrap_or_else(|| "default".to_string());
    let source_ref = &automation.spec.source_ref;
    let source_namespace = source_ref.namespace.clone().unwrap_or(namespace.clone());
    let repositories: Vec<GitRepository> =
        typed_objects_in_files("FILE", &args.files, "GitRepository")?;
    let repository = repositories
        .into_iter()
        .find(|r| {
            r.metadata.name.as_deref() == Some(source_ref.name.as_str())
                && r.metadata.namespace.as_deref().unwrap_or("default") == source_namespace
        })
        .with_context(|| {
            format!(
                "GitRepository {source_namespace}/{} (the automation's sourceRef) is in none of the files",
                source_ref.name
            )
        })?;
    let policies = if args.policies.is_empty() {
        let found: Vec<ImagePolicy> = typed_objects_in_files("FILE", &args.files, "ImagePolicy")?;
        let policies = automation::select_policies(&automation, &found)
            .map_err(|e| anyhow::anyhow!("{e} (reason: {})", e.reason()))?;
        if policies.is_empty() {
            bail!(
                "no ImagePolicy of namespace {namespace} with status.latestRef matches the automation's policySelector in the files; pass --policy NAMESPACE:NAME=IMAGE:TAG"
            );
        }
        policies
    } else {
        let mut policies = Policies::default();
        for arg in &args.policies {
            let (ns, name, image) = super::image::parse_policy(arg)?;
            policies.insert(&ns, &name, image);
        }
        policies
    };
    let repository_secret = args
        .secret
        .as_ref()
        .map(|f| secret_data_in_file("--secret", f, &args.decryption_key))
        .transpose()?;
    let signing_secret = args
        .signing_secret
        .as_ref()
        .map(|f| secret_data_in_file("--signing-secret", f, &args.decryption_key))
        .transpose()?;
    let outcome = automation::run(&Inputs {
        automation: &automation,
        repository: &repository,
        repository_secret: repository_secret.as_ref(),
        signing_secret: signing_secret.as_ref(),
        policies: &policies,
    })
    .map_err(|e| anyhow::anyhow!("{e} (reason: {})", e.reason()))?;
    let mut out = std::io::stdout().lock();
    match args.output {
        Output::Json => {
            let files: Vec<serde_json::Value> = outcome
                .update
                .files
                .iter()
                .map(|f| {
                    serde_json::json!({
                        "path": f.path.display().to_string(),
                        "objects": f.objects.iter().map(|o| serde_json::json!({
                            "apiVersion": o.object.api_version,
                            "kind": o.object.kind,
                            "namespace": o.object.namespace,
                            "name": o.object.name,
                            "changes": o.changes.iter().map(|c| serde_json::json!({
                                "oldValue": c.old_value,
                                "newValue": c.new_value,
                                "setter": c.setter,
                            })).collect::<Vec<_>>(),
                        })).collect::<Vec<_>>(),
                    })
                })
                .collect();
            let value = match &outcome.write {
                WriteOutcome::Pushed(p) => serde_json::json!({
                    "pushed": true,
                    "commit": p.commit,
                    "branch": p.branch,
                    "refspec": p.refspec,
                    "checkoutCommit": p.checkout_commit,
                    "message": p.message,
                    "attempts": p.attempts,
                    "files": files,
                }),
                WriteOutcome::Unchanged { checkout_commit } => serde_json::json!({
                    "pushed": false,
                    "checkoutCommit": checkout_commit,
                    "files": files,
                }),
            };
            writeln!(out, "{}", serde_json::to_string_pretty(&value)?)?;
        }
        Output::Text => match &outcome.write {
            WriteOutcome::Pushed(p) => {
                let target = match &p.refspec {
                    Some(r) => format!("{} and {r}", p.branch),
                    None => p.branch.clone(),
                };
                writeln!(
                    out,
                    "pushed {} to {target} on top of {} ({} attempt(s))",
                    p.commit, p.checkout_commit, p.attempts
                )?;
                for (path, object, change) in outcome.update.changes() {
                    writeln!(
                        out,
                        "  {} {} {}: {} -> {}",
                        path.display(),
                        object.kind,
                        object.name,
                        change.old_value,
                        change.new_value
                    )?;
                }
            }
            WriteOutcome::Unchanged { checkout_commit } => {
                writeln!(
                    out,
                    "no change at {checkout_commit}: nothing committed, nothing pushed"
                )?;
            }
        },
    }
    Ok(ExitCode::SUCCESS)
}

fn pick_automation(
    mut automations: Vec<ImageUpdateAutomation>,
    name: Option<&str>,
) -> Result<ImageUpdateAutomation> {
    if let Some(name) = name {
        return automations
            .into_iter()
            .find(|a| a.metadata.name.as_deref() == Some(name))
            .with_context(|| format!("no ImageUpdateAutomation named '{name}' in the files"));
    }
    match automations.len() {
        0 => bail!("no ImageUpdateAutomation in the files"),
        1 => Ok(automations.remove(0)),
        _ => {
            let names: Vec<String> = automations
                .iter()
                .map(|a| a.metadata.name.clone().unwrap_or_default())
                .collect();
            bail!(
                "the files hold {} ImageUpdateAutomations ({}); choose one with --name",
                names.len(),
                names.join(", ")
            )
        }
    }
}
