//! `WWW-Authenticate` challenges (RFC 7235) as registries send them:
//! `Bearer realm="https://auth.example/token",service="registry",scope="repository:app:pull"`.

use std::collections::BTreeMap;

/// One parsed challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// The scheme, lower-cased (`basic`, `bearer`).
    pub scheme: String,
    /// Its parameters, keys lower-cased.
    pub params: BTreeMap<String, String>,
}

impl Challenge {
    /// Parses the header value. Only the first challenge is read, which is
    /// what registries send.
    ///
    /// ```
    /// use fleet_imagepolicy::registry::Challenge;
    /// let c = Challenge::parse(r#"Bearer realm="http://a/token",service="reg",scope="repository:x:pull""#).unwrap();
    /// assert_eq!(c.scheme, "bearer");
    /// assert_eq!(c.params["scope"], "repository:x:pull");
    /// ```
    pub fn parse(header: &str) -> Option<Challenge> {
        let header = header.trim();
        let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
        if scheme.is_empty() {
            return None;
        }
        let mut params = BTreeMap::new();
        let mut rest = rest.trim_start();
        while !rest.is_empty() {
            let (key, after) = rest.split_once('=')?;
            let key = key
                .trim()
                .trim_start_matches(',')
                .trim()
                .to_ascii_lowercase();
            let after = after.trim_start();
            let (value, remaining) = if let Some(quoted) = after.strip_prefix('"') {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end.min(quoted.len())..])
            } else {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            };
            params.insert(key, value);
            rest = remaining.trim_start().trim_start_matches(',').trim_start();
        }
        Some(Challenge {
            scheme: scheme.to_ascii_lowercase(),
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Challenge;

    #[test]
    fn basic_and_bearer_challenges_parse() {
        let b = Challenge::parse("Basic realm=\"basic-realm\"").unwrap_or_else(|| panic!("parse"));
        assert_eq!(
            (b.scheme.as_str(), b.params["realm"].as_str()),
            ("basic", "basic-realm")
        );
        let t = Challenge::parse(
            "Bearer realm=\"https://a/t\", service=reg, scope=\"repository:a/b:pull,push\"",
        )
        .unwrap_or_else(|| panic!("parse"));
        assert_eq!(t.params["service"], "reg");
        assert_eq!(t.params["scope"], "repository:a/b:pull,push");
        assert_eq!(Challenge::parse(""), None);
    }
}
