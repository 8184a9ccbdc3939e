//! CEL expressions as kustomize-controller evaluates them: the
//! `healthCheckExprs` that decide a custom resource's health (RFC-0009)
//! and the `readyExpr` of a `dependsOn` entry.
//!
//! Expressions run on the `cel` crate's standard environment with the
//! strings, lists and math extensions and CEL's optional syntax
//! (`status.?conditions.orValue([])`). A health expression sees the
//! object's top-level fields as variables (`metadata`, `spec`,
//! `status`, …); a `readyExpr` sees `self` (the Kustomization being
//! reconciled) and `dep` (the dependency).
//!
//! Health: a Terminating object is Terminating; an object whose
//! `status.observedGeneration` differs from `metadata.generation` is
//! InProgress without evaluating anything; otherwise `inProgress`,
//! `failed` and `current` are evaluated in that order and the first that
//! is true decides; none true is InProgress. An evaluation error (a field
//! the object does not have yet) leaves the object InProgress, so the wait
//! goes on until the timeout, as in Flux; the message says why.
//!
//! ```
//! use fleet_reconcile::cel_expr::HealthExprs;
//! use fleet_reconcile::health::Status;
//! use fleet_model::flux::meta::CustomHealthCheck;
//! let check = CustomHealthCheck {
//!     api_version: "example.com/v1".into(), kind: "Widget".into(),
//!     current: "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')".into(),
//!     in_progress: None,
//!     failed: Some("status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'False')".into()),
//! };
//! let exprs = HealthExprs::compile(&check).unwrap();
//! let widget = serde_json::json!({"apiVersion": "example.com/v1", "kind": "Widget",
//!     "metadata": {"name": "w", "generation": 1},
//!     "status": {"conditions": [{"type": "Ready", "status": "True"}]}});
//! assert_eq!(exprs.status(&widget).0, Status::Current);
//! ```

use crate::health::Status;
use cel::{Context, Env, Program};
use fleet_model::flux::meta::CustomHealthCheck;
use serde_json::Value;
use std::sync::{Arc, OnceLock};

/// An expression that does not compile, or did not give a boolean.
#[derive(Debug, thiserror::Error)]
pub enum ExprError {
    /// The expression does not parse.
    #[error("failed to parse the CEL expression '{expr}': {message}")]
    Parse {
        /// The expression.
        expr: String,
        /// The parser's errors.
        message: String,
    },
    /// Evaluating failed (a missing field, a type mismatch).
    #[error("failed to evaluate the CEL expression '{expr}': {message}")]
    Evaluate {
        /// The expression.
        expr: String,
        /// What went wrong.
        message: String,
    },
    /// The result is not a boolean.
    #[error("the CEL expression '{expr}' gave {found}, not a bool")]
    NotBool {
        /// The expression.
        expr: String,
        /// What it gave.
        found: String,
    },
}

/// The environment every expression compiles and runs in.
fn env() -> Arc<Env> {
    static ENV: OnceLock<Arc<Env>> = OnceLock::new();
    Arc::clone(ENV.get_or_init(|| {
        let mut env = Env::stdlib();
        // The extensions only register functions; a failure would be a
        // clash of names within the crate, in which case the standard
        // environment still works.
        let _ = env.add_extension(cel::extensions::strings);
        let _ = env.add_extension(cel::extensions::lists);
        let _ = env.add_extension(cel::extensions::math);
        Arc::new(env)
    }))
}

/// A compiled boolean expression.
#[derive(Debug)]
pub struct Expr {
    source: String,
    program: Program,
}

impl Expr {
    /// Compiles `source`.
    pub fn compile(source: &str) -> Result<Expr, ExprError> {
        let program = env().compile(source).map_err(|e| ExprError::Parse {
            expr: source.to_string(),
            message: e.to_string(),
        })?;
        Ok(Expr {
            source: source.to_string(),
            program,
        })
    }

