//! Random but realistic kustomization trees for `cargo xtask fidelity`.
//!
//! A tree is a few application bases, optional components, one or two
//! overlay levels and a top overlay, the way GitOps repositories lay them
//! out. Every kustomization draws its features from what such repositories
//! use (prefixes, namespaces, labels of every kind, images, replicas,
//! generators, every patch kind, replacements, build metadata) and every
//! file is written in one of the YAML styles people write: block scalars
//! with each chomping indicator, quoted numbers and versions, flow
//! collections, comments, files that end without a line break. Patches and
//! replacements name objects that exist, so most trees build; a few are
//! meant to be refused.
//!
//! The same seed always gives the same tree.

use std::fmt::Write as _;

/// splitmix64: small, fast, and the same on every machine.
pub struct Rng(u64);

impl Rng {
    /// A generator for one seed.
    pub fn new(seed: u64) -> Rng {
        Rng(seed
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .wrapping_add(0x2545_F491_4F6C_DD1D))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.next_u64() % 100 < percent
    }

    /// One element of a non-empty slice.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A generated tree: files (relative paths) and the directory to build.
pub struct Tree {
    /// `(path, contents)`, paths relative to the tree's root.
    pub files: Vec<(String, String)>,
    /// The directory to build, relative to the root.
    pub build_dir: String,
}

/// An object the generator knows exists, so patches can name it.
#[derive(Clone, Debug)]
struct Obj {
    api: String,
    kind: String,
    name: String,
    /// Container names, for workloads.
    containers: Vec<String>,
    /// Label `app` value, when the object carries one.
    app: String,
}

impl Obj {
    fn is_workload(&self) -> bool {
        matches!(
            self.kind.as_str(),
            "Deployment" | "StatefulSet" | "DaemonSet"
        )
    }
    fn group(&self) -> &str {
        self.api.rsplit_once('/').map_or("", |(g, _)| g)
    }
}

const APPS: &[&str] = &[
    "web", "api", "worker", "redis", "frontend", "backend", "cache", "gateway", "auth", "podinfo",
];
const IMAGES: &[&str] = &[
    "nginx",
    "ghcr.io/stefanprodan/podinfo",
    "redis",
    "registry.example.com/team/api",
    "docker.io/library/postgres",
    "quay.io/prometheus/node-exporter",
];
const TAGS: &[&str] = &[
    "1.25",
    "1.10",
    "6.0.3",
    "v2.1.0",
    "latest",
    "7.2",
    "16.1",
    "1.0",
    "2024.01.15",
    "8",
];
const ENVS: &[&str] = &["dev", "staging", "production", "eu-west-1", "us-east"];

/// Quotes a string in one of the ways people write it: plain when that
/// reads back as the same string, otherwise single or double quotes.
fn q(rng: &mut Rng, s: &str) -> String {
    let needs = s.is_empty()
        || s.parse::<f64>().is_ok()
        || s.starts_with(['.', '+', '~', ' '])
        || matches!(
            s,
            "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "~" | "y" | "n"
        )
        || s.contains(": ")
        || s.contains(" #")
        || s.starts_with([
            '*', '&', '!', '%', '@', '`', '{', '[', '|', '>', '\'', '"', '-', '?', '#',
        ])
        || s.ends_with(':')
        || s.contains('\n')
        || is_dateish(s);
    let special = s
        .chars()
        .any(|c| matches!(c, '\t' | '\u{85}' | '\u{2028}' | '\u{2029}' | '\u{FEFF}'));
    if !needs && !special && rng.chance(70) {
        return s.to_string();
    }
    if rng.chance(50) && !s.contains('\n') && !special {
        format!("'{}'", s.replace('\'', "''"))
    } else {
        let mut out = String::from("\"");
        for c in s.chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\u{85}' => out.push_str("\\N"),
                '\u{2028}' => out.push_str("\\L"),
                '\u{2029}' => out.push_str("\\P"),
                '\u{FEFF}' => out.push_str("\\uFEFF"),
                c => out.push(c),
            }
        }
        out.push('"');
        out
    }
}

/// A random [`scalar_text`], quoted as people do.
fn qs(rng: &mut Rng) -> String {
    let v = scalar_text(rng);
    q(rng, &v)
}

/// One of `items`, quoted as people do.
fn qp(rng: &mut Rng, items: &[&str]) -> String {
    let v = *rng.pick(items);
    q(rng, v)
}

fn is_dateish(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-'
}

/// A scalar value as people put them in ConfigMaps, env vars and labels:
/// versions, ports, booleans, dates, sizes, URLs, and the odd character.
fn scalar_text(rng: &mut Rng) -> String {
    let choices: &[&str] = &[
        "1.10",
        "8080",
        "8",
        "16.1",
        "true",
        "false",
        "yes",
        "on",
        "2001-12-14",
        "2024-03-01T10:00:00Z",
        "info",
        "debug",
        "512Mi",
        "0.5",
        "1e3",
        "1e999",
        "0x1F",
        "0755",
        "1_000",
        "http://svc.example.com:8080/path?a=b",
        "a: b",
        "value with # hash",
        "~",
        "null",
        "",
        "  leading space",
        "party \u{1F389}",
        "caf\u{E9}",
        "line\u{2028}sep",
        "nel\u{85}here",
        "\u{FEFF}bom",
        "tab\there",
        "*star",
        "-dash",
        "100%",
        "@at",
        "${cluster_name}",
        "1:20",
        "Yes",
        "NO",
        ".inf",
        "-.5",
        "+12",
        "007",
    ];
    rng.pick(choices).to_string()
}

/// A multi-line block of text and the block-scalar header to write it with.
fn block_text(rng: &mut Rng) -> Vec<String> {
    let bodies: &[&[&str]] = &[
        &[
            "server {",
            "  listen 80;",
            "  location / {",
            "    return 200;",
            "  }",
            "}",
        ],
        &[
            "log_level = \"info\"",
            "port = 8080",
            "",
            "[features]",
            "beta = true",
        ],
        &[
            "#!/bin/sh",
            "set -eu",
            "echo \"starting ${APP}\"",
            "exec \"$@\"",
        ],
        &["key: value", "list:", "- a", "- b"],
        &[
            "a long line of text that goes on and on past the eighty column limit of the emitter for sure",
        ],
        &["single"],
    ];
    rng.pick(bodies).iter().map(|s| s.to_string()).collect()
}

