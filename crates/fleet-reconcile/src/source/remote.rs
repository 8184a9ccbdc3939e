//! The gix side of a fetch: a scratch bare repository, one connection that
//! lists the remote's references (the "unchanged" check) and, when needed,
//! receives a shallow pack of the one reference wanted.

use std::num::NonZeroU32;
use std::path::Path;
use std::sync::atomic::AtomicBool;

use fleet_imagepolicy::semver::{Constraint, Version};
use gix::protocol::handshake::Ref;
use gix::remote::Direction;

use super::{GitSource, Reference, RemoteHead, SourceError, revision};

/// The result of the network part of a fetch.
pub(super) enum Fetched {
    /// The reference still points at the last observed revision.
    Unchanged(RemoteHead),
    /// The commit is in the repository at `dir`.
    Repository {
        dir: tempfile::TempDir,
        head: RemoteHead,
    },
}

/// Refuses what fleet does not fetch before any network use.
pub(super) fn check(source: &GitSource) -> Result<(), SourceError> {
    let url = gix::url::parse(source.url.as_str().into()).map_err(|e| SourceError::UrlInvalid {
        url: source.url.clone(),
        message: e.to_string(),
    })?;
    let creds = &source.credentials;
    let has_http_auth =
        creds.username.is_some() || creds.password.is_some() || creds.bearer_token.is_some();
    match url.scheme {
        gix::url::Scheme::File | gix::url::Scheme::Git => {}
        gix::url::Scheme::Http if has_http_auth => {
            return Err(SourceError::Authentication {
                url: source.url.clone(),
                message: "credentials are not sent over plain http; use an https:// URL".into(),
            });
        }
        gix::url::Scheme::Http | gix::url::Scheme::Https => {}
        gix::url::Scheme::Ssh => super::ssh::check(source)?,
        ref other => {
            return Err(SourceError::UrlInvalid {
                url: source.url.clone(),
                message: format!(
                    "scheme '{}' is not one of file, git, http, https",
                    other.as_str()
                ),
            });
        }
    }
    if let Reference::Semver(range) = &source.reference {
        Constraint::parse(range).map_err(|e| SourceError::InvalidRange {
            range: range.clone(),
            message: e.to_string(),
        })?;
    }
    Ok(())
}

/// Opens a repository without reading any user or system configuration.
pub(super) fn open(path: &Path) -> Result<gix::Repository, String> {
    gix::open_opts(path, gix::open::Options::isolated()).map_err(|e| e.to_string())
}

fn scratch(source: &GitSource) -> Result<(tempfile::TempDir, gix::Repository), SourceError> {
    let git = |message: String| SourceError::Git {
        url: source.url.clone(),
        operation: "creating a scratch repository".into(),
        message,
    };
    let dir = tempfile::Builder::new()
        .prefix("fleet-fetch-")
        .tempdir()
        .map_err(|e| git(e.to_string()))?;
    let repo = gix::ThreadSafeRepository::init_opts(
        dir.path(),
        gix::create::Kind::Bare,
        gix::create::Options::default(),
        gix::open::Options::isolated(),
    )
    .map_err(|e| git(e.to_string()))?
    .to_thread_local();
    let mut repo = repo;
    if gix::url::parse(source.url.as_str().into()).is_ok_and(|u| u.scheme == gix::url::Scheme::Ssh)
    {
        super::ssh::configure(&mut repo, dir.path(), source)?;
    }
    Ok((dir, repo))
}

/// The source of the refspec that lists what `reference` needs.
fn listing_spec(reference: &Reference) -> String {
    match reference {
        Reference::Branch(b) => format!("refs/heads/{b}"),
        Reference::Tag(t) => format!("refs/tags/{t}"),
        Reference::Semver(_) => "refs/tags/*".into(),
        Reference::Name(n) => n.clone(),
        Reference::Commit {
            branch: Some(b), ..
        } => format!("refs/heads/{b}"),
        Reference::Commit { branch: None, .. } => "refs/heads/*".into(),
    }
}

type Connection<'a, 'r> = gix::remote::Connection<
    'a,
    'r,
    Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send>,
>;

