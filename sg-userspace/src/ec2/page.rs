//! Pages of the describes (`MaxResults`, `NextToken`). The daemon answers a describe whole;
//! the page is cut from that answer, in its order, and a token names where the next page
//! starts and which request it belongs to (a digest of its parameters keyed with a secret of
//! this daemon), so a token replayed with other parameters, or forged, is refused
//! (`InvalidPaginationToken`). The last page carries no `NextToken` (an empty one makes
//! botocore's paginators go on). Tokens are positions: resources created or deleted between
//! two pages may shift what the next page starts with, and a token past a list that shrank
//! gives an empty last page rather than an error.

use serde_json::Value;

use super::decode::Page;
use crate::model::ApiError;

fn invalid(token: &str) -> ApiError {
    ApiError::new(
        "InvalidPaginationToken",
        format!("Invalid pagination token: {token}"),
    )
}

/// The token of the page starting at `offset` of the request with `digest`.
fn token(offset: usize, digest: &str) -> String {
    format!("{offset:x}.{digest}")
}

/// Cuts `output`'s list down to the page `page` asks for, and adds the `NextToken` of the
/// next page if there is one.
pub fn cut(output: &mut Value, page: &Page) -> Result<(), ApiError> {
    let offset = match &page.next_token {
        None => 0,
        Some(t) => {
            let (offset, digest) = t.split_once('.').ok_or_else(|| invalid(t))?;
            if digest != page.digest {
                return Err(invalid(t));
            }
            usize::from_str_radix(offset, 16).map_err(|_| invalid(t))?
        }
    };
    let Some(Value::Array(items)) = output.get_mut(page.list) else {
        return match offset {
            0 => Ok(()),
            _ => Err(invalid(page.next_token.as_deref().unwrap_or_default())),
        };
    };
    let offset = offset.min(items.len());
    let end = page
        .max_results
        .map_or(items.len(), |n| (offset + n).min(items.len()));
    let rest = items.split_off(end);
    items.drain(..offset);
    if !rest.is_empty()
        && let Value::Object(members) = output
    {
        members.insert("NextToken".into(), Value::String(token(end, &page.digest)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn page(max: Option<usize>, token: Option<String>) -> Page {
        Page {
            list: "SecurityGroups",
            max_results: max,
            next_token: token,
            digest: "abc".into(),
        }
    }

    fn groups(n: usize) -> Value {
        json!({ "SecurityGroups": (0..n).map(|i| json!({"GroupId": i})).collect::<Vec<_>>() })
    }

    #[test]
    fn pages_follow_each_other_and_the_last_has_no_token() {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let mut out = groups(12);
            cut(&mut out, &page(Some(5), token.clone())).expect("page");
            seen.extend(
                out["SecurityGroups"]
                    .as_array()
                    .expect("list")
                    .iter()
                    .cloned(),
            );
            match out.get("NextToken") {
                Some(t) => token = Some(t.as_str().expect("token").to_owned()),
                None => break,
            }
        }
        assert_eq!(
            seen,
            groups(12)["SecurityGroups"]
                .as_array()
                .expect("list")
                .clone()
        );
    }

    #[test]
    fn a_token_past_a_list_that_shrank_gives_an_empty_last_page() {
        let mut out = groups(3);
        cut(&mut out, &page(Some(5), Some(token(10, "abc")))).expect("page");
        assert_eq!(out["SecurityGroups"], json!([]));
        assert!(out.get("NextToken").is_none());
    }

    #[test]
    fn without_max_results_everything_comes_in_one_page() {
        let mut out = groups(7);
        cut(&mut out, &page(None, None)).expect("page");
        assert_eq!(out, groups(7));
    }

    #[test]
    fn foreign_forged_and_stale_tokens_are_refused() {
        let mut out = groups(12);
        cut(&mut out, &page(Some(5), None)).expect("page");
        let t = out["NextToken"].as_str().expect("token").to_owned();
        let mut other = page(Some(5), Some(t.clone()));
        other.digest = "other-request".into();
        for (p, why) in [
            (other, "another request's token"),
            (page(Some(5), Some("zz.abc".into())), "not an offset"),
            (page(Some(5), Some("garbage".into())), "no digest"),
        ] {
            let e = cut(&mut groups(12), &p).expect_err(why);
            assert_eq!(e.code, "InvalidPaginationToken", "{why}");
        }
    }
}