/// Writes `key: <block>` at `indent`, with a random chomping indicator and
/// trailing blank lines. Returns the text.
fn block_entry(rng: &mut Rng, indent: usize, key: &str) -> String {
    let lines = block_text(rng);
    let pad = " ".repeat(indent);
    let header = *rng.pick(&["|", "|-", "|+", ">", ">-", "|"]);
    let mut s = format!("{pad}{key}: {header}\n");
    for l in &lines {
        if l.is_empty() {
            s.push('\n');
        } else {
            let _ = writeln!(s, "{pad}  {l}");
        }
    }
    if header.ends_with('+') && rng.chance(50) {
        s.push('\n');
    }
    s
}

fn comment(rng: &mut Rng, indent: usize) -> String {
    if rng.chance(15) {
        format!(
            "{}# {}\n",
            " ".repeat(indent),
            rng.pick(&[
                "managed by platform",
                "TODO: tune",
                "see runbook",
                "keep in sync"
            ])
        )
    } else {
        String::new()
    }
}

struct Base {
    dir: String,
    objs: Vec<Obj>,
    /// Generated ConfigMap names (before hashing) and their keys.
    config_maps: Vec<(String, Vec<String>)>,
}

fn labels_block(rng: &mut Rng, indent: usize, app: &str) -> String {
    let pad = " ".repeat(indent);
    let mut s = String::new();
    if rng.chance(25) {
        let _ = writeln!(
            s,
            "{pad}labels: {{app: {app}, tier: {}}}",
            rng.pick(&["frontend", "backend"])
        );
        return s;
    }
    let _ = writeln!(s, "{pad}labels:");
    let _ = writeln!(s, "{pad}  app: {}", q(rng, app));
    if rng.chance(40) {
        let _ = writeln!(s, "{pad}  app.kubernetes.io/version: {}", q(rng, "1.10"));
    }
    if rng.chance(20) {
        let _ = writeln!(s, "{pad}  team: \"8\"");
    }
    s
}

fn container(rng: &mut Rng, name: &str, cms: &[(String, Vec<String>)], indent: usize) -> String {
    let pad = " ".repeat(indent);
    let image = rng.pick(IMAGES);
    let tag = rng.pick(TAGS);
    let mut s = String::new();
    let _ = writeln!(s, "{pad}- name: {name}");
    let image_text = if rng.chance(10) {
        image.to_string()
    } else {
        format!("{image}:{tag}")
    };
    let _ = writeln!(s, "{pad}  image: {}", q(rng, &image_text));
    if rng.chance(30) {
        let _ = writeln!(
            s,
            "{pad}  args: [\"--port=8080\", --log-level, {}]",
            q(rng, "info")
        );
    }
    if rng.chance(70) {
        if rng.chance(30) {
            let _ = writeln!(s, "{pad}  ports: [{{containerPort: 8080, name: http}}]");
        } else {
            let _ = writeln!(s, "{pad}  ports:");
            let _ = writeln!(
                s,
                "{pad}  - containerPort: {}",
                rng.pick(&["8080", "80", "9090"])
            );
            let _ = writeln!(s, "{pad}    name: http");
            if rng.chance(40) {
                let _ = writeln!(s, "{pad}    protocol: TCP");
            }
            if rng.chance(40) {
                let _ = writeln!(s, "{pad}  - containerPort: 9100\n{pad}    name: metrics");
            }
        }
    }
    if rng.chance(70) {
        let _ = writeln!(s, "{pad}  env:");
        let n = 1 + rng.below(3);
        for i in 0..n {
            let key = [
                "LOG_LEVEL",
                "PORT",
                "VERSION",
                "ENABLED",
                "START_DATE",
                "GREETING",
            ][(i + rng.below(6)) % 6];
            let v = scalar_text(rng);
            let _ = writeln!(s, "{pad}  - name: {key}_{i}");
            if v.is_empty() && rng.chance(50) {
                let _ = writeln!(s, "{pad}    value:");
            } else {
                let _ = writeln!(s, "{pad}    value: {}", q(rng, &v));
            }
        }
        if let Some((cm, keys)) = cms.first().filter(|_| rng.chance(50)) {
            let _ = writeln!(s, "{pad}  - name: FROM_CONFIG");
            let _ = writeln!(s, "{pad}    valueFrom:");
            let _ = writeln!(s, "{pad}      configMapKeyRef:");
            let _ = writeln!(s, "{pad}        name: {cm}");
            let _ = writeln!(
                s,
                "{pad}        key: {}",
                keys.first().map_or("KEY", String::as_str)
            );
        }
    }
    if let Some((cm, _)) = cms.last().filter(|_| rng.chance(40)) {
        let _ = writeln!(
            s,
            "{pad}  envFrom:\n{pad}  - configMapRef:\n{pad}      name: {cm}"
        );
    }
    if rng.chance(50) {
        let cpu = rng.pick(&["100m", "\"2\"", "'1'", "0.5", "250m"]);
        let mem = rng.pick(&["128Mi", "1Gi", "\"512Mi\""]);
        let _ = writeln!(
            s,
            "{pad}  resources:\n{pad}    requests:\n{pad}      cpu: {cpu}\n{pad}      memory: {mem}"
        );
        if rng.chance(40) {
            let _ = writeln!(s, "{pad}    limits: {{cpu: {cpu}, memory: {mem}}}");
        }
    }
    if rng.chance(25) {
        let _ = writeln!(
            s,
            "{pad}  volumeMounts:\n{pad}  - mountPath: /etc/config\n{pad}    name: config"
        );
    }
    if rng.chance(15) {
        let _ = writeln!(s, "{pad}  securityContext: {{}}");
    }
    if rng.chance(10) {
        let _ = writeln!(
            s,
            "{pad}  readinessProbe:\n{pad}    httpGet: {{path: /healthz, port: 8080}}\n{pad}    initialDelaySeconds:"
        );
    }
    s
}

