//! A plan as text for a terminal, markdown for a pull-request comment,
//! and JSON for tools: a summary table first, then the details.

use std::fmt::Write;

use super::{Action, ClusterPlan, KustomizationPlan, Plan, Presence, RevisionInfo};

/// The largest markdown comment [`Plan::to_markdown`] writes by default:
/// below the 65,536 characters a pull-request comment holds.
pub const MARKDOWN_LIMIT: usize = 60_000;

fn revision(info: &RevisionInfo) -> String {
    match &info.commit {
        Some(id) => {
            let short = &id[..id.len().min(12)];
            if id.starts_with(&info.rev) {
                short.to_string()
            } else {
                format!("{} ({short})", info.rev)
            }
        }
        None => info.rev.clone(),
    }
}

/// The note a Kustomization's row carries.
fn status(k: &KustomizationPlan) -> &'static str {
    if k.broken.is_some() {
        "does not build"
    } else if k.fixed.is_some() {
        "builds again"
    } else {
        match k.presence {
            Presence::Added => "added",
            Presence::Removed => "removed",
            Presence::Kept => "",
        }
    }
}

fn cluster_status(c: &ClusterPlan) -> &'static str {
    match c.presence {
        Presence::Added => " (added)",
        Presence::Removed => " (removed)",
        Presence::Kept => "",
    }
}

fn symbol(action: Action) -> &'static str {
    match action {
        Action::Added => "+",
        Action::Changed => "~",
        Action::Pruned | Action::Orphaned => "-",
    }
}

fn action_note(action: Action) -> &'static str {
    match action {
        Action::Pruned => " (pruned)",
        Action::Orphaned => " (orphaned: prune is false, it stays on the cluster)",
        _ => "",
    }
}

/// Rows of the summary: changed Kustomizations, and how many are not.
fn summary_rows(plan: &Plan) -> (Vec<[String; 6]>, usize) {
    let mut rows = Vec::new();
    let mut quiet = 0;
    for cluster in &plan.clusters {
        for k in &cluster.kustomizations {
            if !k.has_changes() {
                quiet += 1;
                continue;
            }
            rows.push([
                cluster.name.clone(),
                k.name.clone(),
                k.added().to_string(),
                k.changed().to_string(),
                k.removed().to_string(),
                status(k).to_string(),
            ]);
        }
    }
    (rows, quiet)
}

impl Plan {
    /// The plan as JSON (the structure of [`Plan`]).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// The plan for a terminal.
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "fleet plan: {} -> {}",
            revision(&self.base),
            revision(&self.head)
        );
        if !self.has_changes() {
            let _ = writeln!(
                out,
                "No changes: {} cluster(s), {} Kustomization(s) render the same.",
                self.clusters.len(),
                self.clusters
                    .iter()
                    .map(|c| c.kustomizations.len())
                    .sum::<usize>()
            );
            return out;
        }
        let (rows, quiet) = summary_rows(self);
        let header = ["CLUSTER", "KUSTOMIZATION", "+", "~", "-", ""].map(String::from);
        let mut widths = [0usize; 6];
        for row in std::iter::once(&header).chain(&rows) {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        out.push('\n');
        for row in std::iter::once(&header).chain(&rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(widths).enumerate() {
                if (2..=4).contains(&i) {
                    let _ = write!(line, "{cell:>w$}  ");
                } else {
                    let _ = write!(line, "{cell:<w$}  ");
                }
            }
            let _ = writeln!(out, "{}", line.trim_end());
        }
        if quiet > 0 {
            let _ = writeln!(out, "({quiet} other Kustomization(s) unchanged)");
        }
        for failure in &self.failures {
            let _ = writeln!(
                out,
                "\n{}: Kustomization {} does not render: {}",
                failure.origin, failure.kustomization, failure.error
            );
        }
        for cluster in self.clusters.iter().filter(|c| c.has_changes()) {
            out.push('\n');
            out.push_str(&cluster_text(cluster));
        }
        out
    }

    /// The plan as a pull-request comment: a summary table, then one
    /// collapsible section per cluster. Sections that would take the
    /// comment past `limit` characters are cut, and a note says which.
    pub fn to_markdown(&self, limit: usize) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "### fleet plan: `{}` → `{}`\n",
            revision(&self.base),
            revision(&self.head)
        );
        if !self.has_changes() {
            let _ = writeln!(
                out,
                "No changes: {} cluster(s) render the same.",
                self.clusters.len()
            );
            return out;
        }
        let (rows, quiet) = summary_rows(self);
        out.push_str("| cluster | Kustomization | + | ~ | − | |\n|---|---|--:|--:|--:|---|\n");
        for row in &rows {
            let _ = writeln!(
                out,
                "| {} | `{}` | {} | {} | {} | {} |",
                row[0], row[1], row[2], row[3], row[4], row[5]
            );
        }
        if quiet > 0 {
            let _ = writeln!(out, "\n{quiet} other Kustomization(s) unchanged.");
        }
        for failure in &self.failures {
            let _ = writeln!(
                out,
                "\n:x: `{}`: Kustomization `{}` does not render: {}",
                failure.origin, failure.kustomization, failure.error
            );
        }
        let sections: Vec<(String, String)> = self
            .clusters
            .iter()
            .filter(|c| c.has_changes())
            .map(|c| (c.name.clone(), cluster_markdown(c)))
            .collect();
        let mut cut = Vec::new();
        for (name, section) in sections {
            // Room is kept for the note on what was cut.
            if cut.is_empty() && out.len() + section.len() + 400 <= limit {
                out.push('\n');
                out.push_str(&section);
            } else {
                cut.push(name);
            }
        }
        if !cut.is_empty() {
            let _ = writeln!(
                out,
                "\n> [!NOTE]\n> The details of {} cluster(s) were cut to keep this comment under {limit} characters: {}. Run `fleet plan` for the whole plan.",
                cut.len(),
                cut.join(", ")
            );
        }
        out
    }
}

