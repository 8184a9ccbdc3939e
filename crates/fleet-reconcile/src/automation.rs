//! One run of an ImageUpdateAutomation, as image-automation-controller
//! runs it: the GitRepository's URL and credentials with the automation's
//! checkout reference, the policies' latest images written into the marked
//! fields under `spec.update.path` (fleet-imagepolicy's setters), and, when
//! a file changed, a commit with the automation's author, message template
//! and signing key, pushed as `spec.git.push` says
//! ([`crate::source::writeback`]). Nothing changed: no commit, no push.
//!
//! The controller and `fleet image automate` both call [`run`].

use std::collections::BTreeMap;

use fleet_imagepolicy::commit_message::{self, MessageError};
use fleet_imagepolicy::setters::{self, Options, Policies, TreeUpdate, UnknownPolicy};
use fleet_model::flux::image::{ImagePolicy, ImageUpdateAutomation, ImageUpdateAutomationStatus};
use fleet_model::flux::source::GitRepository;

use crate::source::writeback::{self, Author, SigningKey, WriteBack, WriteError, WriteOutcome};
use crate::source::{GitSource, Reference, SourceError};

/// What one run needs besides the automation: the objects and Secrets it
/// refers to, read by the caller.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The automation.
    pub automation: &'a ImageUpdateAutomation,
    /// Its `sourceRef` GitRepository.
    pub repository: &'a GitRepository,
    /// The GitRepository's `secretRef` data, decoded.
    pub repository_secret: Option<&'a BTreeMap<String, Vec<u8>>>,
    /// The `signingKey` Secret's data, decoded.
    pub signing_secret: Option<&'a BTreeMap<String, Vec<u8>>>,
    /// The latest images of the ImagePolicies the `policySelector` chose.
    pub policies: &'a Policies,
}

