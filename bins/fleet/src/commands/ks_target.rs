//! The arguments `fleet apply ks` and `fleet diff ks` share: which
//! Kustomization, from which local tree, onto which cluster.

use anyhow::{Context, Result};
use fleet_reconcile::reconcile::{LocalApply, ReconcileOptions};
use std::path::PathBuf;

/// A Kustomization, its local tree and the cluster.
#[derive(clap::Args)]
pub struct KsTarget {
    /// The Kustomization's name.
    name: String,
    /// The Kustomization's namespace.
    #[arg(short, long, default_value = "flux-system")]
    namespace: String,
    /// The local directory holding the manifests of `spec.path`.
    #[arg(long)]
    path: PathBuf,
    /// A file holding the Kustomization; without it, the cluster's object
    /// is used, else the repository around `--path` is searched.
    #[arg(long)]
    kustomization_file: Option<PathBuf>,
    /// The kubeconfig (default: $KUBECONFIG, then ~/.kube/config).
    #[arg(long, value_name = "FILE")]
    kubeconfig: Option<PathBuf>,
    /// The kubeconfig context (default: its current context).
    #[arg(long)]
    context: Option<String>,
    /// The server-side apply field manager (`kustomize-controller` takes
    /// over objects Flux applied without conflicts).
    #[arg(long, default_value = "fleet")]
    field_manager: String,
}

impl KsTarget {
    /// `namespace/name`, as the output names the Kustomization.
    pub fn id(&self) -> String {
        format!("{}/{}", self.namespace, self.name)
    }

    /// Runs `work` with a client for the cluster and the library request
    /// (`options` with the field manager set here, and the cluster's
    /// configuration for impersonating `spec.serviceAccountName`), on a
    /// one-thread runtime.
    pub fn run<T, F, Fut>(&self, options: ReconcileOptions, work: F) -> Result<T>
    where
        F: FnOnce(kube::Client, LocalApply) -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("starting the async runtime")?;
        runtime.block_on(async {
            let config =
                fleet_capi::management::config(self.kubeconfig.as_deref(), self.context.as_deref())
                    .await?;
            let client = kube::Client::try_from(config.clone())
                .context("building a client for the cluster")?;
            let mut access = options.access;
            access.management_config = Some(config);
            let request = LocalApply {
                name: self.name.clone(),
                namespace: self.namespace.clone(),
                path: self.path.clone(),
                kustomization_file: self.kustomization_file.clone(),
                options: ReconcileOptions {
                    field_manager: self.field_manager.clone(),
                    access,
                    ..options
                },
            };
            work(client, request).await
        })
    }
}
