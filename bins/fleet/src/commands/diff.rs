//! `fleet diff kustomization NAME --path DIR`: what a reconcile of the
//! local tree would change on the cluster (server-side dry-run).

use super::ks_target::KsTarget;
use anyhow::{Result, bail};
use fleet_reconcile::diff::{LocalSources, diff_local_recursive};
use fleet_reconcile::reconcile::ReconcileOptions;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;

/// Arguments of `fleet diff`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    what: What,
}

#[derive(clap::Subcommand)]
enum What {
    /// Server-side dry-run of a Flux Kustomization's local build against the
    /// live cluster: `► Kind/ns/name drifted` with a diff, `created`, and
    /// `deleted` for what its stored inventory has and the build lacks.
    #[command(visible_alias = "ks")]
    Kustomization(KsArgs),
}

/// Arguments of `fleet diff kustomization`.
#[derive(clap::Args)]
struct KsArgs {
    #[command(flatten)]
    target: KsTarget,
    /// Also diff every Kustomization of the build that exists in the
    /// cluster, from its local source, and theirs in turn.
    #[arg(long)]
    recursive: bool,
    /// With --recursive: where sources are on disk, as
    /// `Kind/namespace/name=DIR` (repeat, or separate with commas). A child
    /// reading its parent's source needs none.
    #[arg(long, value_delimiter = ',', value_name = "KIND/NS/NAME=DIR")]
    local_sources: Vec<String>,
}

/// Diffs; exits 0 without differences, 1 with some (2 on errors, from main).
pub fn run(args: &Args) -> Result<ExitCode> {
    let What::Kustomization(args) = &args.what;
    let mut sources = LocalSources::new();
    for entry in &args.local_sources {
        let Some((key, dir)) = entry.split_once('=') else {
            bail!(
                "--local-sources {entry:?}: expected Kind/namespace/name=DIR, like GitRepository/flux-system/flux-system=./"
            );
        };
        if key.split('/').count() != 3 || dir.is_empty() {
            bail!(
                "--local-sources {entry:?}: expected Kind/namespace/name=DIR, like GitRepository/flux-system/flux-system=./"
            );
        }
        sources.insert(key.to_string(), std::path::PathBuf::from(dir));
    }
    let recursive = args.recursive.then_some(&sources);
    let report = args
        .target
        .run(ReconcileOptions::default(), |client, request| async move {
            Ok(diff_local_recursive(&client, &request, recursive).await?)
        })?;
    let text = report.to_string();
    let mut out = std::io::stdout().lock();
    let colour = out.is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    if colour {
        write!(out, "{}", coloured(&text))?;
    } else {
        write!(out, "{text}")?;
    }
    Ok(if report.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// The report with terminal colours, as `flux diff` shows it: created in
/// green, deleted in red, drifted and changed Kustomizations in bold, and
/// the unified diffs' added and removed lines in green and red.
fn coloured(text: &str) -> String {
    const RESET: &str = "\x1b[0m";
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for line in text.split_inclusive('\n') {
        let (body, newline) = match line.strip_suffix('\n') {
            Some(body) => (body, "\n"),
            None => (line, ""),
        };
        let style = if body.starts_with("► ") {
            if body.ends_with(" created") {
                "\x1b[32m"
            } else if body.ends_with(" deleted") {
                "\x1b[31m"
            } else {
                "\x1b[1m"
            }
        } else if body.starts_with("📁 ") || body.starts_with("@@") {
            "\x1b[36m"
        } else if body.starts_with('+') && !body.starts_with("+++") {
            "\x1b[32m"
        } else if body.starts_with('-') && !body.starts_with("---") {
            "\x1b[31m"
        } else {
            ""
        };
        if style.is_empty() {
            out.push_str(line);
        } else {
            out.push_str(style);
            out.push_str(body);
            out.push_str(RESET);
            out.push_str(newline);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::coloured;

    #[test]
    fn created_deleted_and_diff_lines_are_coloured_and_nothing_is_lost() {
        let text = "► ConfigMap/a/x created\n► Deployment/a/web drifted\n--- live\n+++ merged\n@@ -1 +1 @@\n-  replicas: 3\n+  replicas: 1\n   kept\n► Secret/a/s deleted\n";
        let out = coloured(text);
        assert!(
            out.contains("\x1b[32m► ConfigMap/a/x created\x1b[0m\n"),
            "{out:?}"
        );
        assert!(
            out.contains("\x1b[31m► Secret/a/s deleted\x1b[0m\n"),
            "{out:?}"
        );
        assert!(out.contains("\x1b[31m-  replicas: 3\x1b[0m\n"), "{out:?}");
        assert!(out.contains("\x1b[32m+  replicas: 1\x1b[0m\n"), "{out:?}");
        assert!(out.contains("--- live\n+++ merged\n"), "{out:?}");
        let stripped = out
            .replace("\x1b[0m", "")
            .replace("\x1b[32m", "")
            .replace("\x1b[31m", "")
            .replace("\x1b[36m", "")
            .replace("\x1b[1m", "");
        assert_eq!(stripped, text);
    }
}