    /// The expression as written.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// Evaluates with `variables` bound, expecting a boolean.
    pub fn evaluate(&self, variables: &[(&str, &Value)]) -> Result<bool, ExprError> {
        let evaluate_error = |message: String| ExprError::Evaluate {
            expr: self.source.clone(),
            message,
        };
        let mut context = Context::with_env(env());
        for (name, value) in variables {
            let value = cel::to_value(value).map_err(|e| evaluate_error(e.to_string()))?;
            context.add_variable_from_value(*name, value);
        }
        match self.program.execute(&context) {
            Ok(cel::Value::Bool(b)) => Ok(b),
            Ok(other) => Err(ExprError::NotBool {
                expr: self.source.clone(),
                found: format!("{other:?}"),
            }),
            Err(e) => Err(evaluate_error(e.to_string())),
        }
    }
}

/// The compiled `healthCheckExprs` entry for one kind.
#[derive(Debug)]
pub struct HealthExprs {
    /// The apiVersion it applies to.
    pub api_version: String,
    /// The kind it applies to.
    pub kind: String,
    current: Expr,
    in_progress: Option<Expr>,
    failed: Option<Expr>,
}

impl HealthExprs {
    /// Compiles an entry; every expression must parse.
    pub fn compile(check: &CustomHealthCheck) -> Result<HealthExprs, ExprError> {
        let optional = |e: &Option<String>| {
            e.as_deref()
                .filter(|s| !s.trim().is_empty())
                .map(Expr::compile)
                .transpose()
        };
        Ok(HealthExprs {
            api_version: check.api_version.clone(),
            kind: check.kind.clone(),
            current: Expr::compile(&check.current)?,
            in_progress: optional(&check.in_progress)?,
            failed: optional(&check.failed)?,
        })
    }

    /// Whether this entry decides the health of objects of `api_version`
    /// and `kind`.
    pub fn applies_to(&self, api_version: &str, kind: &str) -> bool {
        self.api_version == api_version && self.kind == kind
    }

    /// The object's status by these expressions, and why.
    pub fn status(&self, object: &Value) -> (Status, String) {
        if let Some(decided) = crate::health::not_yet_observed(object) {
            return decided;
        }
        let variables: Vec<(&str, &Value)> = object
            .as_object()
            .map(|fields| fields.iter().map(|(k, v)| (k.as_str(), v)).collect())
            .unwrap_or_default();
        let steps = [
            (self.in_progress.as_ref(), Status::InProgress),
            (self.failed.as_ref(), Status::Failed),
            (Some(&self.current), Status::Current),
        ];
        for (expr, status) in steps {
            let Some(expr) = expr else { continue };
            match expr.evaluate(&variables) {
                Ok(true) => return (status, format!("{status}: {}", expr.source())),
                Ok(false) => {}
                Err(e) => return (Status::InProgress, e.to_string()),
            }
        }
        (
            Status::InProgress,
            "no health check expression is true yet".to_string(),
        )
    }
}