/// An anonymous remote fetching `spec` (no tags).
fn remote<'r>(
    repo: &'r gix::Repository,
    source: &GitSource,
    spec: &str,
) -> Result<gix::Remote<'r>, SourceError> {
    repo.remote_at(source.url.as_str())
        .map_err(|e| classify(source, "configuring the remote", &e))?
        .with_fetch_tags(gix::remote::fetch::Tags::None)
        .with_refspecs(
            [format!("+{spec}:{}", local_ref(spec)).as_str()],
            Direction::Fetch,
        )
        .map_err(|e| classify(source, "configuring the remote", &e))
}

/// Connects `remote`: our HTTP client for http(s), gix's transports for
/// the rest; credentials only from the Secret, never from helpers.
// The credentials callback's error type is gix's.
#[allow(clippy::result_large_err)]
fn connect<'a, 'r>(
    remote: &'a gix::Remote<'r>,
    source: &GitSource,
) -> Result<Connection<'a, 'r>, SourceError> {
    let connection = if source.url.starts_with("http://") || source.url.starts_with("https://") {
        let url =
            gix::url::parse(source.url.as_str().into()).map_err(|e| SourceError::UrlInvalid {
                url: source.url.clone(),
                message: e.to_string(),
            })?;
        let transport = gix_transport::client::blocking_io::http::Transport::new_http(
            super::http::Client::new(source)?,
            url,
            gix::protocol::transport::Protocol::V2,
            false,
        );
        let boxed: Box<dyn gix::protocol::transport::client::blocking_io::Transport + Send> =
            Box::new(transport);
        remote.to_connection_with_transport(boxed)
    } else {
        remote
            .connect(Direction::Fetch)
            .map_err(|e| classify(source, "connecting", &e))?
    };
    let creds = source.credentials.clone();
    let connection = connection.with_credentials(move |action| match action {
        gix::credentials::helper::Action::Get(ctx) => match (&creds.username, &creds.password) {
            (Some(username), password) => Ok(Some(gix::credentials::protocol::Outcome {
                identity: gix::sec::identity::Account {
                    username: username.clone(),
                    password: password.clone().unwrap_or_default(),
                    oauth_refresh_token: None,
                },
                next: ctx.into(),
            })),
            _ => Ok(None),
        },
        _ => Ok(None),
    });
    Ok(connection)
}

/// Where a fetched reference is kept in the scratch repository.
fn local_ref(spec: &str) -> String {
    match spec.strip_prefix("refs/") {
        Some(rest) => format!("refs/fleet/{rest}"),
        None => format!("refs/fleet/{spec}"),
    }
}

fn name_and_commit(r: &Ref) -> Option<(String, gix::ObjectId)> {
    match r {
        Ref::Direct {
            full_ref_name,
            object,
        }
        | Ref::Peeled {
            full_ref_name,
            object,
            ..
        }
        | Ref::Symbolic {
            full_ref_name,
            object,
            ..
        } => Some((full_ref_name.to_string(), *object)),
        Ref::Unborn { .. } => None,
    }
}

/// Picks the reference wanted among the listed ones.
fn pick(source: &GitSource, refs: &[Ref]) -> Result<Option<RemoteHead>, SourceError> {
    let listed: Vec<(String, gix::ObjectId)> = refs.iter().filter_map(name_and_commit).collect();
    let head = |full: &str, id: gix::ObjectId, absolute: bool| RemoteHead {
        full_ref: Some(full.to_string()),
        commit: id.to_string(),
        revision: revision(Some(full), absolute, &id.to_string()),
    };
    let exact = |full: &str| listed.iter().find(|(n, _)| n == full).map(|(_, id)| *id);
    Ok(match &source.reference {
        Reference::Branch(b) => {
            exact(&format!("refs/heads/{b}")).map(|id| head(&format!("refs/heads/{b}"), id, false))
        }
        Reference::Tag(t) => {
            exact(&format!("refs/tags/{t}")).map(|id| head(&format!("refs/tags/{t}"), id, false))
        }
        Reference::Name(n) => exact(n).map(|id| head(n, id, true)),
        Reference::Semver(range) => {
            let constraint = Constraint::parse(range).map_err(|e| SourceError::InvalidRange {
                range: range.clone(),
                message: e.to_string(),
            })?;
            let mut best: Option<(Version, &str, gix::ObjectId)> = None;
            for (name, id) in &listed {
                let Some(tag) = name.strip_prefix("refs/tags/") else {
                    continue;
                };
                let Ok(version) = Version::parse(tag) else {
                    continue;
                };
                if !constraint.matches(&version) {
                    continue;
                }
                let better = match &best {
                    None => true,
                    Some((v, t, _)) => version.precedence(v).then_with(|| t.cmp(&tag)).is_gt(),
                };
                if better {
                    best = Some((version, name, *id));
                }
            }
            match best {
                Some((_, name, id)) => Some(head(name, id, false)),
                None => {
                    return Err(SourceError::NoTagInRange {
                        url: source.url.clone(),
                        range: range.clone(),
                    });
                }
            }
        }
        Reference::Commit { .. } => None,
    })
}

