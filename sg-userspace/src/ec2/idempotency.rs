//! `ClientToken` idempotency (EC2's idempotency tokens): botocore puts a fresh token on every
//! call of an operation that has one and sends the same token again when it retries, so a
//! retry after a timeout or a 5xx must not create a second resource. A successful call's
//! output is kept under its token; the same token with the same parameters gets that output
//! again, with other parameters `IdempotentParameterMismatch`.
//!
//! Tokens live in memory (the last [`CAPACITY`], each for [`LIFETIME`]): a retry that
//! crosses a restart of `sgd` runs again.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

use crate::shapes::Output;

use crate::model::ApiError;

/// The EC2 operations sgd serves that take a `ClientToken`.
pub const OPERATIONS: &[&str] = &["CreateManagedPrefixList", "CreateNetworkInterface"];

/// Tokens kept at most.
pub const CAPACITY: usize = 10_000;
/// How long a token is kept (EC2 documents at least 24 hours... for a few operations; retries
/// come within minutes).
pub const LIFETIME: Duration = Duration::from_secs(24 * 3600);

struct Entry {
    /// `Params::digest` of the call's parameters but the token and `DryRun`.
    digest: String,
    output: Output,
    at: Instant,
}

/// The tokens of successful calls, by account-scoping key (the access key's account is the
/// only one: the token alone) and token.
#[derive(Default)]
pub struct Tokens {
    inner: Mutex<(HashMap<String, Entry>, VecDeque<String>)>,
}

/// What a call with a token should do.
pub enum Seen {
    /// Never seen (or forgotten): run it, then [`Tokens::remember`].
    New,
    /// Seen with these parameters: answer this output again.
    Again(Output),
}

impl Tokens {
    /// Looks `token` up for a call whose parameters have `digest`.
    pub fn seen(&self, token: &str, digest: &str) -> Result<Seen, ApiError> {
        let guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match guard.0.get(token) {
            Some(e) if e.at.elapsed() < LIFETIME => {
                if e.digest == digest {
                    Ok(Seen::Again(e.output.clone()))
                } else {
                    Err(ApiError::new(
                        "IdempotentParameterMismatch",
                        format!(
                            "The client token '{token}' was already used with other parameters."
                        ),
                    ))
                }
            }
            _ => Ok(Seen::New),
        }
    }

    /// Keeps a successful call's output under its token.
    pub fn remember(&self, token: &str, digest: &str, output: &Output) {
        let mut guard = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let (map, order) = &mut *guard;
        if map
            .insert(
                token.to_owned(),
                Entry {
                    digest: digest.to_owned(),
                    output: output.clone(),
                    at: Instant::now(),
                },
            )
            .is_none()
        {
            order.push_back(token.to_owned());
        }
        while order.len() > CAPACITY {
            if let Some(old) = order.pop_front() {
                map.remove(&old);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shapes::{GetMetricsResult, Output};

    /// An output told apart by its text.
    fn output(text: &str) -> Output {
        GetMetricsResult {
            metrics: text.into(),
        }
        .into()
    }

    #[test]
    fn the_same_token_answers_the_same_output_and_other_parameters_are_refused() {
        let t = Tokens::default();
        assert!(matches!(t.seen("tok", "d1").expect("new"), Seen::New));
        t.remember("tok", "d1", &output("pl-1"));
        match t.seen("tok", "d1").expect("again") {
            Seen::Again(v) => assert_eq!(v, output("pl-1")),
            Seen::New => panic!("forgotten"),
        }
        let e = t.seen("tok", "d2").err().expect("mismatch");
        assert_eq!(e.code, "IdempotentParameterMismatch");
        assert!(matches!(t.seen("other", "d1").expect("new"), Seen::New));
    }

    #[test]
    fn the_oldest_tokens_go_first() {
        let t = Tokens::default();
        for i in 0..=CAPACITY {
            t.remember(&i.to_string(), "d", &output(&i.to_string()));
        }
        assert!(matches!(t.seen("0", "d").expect("gone"), Seen::New));
        assert!(matches!(t.seen("1", "d").expect("kept"), Seen::Again(_)));
    }
}