fn workload(rng: &mut Rng, app: &str, cms: &[(String, Vec<String>)]) -> (String, Obj) {
    let kind = *rng.pick(&[
        "Deployment",
        "Deployment",
        "Deployment",
        "StatefulSet",
        "DaemonSet",
    ]);
    let mut s = String::new();
    if rng.chance(20) {
        s.push_str("---\n");
    }
    s.push_str(&comment(rng, 0));
    let _ = writeln!(
        s,
        "apiVersion: apps/v1\nkind: {kind}\nmetadata:\n  name: {app}"
    );
    s.push_str(&labels_block(rng, 2, app));
    if rng.chance(30) {
        let _ = writeln!(
            s,
            "  annotations:\n    example.com/owner: team-a\n    checksum/config: {}",
            q(rng, "0123")
        );
    }
    s.push_str("spec:\n");
    if kind != "DaemonSet" && rng.chance(80) {
        let _ = writeln!(s, "  replicas: {}", rng.pick(&["1", "2", "3"]));
    }
    if kind == "StatefulSet" {
        let _ = writeln!(s, "  serviceName: {app}");
    }
    if rng.chance(30) {
        let _ = writeln!(s, "  selector:\n    matchLabels: {{app: {app}}}");
    } else {
        let _ = writeln!(s, "  selector:\n    matchLabels:\n      app: {app}");
    }
    let _ = writeln!(
        s,
        "  template:\n    metadata:\n      labels:\n        app: {app}"
    );
    if rng.chance(20) {
        let _ = writeln!(
            s,
            "      annotations:\n        prometheus.io/scrape: \"true\"\n        prometheus.io/port: '9100'"
        );
    }
    s.push_str("    spec:\n");
    s.push_str(&comment(rng, 6));
    if rng.chance(40) {
        let _ = writeln!(s, "      serviceAccountName: {app}");
    }
    let mut containers = vec![app.to_string()];
    if rng.chance(30) {
        containers.push("sidecar".to_string());
    }
    if rng.chance(15) {
        let _ = writeln!(s, "      initContainers:");
        s.push_str(&container(rng, "init", cms, 6));
    }
    let _ = writeln!(s, "      containers:");
    for c in &containers {
        s.push_str(&container(rng, c, cms, 6));
    }
    if rng.chance(30) {
        let _ = writeln!(
            s,
            "      volumes:\n      - name: config\n        configMap:\n          name: {}",
            cms.first().map_or("settings", |c| c.0.as_str())
        );
    }
    if rng.chance(15) {
        let _ = writeln!(s, "      nodeSelector: {{}}\n      tolerations: []");
    }
    if kind == "StatefulSet" && rng.chance(50) {
        let _ = writeln!(
            s,
            "  volumeClaimTemplates:\n  - metadata:\n      name: data\n    spec:\n      accessModes: [ReadWriteOnce]\n      resources:\n        requests:\n          storage: 1Gi"
        );
    }
    (
        s,
        Obj {
            api: "apps/v1".into(),
            kind: kind.into(),
            name: app.into(),
            containers,
            app: app.into(),
        },
    )
}

fn service(rng: &mut Rng, app: &str) -> (String, Obj) {
    let mut s = String::new();
    let _ = writeln!(s, "apiVersion: v1\nkind: Service\nmetadata:\n  name: {app}");
    if rng.chance(50) {
        s.push_str(&labels_block(rng, 2, app));
    }
    let _ = writeln!(s, "spec:");
    if rng.chance(20) {
        let _ = writeln!(s, "  type: ClusterIP");
    }
    let _ = writeln!(s, "  selector:\n    app: {app}");
    if rng.chance(30) {
        let _ = writeln!(s, "  ports: [{{port: 80, targetPort: http, name: http}}]");
    } else {
        let _ = writeln!(
            s,
            "  ports:\n  - name: http\n    port: 80\n    targetPort: {}",
            rng.pick(&["http", "8080", "'8080'"])
        );
    }
    (
        s,
        Obj {
            api: "v1".into(),
            kind: "Service".into(),
            name: app.into(),
            containers: vec![],
            app: app.into(),
        },
    )
}

fn config_map(rng: &mut Rng, app: &str) -> (String, Obj) {
    let name = format!("{app}-config");
    let mut s = String::new();
    let _ = writeln!(
        s,
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}"
    );
    if rng.chance(30) {
        let _ = writeln!(s, "  annotations:\n    note: {}", qs(rng));
    }
    let _ = writeln!(s, "data:");
    let n = 1 + rng.below(4);
    for i in 0..n {
        if rng.chance(35) {
            s.push_str(&block_entry(rng, 2, &format!("file{i}.conf")));
        } else {
            let v = scalar_text(rng);
            let _ = writeln!(s, "  KEY_{i}: {}", q(rng, &v));
        }
    }
    (
        s,
        Obj {
            api: "v1".into(),
            kind: "ConfigMap".into(),
            name,
            containers: vec![],
            app: app.into(),
        },
    )
}

fn rbac(rng: &mut Rng, app: &str) -> (String, Vec<Obj>) {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "apiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: {app}\n---"
    );
    let _ = writeln!(
        s,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: Role\nmetadata:\n  name: {app}-reader\nrules:\n- apiGroups: [\"\"]\n  resources: [configmaps, secrets]\n  verbs: [get, list, watch]\n---"
    );
    let _ = writeln!(
        s,
        "apiVersion: rbac.authorization.k8s.io/v1\nkind: RoleBinding\nmetadata:\n  name: {app}-reader\nroleRef:\n  apiGroup: rbac.authorization.k8s.io\n  kind: Role\n  name: {app}-reader\nsubjects:\n- kind: ServiceAccount\n  name: {app}"
    );
    if rng.chance(30) {
        let _ = writeln!(s, "- kind: ServiceAccount\n  name: default");
    }
    if rng.chance(20) {
        let _ = writeln!(
            s,
            "- kind: Group\n  name: system:serviceaccounts\n  apiGroup: rbac.authorization.k8s.io"
        );
    }
    let mk = |api: &str, kind: &str, name: String| Obj {
        api: api.into(),
        kind: kind.into(),
        name,
        containers: vec![],
        app: app.into(),
    };
    (
        s,
        vec![
            mk("v1", "ServiceAccount", app.to_string()),
            mk(
                "rbac.authorization.k8s.io/v1",
                "Role",
                format!("{app}-reader"),
            ),
            mk(
                "rbac.authorization.k8s.io/v1",
                "RoleBinding",
                format!("{app}-reader"),
            ),
        ],
    )
}

