//! The closed-loop driver: `clients` tasks each send one request after the other for the warm-up
//! and then the measuring window; only what ends inside the window is recorded.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::stats::{Outcome, Sample};

/// How long to load one scenario.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub clients: usize,
    pub warmup: Duration,
    pub measure: Duration,
}

/// Runs `op(client, iteration)` from `clients` tasks and gathers the outcomes of the window.
pub async fn drive<F, Fut>(window: Window, op: F) -> Sample
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Outcome> + Send,
{
    let op = Arc::new(op);
    let start = Instant::now() + window.warmup;
    let end = start + window.measure;
    let mut tasks = Vec::with_capacity(window.clients);
    for client in 0..window.clients.max(1) {
        let op = Arc::clone(&op);
        tasks.push(tokio::spawn(async move {
            let mut sample = Sample::default();
            let mut iteration = 0u64;
            loop {
                let began = Instant::now();
                if began >= end {
                    break;
                }
                let outcome = op(client, iteration).await;
                iteration += 1;
                if began >= start && Instant::now() <= end {
                    sample.record(outcome);
                }
            }
            sample
        }));
    }
    let mut total = Sample {
        window: window.measure,
        ..Sample::default()
    };
    for task in tasks {
        match task.await {
            Ok(sample) => total.merge(sample),
            Err(_) => total.record(Outcome::Failed("client task died".to_owned())),
        }
    }
    total
}

/// Times one future that reports success as `Ok`.
pub async fn timed<E: ToString>(fut: impl Future<Output = Result<(), E>>) -> Outcome {
    let began = std::time::Instant::now();
    match fut.await {
        Ok(()) => Outcome::Ok(began.elapsed()),
        Err(e) => Outcome::Failed(e.to_string()),
    }
}
