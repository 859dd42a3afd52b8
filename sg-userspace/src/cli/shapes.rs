//! The input shape of every operation sgctl sends, in the API's PascalCase names and the EC2
//! model's member order: what `--generate-cli-skeleton` prints, what `--cli-input-json` may
//! hold, and how a shorthand value is typed (`coerce`) or a JSON value checked (`check`), with
//! botocore's messages ("Unknown parameter in Filters[0]: ...").

use serde_json::{Map, Value};

/// The type of a parameter or member.
#[derive(Debug)]
pub enum Shape {
    Str,
    Int,
    Bool,
    List(&'static Shape),
    Struct(&'static [Field]),
    /// A structure whose members not listed here are passed on as they are (`import` reads
    /// the whole output of describe-security-groups).
    Open(&'static [Field]),
    /// A value of either shape; a structure given picks the structure one. The first is the
    /// one the skeleton shows.
    Either(&'static Shape, &'static Shape),
}

#[derive(Debug)]
pub struct Field {
    pub name: &'static str,
    pub shape: Shape,
    pub required: bool,
}

/// An operation's name (as `Request::operation` spells it) and input structure.
#[derive(Debug)]
pub struct Operation {
    pub name: &'static str,
    pub input: Shape,
}

use Shape::*;

const fn opt(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: false,
    }
}

const fn req(name: &'static str, shape: Shape) -> Field {
    Field {
        name,
        shape,
        required: true,
    }
}

const STRINGS: Shape = List(&Str);
const TAG: Shape = Struct(&[req("Key", Str), opt("Value", Str)]);
const TAG_SPECIFICATIONS: Shape = List(&Struct(&[
    opt("ResourceType", Str),
    opt("Tags", List(&TAG)),
]));
const FILTERS: Shape = List(&Struct(&[req("Name", Str), opt("Values", STRINGS)]));
const IP_PERMISSIONS: Shape = List(&Struct(&[
    req("IpProtocol", Str),
    opt("FromPort", Int),
    opt("ToPort", Int),
    opt(
        "UserIdGroupPairs",
        List(&Struct(&[
            opt("Description", Str),
            opt("UserId", Str),
            opt("GroupName", Str),
            opt("GroupId", Str),
            opt("VpcId", Str),
            opt("VpcPeeringConnectionId", Str),
            opt("PeeringStatus", Str),
        ])),
    ),
    opt(
        "IpRanges",
        List(&Struct(&[opt("Description", Str), req("CidrIp", Str)])),
    ),
    opt(
        "Ipv6Ranges",
        List(&Struct(&[opt("Description", Str), req("CidrIpv6", Str)])),
    ),
    opt(
        "PrefixListIds",
        List(&Struct(&[
            opt("Description", Str),
            req("PrefixListId", Str),
        ])),
    ),
]));
const SECURITY_GROUP_RULES: Shape = List(&Struct(&[
    opt("SecurityGroupRuleId", Str),
    opt(
        "SecurityGroupRule",
        Struct(&[
            opt("IpProtocol", Str),
            opt("FromPort", Int),
            opt("ToPort", Int),
            opt("CidrIpv4", Str),
            opt("CidrIpv6", Str),
            opt("PrefixListId", Str),
            opt("ReferencedGroupId", Str),
            opt("Description", Str),
        ]),
    ),
]));
const RULE_DESCRIPTIONS: Shape = List(&Struct(&[
    opt("SecurityGroupRuleId", Str),
    opt("Description", Str),
]));
const ADD_ENTRIES: Shape = List(&Struct(&[req("Cidr", Str), opt("Description", Str)]));
const REMOVE_ENTRIES: Shape = List(&Struct(&[req("Cidr", Str)]));
const PRIVATE_IP_ADDRESS: Shape = Struct(&[opt("Primary", Bool), opt("PrivateIpAddress", Str)]);
const CONNTRACK_SPEC: Shape = Struct(&[
    opt("TcpEstablishedTimeout", Int),
    opt("UdpStreamTimeout", Int),
    opt("UdpTimeout", Int),
]);
const GROUP: Shape = Open(&[
    opt("Description", Str),
    req("GroupName", Str),
    opt("IpPermissions", IP_PERMISSIONS),
    opt("OwnerId", Str),
    req("GroupId", Str),
    opt("IpPermissionsEgress", IP_PERMISSIONS),
    opt("Tags", List(&TAG)),
    opt("VpcId", Str),
    opt("SecurityGroupArn", Str),
]);

const fn op(name: &'static str, fields: &'static [Field]) -> Operation {
    Operation {
        name,
        input: Struct(fields),
    }
}

/// Every operation, in `Request`'s order.
pub static OPERATIONS: &[Operation] = &[
    op(
        "CreateSecurityGroup",
        &[
            req("Description", Str),
            req("GroupName", Str),
            opt("VpcId", Str),
            opt("TagSpecifications", TAG_SPECIFICATIONS),
            opt("CopyFromGroupId", Str),
        ],
    ),
    op(
        "DeleteSecurityGroup",
        &[opt("GroupId", Str), opt("GroupName", Str)],
    ),
    op(
        "DescribeSecurityGroups",
        &[
            opt("Filters", FILTERS),
            opt("GroupIds", STRINGS),
            opt("GroupNames", STRINGS),
        ],
    ),
    op(
        "DescribeSecurityGroupRules",
        &[
            opt("Filters", FILTERS),
            opt("SecurityGroupRuleIds", STRINGS),
        ],
    ),
    op("AuthorizeSecurityGroupIngress", AUTHORIZE),
    op("AuthorizeSecurityGroupEgress", AUTHORIZE),
    op("RevokeSecurityGroupIngress", REVOKE),
    op("RevokeSecurityGroupEgress", REVOKE),
    op(
        "ModifySecurityGroupRules",
        &[
            req("GroupId", Str),
            req("SecurityGroupRules", SECURITY_GROUP_RULES),
        ],
    ),
    op("UpdateSecurityGroupRuleDescriptionsIngress", DESCRIPTIONS),
    op("UpdateSecurityGroupRuleDescriptionsEgress", DESCRIPTIONS),
    op(
        "ModifyNetworkInterfaceAttribute",
        &[
            opt("ConnectionTrackingSpecification", CONNTRACK_SPEC),
            req("NetworkInterfaceId", Str),
            opt("SourceDestCheck", Bool),
            opt("Groups", STRINGS),
            opt("EnforcementMode", Str),
        ],
    ),
    op(
        "DescribeNetworkInterfaces",
        &[opt("Filters", FILTERS), opt("NetworkInterfaceIds", STRINGS)],
    ),
    op(
        "CreateVpc",
        &[
            req("CidrBlock", Str),
            opt("Classic", Bool),
            opt("TagSpecifications", TAG_SPECIFICATIONS),
            opt("AmazonProvidedIpv6CidrBlock", Bool),
        ],
    ),
    op(
        "DescribeVpcs",
        &[opt("Filters", FILTERS), opt("VpcIds", STRINGS)],
    ),
    op("DeleteVpc", &[req("VpcId", Str)]),
    op("CreateDefaultVpc", &[]),
    op(
        "CreateManagedPrefixList",
        &[
            req("PrefixListName", Str),
            opt("Entries", ADD_ENTRIES),
            req("MaxEntries", Int),
            opt("TagSpecifications", TAG_SPECIFICATIONS),
            req("AddressFamily", Str),
        ],
    ),
    op(
        "ModifyManagedPrefixList",
        &[
            req("PrefixListId", Str),
            opt("CurrentVersion", Int),
            opt("PrefixListName", Str),
            opt("AddEntries", ADD_ENTRIES),
            opt("RemoveEntries", REMOVE_ENTRIES),
            opt("MaxEntries", Int),
        ],
    ),
    op("DeleteManagedPrefixList", &[req("PrefixListId", Str)]),
    op(
        "DescribeManagedPrefixLists",
        &[opt("Filters", FILTERS), opt("PrefixListIds", STRINGS)],
    ),
    op(
        "CreateTags",
        &[req("Resources", STRINGS), req("Tags", List(&TAG))],
    ),
    op(
        "DeleteTags",
        &[req("Resources", STRINGS), opt("Tags", List(&TAG))],
    ),
    op(
        "DescribeTags",
        &[
            opt("Filters", FILTERS),
            opt("MaxResults", Int),
            opt("NextToken", Str),
        ],
    ),
    op("GetManagedPrefixListEntries", &[req("PrefixListId", Str)]),
    op(
        "CreateFlowLogs",
        &[
            req("ResourceIds", STRINGS),
            req("ResourceType", Str),
            opt("TrafficType", Str),
            opt("LogDestinationType", Str),
            opt("LogDestination", Str),
            opt("LogFormat", Str),
            opt("MaxAggregationInterval", Int),
            opt("TagSpecifications", TAG_SPECIFICATIONS),
            opt("LogGroupName", Str),
            opt("DeliverLogsPermissionArn", Str),
            opt("DeliverCrossAccountRole", Str),
            opt("ClientToken", Str),
        ],
    ),
    op(
        "DescribeFlowLogs",
        &[opt("Filter", FILTERS), opt("FlowLogIds", STRINGS)],
    ),
    op("DeleteFlowLogs", &[req("FlowLogIds", STRINGS)]),
    Operation {
        name: "ImportSecurityGroups",
        input: Open(&[req("SecurityGroups", List(&GROUP))]),
    },
    op(
        "CreateNetworkInterface",
        &[
            opt("NetworkInterfaceId", Str),
            opt("SubnetId", Str),
            opt("Description", Str),
            opt("TagSpecifications", TAG_SPECIFICATIONS),
            opt("AttachMode", Str),
            opt("Groups", STRINGS),
            opt(
                "PrivateIpAddresses",
                List(&Either(&PRIVATE_IP_ADDRESS, &Str)),
            ),
            opt("SourceDestCheck", Bool),
        ],
    ),
    op("DeleteNetworkInterface", &[req("NetworkInterfaceId", Str)]),
    op("AssignPrivateIpAddresses", ADDRESSES),
    op("UnassignPrivateIpAddresses", ADDRESSES),
    op("GetMetrics", &[opt("Prefix", Str)]),
    op(
        "ExportInterfaceRules",
        &[req("NetworkInterfaceId", Str), opt("Format", Str)],
    ),
    op("DescribeConntrack", CONNTRACK),
    op("FlushConntrack", CONNTRACK),
    op("CreateAccessKey", &[opt("ReadOnly", Bool)]),
    op("ListAccessKeys", &[]),
    op("DescribeHosts", &[]),
    op("SeedFleetStore", &[]),
    op("DeleteAccessKey", &[req("AccessKeyId", Str)]),
    op(
        "Observe",
        &[
            opt("NetworkInterfaceId", Str),
            opt("Verdict", Str),
            opt("Filters", FILTERS),
        ],
    ),
    op(
        "Explain",
        &[
            req("NetworkInterfaceId", Str),
            req("Direction", Str),
            req("Protocol", Str),
            req("Peer", Str),
            opt("Port", Int),
            opt("SourcePort", Int),
            opt("IcmpType", Int),
            opt("IcmpCode", Int),
            opt("LocalAddress", Str),
        ],
    ),
];

const AUTHORIZE: &[Field] = &[
    opt("GroupId", Str),
    opt("GroupName", Str),
    opt("IpPermissions", IP_PERMISSIONS),
    opt("TagSpecifications", TAG_SPECIFICATIONS),
];
const REVOKE: &[Field] = &[
    opt("GroupId", Str),
    opt("GroupName", Str),
    opt("IpPermissions", IP_PERMISSIONS),
    opt("SecurityGroupRuleIds", STRINGS),
];
const DESCRIPTIONS: &[Field] = &[
    opt("GroupId", Str),
    opt("GroupName", Str),
    opt("IpPermissions", IP_PERMISSIONS),
    opt("SecurityGroupRuleDescriptions", RULE_DESCRIPTIONS),
];
const ADDRESSES: &[Field] = &[
    req("NetworkInterfaceId", Str),
    req(
        "PrivateIpAddresses",
        List(&Either(&Str, &PRIVATE_IP_ADDRESS)),
    ),
];
const CONNTRACK: &[Field] = &[opt("NetworkInterfaceId", Str), opt("Filters", FILTERS)];

impl Operation {
    /// The operation named `name`; every `Request` has one (a unit test checks).
    pub fn named(name: &str) -> &'static Operation {
        OPERATIONS
            .iter()
            .find(|o| o.name == name)
            .unwrap_or_else(|| panic!("no input shape for {name}"))
    }

    pub fn fields(&self) -> &'static [Field] {
        self.input.fields()
    }

