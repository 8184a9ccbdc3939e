//! `fleet image select|scan|update|automate`: Flux's image automation, by hand.

use super::Output;
use anyhow::{Context, Result, bail};
use fleet_imagepolicy::policy::{Policy, SortOrder};
use fleet_imagepolicy::reference::{ImageReference, validate_tag};
use fleet_imagepolicy::registry::{Client, ClientOptions, Credentials, scan_repository};
use fleet_imagepolicy::setters::{self, Options, Policies, UnknownPolicy};
use fleet_model::flux::image::{DEFAULT_EXCLUSION_LIST, ImageRef};
use fleet_model::{Manifest, TypedObject};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

/// Arguments of `fleet image`.
#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Print the tag a policy picks from TAG… (or standard input, one a
    /// line), exactly as Flux's ImagePolicy would.
    Select(SelectArgs),
    /// List a registry repository's tags and, with a policy, the one it picks.
    Scan(ScanArgs),
    /// Rewrite the fields marked `# {"$imagepolicy": "NS:NAME"}` under DIR.
    Update(UpdateArgs),
    /// Run an ImageUpdateAutomation once: check out its GitRepository,
    /// rewrite the marked fields, commit and push.
    Automate(super::image_automate::AutomateArgs),
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Order {
    Asc,
    Desc,
}

impl From<Order> for SortOrder {
    fn from(o: Order) -> SortOrder {
        match o {
            Order::Asc => SortOrder::Asc,
            Order::Desc => SortOrder::Desc,
        }
    }
}

/// The policy flags shared by `select` and `scan`.
#[derive(clap::Args)]
struct PolicyArgs {
    #[command(flatten)]
    choice: PolicyChoice,
    /// Keep only tags matching this regular expression (filterTags.pattern).
    #[arg(long, value_name = "RE")]
    filter_pattern: Option<String>,
    /// Order this template of capture groups instead of the tag (filterTags.extract: `$ts`, `${1}`).
    #[arg(long, value_name = "TEMPLATE", requires = "filter_pattern")]
    filter_extract: Option<String>,
}

/// One of the three policy kinds.
#[derive(clap::Args)]
#[group(id = "policy", multiple = false)]
struct PolicyChoice {
    /// A SemVer range (Masterminds syntax, as Flux): `^1.2`, `>=1.0.0 <2.0.0`, `1.x || 2.x`.
    #[arg(long, value_name = "RANGE", group = "policy")]
    semver: Option<String>,
    /// Alphabetical order: `asc` picks the greatest, `desc` the smallest.
    #[arg(long, value_name = "ORDER", group = "policy")]
    alphabetical: Option<Order>,
    /// Numerical order: `asc` picks the greatest, `desc` the smallest.
    #[arg(long, value_name = "ORDER", group = "policy")]
    numerical: Option<Order>,
    /// The policy as one value: a file holding an ImagePolicy (its
    /// `spec.policy` and `spec.filterTags` are used), or `semver=RANGE`,
    /// `alphabetical[=asc|desc]`, `numerical[=asc|desc]`.
    #[arg(long = "policy", value_name = "SPEC|FILE", group = "policy")]
    spec: Option<String>,
}

/// Reads `--policy`: an ImagePolicy file, or `KIND[=VALUE]`.
fn policy_spec(spec: &str) -> Result<Policy> {
    let path = Path::new(spec);
    if path.is_file() {
        let text = std::fs::read_to_string(path).with_context(|| format!("reading {spec}"))?;
        let manifests = Manifest::read_all(&text, spec)?;
        for manifest in &manifests {
            if let Some(TypedObject::ImagePolicy(policy)) = TypedObject::from_manifest(manifest)? {
                return Ok(Policy::from_spec(&policy.spec)?);
            }
        }
        bail!("{spec}: no ImagePolicy in the file");
    }
    let (kind, value) = spec.split_once(['=', ':']).unwrap_or((spec, ""));
    let order = |value: &str| match value {
        "" | "asc" => Ok(SortOrder::Asc),
        "desc" => Ok(SortOrder::Desc),
        other => Err(anyhow::anyhow!(
            "--policy {spec:?}: order {other:?} is not asc or desc"
        )),
    };
    match kind {
        "semver" if !value.is_empty() => Ok(Policy::semver(value)?),
        "alphabetical" => Ok(Policy::alphabetical(order(value)?)),
        "numerical" => Ok(Policy::numerical(order(value)?)),
        _ => bail!(
            "--policy {spec:?}: expected an ImagePolicy file, semver=RANGE, alphabetical[=asc|desc] or numerical[=asc|desc]"
        ),
    }
}

