//! What MI 4.4's foreach (`collection=…`) and `scatter-gather` share: running branches, each on
//! its own copy of the message, on the request's shard (at most `[mediation] split_concurrency`
//! at once, one at a time in order without `parallel-execution`), and collecting what each
//! branch that ends normally leaves. MI runs them on its worker pool; a branch that stops (drop,
//! respond, a handled fault) contributes nothing, as in MI.

use std::time::Duration;

use futures_util::stream::{FuturesUnordered, StreamExt};

use super::{Flow, LocalFuture, Mediator, Runtime};
use crate::message::{MessageContext, Value};

/// One branch to run: its message and its mediators.
pub struct Branch<'m> {
    pub ctx: MessageContext,
    pub list: &'m [Mediator],
}

/// How a gather ends early.
#[derive(Clone, Copy, Default)]
pub struct Until {
    /// Stop collecting after this long (scatter-gather's `timeout`, in ms).
    pub timeout: Option<Duration>,
    /// Complete once this many branches have been collected (`max-messages`).
    pub max: Option<usize>,
}

/// Runs the branches; returns each finished branch's index and message, in finishing order. A
/// branch counts when it ends normally and `condition` (scatter-gather's) reads `true` on it.
pub async fn run<'m>(
    rt: &impl Runtime,
    branches: Vec<Branch<'m>>,
    sequential: bool,
    until: Until,
    condition: Option<&Value>,
) -> Vec<(usize, MessageContext)> {
    let limit = if sequential {
        1
    } else {
        rt.split_limits().concurrency
    };
    // One timer for the whole gather, armed once.
    let mut timer = until
        .timeout
        .map(|t| Box::pin(glommio::timer::Timer::new(t)));
    let mut waiting = branches.into_iter().enumerate();
    let mut running: FuturesUnordered<LocalFuture<'_, Option<(usize, MessageContext)>>> =
        FuturesUnordered::new();
    let mut done = Vec::new();
    loop {
        while running.len() < limit {
            let Some((i, mut b)) = waiting.next() else {
                break;
            };
            running.push(Box::pin(async move {
                let flow = rt.run_list(&mut b.ctx, b.list).await;
                if flow != Flow::Continue || b.ctx.responded {
                    return None;
                }
                if let Some(c) = condition {
                    let keep = rt
                        .eval(&mut b.ctx, c)
                        .await
                        .is_ok_and(|t| t.eq_ignore_ascii_case("true"));
                    if !keep {
                        return None;
                    }
                }
                Some((i, b.ctx))
            }));
        }
        let next = match &mut timer {
            Some(t) => {
                let expired = async {
                    t.as_mut().await;
                    None
                };
                futures_lite::future::or(async { Some(running.next().await) }, expired).await
            }
            None => Some(running.next().await),
        };
        match next {
            // The timeout: what has been collected is the result.
            None => break,
            Some(None) => break,
            Some(Some(Some((i, ctx)))) => {
                done.push((i, ctx));
                if until.max.is_some_and(|m| done.len() >= m) {
                    break;
                }
            }
            Some(Some(None)) => {}
        }
    }
    done
}