/// Compiles every `healthCheckExprs` entry.
pub fn compile_health_checks(checks: &[CustomHealthCheck]) -> Result<Vec<HealthExprs>, ExprError> {
    checks.iter().map(HealthExprs::compile).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn certificate_check() -> CustomHealthCheck {
        CustomHealthCheck {
            api_version: "cert-manager.io/v1".into(),
            kind: "Certificate".into(),
            in_progress: Some("status.conditions.filter(e, e.type == 'Issuing').all(e, e.observedGeneration == metadata.generation && e.status == 'True')".into()),
            failed: Some("status.conditions.filter(e, e.type == 'Ready').all(e, e.observedGeneration == metadata.generation && e.status == 'False')".into()),
            current: "status.conditions.filter(e, e.type == 'Ready').all(e, e.observedGeneration == metadata.generation && e.status == 'True')".into(),
        }
    }

    fn certificate(conditions: Value) -> Value {
        json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
               "metadata": {"name": "c", "generation": 2}, "status": {"conditions": conditions}})
    }

    #[test]
    fn the_rfc_certificate_example_in_order_in_progress_failed_current() {
        let exprs = HealthExprs::compile(&certificate_check()).unwrap_or_else(|e| panic!("{e}"));
        let issuing = certificate(json!([
            {"type": "Issuing", "status": "True", "observedGeneration": 2},
            {"type": "Ready", "status": "True", "observedGeneration": 2}]));
        assert_eq!(exprs.status(&issuing).0, Status::InProgress);
        // CEL's `all` is true on an empty list: without an Issuing
        // condition the RFC's inProgress expression holds.
        let no_issuing = certificate(json!([
            {"type": "Ready", "status": "True", "observedGeneration": 2}]));
        assert_eq!(exprs.status(&no_issuing).0, Status::InProgress);
        let failed = certificate(json!([
            {"type": "Issuing", "status": "False", "observedGeneration": 2},
            {"type": "Ready", "status": "False", "observedGeneration": 2}]));
        assert_eq!(exprs.status(&failed).0, Status::Failed);
        let ready = certificate(json!([
            {"type": "Issuing", "status": "False", "observedGeneration": 2},
            {"type": "Ready", "status": "True", "observedGeneration": 2}]));
        assert_eq!(exprs.status(&ready).0, Status::Current);
        let stale = certificate(json!([
            {"type": "Ready", "status": "True", "observedGeneration": 1}]));
        assert_eq!(exprs.status(&stale).0, Status::InProgress);
    }

    #[test]
    fn a_missing_field_waits_and_optional_syntax_avoids_it() {
        let exprs = HealthExprs::compile(&certificate_check()).unwrap_or_else(|e| panic!("{e}"));
        let fresh = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                           "metadata": {"name": "c", "generation": 1}});
        let (status, message) = exprs.status(&fresh);
        assert_eq!(status, Status::InProgress);
        assert!(message.contains("failed to evaluate"), "{message}");
        let guarded = CustomHealthCheck {
            current:
                "status.?conditions.orValue([]).exists(c, c.type == 'Ready' && c.status == 'True')"
                    .into(),
            in_progress: None,
            failed: None,
            ..certificate_check()
        };
        let exprs = HealthExprs::compile(&guarded).unwrap_or_else(|e| panic!("{e}"));
        let empty_status = json!({"apiVersion": "cert-manager.io/v1", "kind": "Certificate",
                                  "metadata": {"name": "c", "generation": 1}, "status": {}});
        let (status, message) = exprs.status(&empty_status);
        assert_eq!(status, Status::InProgress);
        assert_eq!(message, "no health check expression is true yet");
    }

    #[test]
    fn a_parse_error_names_the_expression_and_a_non_bool_is_refused() {
        let broken = CustomHealthCheck {
            current: "status.conditions.exists(c, ".into(),
            ..certificate_check()
        };
        let err = HealthExprs::compile(&broken)
            .err()
            .unwrap_or_else(|| panic!("must fail"));
        assert!(
            err.to_string()
                .starts_with("failed to parse the CEL expression 'status.conditions.exists(c, '"),
            "{err}"
        );
        let number = Expr::compile("1 + 1").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            number.evaluate(&[]),
            Err(ExprError::NotBool { .. })
        ));
    }

    #[test]
    fn ready_expr_variables_self_and_dep() {
        let expr =
            Expr::compile("dep.status.lastAppliedRevision == self.status.lastAttemptedRevision")
                .unwrap_or_else(|e| panic!("{e}"));
        let me = json!({"status": {"lastAttemptedRevision": "main@sha1:1"}});
        let dep = json!({"status": {"lastAppliedRevision": "main@sha1:1"}});
        assert!(
            expr.evaluate(&[("self", &me), ("dep", &dep)])
                .unwrap_or(false)
        );
    }
}
