//! The commit message of an image update, rendered as
//! image-automation-controller renders `spec.git.commit.messageTemplate`:
//! Go's `text/template` with Sprig's hermetic functions ([`crate::gotemplate`])
//! over `TemplateData{AutomationObject, Changed, Values}`:
//! - `.AutomationObject`: the automation's `namespace/name` (`.Name`,
//!   `.Namespace`);
//! - `.Changed.FileChanges`: file (relative to `spec.update.path`) → object
//!   → changes; `.Changed.Changes` (every distinct change) and
//!   `.Changed.Objects` (object → changes over all files);
//! - each change has `.OldValue`, `.NewValue` and `.Setter`; each object
//!   `.APIVersion`, `.Kind`, `.Name` and `.Namespace`;
//! - `.Values`: `messageTemplateValues`.
//!
//! Templates using fields Flux removed (`.Updated`, `.Changed.ImageResult`)
//! fail with Flux's message and reason `RemovedTemplateField`.
//!
//! ```
//! use fleet_imagepolicy::commit_message::{Data, Template};
//! use fleet_imagepolicy::setters::TreeUpdate;
//! let t = Template::parse(Some("Update by {{ .AutomationObject.Name }} ({{ .Values.env }})")).unwrap();
//! let values = [("env".to_string(), "prod".to_string())].into_iter().collect();
//! let data = Data {
//!     namespace: "flux-system",
//!     name: "apps",
//!     update: &TreeUpdate::default(),
//!     update_path: None,
//!     values: &values,
//! };
//! assert_eq!(t.render(&data).unwrap(), "Update by apps (prod)");
//! ```

use std::collections::BTreeMap;
use std::path::Path;

use indexmap::IndexMap;

use crate::gotemplate::{self, Struct, Value};
use crate::setters::{ObjectRef, TreeUpdate};

/// The message when the automation sets no template.
pub const DEFAULT_MESSAGE_TEMPLATE: &str = "Update from image update automation";

/// Why a message could not be rendered.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MessageError {
    /// The template does not parse.
    #[error("unable to create commit message template from spec: {0}")]
    Parse(String),
    /// Executing the template failed.
    #[error("failed to run template from spec: {0}")]
    Execute(String),
    /// The template uses a field Flux removed.
    #[error("{message}")]
    RemovedField {
        /// `.Updated` or `.Changed.ImageResult`.
        field: &'static str,
        /// Flux's message.
        message: &'static str,
    },
}

/// What a message is rendered from.
#[derive(Debug, Clone, Copy)]
pub struct Data<'a> {
    /// The automation's namespace.
    pub namespace: &'a str,
    /// The automation's name.
    pub name: &'a str,
    /// What the setters changed.
    pub update: &'a TreeUpdate,
    /// `spec.update.path`: file names are relative to it.
    pub update_path: Option<&'a str>,
    /// `spec.git.commit.messageTemplateValues`.
    pub values: &'a IndexMap<String, String>,
}

/// A parsed message template.
#[derive(Debug, Clone)]
pub struct Template {
    inner: gotemplate::Template,
}

impl Template {
    /// Parses `template` ([`DEFAULT_MESSAGE_TEMPLATE`] when unset or
    /// empty).
    pub fn parse(template: Option<&str>) -> Result<Template, MessageError> {
        let text = template
            .filter(|t| !t.is_empty())
            .unwrap_or(DEFAULT_MESSAGE_TEMPLATE);
        gotemplate::Template::parse("commit message", text)
            .map(|inner| Template { inner })
            .map_err(|e| MessageError::Parse(e.to_string()))
    }

    /// Renders the message for `data`.
    pub fn render(&self, data: &Data<'_>) -> Result<String, MessageError> {
        self.inner.execute(&template_data(data)).map_err(|e| {
            let text = e.to_string();
            if text.contains("can't evaluate field Updated in type source.TemplateData") {
                MessageError::RemovedField {
                    field: ".Updated",
                    message: "template uses removed '.Updated' field. Please use '.Changed' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template",
                }
            } else if text.contains("can't evaluate field ImageResult in type update.Result") {
                MessageError::RemovedField {
                    field: ".Changed.ImageResult",
                    message: "template uses removed '.Changed.ImageResult' field. Please use '.Changed.FileChanges' or '.Changed.Objects' instead. See: https://fluxcd.io/flux/components/image/imageupdateautomations/#message-template",
                }
            } else {
                MessageError::Execute(text)
            }
        })
    }
}