fn extra(rng: &mut Rng, app: &str) -> (String, Obj) {
    let which = rng.below(6);
    let (api, kind, name, body) = match which {
        0 => (
            "autoscaling/v2",
            "HorizontalPodAutoscaler",
            app.to_string(),
            format!(
                "spec:\n  scaleTargetRef:\n    apiVersion: apps/v1\n    kind: Deployment\n    name: {app}\n  minReplicas: 1\n  maxReplicas: 10\n  metrics:\n  - type: Resource\n    resource:\n      name: cpu\n      target:\n        type: Utilization\n        averageUtilization: 80\n"
            ),
        ),
        1 => (
            "policy/v1",
            "PodDisruptionBudget",
            app.to_string(),
            format!(
                "spec:\n  minAvailable: {}\n  selector:\n    matchLabels:\n      app: {app}\n",
                rng.pick(&["1", "\"50%\"", "'1'"])
            ),
        ),
        2 => (
            "networking.k8s.io/v1",
            "Ingress",
            app.to_string(),
            format!(
                "metadata:\n  annotations:\n    nginx.ingress.kubernetes.io/rewrite-target: /\nspec:\n  rules:\n  - host: {app}.example.com\n    http:\n      paths:\n      - path: /\n        pathType: Prefix\n        backend:\n          service:\n            name: {app}\n            port:\n              number: 80\n"
            ),
        ),
        3 => (
            "batch/v1",
            "CronJob",
            format!("{app}-backup"),
            format!(
                "spec:\n  schedule: {}\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers:\n          - name: backup\n            image: busybox:1.36\n            command: [sh, -c, 'echo backup']\n",
                q(rng, "0 3 * * *")
            ),
        ),
        4 => (
            "helm.toolkit.fluxcd.io/v2",
            "HelmRelease",
            app.to_string(),
            format!(
                "spec:\n  interval: 10m\n  chart:\n    spec:\n      chart: {app}\n      version: {}\n      sourceRef:\n        kind: HelmRepository\n        name: charts\n  values:\n    replicaCount: 2\n    image:\n      tag: {}\n    ingress:\n      enabled: {}\n    podAnnotations: {{}}\n    tolerations: []\n",
                q(rng, "1.10"),
                q(rng, "16.1"),
                rng.pick(&["true", "\"false\"", "yes"])
            ),
        ),
        _ => (
            "monitoring.coreos.com/v1",
            "ServiceMonitor",
            app.to_string(),
            format!(
                "spec:\n  endpoints:\n  - port: metrics\n    interval: 30s\n  - port: http\n    path: /metrics\n  selector:\n    matchLabels:\n      app: {app}\n"
            ),
        ),
    };
    let mut s = format!("apiVersion: {api}\nkind: {kind}\n");
    if let Some(rest) = body.strip_prefix("metadata:\n") {
        let _ = write!(s, "metadata:\n  name: {name}\n{rest}");
    } else {
        let _ = write!(s, "metadata:\n  name: {name}\n{body}");
    }
    (
        s,
        Obj {
            api: api.into(),
            kind: kind.into(),
            name,
            containers: if which == 3 {
                vec!["backup".into()]
            } else {
                vec![]
            },
            app: app.into(),
        },
    )
}

/// Ends text without its final line break, sometimes: real files do.
fn maybe_strip_final_newline(rng: &mut Rng, mut s: String) -> String {
    if rng.chance(20) {
        while s.ends_with('\n') {
            s.pop();
        }
    }
    s
}

fn make_base(rng: &mut Rng, files: &mut Vec<(String, String)>, dir: &str, apps: &[&str]) -> Base {
    let mut objs = Vec::new();
    let mut resources: Vec<String> = Vec::new();
    let mut config_maps: Vec<(String, Vec<String>)> = Vec::new();
    let mut k = String::new();
    if rng.chance(60) {
        k.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
    }
    // Generators first, so workloads can reference them.
    let mut gens = String::new();
    for app in apps {
        if rng.chance(50) {
            let name = format!("{app}-settings");
            let mut keys = Vec::new();
            let _ = writeln!(gens, "- name: {name}");
            if rng.chance(70) {
                let _ = writeln!(gens, "  literals:");
                for i in 0..1 + rng.below(3) {
                    let key = format!("SETTING_{i}");
                    let v = scalar_text(rng).replace('\n', " ");
                    let lit = format!("{key}={v}");
                    let _ = writeln!(gens, "  - {}", q(rng, &lit));
                    keys.push(key);
                }
            }
            if rng.chance(40) {
                let fname = format!("{app}.properties");
                let body = maybe_strip_final_newline(
                    rng,
                    format!("# settings for {app}\nlevel=info\nport=8080\nversion=1.10\n"),
                );
                files.push((format!("{dir}/{fname}"), body));
                let _ = writeln!(gens, "  files:\n  - {fname}");
                keys.push(fname);
            }
            if rng.chance(30) {
                let fname = format!("{app}.env");
                files.push((
                    format!("{dir}/{fname}"),
                    "DB_HOST=db.example.com\nDB_PORT=5432\n# comment\nEMPTY=\nQUOTED=\"1.10\"\n"
                        .to_string(),
                ));
                let _ = writeln!(gens, "  envs:\n  - {fname}");
                keys.push("DB_HOST".into());
            }
            if keys.is_empty() {
                let _ = writeln!(gens, "  literals: [MODE=default]");
                keys.push("MODE".into());
            }
            if rng.chance(20) {
                let _ = writeln!(gens, "  options:\n    disableNameSuffixHash: true");
            }
            if rng.chance(15) {
                let _ = writeln!(gens, "  options:\n    labels:\n      generated: \"yes\"");
            }
            config_maps.push((name, keys));
        }
    }
    for app in apps {
        let cms: Vec<(String, Vec<String>)> = config_maps
            .iter()
            .filter(|(n, _)| n.starts_with(app))
            .cloned()
            .collect();
        let (w, wo) = workload(rng, app, &cms);
        objs.push(wo);
        let together = rng.chance(30);
        let mut wtext = w;
        if rng.chance(70) {
            let (svc, so) = service(rng, app);
            objs.push(so);
            if together {
                if !wtext.ends_with('\n') {
                    wtext.push('\n');
                }
                wtext.push_str("---\n");
                wtext.push_str(&svc);
            } else {
                let f = format!("{app}-service.yaml");
                files.push((format!("{dir}/{f}"), maybe_strip_final_newline(rng, svc)));
                resources.push(f);
            }
        }
        let f = format!(
            "{app}-{}.yaml",
            rng.pick(&["deployment", "workload", "app"])
        );
        files.push((format!("{dir}/{f}"), maybe_strip_final_newline(rng, wtext)));
        resources.insert(
            resources.len().saturating_sub(usize::from(
                !together && !resources.is_empty() && rng.chance(50),
            )),
            f,
        );
        if rng.chance(50) {
            let (cm, co) = config_map(rng, app);
            objs.push(co);
            let f = format!("{app}-configmap.yaml");
            files.push((format!("{dir}/{f}"), maybe_strip_final_newline(rng, cm)));
            resources.push(f);
        }
        if rng.chance(40) {
            let (r, ro) = rbac(rng, app);
            objs.extend(ro);
            let f = format!("{app}-rbac.yaml");
            files.push((format!("{dir}/{f}"), r));
            resources.push(f);
        }
        if rng.chance(50) {
            let (e, eo) = extra(rng, app);
            objs.push(eo);
            let f = format!(
                "{app}-{}.yaml",
                e.lines()
                    .nth(1)
                    .unwrap_or("x")
                    .trim_start_matches("kind: ")
                    .to_lowercase()
            );
            files.push((format!("{dir}/{f}"), maybe_strip_final_newline(rng, e)));
            resources.push(f);
        }
    }
    if rng.chance(40) {
        let _ = writeln!(k, "resources: [{}]", resources.join(", "));
    } else {
        let _ = writeln!(k, "resources:");
        for r in &resources {
            let _ = writeln!(k, "- {r}");
        }
    }
    if !gens.is_empty() {
        let _ = write!(k, "configMapGenerator:\n{gens}");
    }
    if rng.chance(25) {
        let app = rng.pick(apps);
        let _ = writeln!(
            k,
            "secretGenerator:\n- name: {app}-credentials\n  literals:\n  - username=admin\n  - password={}\n  type: Opaque",
            rng.pick(&["s3cr3t", "\"1.10\"", "p@ss:word"])
        );
        objs.push(Obj {
            api: "v1".into(),
            kind: "Secret".into(),
            name: format!("{app}-credentials"),
            containers: vec![],
            app: app.to_string(),
        });
    }
    for (name, _) in &config_maps {
        objs.push(Obj {
            api: "v1".into(),
            kind: "ConfigMap".into(),
            name: name.clone(),
            containers: vec![],
            app: name.split('-').next().unwrap_or("").into(),
        });
    }
    if rng.chance(20) {
        let _ = writeln!(
            k,
            "commonLabels:\n  app.kubernetes.io/part-of: {}",
            rng.pick(apps)
        );
    }
    if rng.chance(20) {
        let _ = writeln!(
            k,
            "labels:\n- pairs:\n    app.kubernetes.io/managed-by: kustomize"
        );
    }
    files.push((format!("{dir}/kustomization.yaml"), k));
    Base {
        dir: dir.to_string(),
        objs,
        config_maps,
    }
}