impl PolicyArgs {
    fn policy(&self) -> Result<Option<Policy>> {
        let choice = &self.choice;
        let policy = if let Some(range) = &choice.semver {
            Policy::semver(range)?
        } else if let Some(order) = choice.alphabetical {
            Policy::alphabetical(order.into())
        } else if let Some(order) = choice.numerical {
            Policy::numerical(order.into())
        } else if let Some(spec) = &choice.spec {
            let policy = policy_spec(spec)?;
            match &self.filter_pattern {
                Some(_) => policy,
                None => return Ok(Some(policy)),
            }
        } else {
            if self.filter_pattern.is_some() {
                bail!("--filter-pattern needs a policy: --semver, --alphabetical or --numerical");
            }
            return Ok(None);
        };
        Ok(Some(match &self.filter_pattern {
            Some(pattern) => {
                policy.with_filter(pattern, self.filter_extract.as_deref().unwrap_or(""))?
            }
            None => policy,
        }))
    }
}

#[derive(clap::Args)]
struct SelectArgs {
    #[command(flatten)]
    policy: PolicyArgs,
    /// Tags to choose from; read from standard input when none are given.
    tags: Vec<String>,
}

#[derive(clap::Args)]
struct ScanArgs {
    /// The image repository, e.g. `ghcr.io/org/app` or `localhost:5000/app`.
    image: String,
    #[command(flatten)]
    policy: PolicyArgs,
    /// Tags to leave out (regular expressions; repeatable). Flux's default, `^.*\.sig$`, when none.
    #[arg(long = "exclude", value_name = "RE")]
    exclusion: Vec<String>,
    /// Registry user name (the password comes from FLEET_REGISTRY_PASSWORD).
    #[arg(long)]
    username: Option<String>,
    /// Use plain HTTP (ImageRepository `insecure`); loopback and private hosts always do.
    #[arg(long)]
    insecure: bool,
    /// Seconds allowed per registry request.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
    /// Extra attempts after timeouts, 429 and 5xx answers.
    #[arg(long, default_value_t = 3)]
    retries: u32,
    /// Also resolve the chosen tag's digest.
    #[arg(long, requires = "policy")]
    digest: bool,
    /// Output format.
    #[arg(short, long, value_enum, default_value_t = Output::Text)]
    output: Output,
}

#[derive(clap::Args)]
struct UpdateArgs {
    /// The repository checkout to rewrite.
    dir: PathBuf,
    /// A policy's latest image, `NAMESPACE:NAME=IMAGE:TAG[@DIGEST]` (repeatable).
    /// Without any, the ImagePolicy objects under DIR with a `status.latestRef` are used.
    #[arg(long = "policy", value_name = "NS:NAME=IMAGE")]
    policies: Vec<String>,
    /// Only rewrite files under this path of DIR (ImageUpdateAutomation `spec.update.path`).
    #[arg(long)]
    path: Option<String>,
    /// Leave markers naming unknown policies alone, as image-automation-controller does,
    /// instead of failing.
    #[arg(long)]
    ignore_unknown: bool,
    /// Report what would change without writing.
    #[arg(long)]
    dry_run: bool,
}

/// Runs `fleet image …`.
pub fn run(args: &Args) -> Result<ExitCode> {
    match &args.command {
        Command::Select(a) => select(a),
        Command::Scan(a) => scan(a),
        Command::Update(a) => update(a),
        Command::Automate(a) => super::image_automate::automate(a),
    }
}

fn select(args: &SelectArgs) -> Result<ExitCode> {
    let Some(policy) = args.policy.policy()? else {
        bail!(
            "choose a policy: --semver RANGE, --alphabetical asc|desc, --numerical asc|desc or --policy SPEC|FILE"
        );
    };
    let tags = if args.tags.is_empty() {
        let mut tags = Vec::new();
        for (i, line) in std::io::stdin().lock().lines().enumerate() {
            let line = line.context("reading tags from standard input")?;
            let tag = line.trim();
            if tag.is_empty() {
                continue;
            }
            validate_tag(tag).with_context(|| format!("standard input, line {}", i + 1))?;
            tags.push(tag.to_string());
        }
        tags
    } else {
        for tag in &args.tags {
            validate_tag(tag)?;
        }
        args.tags.clone()
    };
    match policy.select(&tags) {
        Ok(tag) => {
            writeln!(std::io::stdout(), "{tag}")?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
    }
}

fn scan(args: &ScanArgs) -> Result<ExitCode> {
    let image = ImageReference::parse(&args.image)?;
    if image.tag.is_some() || image.digest.is_some() {
        bail!(
            "{}: give the repository without a tag or digest",
            args.image
        );
    }
    let policy = args.policy.policy()?;
    let credentials = match &args.username {
        Some(username) => Some(Credentials::Basic {
            username: username.clone(),
            password: std::env::var("FLEET_REGISTRY_PASSWORD")
                .context("--username needs the password in FLEET_REGISTRY_PASSWORD")?,
        }),
        None => None,
    };
    let client = Client::new(ClientOptions {
        timeout: Duration::from_secs(args.timeout.max(1)),
        retries: args.retries,
        insecure: args.insecure,
        credentials,
        ..ClientOptions::default()
    })?;
    let exclusion: Vec<String> = if args.exclusion.is_empty() {
        DEFAULT_EXCLUSION_LIST
            .iter()
            .map(|s| s.to_string())
            .collect()
    } else {
        args.exclusion.clone()
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let (scan, latest) = runtime.block_on(async {
        let scan = scan_repository(&client, &image, &exclusion).await?;
        let latest = match &policy {
            Some(p) => match p.select(&scan.tags) {
                Ok(tag) => {
                    let digest = if args.digest {
                        Some(client.digest(&image, tag).await?)
                    } else {
                        None
                    };
                    Some(Ok(ImageRef {
                        name: image.name(),
                        tag: tag.to_string(),
                        digest,
                    }))
                }
                Err(e) => Some(Err(e)),
            },
            None => None,
        };
        anyhow::Ok((scan, latest))
    })?;
    let mut out = std::io::stdout().lock();
    if args.output == Output::Json {
        let latest_json = match &latest {
            Some(Ok(r)) => serde_json::json!({"name": r.name, "tag": r.tag, "digest": r.digest}),
            _ => serde_json::Value::Null,
        };
        let doc = serde_json::json!({
            "image": image.name(),
            "canonicalImageName": scan.canonical_name,
            "tagCount": scan.tags.len(),
            "excluded": scan.excluded,
            "tags": scan.tags,
            "latestTags": scan.latest_tags(),
            "latestRef": latest_json,
        });
        writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
    } else {
        writeln!(
            out,
            "# {}: {} tags ({} excluded)",
            scan.canonical_name,
            scan.tags.len(),
            scan.excluded
        )?;
        for tag in &scan.tags {
            writeln!(out, "{tag}")?;
        }
        if let Some(Ok(r)) = &latest {
            writeln!(out, "# latest: {r}")?;
        }
    }
    match latest {
        Some(Err(e)) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(1))
        }
        _ => Ok(ExitCode::SUCCESS),
    }
}