fn string(s: &str) -> Value {
    Value::from(s)
}

fn object_identifier(o: &ObjectRef) -> Value {
    let type_meta = Struct::new(
        "yaml.TypeMeta",
        vec![
            ("APIVersion", string(&o.api_version)),
            ("Kind", string(&o.kind)),
        ],
    );
    let name_meta = Struct::new(
        "yaml.NameMeta",
        vec![
            ("Name", string(&o.name)),
            ("Namespace", string(&o.namespace)),
        ],
    );
    let identifier = Struct::new(
        "yaml.ResourceIdentifier",
        vec![
            ("TypeMeta", type_meta.into()),
            ("NameMeta", name_meta.into()),
        ],
    );
    Value::Struct(Struct::new(
        "update.ObjectIdentifier",
        vec![("ResourceIdentifier", identifier.into())],
    ))
}

fn change(old: &str, new: &str, setter: &str) -> Value {
    Value::Struct(Struct::new(
        "update.Change",
        vec![
            ("OldValue", string(old)),
            ("NewValue", string(new)),
            ("Setter", string(setter)),
        ],
    ))
}

/// The file name Flux reports: relative to the update path.
fn file_name(path: &Path, update_path: Option<&str>) -> String {
    let prefix = update_path
        .map(|p| p.trim_start_matches("./").trim_matches('/'))
        .filter(|p| !p.is_empty() && *p != ".");
    let relative = match prefix {
        Some(prefix) => path.strip_prefix(prefix).unwrap_or(path),
        None => path,
    };
    relative.to_string_lossy().into_owned()
}

fn template_data(data: &Data<'_>) -> Value {
    // file -> object -> changes, and object -> changes over all files.
    let mut files: Vec<(Value, Value)> = Vec::new();
    let mut objects: BTreeMap<&ObjectRef, Vec<Value>> = BTreeMap::new();
    let mut distinct: Vec<(&str, &str, &str)> = Vec::new();
    for file in &data.update.files {
        let mut per_object: BTreeMap<&ObjectRef, Vec<Value>> = BTreeMap::new();
        for object in &file.objects {
            let changes: Vec<Value> = object
                .changes
                .iter()
                .map(|c| change(&c.old_value, &c.new_value, &c.setter))
                .collect();
            for c in &object.changes {
                let key = (
                    c.old_value.as_str(),
                    c.new_value.as_str(),
                    c.setter.as_str(),
                );
                if !distinct.contains(&key) {
                    distinct.push(key);
                }
            }
            per_object
                .entry(&object.object)
                .or_default()
                .extend(changes);
        }
        // As Flux's Objects(): the last file's changes of an object win.
        for (object, changes) in &per_object {
            objects.insert(object, changes.clone());
        }
        files.push((
            string(&file_name(&file.path, data.update_path)),
            Value::Map(
                per_object
                    .into_iter()
                    .map(|(o, c)| (object_identifier(o), Value::List(c)))
                    .collect(),
            ),
        ));
    }
    let objects = Value::Map(
        objects
            .into_iter()
            .map(|(o, c)| (object_identifier(o), Value::List(c)))
            .collect(),
    );
    let changes = Value::List(
        distinct
            .into_iter()
            .map(|(old, new, setter)| change(old, new, setter))
            .collect(),
    );
    let mut result = Struct::new("update.Result", vec![("FileChanges", Value::Map(files))]);
    result.methods = vec![("Changes".into(), changes), ("Objects".into(), objects)];
    let mut automation = Struct::new(
        "types.NamespacedName",
        vec![
            ("Namespace", string(data.namespace)),
            ("Name", string(data.name)),
        ],
    );
    automation.display = Some(format!("{}/{}", data.namespace, data.name));
    let values: BTreeMap<String, String> = data
        .values
        .iter()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    Value::Struct(Struct::new(
        "source.TemplateData",
        vec![
            ("AutomationObject", automation.into()),
            ("Changed", result.into()),
            ("Values", Value::map_of_strings(values)),
        ],
    ))
}