/// Lists every reference of the remote, to tell an empty repository from
/// a missing reference.
fn missing(source: &GitSource) -> SourceError {
    let listed = (|| {
        let (_dir, repo) = scratch(source)?;
        let remote = remote(&repo, source, "refs/*")?;
        let connection = connect(&remote, source)?;
        let (map, _) = connection
            .ref_map(
                gix::progress::Discard,
                gix::remote::ref_map::Options {
                    prefix_from_spec_as_filter_on_remote: false,
                    ..Default::default()
                },
            )
            .map_err(|e| classify(source, "listing references", &e))?;
        Ok::<usize, SourceError>(map.remote_refs.iter().filter_map(name_and_commit).count())
    })();
    match listed {
        Ok(0) => SourceError::EmptyRepository {
            url: source.url.clone(),
        },
        Ok(_) => SourceError::ReferenceNotFound {
            url: source.url.clone(),
            what: source.reference.describe(),
        },
        Err(e) => e,
    }
}

pub(super) fn resolve(source: &GitSource) -> Result<RemoteHead, SourceError> {
    if let Reference::Commit { sha, branch } = &source.reference {
        let full = branch.as_ref().map(|b| format!("refs/heads/{b}"));
        return Ok(RemoteHead {
            revision: revision(full.as_deref(), false, sha),
            full_ref: full,
            commit: sha.clone(),
        });
    }
    let (_dir, repo) = scratch(source)?;
    let remote = remote(&repo, source, &listing_spec(&source.reference))?;
    let connection = connect(&remote, source)?;
    let (map, _) = connection
        .ref_map(gix::progress::Discard, Default::default())
        .map_err(|e| classify(source, "listing references", &e))?;
    match pick(source, &map.remote_refs)? {
        Some(head) => Ok(head),
        None => Err(missing(source)),
    }
}

pub(super) fn fetch(
    source: &GitSource,
    skip_if: Option<&str>,
    interrupt: &AtomicBool,
) -> Result<Fetched, SourceError> {
    let (dir, repo) = scratch(source)?;
    let spec = listing_spec(&source.reference);
    let listing = remote(&repo, source, &spec)?;
    let prepare = connect(&listing, source)?
        .prepare_fetch(gix::progress::Discard, Default::default())
        .map_err(|e| classify(source, "listing references", &e))?;
    let shallow = gix::remote::fetch::Shallow::DepthAtRemote(NonZeroU32::MIN);
    let head = match &source.reference {
        Reference::Commit { .. } => None,
        _ => match pick(source, &prepare.ref_map().remote_refs)? {
            Some(head) => Some(head),
            None => {
                drop(prepare);
                return Err(missing(source));
            }
        },
    };
    if let (Some(head), Some(last)) = (&head, skip_if)
        && head.revision == last
    {
        return Ok(Fetched::Unchanged(head.clone()));
    }
    match (&source.reference, head) {
        (Reference::Commit { sha, branch }, _) => {
            if prepare
                .ref_map()
                .remote_refs
                .iter()
                .filter_map(name_and_commit)
                .next()
                .is_none()
            {
                drop(prepare);
                return Err(missing(source));
            }
            prepare
                .receive(gix::progress::Discard, interrupt)
                .map_err(|e| classify(source, "fetching", &e))?;
            let not_found = || SourceError::CommitNotFound {
                url: source.url.clone(),
                what: source.reference.describe(),
            };
            let id = repo
                .rev_parse_single(sha.as_str())
                .map_err(|_| not_found())?;
            let commit = id
                .object()
                .map_err(|_| not_found())?
                .try_into_commit()
                .map_err(|_| not_found())?;
            let full = branch.as_ref().map(|b| format!("refs/heads/{b}"));
            let commit = commit.id.to_string();
            Ok(Fetched::Repository {
                dir,
                head: RemoteHead {
                    revision: revision(full.as_deref(), false, &commit),
                    full_ref: full,
                    commit,
                },
            })
        }
        (Reference::Semver(_), Some(head)) => {
            // The listing covered every tag: fetch only the one picked.
            drop(prepare);
            let tag = head.full_ref.clone().unwrap_or_default();
            let picked = remote(&repo, source, &tag)?;
            connect(&picked, source)?
                .prepare_fetch(gix::progress::Discard, Default::default())
                .map_err(|e| classify(source, "listing references", &e))?
                .with_shallow(shallow)
                .receive(gix::progress::Discard, interrupt)
                .map_err(|e| classify(source, "fetching", &e))?;
            Ok(Fetched::Repository { dir, head })
        }
        (_, Some(head)) => {
            prepare
                .with_shallow(shallow)
                .receive(gix::progress::Discard, interrupt)
                .map_err(|e| classify(source, "fetching", &e))?;
            Ok(Fetched::Repository { dir, head })
        }
        (_, None) => Err(missing(source)),
    }
}