/// Parses `NS:NAME=IMAGE:TAG[@DIGEST]`.
pub(super) fn parse_policy(arg: &str) -> Result<(String, String, ImageRef)> {
    let usage = || format!("--policy {arg:?}: expected NAMESPACE:NAME=IMAGE:TAG[@DIGEST]");
    let (policy, image) = arg.split_once('=').with_context(usage)?;
    let (namespace, name) = policy.split_once(':').with_context(usage)?;
    if namespace.is_empty() || name.is_empty() || name.contains(':') {
        bail!(usage());
    }
    let reference = ImageReference::parse(image).with_context(usage)?;
    let tag = reference
        .tag
        .clone()
        .with_context(|| format!("{}: the image needs a tag", usage()))?;
    Ok((
        namespace.to_string(),
        name.to_string(),
        ImageRef {
            name: reference.name(),
            tag,
            digest: reference.digest.clone(),
        },
    ))
}

fn update(args: &UpdateArgs) -> Result<ExitCode> {
    let policies = if args.policies.is_empty() {
        let found = setters::policies_in_tree(&args.dir)?;
        if found.is_empty() {
            bail!(
                "{}: no ImagePolicy with status.latestRef found; pass --policy NAMESPACE:NAME=IMAGE:TAG",
                args.dir.display()
            );
        }
        found
    } else {
        let mut policies = Policies::default();
        for arg in &args.policies {
            let (namespace, name, image) = parse_policy(arg)?;
            policies.insert(&namespace, &name, image);
        }
        policies
    };
    let options = Options {
        unknown_policy: if args.ignore_unknown {
            UnknownPolicy::Ignore
        } else {
            UnknownPolicy::Error
        },
    };
    let result = setters::update_tree(
        &args.dir,
        args.path.as_deref(),
        &policies,
        options,
        args.dry_run,
    )
    .map_err(|e| match &e {
        setters::TreeError::Marker { .. } => {
            anyhow::anyhow!(
                "{e}\nnothing was written{}",
                if args.ignore_unknown {
                    ""
                } else {
                    " (--ignore-unknown skips markers of other policies)"
                }
            )
        }
        _ => anyhow::anyhow!("{e}\nnothing was written"),
    })?;
    let mut out = std::io::stdout().lock();
    let mut values = 0;
    for file in &result.files {
        writeln!(out, "{}", file.path.display())?;
        for object in &file.objects {
            let o = &object.object;
            let id = match (o.kind.is_empty(), o.namespace.is_empty()) {
                (true, _) => "(no kind)".to_string(),
                (false, true) => format!("{} {}", o.kind, o.name),
                (false, false) => format!("{} {}/{}", o.kind, o.namespace, o.name),
            };
            writeln!(out, "  {id}")?;
            for change in &object.changes {
                values += 1;
                writeln!(
                    out,
                    "    line {}: {} -> {} ({})",
                    change.line, change.old_value, change.new_value, change.setter
                )?;
            }
        }
    }
    for (path, reason) in &result.skipped {
        eprintln!("skipped {}: {reason}", path.display());
    }
    let verb = if args.dry_run {
        "would change"
    } else {
        "changed"
    };
    writeln!(
        out,
        "{} file(s) {verb}, {values} value(s) updated ({} marked file(s) screened)",
        result.files.len(),
        result.screened
    )?;
    Ok(ExitCode::SUCCESS)
}
