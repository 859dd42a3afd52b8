//! The shorthand grammar, case by case as awscli 1.46's `ShorthandParser` reads it (each
//! expected value was checked against it).

use serde_json::json;

use super::*;

fn ok(text: &str) -> Value {
    parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn err(text: &str) -> String {
    match parse(text) {
        Ok(v) => panic!("{text} parsed as {v}"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn pairs_and_comma_separated_lists() {
    assert_eq!(ok("Key=a,Value=b"), json!({"Key": "a", "Value": "b"}));
    assert_eq!(
        ok("Name=vpc-id,Values=vpc-1,vpc-2"),
        json!({"Name": "vpc-id", "Values": ["vpc-1", "vpc-2"]})
    );
    // A comma followed by `key=` ends the list, wherever the key comes.
    assert_eq!(
        ok("Values=a,b,Name=c"),
        json!({"Values": ["a", "b"], "Name": "c"})
    );
    // `=` may appear inside a first value, never inside a later one.
    assert_eq!(
        ok("Name=a=b,Values=x=y"),
        json!({"Name": "a=b", "Values": "x=y"})
    );
    assert_eq!(ok("Name=n,Values="), json!({"Name": "n", "Values": ""}));
    assert_eq!(ok("Name="), json!({"Name": ""}));
    // Keys may hold - _ . # / : (tag keys such as aws:cloudformation:stack-name).
    assert_eq!(ok("aws:x.y/z#1_-=v"), json!({"aws:x.y/z#1_-": "v"}));
    assert_eq!(
        ok("Name=ünï,Values=ça"),
        json!({"Name": "ünï", "Values": "ça"})
    );
}

#[test]
fn whitespace_is_kept_inside_and_dropped_around() {
    assert_eq!(
        ok("Name = vpc-id , Values = v "),
        json!({"Name": "vpc-id", "Values": "v"})
    );
    assert_eq!(
        ok("Name=n,Values=a b,c d"),
        json!({"Name": "n", "Values": ["a b", "c d"]})
    );
    assert_eq!(ok("Name=n, Values=a"), json!({"Name": "n", "Values": "a"}));
}

#[test]
fn explicit_lists_and_nested_structures() {
    assert_eq!(
        ok("Name=n,Values=[a, b , \"c,d\"]"),
        json!({"Name": "n", "Values": ["a", "b", "c,d"]})
    );
    assert_eq!(ok("Values=[]"), json!({"Values": []}));
    assert_eq!(ok("Values=[a,[b]]"), json!({"Values": ["a", ["b"]]}));
    assert_eq!(
        ok("ResourceType=security-group,Tags=[{Key=Name,Value=web},{Key=env,Value=prod}]"),
        json!({"ResourceType": "security-group",
               "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "env", "Value": "prod"}]})
    );
    assert_eq!(
        ok(
            "SecurityGroupRuleId=sgr-1,SecurityGroupRule={IpProtocol=tcp,FromPort=22,CidrIpv4=10.0.0.0/8}"
        ),
        json!({"SecurityGroupRuleId": "sgr-1",
               "SecurityGroupRule": {"IpProtocol": "tcp", "FromPort": "22", "CidrIpv4": "10.0.0.0/8"}})
    );
    assert_eq!(
        ok(
            "IpProtocol=icmpv6,FromPort=-1,Ipv6Ranges=[{CidrIpv6=2001:db8::/32,Description=two words}]"
        ),
        json!({"IpProtocol": "icmpv6", "FromPort": "-1",
               "Ipv6Ranges": [{"CidrIpv6": "2001:db8::/32", "Description": "two words"}]})
    );
    assert_eq!(ok("A={}"), json!({"A": {}}));
    assert_eq!(ok("A={B={C=[x]}}"), json!({"A": {"B": {"C": ["x"]}}}));
}

#[test]
fn quotes_and_escaped_commas() {
    assert_eq!(ok(r#"Name="a \"q\" b""#), json!({"Name": "a \"q\" b"}));
    assert_eq!(ok(r"Name='it\'s'"), json!({"Name": "it's"}));
    assert_eq!(ok(r#"Name='a\\b'"#), json!({"Name": "a\\b"}));
    assert_eq!(ok("Values='a,b',c"), json!({"Values": ["a,b", "c"]}));
    assert_eq!(ok(r"Values=a\,b,c"), json!({"Values": ["a,b", "c"]}));
    assert_eq!(ok(r"Values=\,a"), json!({"Values": ",a"}));
    // A closing bracket or brace may follow the first character of a later value.
    assert_eq!(ok("Values=a,b]c"), json!({"Values": ["a", "b]c"]}));
}

#[test]
fn mistakes_say_what_and_where() {
    let e = err("Name");
    assert!(
        e.contains("expected '='") && e.contains("found the end"),
        "{e}"
    );
    let e = err("Name=n,Values=a,");
    assert!(e.contains("expected a value at character 17"), "{e}");
    let e = err("Tags=[{Key=a}");
    assert!(
        e.contains("expected ','") && e.contains("'Tags=[{Key=a}'"),
        "{e}"
    );
    let e = err("Tags=[{Key=a,Value=b,c}]");
    assert!(e.contains("expected '='") && e.contains("found '}'"), "{e}");
    let e = err("Values=a]b");
    assert!(e.contains("expected ','") && e.contains("found ']'"), "{e}");
    let e = err("Name='open");
    assert!(e.contains("a closing '"), "{e}");
    let e = err("Name=n,Values=a,Name=m");
    assert!(e.contains("\"Name\" again") && e.contains("space"), "{e}");
    assert!(parse(" Name=n").is_err(), "awscli reads no leading space");
    // A brace may start a word, but not close a structure it is inside.
    assert_eq!(ok("Description=}"), json!({"Description": "}"}));
    assert!(err("Tags=[{Key=}]").contains("found ']'"));
}