/// A strategic-merge patch body for one object, as YAML text ending in a line break.
fn smp_body(rng: &mut Rng, o: &Obj, with_id: bool) -> String {
    let mut s = String::new();
    if with_id || rng.chance(50) {
        let _ = writeln!(s, "apiVersion: {}\nkind: {}", o.api, o.kind);
    } else {
        let _ = writeln!(s, "kind: {}", o.kind);
    }
    let name = if with_id {
        o.name.as_str()
    } else {
        *rng.pick(&["not-important", "any"])
    };
    let _ = writeln!(s, "metadata:\n  name: {name}");
    if rng.chance(25)
        || !(o.is_workload() || matches!(o.kind.as_str(), "ConfigMap" | "Service" | "HelmRelease"))
    {
        let _ = writeln!(s, "  annotations:\n    example.com/patched: {}", qs(rng));
    }
    if rng.chance(15) {
        let _ = writeln!(s, "  labels:\n    version: {}", q(rng, "1.10"));
    }
    if o.is_workload() {
        s.push_str("spec:\n");
        if o.kind != "DaemonSet" && rng.chance(40) {
            let _ = writeln!(s, "  replicas: {}", rng.pick(&["3", "5", "0"]));
        }
        let c = rng.pick(&o.containers).clone();
        let _ = writeln!(
            s,
            "  template:\n    spec:\n      containers:\n      - name: {c}"
        );
        match rng.below(7) {
            0 => {
                let _ = writeln!(
                    s,
                    "        env:\n        - name: EXTRA\n          value: {}\n        - name: LOG_LEVEL_0\n          value: debug",
                    qs(rng)
                );
            }
            1 => {
                let _ = writeln!(
                    s,
                    "        ports:\n        - containerPort: 9443\n          name: webhook\n        - containerPort: 8080\n          protocol: TCP"
                );
            }
            2 => {
                let _ = writeln!(
                    s,
                    "        resources:\n          limits:\n            cpu: {}\n            memory: 1Gi",
                    rng.pick(&["\"2\"", "500m", "1"])
                );
            }
            3 => {
                let _ = writeln!(s, "        image: {}", q(rng, "nginx:1.10"));
            }
            4 => {
                let _ = writeln!(
                    s,
                    "        env:\n        - name: LOG_LEVEL_0\n          $patch: delete"
                );
            }
            5 => {
                let _ = writeln!(s, "        args:");
                let block = block_entry(rng, 8, "x");
                let block = block.replacen("        x: ", "        - ", 1);
                s.push_str(&block);
            }
            _ => {
                let _ = writeln!(
                    s,
                    "        volumeMounts:\n        - mountPath: /data\n          name: data\n      volumes:\n      - name: data\n        emptyDir: {{}}"
                );
            }
        }
    } else if o.kind == "ConfigMap" {
        s.push_str("data:\n");
        if rng.chance(50) {
            s.push_str(&block_entry(rng, 2, "patched.conf"));
        } else {
            let _ = writeln!(s, "  PATCHED: {}", qs(rng));
        }
    } else if o.kind == "Service" {
        let _ = writeln!(
            s,
            "spec:\n  ports:\n  - name: https\n    port: 443\n    targetPort: {}",
            rng.pick(&["8443", "\"8443\"", "https"])
        );
    } else if o.kind == "HelmRelease" {
        let _ = writeln!(
            s,
            "spec:\n  values:\n    image:\n      tag: {}\n    extra: null\n    resources: {{}}",
            q(rng, "1.10")
        );
    }
    s
}

