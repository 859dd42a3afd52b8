//! `--output table`: the response as nested boxed tables, in the manner of the AWS CLI, for
//! people rather than scripts.

use serde_json::Value;

enum Line {
    Title(usize, String),
    Separator(usize),
    Row(usize, String, String),
    Item(usize, String),
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(if *b { "True".into() } else { "False".into() }),
        Value::Null => Some("None".into()),
        _ => None,
    }
}

fn section(title: &str, v: &Value, depth: usize, out: &mut Vec<Line>) {
    match v {
        Value::Object(map) => {
            out.push(Line::Title(depth, title.to_owned()));
            out.push(Line::Separator(depth));
            for (k, v) in map {
                if let Some(s) = scalar(v) {
                    out.push(Line::Row(depth, k.clone(), s));
                }
            }
            for (k, v) in map {
                if scalar(v).is_none() {
                    section(k, v, depth + 1, out);
                }
            }
        }
        Value::Array(items) => {
            if items.iter().all(|i| scalar(i).is_some()) {
                if items.is_empty() {
                    return;
                }
                out.push(Line::Title(depth, title.to_owned()));
                out.push(Line::Separator(depth));
                for i in items {
                    out.push(Line::Item(depth, scalar(i).expect("scalar")));
                }
            } else {
                for i in items {
                    section(title, i, depth, out);
                }
            }
        }
        other => out.push(Line::Item(depth, scalar(other).unwrap_or_default())),
    }
}

/// Renders `v` under the operation's name.
pub fn render(operation: &str, v: &Value) -> String {
    let mut lines = Vec::new();
    section(operation, v, 1, &mut lines);
    let key_w = lines
        .iter()
        .map(|l| {
            if let Line::Row(_, k, _) = l {
                k.chars().count()
            } else {
                0
            }
        })
        .max()
        .unwrap_or(0);
    let inner = |l: &Line| match l {
        Line::Title(d, t) => t.chars().count() + 4 + 2 * d,
        Line::Row(d, _, v) => key_w + v.chars().count() + 7 + 2 * d,
        Line::Item(d, v) => v.chars().count() + 4 + 2 * d,
        Line::Separator(d) => 2 * d,
    };
    let width = lines.iter().map(inner).max().unwrap_or(20).max(20);
    let mut s = String::new();
    s.push_str(&"-".repeat(width));
    s.push('\n');
    for l in &lines {
        let (d, body) = match l {
            Line::Title(d, t) => (*d, format!("{t:^w$}", w = width - 2 * d)),
            Line::Separator(d) => (*d, format!("+{}+", "-".repeat(width - 2 * d))),
            Line::Row(d, k, v) => (
                *d,
                format!("  {k:<key_w$}  |  {v:<w$}", w = width - 2 * d - key_w - 7),
            ),
            Line::Item(d, v) => (*d, format!("  {v:<w$}", w = width - 2 * d - 2)),
        };
        // A separator's own `+` ends stand in for the innermost bars.
        let bars = "|".repeat(if let Line::Separator(_) = l { d - 1 } else { d });
        s.push_str(&bars);
        s.push_str(&body);
        s.push_str(&bars);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    #[test]
    fn every_line_has_the_same_width_and_values_appear() {
        let v = json!({"SecurityGroups": [{"GroupId": "sg-1", "GroupName": "web", "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "203.0.113.0/24"}]}]}]});
        let t = super::render("DescribeSecurityGroups", &v);
        let widths: Vec<usize> = t.lines().map(|l| l.chars().count()).collect();
        assert!(widths.windows(2).all(|w| w[0] == w[1]), "{t}");
        for needle in [
            "DescribeSecurityGroups",
            "sg-1",
            "web",
            "203.0.113.0/24",
            "IpPermissions",
        ] {
            assert!(t.contains(needle), "{needle} missing:\n{t}");
        }
    }
}
