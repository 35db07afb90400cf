//! Name templates (`replicated-{bucket}`) and bucket-name globs (`cdk-*`).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::names::{RESERVED_PREFIXES, RESERVED_SUFFIXES};

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
            // Placeholders render lowercase letters and digits at their ends, so a literal start
            // is the only way a template can force a reserved prefix onto every name.
            if let Some(p) = RESERVED_PREFIXES.iter().find(|p| l.starts_with(**p)) {
                return Err(format!(
                    "template `{}` starts with `{p}`, a prefix S3 reserves (bucket names cannot start with {}); change the start of the template",
                    self.source,
                    backticked(RESERVED_PREFIXES)
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
            if let Some(x) = RESERVED_SUFFIXES.iter().find(|x| l.ends_with(**x)) {
                return Err(format!(
                    "template `{}` ends with `{x}`, a suffix S3 reserves (bucket names cannot end with {}); change the end of the template",
                    self.source,
                    backticked(RESERVED_SUFFIXES)
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

/// `` `a`, `b` or `c` ``.
fn backticked(items: &[&str]) -> String {
    let quoted: Vec<String> = items.iter().map(|i| format!("`{i}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => quoted.join(""),
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
        // Reserved words inside the name, or a prefix only partly written, are fine.
        for ok in [
            "s{bucket}",
            "{bucket}-s3alias-copy",
            "copy-xn--{bucket}",
            "{bucket}-mrap",
        ] {
            assert!(Template::parse(ok, VARS).is_ok(), "{ok}");
        }
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
            ("xn--{bucket}", "starts with `xn--`"),
            ("sthree-{bucket}", "starts with `sthree-`"),
            ("amzn-s3-demo-{bucket}", "starts with `amzn-s3-demo-`"),
            ("{bucket}-s3alias", "ends with `-s3alias`"),
            ("{bucket}--ol-s3", "ends with `--ol-s3`"),
            ("{bucket}.mrap", "ends with `.mrap`"),
            ("{bucket}--x-s3", "ends with `--x-s3`"),
            ("{bucket}--table-s3", "ends with `--table-s3`"),
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