/// A JSON 6902 operation list for one object, as YAML (or JSON) text.
fn json_ops(rng: &mut Rng, o: &Obj) -> String {
    let mut ops: Vec<String> = Vec::new();
    let json = rng.chance(20);
    let op = |op: &str, path: &str, value: Option<&str>| -> String {
        match value {
            Some(v) => format!("- op: {op}\n  path: {path}\n  value: {v}\n"),
            None => format!("- op: {op}\n  path: {path}\n"),
        }
    };
    match rng.below(6) {
        0 => ops.push(op(
            "add",
            "/metadata/annotations/example.com~1team",
            Some("platform"),
        )),
        1 => ops.push(op(
            "add",
            "/metadata/labels",
            Some("{tier: gold, version: \"1.10\"}"),
        )),
        2 => ops.push(op("replace", "/metadata/annotations", Some("{a.b/c: d}"))),
        3 => ops.push(op(
            "add",
            "/metadata/annotations/config.kubernetes.io~1note",
            Some(&qs(rng)),
        )),
        _ => {}
    }
    if o.is_workload() {
        match rng.below(5) {
            0 => ops.push(op(
                "replace",
                "/spec/template/spec/containers/0/image",
                Some(&q(rng, "busybox:1.10")),
            )),
            1 => ops.push(op(
                "add",
                "/spec/template/spec/containers/0/env/-",
                Some("{name: ADDED, value: \"8080\"}"),
            )),
            2 if o.kind != "DaemonSet" => ops.push(op(
                "replace",
                "/spec/replicas",
                Some(*rng.pick(&["4", "\"4\"", "1e3"])),
            )),
            3 => ops.push(op(
                "add",
                "/spec/template/metadata/annotations",
                Some("{example.com/restartedAt: \"2024-01-01T00:00:00Z\"}"),
            )),
            _ => ops.push(op(
                "add",
                "/spec/template/spec/containers/0/args",
                Some("[--verbose, \"1.10\"]"),
            )),
        }
    } else if o.kind == "ConfigMap" {
        ops.push(op("add", "/data/ADDED", Some(&qs(rng))));
    } else if o.kind == "Service" {
        ops.push(op("replace", "/spec/ports/0/port", Some("8080")));
    }
    if ops.is_empty() {
        ops.push(op("add", "/metadata/annotations/touched", Some("\"yes\"")));
    }
    // `add` under annotations needs the map to exist; people either know
    // it does or create it first (and sometimes forget: kustomize refuses).
    if ops.iter().any(|o| o.contains("/metadata/annotations/")) && rng.chance(60) {
        ops.insert(0, op("add", "/metadata/annotations", Some("{}")));
    }
    let text: String = ops.concat();
    if json {
        // The same operations as JSON.
        let v = fleet_model::yaml::parse_one(&text).ok();
        if let Some(v) = v
            && let Ok(j) = fleet_model::json::to_string_pretty(&v)
        {
            return j;
        }
    }
    text
}