/// Maps a gix error to a typed error, its whole chain in the message.
fn classify(
    source: &GitSource,
    operation: &str,
    error: &(dyn std::error::Error + 'static),
) -> SourceError {
    use gix::protocol::handshake::Error as Handshake;
    use gix::protocol::transport::client::Error as Transport;
    let mut auth = false;
    let mut unreachable = false;
    let mut ssh_closed = false;
    let mut messages: Vec<String> = Vec::new();
    // thiserror's `transparent` hides the handshake error from the source
    // chain: look through the wrappers gix returns.
    let handshake = error
        .downcast_ref::<gix::remote::fetch::prepare::Error>()
        .and_then(|e| match e {
            gix::remote::fetch::prepare::Error::RefMap(inner) => Some(inner),
            _ => None,
        })
        .or_else(|| error.downcast_ref::<gix::remote::ref_map::Error>())
        .and_then(|e| match e {
            gix::remote::ref_map::Error::Handshake(h) => Some(h),
            _ => None,
        });
    if let Some(h) = handshake {
        auth |= matches!(
            h,
            Handshake::InvalidCredentials { .. }
                | Handshake::EmptyCredentials
                | Handshake::Credentials(_)
        );
    }
    let mut current = Some(error);
    while let Some(e) = current {
        let text = e.to_string();
        if !messages.iter().any(|m| m.contains(&text)) {
            messages.push(text);
        }
        if let Some(h) = e.downcast_ref::<Handshake>() {
            auth |= matches!(
                h,
                Handshake::InvalidCredentials { .. }
                    | Handshake::EmptyCredentials
                    | Handshake::Credentials(_)
            );
        }
        if let Some(t) = e.downcast_ref::<Transport>() {
            auth |= matches!(t, Transport::AuthenticationRefused(_));
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            use std::io::ErrorKind::*;
            ssh_closed |= io.kind() == UnexpectedEof;
            auth |= io.kind() == PermissionDenied;
            unreachable |= matches!(
                io.kind(),
                ConnectionRefused
                    | ConnectionReset
                    | HostUnreachable
                    | NetworkUnreachable
                    | AddrNotAvailable
                    | TimedOut
            );
        }
        current = e.source();
    }
    let mut message = messages.join(": ");
    if ssh_closed && source.url.starts_with("ssh://") {
        // gix runs the ssh program, whose own message goes to standard error.
        message.push_str(
            " (the ssh program ended the connection: the host key is not in known_hosts, the key was refused, or the host is unreachable)",
        );
    }
    let url = source.url.clone();
    if auth {
        SourceError::Authentication { url, message }
    } else if unreachable {
        SourceError::Unreachable { url, message }
    } else {
        SourceError::Git {
            url,
            operation: operation.to_string(),
            message,
        }
    }
}
