//! The daemon's outputs as EC2 Query XML. An operation's output is one value in AWS's shape,
//! with AWS's member names (what `sgctl` prints as JSON, and what botocore hands a boto3
//! caller); this module writes that same value as the XML botocore parses back into it, so the
//! two wires cannot drift apart.
//!
//! Each member becomes an element named after its `locationName` in the EC2 model: the member
//! name with a lower-case first letter, except for the members listed in [`location_name`]
//! (`SecurityGroups` is `securityGroupInfo`, `Tags` is `tagSet`, ...). A list is a container of
//! `<item>` elements, and is written even when empty (Ansible indexes `IpPermissions`
//! directly); a null member is left out; booleans are `true`/`false`.

use serde_json::Value;

use super::xml::XmlWriter;

/// The element of member `member` of a structure reached through `parent` (the member that
/// holds it, or the list it is an item of; `""` for the output itself), per the EC2 model.
pub fn location_name(parent: &str, member: &str) -> String {
    let fixed = match (parent, member) {
        ("", "SecurityGroups") => "securityGroupInfo",
        ("SecurityGroups", "Description") => "groupDescription",
        (_, "Tags" | "TagSet") => "tagSet",
        (_, "UserIdGroupPairs") => "groups",
        (_, "SecurityGroupRules") => "securityGroupRuleSet",
        (_, "UnknownIpPermissions") => "unknownIpPermissionSet",
        (_, "RevokedSecurityGroupRules") => "revokedSecurityGroupRuleSet",
        ("", "Vpcs") => "vpcSet",
        ("", "NetworkInterfaces") => "networkInterfaceSet",
        ("NetworkInterfaces" | "NetworkInterface", "Groups") => "groupSet",
        ("NetworkInterfaces" | "NetworkInterface", "PrivateIpAddresses") => "privateIpAddressesSet",
        ("NetworkInterfaces" | "NetworkInterface", "Ipv6Addresses") => "ipv6AddressesSet",
        ("", "PrefixLists") => "prefixListSet",
        ("", "Entries") => "entrySet",
        ("", "AssignedPrivateIpAddresses") => "assignedPrivateIpAddressesSet",
        _ => return lower_first(member),
    };
    fixed.to_owned()
}

fn lower_first(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// Operations without an output shape in the EC2 model, whose output is therefore null (and
/// the AWS CLI prints nothing), but whose response EC2 documents with `<return>true</return>`
/// (API reference, CreateTags, DeleteTags and DeleteVpc "Response Elements"; design §1.2):
/// written here, the one place that knows the XML, rather than put into the output botocore
/// drops anyway.
const RETURNS_TRUE: &[&str] = &["CreateTags", "DeleteTags", "DeleteVpc"];

/// The EC2 response to `action` whose output is `output` (null or an object).
pub fn response(action: &str, request_id: &str, output: &Value) -> String {
    let mut w = XmlWriter::ec2_response(action, request_id);
    match output {
        Value::Object(members) => {
            for (name, value) in members {
                member(&mut w, "", name, value);
            }
        }
        Value::Null if RETURNS_TRUE.contains(&action) => {
            w.text("return", "true");
        }
        _ => {}
    }
    w.finish()
}

/// Writes member `name` (of a structure reached through `parent`).
fn member(w: &mut XmlWriter, parent: &str, name: &str, value: &Value) {
    let element = location_name(parent, name);
    match value {
        Value::Null => {}
        Value::Array(items) => {
            w.start(&element);
            items_of(w, name, items);
            w.end();
        }
        Value::Object(_) => {
            w.start(&element);
            contents(w, name, value);
            w.end();
        }
        scalar => {
            w.text(&element, scalar_text(scalar));
        }
    }
}

/// Writes what is inside an element holding `value`, reached through member `via`.
fn contents(w: &mut XmlWriter, via: &str, value: &Value) {
    match value {
        Value::Object(members) => {
            for (name, v) in members {
                member(w, via, name, v);
            }
        }
        // A list directly in a list does not occur in EC2 outputs; written as items.
        Value::Array(items) => items_of(w, via, items),
        // Scalars are written by `items_of` or `member`.
        _ => {}
    }
}

/// The `<item>`s of a list held by member `via`.
fn items_of(w: &mut XmlWriter, via: &str, items: &[Value]) {
    for item in items {
        match item {
            Value::Object(_) | Value::Array(_) => {
                w.start("item");
                contents(w, via, item);
                w.end();
            }
            Value::Null => {}
            scalar => {
                w.text("item", scalar_text(scalar));
            }
        }
    }
}

fn scalar_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        _ => String::new(),
    }
}

#[cfg(test)]
mod tests;