    pub fn field(&self, name: &str) -> Option<&'static Field> {
        self.fields().iter().find(|f| f.name == name)
    }
}

impl Shape {
    fn fields(&self) -> &'static [Field] {
        match self {
            Struct(f) | Open(f) => f,
            _ => &[],
        }
    }

    pub fn is_structure(&self) -> bool {
        match self {
            Struct(_) | Open(_) => true,
            Either(a, b) => a.is_structure() || b.is_structure(),
            _ => false,
        }
    }

    /// A plain word (no `=`) is a value of this shape.
    pub fn takes_word(&self) -> bool {
        match self {
            Str | Int | Bool => true,
            Either(a, b) => a.takes_word() || b.takes_word(),
            _ => false,
        }
    }
}

/// `Filters[0]` under `input`, `Filters[0].Values` under `Filters[0]`.
fn member_path(path: &str, name: &str) -> String {
    if path == "input" {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn describe(v: &Value) -> String {
    match v {
        Value::Array(_) => "a list".into(),
        Value::Object(_) => "a structure".into(),
        other => other.to_string(),
    }
}

/// Types `v`, given in shorthand, as `shape`: numbers and booleans from their text, a lone
/// value where a list is due made a list of one (as awscli's `BackCompatVisitor` does); then
/// checks it as `check` does.
pub fn coerce(shape: &Shape, v: Value, path: &str) -> Result<Value, String> {
    walk(shape, v, path, true)
}

/// Checks a JSON value against `shape`: member names, required members and types.
pub fn check(shape: &Shape, v: Value, path: &str) -> Result<Value, String> {
    walk(shape, v, path, false)
}

fn walk(shape: &Shape, v: Value, path: &str, loose: bool) -> Result<Value, String> {
    let invalid = |v: &Value, what: &str| {
        let mut msg = format!(
            "invalid type for parameter {path}: {}, expected {what}",
            describe(v)
        );
        if loose && matches!((shape, v), (Str | Int | Bool, Value::Array(_))) {
            msg.push_str(" (a ',' inside a value is written '\\,' or the value quoted)");
        }
        Err(msg)
    };
    match (shape, v) {
        (Str, v @ Value::String(_)) => Ok(v),
        (Str, v) => invalid(&v, "a string"),
        (Int, v @ Value::Number(_)) if v.is_i64() || v.is_u64() => Ok(v),
        (Int, Value::String(s)) if loose => match s.trim().parse::<i64>() {
            Ok(n) => Ok(Value::from(n)),
            Err(_) => invalid(&Value::String(s), "an integer"),
        },
        (Int, v) => invalid(&v, "an integer"),
        (Bool, v @ Value::Bool(_)) => Ok(v),
        (Bool, Value::String(s)) if loose && s.eq_ignore_ascii_case("true") => Ok(true.into()),
        (Bool, Value::String(s)) if loose && s.eq_ignore_ascii_case("false") => Ok(false.into()),
        (Bool, v) => invalid(&v, "true or false"),
        (List(member), Value::Array(items)) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| walk(member, item, &format!("{path}[{i}]"), loose))
            .collect::<Result<_, _>>()
            .map(Value::Array),
        (List(member), v) if loose => Ok(Value::Array(vec![walk(
            member,
            v,
            &format!("{path}[0]"),
            loose,
        )?])),
        (List(_), v) => invalid(&v, "a list"),
        (Struct(fields) | Open(fields), Value::Object(map)) => {
            let open = matches!(shape, Open(_));
            let mut out = Map::new();
            for (key, value) in map {
                match fields.iter().find(|f| f.name == key) {
                    Some(f) => {
                        let value = walk(&f.shape, value, &member_path(path, &key), loose)?;
                        out.insert(key, value);
                    }
                    None if open => {
                        out.insert(key, value);
                    }
                    None => {
                        let names: Vec<&str> = fields.iter().map(|f| f.name).collect();
                        return Err(format!(
                            "unknown parameter in {path}: \"{key}\", must be one of: {}",
                            names.join(", ")
                        ));
                    }
                }
            }
            if let Some(f) = fields
                .iter()
                .find(|f| f.required && !out.contains_key(f.name))
            {
                return Err(format!(
                    "missing required parameter in {path}: \"{}\"",
                    f.name
                ));
            }
            Ok(Value::Object(out))
        }
        (Struct(_) | Open(_), v) => invalid(&v, "a structure"),
        (Either(a, b), v) => {
            let structured = |s: &Shape| matches!(s, Struct(_) | Open(_));
            let pick = if v.is_object() == structured(a) { a } else { b };
            walk(pick, v, path, loose)
        }
    }
}

/// The JSON skeleton of `op`'s input, as `aws ... --generate-cli-skeleton` prints it: every
/// member in model order, lists with one element, "" for strings, 0 for numbers, true for
/// booleans, four-space indentation.
pub fn skeleton(op: &Operation) -> String {
    let mut out = String::new();
    write_skeleton(&op.input, 0, &mut out);
    out
}

fn write_skeleton(shape: &Shape, depth: usize, out: &mut String) {
    let pad = |d: usize| "    ".repeat(d);
    match shape {
        Str => out.push_str("\"\""),
        Int => out.push('0'),
        Bool => out.push_str("true"),
        Either(first, _) => write_skeleton(first, depth, out),
        List(member) => {
            out.push_str("[\n");
            out.push_str(&pad(depth + 1));
            write_skeleton(member, depth + 1, out);
            out.push('\n');
            out.push_str(&pad(depth));
            out.push(']');
        }
        Struct(fields) | Open(fields) if fields.is_empty() => out.push_str("{}"),
        Struct(fields) | Open(fields) => {
            out.push_str("{\n");
            for (i, f) in fields.iter().enumerate() {
                out.push_str(&pad(depth + 1));
                out.push_str(&format!("\"{}\": ", f.name));
                write_skeleton(&f.shape, depth + 1, out);
                out.push_str(if i + 1 < fields.len() { ",\n" } else { "\n" });
            }
            out.push_str(&pad(depth));
            out.push('}');
        }
    }
}

#[cfg(test)]
mod tests;