/// The latest images of the ImagePolicies `automation` applies: those of
/// its namespace with a `status.latestRef` that its `policySelector`
/// selects (all of them when it has none), as image-automation-controller
/// lists them.
pub fn select_policies(
    automation: &ImageUpdateAutomation,
    policies: &[ImagePolicy],
) -> Result<Policies, AutomationError> {
    let namespace = automation
        .metadata
        .namespace
        .as_deref()
        .unwrap_or("default");
    let selector = automation.spec.policy_selector.clone().unwrap_or_default();
    let mut selected = Vec::new();
    for policy in policies {
        if policy.metadata.namespace.as_deref().unwrap_or("default") != namespace {
            continue;
        }
        let labels = policy.metadata.labels.clone().unwrap_or_default();
        if selector
            .matches(labels.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .map_err(AutomationError::InvalidPolicySelector)?
        {
            selected.push(policy);
        }
    }
    Ok(Policies::from_image_policies(selected))
}

/// Why a run failed; [`AutomationError::reason`] gives Flux's reason.
#[derive(Debug, thiserror::Error)]
pub enum AutomationError {
    /// The automation's settings cannot be used.
    #[error("invalid source configuration: {0}")]
    InvalidSourceConfig(String),
    /// `spec.policySelector` is not a valid label selector.
    #[error("spec.policySelector: {0}")]
    InvalidPolicySelector(String),
    /// The message template cannot be used.
    #[error(transparent)]
    Message(#[from] MessageError),
    /// The GitRepository cannot be used.
    #[error(transparent)]
    Source(#[from] SourceError),
    /// Checking out, updating, committing or pushing failed.
    #[error(transparent)]
    Write(#[from] WriteError),
}

impl AutomationError {
    /// The reason image-automation-controller records: `InvalidSourceConfig`,
    /// `InvalidPolicySelector`, `RemovedTemplateField`, `UpdateFailed`,
    /// `GitOperationFailed`, or the fetch's own reason.
    pub fn reason(&self) -> &'static str {
        match self {
            AutomationError::InvalidSourceConfig(_) => "InvalidSourceConfig",
            AutomationError::InvalidPolicySelector(_) => "InvalidPolicySelector",
            AutomationError::Message(MessageError::RemovedField { .. }) => "RemovedTemplateField",
            AutomationError::Message(_) => "InvalidSourceConfig",
            AutomationError::Source(e) => e.reason(),
            AutomationError::Write(WriteError::Change(inner))
                if inner
                    .downcast_ref::<MessageError>()
                    .is_some_and(|m| matches!(m, MessageError::RemovedField { .. })) =>
            {
                "RemovedTemplateField"
            }
            AutomationError::Write(e) => e.reason(),
        }
    }
}

/// The result of [`run`].
#[derive(Debug, Clone)]
pub struct RunOutcome {
    /// Pushed, or nothing to do.
    pub write: WriteOutcome,
    /// What the setters changed (on the attempt that pushed).
    pub update: TreeUpdate,
    /// The checkout branch, when the checkout reference is a branch.
    pub checkout_branch: Option<String>,
}

/// The change made on each attempt: the setters' update and the message.
#[derive(Debug, thiserror::Error)]
enum ChangeError {
    #[error(transparent)]
    Tree(#[from] setters::TreeError),
    #[error(transparent)]
    Message(#[from] MessageError),
}

/// Runs `inputs.automation` once.
pub fn run(inputs: &Inputs<'_>) -> Result<RunOutcome, AutomationError> {
    let automation = inputs.automation;
    let spec = &automation.spec;
    if spec.source_ref.kind != "GitRepository" {
        return Err(AutomationError::InvalidSourceConfig(format!(
            "source kind '{}' not supported",
            spec.source_ref.kind
        )));
    }
    let git_spec = spec.git_spec.as_ref().ok_or_else(|| {
        AutomationError::InvalidSourceConfig(
            "source kind 'GitRepository' necessitates field .spec.git".into(),
        )
    })?;
    // `Setters` is the only strategy the type admits; others fail to parse.
    let update = spec.update.clone().unwrap_or_default();
    let mut source = GitSource::from_spec(&inputs.repository.spec, inputs.repository_secret)?;
    if let Some(checkout) = &git_spec.checkout {
        source.reference = Reference::from_spec(Some(&checkout.reference));
    }
    let checkout_branch = match &source.reference {
        Reference::Branch(b) => Some(b.clone()),
        _ => None,
    };
    let commit = &git_spec.commit;
    let template = commit_message::Template::parse(commit.message_template.as_deref())?;
    let signing = match &commit.signing_key {
        Some(key) => {
            let data = inputs.signing_secret.ok_or_else(|| {
                AutomationError::InvalidSourceConfig(format!(
                    "signing key Secret '{}' is not available",
                    key.secret_ref.name
                ))
            })?;
            let kind = match key.type_.unwrap_or_default() {
                fleet_model::flux::image::SigningKeyType::Gpg => "gpg",
                fleet_model::flux::image::SigningKeyType::Ssh => "ssh",
            };
            Some(SigningKey::from_secret_data(Some(kind), data).map_err(WriteError::from)?)
        }
        None => None,
    };
    let push = git_spec.push.clone().unwrap_or_default();
    let options = WriteBack {
        push_branch: push.branch.filter(|b| !b.is_empty()),
        refspec: push.refspec.filter(|r| !r.is_empty()),
        push_options: push.options.into_iter().collect(),
        author: Author::new(
            commit.author.name.clone().unwrap_or_default(),
            commit.author.email.clone(),
        ),
        signing,
        attempts: writeback::DEFAULT_ATTEMPTS,
    };
    let namespace = automation.metadata.namespace.clone().unwrap_or_default();
    let name = automation.metadata.name.clone().unwrap_or_default();
    let update_path = update.path.clone();
    let mut last_update = TreeUpdate::default();
    let write = writeback::commit_and_push(&source, &options, |tree| {
        let result = setters::update_tree(
            tree,
            update_path.as_deref(),
            inputs.policies,
            Options {
                unknown_policy: UnknownPolicy::Ignore,
            },
            false,
        )?;
        last_update = result.clone();
        if result.files.is_empty() {
            return Ok::<_, ChangeError>(None);
        }
        let message = template.render(&commit_message::Data {
            namespace: &namespace,
            name: &name,
            update: &result,
            update_path: update_path.as_deref(),
            values: &commit.message_template_values,
        })?;
        Ok(Some(message))
    });
    let write = match write {
        Ok(write) => write,
        Err(WriteError::Change(inner)) => {
            return Err(match inner.downcast::<ChangeError>() {
                Ok(change) => match *change {
                    ChangeError::Message(m) => AutomationError::Message(m),
                    ChangeError::Tree(t) => AutomationError::Write(WriteError::Change(Box::new(t))),
                },
                Err(other) => AutomationError::Write(WriteError::Change(other)),
            });
        }
        Err(e) => return Err(e.into()),
    };
    Ok(RunOutcome {
        write,
        update: last_update,
        checkout_branch,
    })
}

/// Records a run in the automation's status as image-automation-controller
/// does: `lastAutomationRunTime`, the policies observed, and for a push
/// `lastPushCommit`, `lastPushTime` and `observedSourceRevision` (the
/// pushed commit, or the checkout commit when the push went to another
/// branch).
pub fn record(
    status: &mut ImageUpdateAutomationStatus,
    outcome: &RunOutcome,
    policies: &Policies,
    now: &str,
) {
    status.last_automation_run_time = Some(now.to_string());
    status.observed_policies = policies
        .iter()
        .map(|(key, image)| {
            let name = key.rsplit_once(':').map_or(key, |(_, n)| n);
            (name.to_string(), image.clone())
        })
        .collect();
    match &outcome.write {
        WriteOutcome::Pushed(pushed) => {
            status.last_push_commit = Some(pushed.commit.clone());
            status.last_push_time = Some(now.to_string());
            let observed = pushed.observed_source_commit(outcome.checkout_branch.as_deref());
            status.observed_source_revision = Some(revision(outcome, observed));
        }
        WriteOutcome::Unchanged { checkout_commit } => {
            status.observed_source_revision = Some(revision(outcome, checkout_commit));
        }
    }
}

fn revision(outcome: &RunOutcome, commit: &str) -> String {
    match &outcome.checkout_branch {
        Some(branch) => format!("{branch}@sha1:{commit}"),
        None => format!("sha1:{commit}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::writeback::Pushed;
    use fleet_model::flux::image::ImageRef;

    fn outcome(write: WriteOutcome, branch: Option<&str>) -> RunOutcome {
        RunOutcome {
            write,
            update: TreeUpdate::default(),
            checkout_branch: branch.map(str::to_string),
        }
    }

    #[test]
    fn status_records_the_push_and_the_observed_revision_as_flux() {
        let mut policies = Policies::default();
        let image = ImageRef::parse("ghcr.io/acme/web:1.1.0").unwrap_or_default();
        policies.insert("flux-system", "web", image.clone());
        let pushed = |branch: &str| {
            WriteOutcome::Pushed(Pushed {
                commit: "c".repeat(40),
                branch: branch.to_string(),
                refspec: None,
                checkout_commit: "a".repeat(40),
                message: "m".into(),
                attempts: 1,
            })
        };
        let mut status = ImageUpdateAutomationStatus::default();
        record(
            &mut status,
            &outcome(pushed("main"), Some("main")),
            &policies,
            "T",
        );
        assert_eq!(status.last_push_commit, Some("c".repeat(40)));
        assert_eq!(status.last_push_time.as_deref(), Some("T"));
        assert_eq!(
            status.observed_source_revision,
            Some(format!("main@sha1:{}", "c".repeat(40)))
        );
        assert_eq!(status.observed_policies.get("web"), Some(&image));
        // Pushed to another branch: the checkout commit is what was observed.
        record(
            &mut status,
            &outcome(pushed("auto"), Some("main")),
            &policies,
            "T",
        );
        assert_eq!(
            status.observed_source_revision,
            Some(format!("main@sha1:{}", "a".repeat(40)))
        );
        // Nothing changed: the push fields stay, the revision is the checkout's.
        let mut fresh = ImageUpdateAutomationStatus::default();
        let unchanged = WriteOutcome::Unchanged {
            checkout_commit: "b".repeat(40),
        };
        record(&mut fresh, &outcome(unchanged, None), &policies, "T2");
        assert_eq!(fresh.last_push_commit, None);
        assert_eq!(fresh.last_automation_run_time.as_deref(), Some("T2"));
        assert_eq!(
            fresh.observed_source_revision,
            Some(format!("sha1:{}", "b".repeat(40)))
        );
    }
}
