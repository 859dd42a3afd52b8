//! `--filters Name=...,Values=...` of the describe operations, with AWS's `*` and `?`
//! wildcards. An unknown filter name is an error, never silently ignored.

use super::{ApiError, ApiResult, Tag};
use crate::shapes::Filter;

/// Glob match with `*` (any run) and `?` (one character), as EC2 filters do.
pub fn glob(pattern: &str, value: &str) -> bool {
    let (p, v): (Vec<char>, Vec<char>) = (pattern.chars().collect(), value.chars().collect());
    let (mut pi, mut vi, mut star, mut mark) = (0, 0, None, 0);
    while vi < v.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == v[vi]) {
            pi += 1;
            vi += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = vi;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            vi = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// What a filter can look at on one resource.
pub trait Filterable {
    /// Values of the named field (`None`: the name is not a filter of this resource).
    fn field(&self, name: &str) -> Option<Vec<String>>;
    fn tags(&self) -> &[Tag];
}

/// Whether `item` passes every filter (values of one filter are alternatives).
pub fn matches(item: &dyn Filterable, filters: &[Filter]) -> ApiResult<bool> {
    for f in filters {
        let values: Vec<String> = if let Some(key) = f.name.strip_prefix("tag:") {
            item.tags()
                .iter()
                .filter(|t| t.key == key)
                .map(|t| t.value.clone())
                .collect()
        } else if f.name == "tag-key" {
            item.tags().iter().map(|t| t.key.clone()).collect()
        } else {
            item.field(&f.name).ok_or_else(|| {
                ApiError::invalid_value(format!("The filter '{}' is invalid", f.name))
            })?
        };
        if !f
            .values
            .iter()
            .any(|pat| values.iter().any(|v| glob(pat, v)))
        {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::glob;

    #[test]
    fn wildcards() {
        assert!(glob("web*", "web-prod"));
        assert!(glob("*prod", "web-prod"));
        assert!(glob("w?b", "web"));
        assert!(!glob("w?b", "weeb"));
        assert!(glob("*", ""));
        assert!(!glob("web", "web2"));
    }
}
