//! Name templates (`replicated-{bucket}`) and bucket-name globs (`cdk-*`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// A parsed name template: literal text and `{placeholder}`s from a fixed set.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Template {
    source: String,
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Var(String),
}

impl Template {
    /// Parses `text`, accepting only the placeholders in `allowed`.
    pub fn parse(text: &str, allowed: &[&str]) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while !rest.is_empty() {
            match rest.find(['{', '}']) {
                None => {
                    parts.push(Part::Literal(rest.to_string()));
                    rest = "";
                }
                Some(i) if rest.as_bytes()[i] == b'}' => {
                    return Err(format!("unmatched `}}` in template `{text}`"));
                }
                Some(i) => {
                    if i > 0 {
                        parts.push(Part::Literal(rest[..i].to_string()));
                    }
                    let after = &rest[i + 1..];
                    let end = after
                        .find('}')
                        .ok_or_else(|| format!("unclosed `{{` in template `{text}`"))?;
                    let var = &after[..end];
                    if !allowed.contains(&var) {
                        let list: Vec<String> =
                            allowed.iter().map(|a| format!("{{{a}}}")).collect();
                        return Err(format!(
                            "unknown placeholder `{{{var}}}` in template `{text}` (allowed: {})",
                            list.join(" ")
                        ));
                    }
                    parts.push(Part::Var(var.to_string()));
                    rest = &after[end + 1..];
                }
            }
        }
        let t = Template {
            source: text.to_string(),
            parts,
        };
        t.check_literals()?;
        Ok(t)
    }

    /// Literal text must be usable in a bucket name: every value substituted for a placeholder
    /// is itself lowercase letters, digits, `.` and `-`, so a bad literal is the only way a
    /// template can produce a name that no shortening can fix.
    fn check_literals(&self) -> Result<(), String> {
        for p in &self.parts {
            if let Part::Literal(l) = p {
                if let Some(c) = l.chars().find(|c| {
                    !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-')
                }) {
                    return Err(format!(
                        "template `{}` contains `{c}`, which bucket names cannot contain (lowercase letters, digits, `.` and `-` only)",
                        self.source
                    ));
                }
            }
        }
        if let Some(Part::Literal(l)) = self.parts.first() {
            if l.starts_with(['-', '.']) {
                return Err(format!(
                    "template `{}` starts with `{}`; bucket names must start with a letter or digit",
                    self.source,
                    &l[..1]
                ));
            }
            if l.starts_with("xn--") {
                return Err(format!(
                    "template `{}` starts with `xn--`, which bucket names cannot",
                    self.source
                ));
            }
        }
        if let Some(Part::Literal(l)) = self.parts.last() {
            if l.ends_with(['-', '.']) {
                return Err(format!(
                    "template `{}` ends with `{}`; bucket names must end with a letter or digit",
                    self.source,
                    &l[l.len() - 1..]
                ));
            }
        }
        Ok(())
    }

    pub fn uses(&self, var: &str) -> bool {
        self.parts
            .iter()
            .any(|p| matches!(p, Part::Var(v) if v == var))
    }

    /// Substitutes every placeholder; a placeholder missing from `vars` renders as `*`, which
    /// is how [`Glob`]s are made from templates.
    pub fn render(&self, vars: &BTreeMap<&str, &str>) -> String {
        self.parts
            .iter()
            .map(|p| match p {
                Part::Literal(l) => l.as_str(),
                Part::Var(v) => vars.get(v.as_str()).copied().unwrap_or("*"),
            })
            .collect()
    }

    pub fn as_str(&self) -> &str {
        &self.source
    }
}

impl From<Template> for String {
    fn from(t: Template) -> String {
        t.source
    }
}

impl TryFrom<String> for Template {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Template::parse(&s, &["bucket", "account", "region", "dest_account"])
    }
}

/// A shell-style glob over bucket names: `*` matches any run of characters, `?` one character.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub struct Glob(String);

impl Glob {
    pub fn new(pattern: impl Into<String>) -> Result<Self, String> {
        let p = pattern.into();
        if p.is_empty() {
            return Err("empty bucket pattern".into());
        }
        if let Some(c) = p.chars().find(|c| {
            !(c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-' | '*' | '?'))
        }) {
            return Err(format!(
                "bucket pattern `{p}` contains `{c}` (bucket names use lowercase letters, digits, `.` and `-`; `*` and `?` are wildcards)"
            ));
        }
        Ok(Glob(p))
    }

    /// A pattern over any text (IAM resource ARNs), without the bucket-name character check.
    pub(crate) fn new_unchecked(pattern: &str) -> Self {
        Glob(pattern.to_string())
    }

    pub fn matches(&self, name: &str) -> bool {
        glob_match(self.0.as_bytes(), name.as_bytes())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl From<Glob> for String {
    fn from(g: Glob) -> String {
        g.0
    }
}

impl TryFrom<String> for Glob {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        Glob::new(s)
    }
}

/// Iterative glob matching with single-star backtracking: linear in practice, no recursion.
fn glob_match(pat: &[u8], s: &[u8]) -> bool {
    let (mut p, mut i) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while i < s.len() {
        if p < pat.len() && (pat[p] == b'?' || pat[p] == s[i]) {
            p += 1;
            i += 1;
        } else if p < pat.len() && pat[p] == b'*' {
            star = Some((p, i));
            p += 1;
        } else if let Some((sp, si)) = star {
            p = sp + 1;
            i = si + 1;
            star = Some((sp, si + 1));
        } else {
            return false;
        }
    }
    pat[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    const VARS: &[&str] = &["bucket", "account", "region", "dest_account"];

    #[test]
    fn renders_placeholders() {
        let t = Template::parse("replicated-{bucket}-{dest_account}", VARS).unwrap();
        let vars = BTreeMap::from([("bucket", "data"), ("dest_account", "222222222222")]);
        assert_eq!(t.render(&vars), "replicated-data-222222222222");
        assert!(t.uses("bucket"));
        assert!(!t.uses("region"));
    }

    #[test]
    fn rejects_bad_templates() {
        for (bad, why) in [
            ("replicated-{bucket", "unclosed"),
            ("replicated-}{bucket}", "unmatched"),
            ("replicated-{name}", "unknown placeholder `{name}`"),
            ("Replicated-{bucket}", "contains `R`"),
            ("rep_{bucket}", "contains `_`"),
            ("{bucket}-", "ends with `-`"),
            ("-{bucket}", "starts with `-`"),
        ] {
            let err = Template::parse(bad, VARS).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn globs() {
        let g = Glob::new("cdk-*").unwrap();
        assert!(g.matches("cdk-assets"));
        assert!(!g.matches("my-cdk-assets"));
        assert!(Glob::new("*").unwrap().matches("anything"));
        assert!(Glob::new("*-access-logs")
            .unwrap()
            .matches("web-access-logs"));
        assert!(Glob::new("a?c*d").unwrap().matches("abcxxd"));
        assert!(!Glob::new("a?c*d").unwrap().matches("abcxxe"));
        assert!(Glob::new("*a*b*").unwrap().matches("xxaxxbxx"));
        assert!(Glob::new("Bad").is_err());
    }
}
