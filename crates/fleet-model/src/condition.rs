//! Status conditions in the Kubernetes form, with Flux's Ready / Reconciling /
//! Stalled conventions.
//!
//! ```
//! use fleet_model::condition::{Condition, Conditions, ConditionStatus, READY};
//! let now = "2026-01-02T03:04:05Z".parse().unwrap();
//! let mut conditions: Vec<Condition> = Vec::new();
//! conditions.mark_ready("ReconciliationSucceeded", "Applied revision: main@sha1:abc", 3, now);
//! assert!(conditions.is_ready());
//! assert_eq!(conditions.get(READY).map(|c| c.status), Some(ConditionStatus::True));
//! ```

use jiff::Timestamp;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The `Ready` condition type: the object's last reconciliation succeeded.
pub const READY: &str = "Ready";
/// The `Reconciling` condition type: work is in progress (abnormal-true).
pub const RECONCILING: &str = "Reconciling";
/// The `Stalled` condition type: progress is impossible without a change (abnormal-true).
pub const STALLED: &str = "Stalled";
/// The `Healthy` condition type Flux's kustomize-controller sets after health checks.
pub const HEALTHY: &str = "Healthy";

/// `True`, `False` or `Unknown`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub enum ConditionStatus {
    /// The condition holds.
    True,
    /// The condition does not hold.
    False,
    /// The controller cannot tell.
    Unknown,
}

/// One status condition (`metav1.Condition`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    /// Type in CamelCase, e.g. `Ready`.
    #[serde(rename = "type")]
    pub type_: String,
    /// Status of the condition.
    pub status: ConditionStatus,
    /// The `.metadata.generation` the condition was set from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// When the status last changed (RFC 3339).
    pub last_transition_time: String,
    /// A one-word CamelCase reason.
    pub reason: String,
    /// A human-readable message.
    #[serde(default)]
    pub message: String,
}

/// Reading and setting conditions in a list, as Flux's runtime helpers do.
pub trait Conditions {
    /// The condition of this type, if set.
    fn get(&self, type_: &str) -> Option<&Condition>;
    /// Sets a condition; the transition time changes only when the status does.
    fn set(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
        generation: i64,
        now: Timestamp,
    );
    /// Removes a condition.
    fn remove(&mut self, type_: &str);

    /// Whether the condition is present with status `True`.
    fn is_true(&self, type_: &str) -> bool {
        self.get(type_)
            .is_some_and(|c| c.status == ConditionStatus::True)
    }

    /// `Ready=True`.
    fn is_ready(&self) -> bool {
        self.is_true(READY)
    }

    /// `Stalled=True`.
    fn is_stalled(&self) -> bool {
        self.is_true(STALLED)
    }

    /// `Reconciling=True`.
    fn is_reconciling(&self) -> bool {
        self.is_true(RECONCILING)
    }

    /// Success: `Ready=True`; `Reconciling` and `Stalled` are removed.
    fn mark_ready(&mut self, reason: &str, message: &str, generation: i64, now: Timestamp) {
        self.set(
            READY,
            ConditionStatus::True,
            reason,
            message,
            generation,
            now,
        );
        self.remove(RECONCILING);
        self.remove(STALLED);
    }

    /// Work in progress: `Reconciling=True` and `Ready=Unknown`.
    fn mark_reconciling(&mut self, reason: &str, message: &str, generation: i64, now: Timestamp) {
        self.set(
            RECONCILING,
            ConditionStatus::True,
            reason,
            message,
            generation,
            now,
        );
        self.set(
            READY,
            ConditionStatus::Unknown,
            reason,
            message,
            generation,
            now,
        );
    }

    /// A failure a retry may fix: `Ready=False`, `Stalled` removed.
    fn mark_failed(&mut self, reason: &str, message: &str, generation: i64, now: Timestamp) {
        self.set(
            READY,
            ConditionStatus::False,
            reason,
            message,
            generation,
            now,
        );
        self.remove(STALLED);
    }

    /// A failure only a change can fix: `Stalled=True`, `Ready=False`, `Reconciling` removed.
    fn mark_stalled(&mut self, reason: &str, message: &str, generation: i64, now: Timestamp) {
        self.set(
            STALLED,
            ConditionStatus::True,
            reason,
            message,
            generation,
            now,
        );
        self.set(
            READY,
            ConditionStatus::False,
            reason,
            message,
            generation,
            now,
        );
        self.remove(RECONCILING);
    }
}

/// Formats a timestamp as Kubernetes writes `metav1.Time`: RFC 3339, whole seconds, UTC.
pub fn format_time(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

impl Conditions for Vec<Condition> {
    fn get(&self, type_: &str) -> Option<&Condition> {
        self.iter().find(|c| c.type_ == type_)
    }

    fn set(
        &mut self,
        type_: &str,
        status: ConditionStatus,
        reason: &str,
        message: &str,
        generation: i64,
        now: Timestamp,
    ) {
        let existing = self.iter_mut().find(|c| c.type_ == type_);
        match existing {
            Some(c) => {
                if c.status != status {
                    c.last_transition_time = format_time(now);
                }
                c.status = status;
                c.reason = reason.to_string();
                c.message = message.to_string();
                c.observed_generation = Some(generation);
            }
            None => self.push(Condition {
                type_: type_.to_string(),
                status,
                observed_generation: Some(generation),
                last_transition_time: format_time(now),
                reason: reason.to_string(),
                message: message.to_string(),
            }),
        }
    }

    fn remove(&mut self, type_: &str) {
        self.retain(|c| c.type_ != type_);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or(Timestamp::UNIX_EPOCH)
    }

    #[test]
    fn transition_time_changes_only_with_status() {
        let mut c: Vec<Condition> = Vec::new();
        c.mark_reconciling("Progressing", "working", 1, t("2026-01-01T00:00:00Z"));
        c.set(
            READY,
            ConditionStatus::Unknown,
            "Progressing",
            "still",
            1,
            t("2026-01-01T00:05:00Z"),
        );
        assert_eq!(
            c.get(READY).map(|x| x.last_transition_time.as_str()),
            Some("2026-01-01T00:00:00Z")
        );
        c.mark_ready("Succeeded", "done", 2, t("2026-01-01T00:10:00Z"));
        let ready = c.get(READY);
        assert_eq!(
            ready.map(|x| x.last_transition_time.as_str()),
            Some("2026-01-01T00:10:00Z")
        );
        assert_eq!(ready.and_then(|x| x.observed_generation), Some(2));
        assert!(!c.is_reconciling());
    }

    #[test]
    fn stalled_clears_reconciling_and_sets_ready_false() {
        let mut c: Vec<Condition> = Vec::new();
        c.mark_reconciling("Progressing", "", 1, Timestamp::UNIX_EPOCH);
        c.mark_stalled(
            "BuildFailed",
            "kustomization.yaml: bad",
            1,
            Timestamp::UNIX_EPOCH,
        );
        assert!(c.is_stalled() && !c.is_ready() && !c.is_reconciling());
        c.mark_failed("ApplyFailed", "timeout", 1, Timestamp::UNIX_EPOCH);
        assert!(!c.is_stalled());
    }

    #[test]
    fn conditions_round_trip_in_kubernetes_form() {
        let text = r#"{"type":"Ready","status":"False","observedGeneration":3,"lastTransitionTime":"2026-01-01T00:00:00Z","reason":"Failed","message":"x"}"#;
        let c: Result<Condition, _> = serde_json::from_str(text);
        assert_eq!(
            c.ok()
                .and_then(|c| serde_json::to_string(&c).ok())
                .as_deref(),
            Some(text)
        );
    }
}