fn indent_text(text: &str, n: usize) -> String {
    let pad = " ".repeat(n);
    text.lines()
        .map(|l| {
            if l.is_empty() {
                String::new()
            } else {
                format!("{pad}{l}")
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn target_block(rng: &mut Rng, o: &Obj, all: &[Obj]) -> String {
    let mut s = String::from("  target:\n");
    match rng.below(8) {
        0 => {
            let _ = writeln!(s, "    kind: {}", o.kind);
        }
        1 => {
            let _ = writeln!(s, "    labelSelector: app={}", o.app);
            let _ = writeln!(s, "    kind: {}", o.kind);
        }
        2 => {
            let others: Vec<&str> = all
                .iter()
                .filter(|x| x.kind == o.kind && x.name != o.name)
                .map(|x| x.name.as_str())
                .collect();
            let alt = others.first().copied().unwrap_or("nothing");
            let _ = writeln!(s, "    kind: {}\n    name: {}|{alt}", o.kind, o.name);
        }
        3 => {
            let _ = writeln!(s, "    name: {}.*", &o.name[..o.name.len().min(2)]);
            let _ = writeln!(s, "    kind: {}", o.kind);
        }
        4 => {
            let g = o.group();
            let v = o.api.rsplit('/').next().unwrap_or("v1");
            let _ = writeln!(
                s,
                "    group: {g}\n    version: {v}\n    kind: {}\n    name: {}",
                o.kind, o.name
            );
        }
        5 => {
            let _ = writeln!(s, "    kind: {}\n    name: ^{}$", o.kind, o.name);
        }
        _ => {
            let _ = writeln!(s, "    kind: {}\n    name: {}", o.kind, o.name);
        }
    }
    s
}

/// Adds patches of every kind to a kustomization, writing patch files.
fn patches(
    rng: &mut Rng,
    files: &mut Vec<(String, String)>,
    dir: &str,
    objs: &[Obj],
    k: &mut String,
) {
    if objs.is_empty() {
        return;
    }
    let mut entries = String::new();
    let mut legacy_smp: Vec<String> = Vec::new();
    let mut legacy_json = String::new();
    let n = 1 + rng.below(4);
    for i in 0..n {
        let o = rng.pick(objs).clone();
        match rng.below(7) {
            // Inline strategic merge, naming its target.
            0 => {
                let body = smp_body(rng, &o, true);
                let header = *rng.pick(&["|", "|-", "|+"]);
                let _ = writeln!(entries, "- patch: {header}\n{}", indent_text(&body, 4));
                if header == "|+" && rng.chance(50) {
                    entries.push('\n');
                }
            }
            // Inline strategic merge with a target selector.
            1 => {
                let body = smp_body(rng, &o, false);
                let _ = write!(
                    entries,
                    "- patch: |-\n{}\n{}",
                    indent_text(&body, 4),
                    target_block(rng, &o, objs)
                );
            }
            // Strategic merge from a file, sometimes without a final newline.
            2 => {
                let f = format!("patch-{i}.yaml");
                let body = smp_body(rng, &o, true);
                let body = maybe_strip_final_newline(rng, body);
                files.push((format!("{dir}/{f}"), body));
                if rng.chance(40) {
                    legacy_smp.push(f);
                } else {
                    let _ = writeln!(entries, "- path: {f}");
                    if rng.chance(30) {
                        entries.push_str(&target_block(rng, &o, objs));
                    }
                }
            }
            // JSON 6902 inline.
            3 | 4 => {
                let ops = json_ops(rng, &o).replace("__NAME__", &o.name);
                let _ = write!(
                    entries,
                    "- patch: |-\n{}\n{}",
                    indent_text(&ops, 4),
                    target_block(rng, &o, objs)
                );
            }
            // JSON 6902 from a file.
            5 => {
                let f = format!("ops-{i}.{}", rng.pick(&["yaml", "json"]));
                let ops = json_ops(rng, &o).replace("__NAME__", &o.name);
                files.push((format!("{dir}/{f}"), maybe_strip_final_newline(rng, ops)));
                if rng.chance(40) {
                    let _ = writeln!(
                        legacy_json,
                        "- target:\n    group: {}\n    version: {}\n    kind: {}\n    name: {}\n  path: {f}",
                        o.group(),
                        o.api.rsplit('/').next().unwrap_or("v1"),
                        o.kind,
                        o.name
                    );
                } else {
                    let _ = write!(entries, "- path: {f}\n{}", target_block(rng, &o, objs));
                }
            }
            // A patch that deletes an object, or replaces a list.
            _ => {
                if rng.chance(30) && !o.is_workload() {
                    let _ = writeln!(
                        entries,
                        "- patch: |\n    $patch: delete\n    apiVersion: {}\n    kind: {}\n    metadata:\n      name: {}",
                        o.api, o.kind, o.name
                    );
                } else if o.is_workload() {
                    let c = rng.pick(&o.containers).clone();
                    let _ = writeln!(
                        entries,
                        "- patch: |\n    apiVersion: {}\n    kind: {}\n    metadata:\n      name: {}\n    spec:\n      template:\n        spec:\n          containers:\n          - name: {c}\n            env:\n            - $patch: replace\n            - name: ONLY\n              value: \"1.10\"",
                        o.api, o.kind, o.name
                    );
                } else {
                    let body = smp_body(rng, &o, true);
                    let _ = writeln!(entries, "- patch: |-\n{}", indent_text(&body, 4));
                }
            }
        }
    }
    if !entries.is_empty() {
        let _ = write!(k, "patches:\n{entries}");
    }
    if !legacy_smp.is_empty() {
        let _ = writeln!(k, "patchesStrategicMerge:");
        for f in legacy_smp {
            let _ = writeln!(k, "- {f}");
        }
    }
    if !legacy_json.is_empty() {
        let _ = write!(k, "patchesJson6902:\n{legacy_json}");
    }
}

fn replacements(rng: &mut Rng, objs: &[Obj], cms: &[(String, Vec<String>)], k: &mut String) {
    let workloads: Vec<&Obj> = objs.iter().filter(|o| o.is_workload()).collect();
    let Some(w) = workloads.first().map(|w| (*w).clone()) else {
        return;
    };
    let mut s = String::from("replacements:\n");
    match rng.below(5) {
        0 => {
            // The image tag into a label.
            let c = w.containers[0].clone();
            let _ = writeln!(
                s,
                "- source:\n    kind: {}\n    name: {}\n    fieldPath: spec.template.spec.containers.[name={c}].image\n    options:\n      delimiter: ':'\n      index: 1\n  targets:\n  - select:\n      kind: {}\n      name: {}\n    fieldPaths:\n    - metadata.labels.[app.kubernetes.io/version]\n    - spec.template.metadata.labels.version\n    options:\n      create: true",
                w.kind, w.name, w.kind, w.name
            );
        }
        1 => {
            if let Some((cm, keys)) = cms.first() {
                let key = keys.first().cloned().unwrap_or_default();
                let _ = writeln!(
                    s,
                    "- source:\n    kind: ConfigMap\n    name: {cm}\n    fieldPath: data.{key}\n  targets:\n  - select:\n      kind: {}\n    fieldPaths:\n    - metadata.annotations.[config/value]\n    options:\n      create: true",
                    w.kind
                );
            } else {
                let _ = writeln!(
                    s,
                    "- source:\n    kind: {}\n    name: {}\n    fieldPath: metadata.name\n  targets:\n  - select:\n      kind: {}\n    fieldPaths:\n    - metadata.annotations.source-name\n    options:\n      create: true",
                    w.kind, w.name, w.kind
                );
            }
        }
        2 => {
            let _ = writeln!(
                s,
                "- source:\n    kind: {}\n    name: {}\n    fieldPath: spec.template.spec.containers.0.ports.0.containerPort\n  targets:\n  - select:\n      kind: Service\n    fieldPaths:\n    - spec.ports.0.targetPort\n    - metadata.annotations.port\n    options:\n      create: true",
                w.kind, w.name
            );
        }
        3 => {
            let cm = objs.iter().find(|o| o.kind == "ConfigMap");
            if let Some(cm) = cm {
                let _ = writeln!(
                    s,
                    "- source:\n    kind: ConfigMap\n    name: {}\n    fieldPath: metadata.name\n  targets:\n  - select:\n      kind: {}\n    reject:\n    - name: nothing\n    fieldPaths:\n    - spec.template.metadata.annotations.[config.example.com/name]\n    - spec.template.spec.containers.*.env.[name=CONFIG_NAME].value\n    options:\n      create: true",
                    cm.name, w.kind
                );
            } else {
                return;
            }
        }
        _ => {
            let _ = writeln!(
                s,
                "- source:\n    kind: {}\n    name: {}\n    fieldPath: metadata.labels.app\n  targets:\n  - select:\n      kind: {}\n    fieldPaths:\n    - spec.template.spec.containers.0.env.0.value\n    options:\n      delimiter: '-'\n      index: {}",
                w.kind,
                w.name,
                w.kind,
                rng.pick(&["0", "1", "-1"])
            );
        }
    }
    k.push_str(&s);
}

fn transforms(
    rng: &mut Rng,
    files: &mut Vec<(String, String)>,
    dir: &str,
    objs: &[Obj],
    cms: &[(String, Vec<String>)],
    k: &mut String,
    top: bool,
) {
    if rng.chance(40) {
        let _ = writeln!(
            k,
            "namePrefix: {}",
            rng.pick(&["prod-", "dev-", "eu-", "team-a-"])
        );
    }
    if rng.chance(20) {
        let _ = writeln!(k, "nameSuffix: {}", rng.pick(&["-v2", "-blue", "-1"]));
    }
    if rng.chance(50) {
        let _ = writeln!(k, "namespace: {}", rng.pick(ENVS));
    }
    if rng.chance(35) {
        let _ = writeln!(k, "commonLabels:");
        let _ = writeln!(k, "  env: {}", rng.pick(ENVS));
        if rng.chance(30) {
            let _ = writeln!(k, "  version: \"1.10\"");
        }
    }
    if rng.chance(40) {
        let _ = writeln!(k, "labels:");
        for _ in 0..1 + rng.below(3) {
            let key = rng.pick(&["env", "team", "app.kubernetes.io/instance", "tier"]);
            let _ = writeln!(
                k,
                "- pairs:\n    {key}: {}",
                qp(rng, &["blue", "green", "1.10", "8", "prod"])
            );
            if rng.chance(40) {
                let _ = writeln!(k, "  includeSelectors: {}", rng.pick(&["true", "false"]));
            }
            if rng.chance(40) {
                let _ = writeln!(k, "  includeTemplates: true");
            }
        }
    }
    if rng.chance(35) {
        let _ = writeln!(k, "commonAnnotations:");
        let _ = writeln!(
            k,
            "  owner: {}",
            qp(rng, &["team-a", "1.10", "true", "2024-01-01"])
        );
        if rng.chance(30) {
            let _ = writeln!(
                k,
                "  example.com/description: {}",
                q(
                    rng,
                    "a fairly long description that will certainly need folding when it is printed by the emitter"
                )
            );
        }
    }
    if rng.chance(40) {
        let _ = writeln!(k, "images:");
        for _ in 0..1 + rng.below(2) {
            let img = rng.pick(IMAGES);
            let _ = writeln!(k, "- name: {img}");
            match rng.below(4) {
                0 => {
                    let _ = writeln!(k, "  newTag: {}", qp(rng, TAGS).replace("'", "\""));
                }
                1 => {
                    let _ = writeln!(
                        k,
                        "  newName: mirror.example.com/{}\n  newTag: \"1.10\"",
                        img.rsplit('/').next().unwrap_or(img)
                    );
                }
                2 => {
                    let _ = writeln!(
                        k,
                        "  digest: sha256:24a0c4b4a4c0eb97a1aabb8e29f18e917d05abfe1b7a7c07857230879ce7d3d3"
                    );
                }
                _ => {
                    let _ = writeln!(k, "  newName: {img}-mirror");
                }
            }
        }
    }
    let workloads: Vec<&Obj> = objs
        .iter()
        .filter(|o| o.is_workload() && o.kind != "DaemonSet")
        .collect();
    if !workloads.is_empty() && rng.chance(30) {
        let w = rng.pick(&workloads);
        let _ = writeln!(
            k,
            "replicas:\n- name: {}\n  count: {}",
            w.name,
            rng.pick(&["2", "5", "0"])
        );
    }
    if rng.chance(60) {
        patches(rng, files, dir, objs, k);
    }
    if rng.chance(30) {
        replacements(rng, objs, cms, k);
    }
    if top && rng.chance(25) {
        let _ = writeln!(
            k,
            "buildMetadata: [{}]",
            rng.pick(&[
                "originAnnotations",
                "transformerAnnotations",
                "originAnnotations, transformerAnnotations",
                "managedByLabel"
            ])
        );
    }
}

fn component(
    rng: &mut Rng,
    files: &mut Vec<(String, String)>,
    dir: &str,
    objs: &[Obj],
    cms: &[(String, Vec<String>)],
) {
    let mut k = String::from("apiVersion: kustomize.config.k8s.io/v1alpha1\nkind: Component\n");
    if rng.chance(30) {
        let (cm, co) = config_map(rng, "feature");
        files.push((format!("{dir}/feature.yaml"), cm));
        let _ = writeln!(k, "resources:\n- feature.yaml");
        let _ = co;
    }
    if let Some((cm, _)) = cms.first().filter(|_| rng.chance(40)) {
        let _ = writeln!(
            k,
            "configMapGenerator:\n- name: {cm}\n  behavior: {}\n  literals:\n  - FEATURE_FLAG={}",
            rng.pick(&["merge", "replace"]),
            rng.pick(&["on", "\"1.10\"", "enabled"])
        );
    }
    transforms(rng, files, dir, objs, cms, &mut k, false);
    files.push((format!("{dir}/kustomization.yaml"), k));
}

/// Generates the tree for one seed.
pub fn generate(seed: u64) -> Tree {
    let mut rng = Rng::new(seed);
    let rng = &mut rng;
    let mut files: Vec<(String, String)> = Vec::new();
    let nbases = 1 + rng.below(2);
    let mut bases: Vec<Base> = Vec::new();
    let mut pool: Vec<&str> = APPS.to_vec();
    for b in 0..nbases {
        let napps = 1 + rng.below(2);
        let mut apps = Vec::new();
        for _ in 0..napps {
            let i = rng.below(pool.len());
            apps.push(pool.remove(i));
        }
        let dir = if nbases == 1 {
            "base".to_string()
        } else {
            format!("apps/{}", apps[0])
        };
        let _ = b;
        let base = make_base(rng, &mut files, &dir, &apps);
        bases.push(base);
    }
    let mut objs: Vec<Obj> = bases.iter().flat_map(|b| b.objs.clone()).collect();
    let cms: Vec<(String, Vec<String>)> =
        bases.iter().flat_map(|b| b.config_maps.clone()).collect();
    let mut components: Vec<String> = Vec::new();
    for c in 0..rng.below(3) {
        let dir = format!("components/feature-{c}");
        component(rng, &mut files, &dir, &objs, &cms);
        components.push(dir);
    }
    // Optional middle overlay.
    let mut lower: Vec<String> = bases.iter().map(|b| b.dir.clone()).collect();
    if rng.chance(40) {
        let dir = "overlays/common".to_string();
        let mut k = String::new();
        let _ = writeln!(k, "resources:");
        for l in &lower {
            let _ = writeln!(k, "- ../../{l}");
        }
        if rng.chance(30) {
            let ns = rng.pick(ENVS);
            files.push((
                format!("{dir}/namespace.yaml"),
                format!("apiVersion: v1\nkind: Namespace\nmetadata:\n  name: {ns}\n"),
            ));
            let _ = writeln!(k, "- namespace.yaml");
        }
        transforms(rng, &mut files, &dir, &objs, &cms, &mut k, false);
        files.push((format!("{dir}/kustomization.yaml"), k));
        lower = vec![dir];
    }
    let env = rng.pick(ENVS).to_string();
    let top = format!("clusters/{env}");
    let mut k = String::new();
    if rng.chance(50) {
        k.push_str("apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n");
    }
    let _ = writeln!(k, "resources:");
    for l in &lower {
        let _ = writeln!(k, "- ../../{l}");
    }
    if rng.chance(30) {
        let (cm, co) = config_map(rng, "cluster");
        files.push((
            format!("{top}/cluster-vars.yaml"),
            maybe_strip_final_newline(rng, cm),
        ));
        let _ = writeln!(k, "- cluster-vars.yaml");
        objs.push(co);
    }
    if !components.is_empty() {
        let _ = writeln!(k, "components:");
        for c in &components {
            let _ = writeln!(k, "- ../../{c}");
        }
    }
    if let Some((cm, _)) = cms.first().filter(|_| rng.chance(30)) {
        let _ = writeln!(
            k,
            "configMapGenerator:\n- name: {cm}\n  behavior: {}\n  literals:\n  - CLUSTER={env}\n  - REPLICAS=\"3\"",
            rng.pick(&["merge", "replace"])
        );
    }
    transforms(rng, &mut files, &top, &objs, &cms, &mut k, true);
    files.push((format!("{top}/kustomization.yaml"), k));
    Tree {
        files,
        build_dir: top,
    }
}
