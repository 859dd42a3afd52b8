//! Input validation with the AWS error codes (SG-GRP-2, SG-RULE-2..4).

use ipnet::{Ipv4Net, Ipv6Net};

use super::{ApiError, ApiResult};

const EXTRA_CHARS: &str = " ._-:/()#,@[]+=&;{}!$*";

fn allowed_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || EXTRA_CHARS.contains(c)
}

/// Checks a group name or description: 1..=255 characters from the AWS set (SG-GRP-2).
pub fn text(field: &str, value: &str) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::missing(field));
    }
    if value.chars().count() > 255 {
        return Err(ApiError::invalid_value(format!(
            "Invalid value for {field}: longer than 255 characters"
        )));
    }
    if let Some(c) = value.chars().find(|c| !allowed_char(*c)) {
        return Err(ApiError::invalid_value(format!(
            "Value ({value}) for parameter {field} is invalid. Character '{c}' is not allowed \
             (allowed: a-z, A-Z, 0-9, spaces, and ._-:/()#,@[]+=&;{{}}!$*)"
        )));
    }
    Ok(())
}

/// EC2-Classic names and descriptions: 1..=255 ASCII characters (SG-CLASSIC).
pub fn classic_text(field: &str, value: &str) -> ApiResult<()> {
    if value.is_empty() {
        return Err(ApiError::missing(field));
    }
    if value.len() > 255 || !value.is_ascii() {
        return Err(ApiError::invalid_value(format!(
            "Invalid value '{value}' for {field}: up to 255 ASCII characters"
        )));
    }
    Ok(())
}

/// Normalises and checks a new group's name (SG-GRP-2): trailing spaces trimmed, no `sg-`
/// prefix. EC2-Classic names may use any ASCII character (SG-CLASSIC).
pub fn group_name(name: &str, classic: bool) -> ApiResult<String> {
    let name = name.trim_end_matches(' ');
    if classic {
        classic_text("GroupName", name)?;
    } else {
        text("GroupName", name)?;
    }
    if name.to_ascii_lowercase().starts_with("sg-") {
        return Err(ApiError::invalid_value(format!(
            "Group names may not be in the format sg-*: '{name}'"
        )));
    }
    Ok(name.to_owned())
}

/// A rule description: optional, same rules as a group description.
pub fn rule_description(d: &Option<String>) -> ApiResult<Option<String>> {
    match d {
        None => Ok(None),
        Some(s) if s.is_empty() => Ok(None),
        Some(s) => {
            text("Description", s)?;
            Ok(Some(s.clone()))
        }
    }
}

/// A tag: key 1..=128 characters, value up to 256 (EC2 user guide, "Tag restrictions"), and
/// the `aws:` prefix, in any case, is reserved. The wording is EC2's ("Value ( aws:x ) for
/// parameter key is invalid. Tag keys starting with 'aws:' are reserved for internal use", as
/// quoted in cloud-custodian#5975 and kubernetes-sigs/cluster-api-provider-aws#5120).
pub fn tag(t: &super::Tag) -> ApiResult<()> {
    if t.key.is_empty() || t.key.chars().count() > 128 {
        return Err(ApiError::invalid_value(format!(
            "Value ( {} ) for parameter key is invalid. A tag key must be 1 to 128 characters",
            t.key
        )));
    }
    if t.value.chars().count() > 256 {
        return Err(ApiError::invalid_value(format!(
            "The value of tag '{}' is invalid: a tag value may have up to 256 characters",
            t.key
        )));
    }
    if t.key.to_ascii_lowercase().starts_with("aws:") {
        return Err(ApiError::invalid_value(format!(
            "Value ( {} ) for parameter key is invalid. Tag keys starting with 'aws:' are \
             reserved for internal use",
            t.key
        )));
    }
    Ok(())
}

/// `sg-` followed by 8 or 17 lowercase hex digits.
pub fn group_id(id: &str) -> ApiResult<()> {
    let ok = id.strip_prefix("sg-").is_some_and(|h| {
        (h.len() == 8 || h.len() == 17)
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    });
    if ok {
        Ok(())
    } else {
        Err(ApiError::group_id_malformed(id))
    }
}

/// Parses and canonicalises an IPv4 CIDR (`100.68.0.18/18` -> `100.68.0.0/18`, SG-RULE-4).
pub fn cidr_v4(s: &str) -> ApiResult<Ipv4Net> {
    s.parse::<Ipv4Net>()
        .map(|n| n.trunc())
        .map_err(|_| ApiError::invalid_value(format!("CIDR block {s} is malformed")))
}

/// Parses and canonicalises an IPv6 CIDR.
pub fn cidr_v6(s: &str) -> ApiResult<Ipv6Net> {
    s.parse::<Ipv6Net>()
        .map(|n| n.trunc())
        .map_err(|_| ApiError::invalid_value(format!("CIDR block {s} is malformed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sg_grp_2_charset_and_length() {
        assert!(text("GroupName", "web servers (prod) #1").is_ok());
        assert_eq!(
            text("GroupName", "é").unwrap_err().code,
            "InvalidParameterValue"
        );
        assert_eq!(text("GroupName", "").unwrap_err().code, "MissingParameter");
        assert!(text("GroupName", &"a".repeat(255)).is_ok());
        assert_eq!(
            text("GroupName", &"a".repeat(256)).unwrap_err().code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn sg_grp_2_name_trimmed_and_no_sg_prefix() {
        assert_eq!(group_name("web  ", false).unwrap(), "web");
        assert_eq!(
            group_name("sg-web", false).unwrap_err().code,
            "InvalidParameterValue"
        );
    }

    #[test]
    fn group_id_format() {
        assert!(group_id("sg-0123456789abcdef0").is_ok());
        assert!(group_id("sg-12345678").is_ok());
        assert_eq!(
            group_id("sg-xyz").unwrap_err().code,
            "InvalidGroupId.Malformed"
        );
        assert_eq!(
            group_id("web").unwrap_err().code,
            "InvalidGroupId.Malformed"
        );
    }

    #[test]
    fn sg_rule_4_cidr_canonicalised() {
        assert_eq!(
            cidr_v4("100.68.0.18/18").unwrap().to_string(),
            "100.68.0.0/18"
        );
        assert_eq!(
            cidr_v6("2001:db8::1/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(cidr_v4("300.1.1.1/8").is_err());
        assert!(cidr_v4("2001:db8::/32").is_err());
    }
}
