//! The daemon's outputs as EC2 Query XML. An operation's output is one typed value in AWS's
//! shape (`crate::shapes`), with AWS's member names: `sgd` serialises it as JSON for the Unix
//! socket (what `sgctl` prints, and what botocore hands a boto3 caller), and this module is a
//! second serde serialiser that writes the same value, straight from its fields, as the XML
//! botocore parses back into it. One struct, two serialisations: the wires cannot drift.
//!
//! Each member becomes an element named after its `locationName` in the EC2 model: the member
//! name with a lower-case first letter, except for the members listed in [`location_name`]
//! (`SecurityGroups` is `securityGroupInfo`, `Tags` is `tagSet`, ...). A list is a container of
//! `<item>` elements, and is written even when empty (Ansible indexes `IpPermissions`
//! directly); a null member is left out; booleans are `true`/`false`.

use serde::ser::{self, Serialize};

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
        ("", "FlowLogIds") => "flowLogIdSet",
        ("", "FlowLogs") => "flowLogSet",
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

/// The EC2 response to `action` whose output is `output`: a structure (or a map with string
/// keys), or null for the operations without an output.
pub fn response(action: &str, request_id: &str, output: &impl Serialize) -> String {
    let mut w = XmlWriter::ec2_response(action, request_id);
    let top = Node {
        w: &mut w,
        element: None,
        via: "",
        null_returns_true: RETURNS_TRUE.contains(&action),
    };
    if let Err(e) = output.serialize(top) {
        // Only a shape this writer has no XML for gets here (a tuple, bytes, an enum with
        // data): a programming error, caught by the tests of each output.
        debug_assert!(false, "{action}: {e}");
        tracing::error!(action, error = %e, "an output could not be written as XML");
    }
    w.finish()
}

/// Why an output could not be written.
#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        Self(msg.to_string())
    }
}

fn unsupported(what: &str) -> Error {
    Error(format!("EC2 outputs have no {what}"))
}

/// Writes one value: the element `element` holding it (`None` for the output itself, whose
/// members go straight into the response), reached through member `via` (the member that
/// holds it, or the list it is an item of), which names its own members' elements.
struct Node<'a> {
    w: &'a mut XmlWriter,
    element: Option<&'a str>,
    via: &'a str,
    /// At the top: a null output is `<return>true</return>`.
    null_returns_true: bool,
}

impl<'a> Node<'a> {
    fn scalar(self, text: impl std::fmt::Display) -> Result<(), Error> {
        match self.element {
            Some(e) => {
                self.w.text(e, text);
                Ok(())
            }
            None => Err(unsupported("scalar output")),
        }
    }

    /// Opens the element of a structure or list (none at the top).
    fn open(self) -> Compound<'a> {
        if let Some(e) = self.element {
            self.w.start(e);
        }
        Compound {
            w: self.w,
            via: self.via,
            close: self.element.is_some(),
            key: String::new(),
        }
    }
}

/// The members of a structure or map, or the items of a list, being written.
struct Compound<'a> {
    w: &'a mut XmlWriter,
    via: &'a str,
    close: bool,
    /// A map's key, between `serialize_key` and `serialize_value`.
    key: String,
}

impl Compound<'_> {
    fn member<T: Serialize + ?Sized>(&mut self, name: &str, value: &T) -> Result<(), Error> {
        let element = location_name(self.via, name);
        value.serialize(Node {
            w: self.w,
            element: Some(&element),
            via: name,
            null_returns_true: false,
        })
    }

    fn item<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        value.serialize(Node {
            w: self.w,
            element: Some("item"),
            via: self.via,
            null_returns_true: false,
        })
    }

    fn close(self) -> Result<(), Error> {
        if self.close {
            self.w.end();
        }
        Ok(())
    }
}

impl<'a> ser::Serializer for Node<'a> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = Compound<'a>;
    type SerializeStruct = Compound<'a>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_bool(self, v: bool) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i8(self, v: i8) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i16(self, v: i16) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i32(self, v: i32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_i64(self, v: i64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u8(self, v: u8) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u16(self, v: u16) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u32(self, v: u32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_u64(self, v: u64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_f64(self, v: f64) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_char(self, v: char) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_str(self, v: &str) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<(), Error> {
        Err(unsupported("bytes"))
    }
    /// A null member is left out; a null output is nothing, or `<return>true</return>`.
    fn serialize_none(self) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Error> {
        if self.element.is_none() && self.null_returns_true {
            self.w.text("return", "true");
        }
        Ok(())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<(), Error> {
        self.serialize_unit()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, v: &'static str) -> Result<(), Error> {
        self.scalar(v)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<(), Error> {
        Err(unsupported("enum with data"))
    }
    /// A list is a container of `<item>`s, written even when empty.
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        if self.element.is_none() {
            return Err(unsupported("list output"));
        }
        Ok(self.open())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple, Error> {
        Err(unsupported("tuple"))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct, Error> {
        Err(unsupported("tuple"))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        Err(unsupported("enum with data"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a>, Error> {
        Ok(self.open())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Compound<'a>, Error> {
        Ok(self.open())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        Err(unsupported("enum with data"))
    }
}

impl ser::SerializeSeq for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        self.item(value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeStruct for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        name: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        self.member(name, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

impl ser::SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Error> {
        // A map's key names a member: it must be a string.
        match serde_json::to_value(key) {
            Ok(serde_json::Value::String(k)) => {
                self.key = k;
                Ok(())
            }
            _ => Err(unsupported("map with keys that are not strings")),
        }
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Error> {
        let key = std::mem::take(&mut self.key);
        self.member(&key, value)
    }
    fn end(self) -> Result<(), Error> {
        self.close()
    }
}

#[cfg(test)]
mod tests;
