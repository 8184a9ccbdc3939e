//! What an apply or prune did to each object, in Flux's words
//! (`Deployment/apps/web created`).

use fleet_model::ObjectId;
use std::fmt;

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// It did not exist and was created.
    Created,
    /// It existed and had drifted from the desired state; it was applied.
    Configured,
    /// It matched the desired state; nothing was sent.
    Unchanged,
    /// Annotations excluded it (`reconcile: disabled`, `ssa: Ignore`, or
    /// `ssa: IfNotPresent` on an existing object).
    Skipped,
    /// It was pruned.
    Deleted,
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Action::Created => "created",
            Action::Configured => "configured",
            Action::Unchanged => "unchanged",
            Action::Skipped => "skipped",
            Action::Deleted => "deleted",
        })
    }
}

/// One object and what happened to it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The object (its namespace as applied).
    pub id: ObjectId,
    /// What happened.
    pub action: Action,
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.id, self.action)
    }
}

/// The changes of one reconcile, in the order they were made.
///
/// ```
/// use fleet_reconcile::changeset::{Action, Change, ChangeSet};
/// use fleet_model::ObjectId;
/// let mut set = ChangeSet::default();
/// set.push(ObjectId::new("apps/v1", "Deployment", Some("apps"), "web"), Action::Created);
/// assert_eq!(set.to_string(), "Deployment/apps/web created\n");
/// assert!(set.changed());
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChangeSet {
    /// The entries.
    pub entries: Vec<Change>,
}

impl ChangeSet {
    /// Records what happened to `id`.
    pub fn push(&mut self, id: ObjectId, action: Action) {
        self.entries.push(Change { id, action });
    }

    /// Whether anything other than `unchanged` and `skipped` happened.
    pub fn changed(&self) -> bool {
        self.entries
            .iter()
            .any(|c| !matches!(c.action, Action::Unchanged | Action::Skipped))
    }

    /// How many entries have `action`.
    pub fn count(&self, action: Action) -> usize {
        self.entries.iter().filter(|c| c.action == action).count()
    }
}

impl fmt::Display for ChangeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for change in &self.entries {
            writeln!(f, "{change}")?;
        }
        Ok(())
    }
}
