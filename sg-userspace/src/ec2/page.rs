//! Pages of the describes (`MaxResults`, `NextToken`). The daemon answers a describe whole;
//! the page is cut from that answer, in its order, and a token names where the next page
//! starts and which request it belongs to (a digest of its parameters keyed with a secret of
//! this daemon), so a token replayed with other parameters, or forged, is refused
//! (`InvalidPaginationToken`). The last page carries no `NextToken` (an empty one makes
//! botocore's paginators go on). Tokens are positions: resources created or deleted between
//! two pages may shift what the next page starts with, and a token past a list that shrank
//! gives an empty last page rather than an error.

use super::decode::Page;
use crate::{model::ApiError, shapes::Output};

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
pub fn cut(output: &mut Output, page: &Page) -> Result<(), ApiError> {
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
    let Some(list) = output.pages() else {
        return match offset {
            0 => Ok(()),
            _ => Err(invalid(page.next_token.as_deref().unwrap_or_default())),
        };
    };
    let len = list.count();
    let offset = offset.min(len);
    let end = page.max_results.map_or(len, |n| (offset + n).min(len));
    list.keep(offset, end);
    list.set_next_token((end < len).then(|| token(end, &page.digest)));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::{DescribeSecurityGroupsResult, SecurityGroup};

    fn page(max: Option<usize>, token: Option<String>) -> Page {
        Page {
            max_results: max,
            next_token: token,
            digest: "abc".into(),
        }
    }

    fn group(i: usize) -> SecurityGroup {
        SecurityGroup {
            description: String::new(),
            group_name: format!("g{i}"),
            ip_permissions: Vec::new(),
            owner_id: "123456789012".into(),
            group_id: format!("sg-{i}"),
            ip_permissions_egress: Vec::new(),
            tags: Vec::new(),
            vpc_id: "vpc-1".into(),
            security_group_arn: None,
        }
    }

    fn groups(n: usize) -> Output {
        DescribeSecurityGroupsResult {
            security_groups: (0..n).map(group).collect(),
            next_token: None,
        }
        .into()
    }

    fn parts(out: Output) -> (Vec<SecurityGroup>, Option<String>) {
        match out {
            Output::SecurityGroups(o) => (o.security_groups, o.next_token),
            other => panic!("not groups: {other:?}"),
        }
    }

    #[test]
    fn pages_follow_each_other_and_the_last_has_no_token() {
        let mut seen = Vec::new();
        let mut token = None;
        loop {
            let mut out = groups(12);
            cut(&mut out, &page(Some(5), token.clone())).expect("page");
            let (items, next) = parts(out);
            seen.extend(items);
            match next {
                Some(t) => token = Some(t),
                None => break,
            }
        }
        assert_eq!(seen, parts(groups(12)).0);
    }

    #[test]
    fn a_token_past_a_list_that_shrank_gives_an_empty_last_page() {
        let mut out = groups(3);
        cut(&mut out, &page(Some(5), Some(token(10, "abc")))).expect("page");
        assert_eq!(parts(out), (Vec::new(), None));
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
        let t = parts(out).1.expect("token");
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