fn cluster_text(cluster: &ClusterPlan) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "cluster {}{}", cluster.name, cluster_status(cluster));
    for k in cluster.kustomizations.iter().filter(|k| k.has_changes()) {
        let prune = if k.prune { "prune" } else { "no prune" };
        let note = match status(k) {
            "" => String::new(),
            s => format!(", {s}"),
        };
        let _ = writeln!(
            out,
            "  Kustomization {} ({}, {prune}{note}) at {}",
            k.name, k.path, k.origin
        );
        if let Some(error) = &k.broken {
            let _ = writeln!(out, "    does not build: {error}");
            continue;
        }
        if let Some(error) = &k.fixed {
            let _ = writeln!(out, "    did not build at base: {error}");
        }
        for change in &k.changes {
            let _ = writeln!(
                out,
                "    {} {}{}",
                symbol(change.action),
                change.object,
                action_note(change.action)
            );
            if change.masked {
                let _ = writeln!(
                    out,
                    "        Secret values changed (masked): {}",
                    change.fields.join(", ")
                );
            }
            for line in change.diff.lines() {
                let _ = writeln!(out, "        {line}");
            }
        }
        if k.unchanged > 0 {
            let _ = writeln!(out, "    {} object(s) unchanged", k.unchanged);
        }
    }
    if !cluster.images.is_empty() {
        let _ = writeln!(out, "  images:");
        for image in &cluster.images {
            let _ = writeln!(
                out,
                "    {} {}: {} -> {}",
                image.object,
                image.container,
                image.from.as_deref().unwrap_or("(none)"),
                image.to.as_deref().unwrap_or("(none)")
            );
        }
    }
    if !cluster.findings.is_empty() {
        let _ = writeln!(out, "  new findings:");
        for f in &cluster.findings {
            let _ = writeln!(
                out,
                "    {}[{}] {} (Kustomization {}): {}",
                f.severity, f.rule, f.object, f.kustomization, f.message
            );
        }
    }
    out
}

fn cluster_markdown(cluster: &ClusterPlan) -> String {
    let mut out = String::new();
    let (mut added, mut changed, mut removed) = (0, 0, 0);
    for k in &cluster.kustomizations {
        added += k.added();
        changed += k.changed();
        removed += k.removed();
    }
    let _ = writeln!(
        out,
        "<details><summary><b>{}</b>{}: +{added} ~{changed} −{removed}</summary>\n",
        cluster.name,
        cluster_status(cluster)
    );
    for k in cluster.kustomizations.iter().filter(|k| k.has_changes()) {
        let prune = if k.prune { "prune" } else { "no prune" };
        let note = match status(k) {
            "" => String::new(),
            s => format!(", **{s}**"),
        };
        let _ = writeln!(
            out,
            "#### Kustomization `{}` (`{}`, {prune}{note})\nDefined at `{}`.\n",
            k.name, k.path, k.origin
        );
        if let Some(error) = &k.broken {
            let _ = writeln!(out, ":x: Does not build: `{error}`\n");
            continue;
        }
        if let Some(error) = &k.fixed {
            let _ = writeln!(out, "Did not build at base: `{error}`\n");
        }
        for change in &k.changes {
            let _ = writeln!(
                out,
                "- `{}` {}{}",
                symbol(change.action),
                change.object,
                action_note(change.action)
            );
            if change.masked {
                let _ = writeln!(
                    out,
                    "  Secret values changed (masked): `{}`",
                    change.fields.join("`, `")
                );
            }
            if !change.diff.is_empty() {
                let _ = writeln!(out, "\n  ```diff");
                for line in change.diff.lines() {
                    let _ = writeln!(out, "  {line}");
                }
                let _ = writeln!(out, "  ```");
            }
        }
        if k.unchanged > 0 {
            let _ = writeln!(out, "\n{} object(s) unchanged.", k.unchanged);
        }
        out.push('\n');
    }
    if !cluster.images.is_empty() {
        let _ = writeln!(out, "**Images**\n");
        for image in &cluster.images {
            let _ = writeln!(
                out,
                "- `{}` {}: `{}` → `{}`",
                image.object,
                image.container,
                image.from.as_deref().unwrap_or("(none)"),
                image.to.as_deref().unwrap_or("(none)")
            );
        }
        out.push('\n');
    }
    if !cluster.findings.is_empty() {
        let _ = writeln!(out, "**New findings**\n");
        for f in &cluster.findings {
            let _ = writeln!(
                out,
                "- {} `{}` `{}` (Kustomization `{}`): {}",
                f.severity, f.rule, f.object, f.kustomization, f.message
            );
        }
        out.push('\n');
    }
    out.push_str("</details>\n");
    out
}
