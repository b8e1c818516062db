//! Runs many futures concurrently inside the task that awaits them, polling
//! only those that were woken. A poll's reads then cost no task of their
//! own each (no spawn, no hand-off between tasks or threads), and dropping
//! the joined future drops them all at once.

use std::future::{poll_fn, Future};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Poll, Wake, Waker};

use crate::sync::lock;

/// The waker of one joined future: marks it due and wakes the task.
struct Due {
    woken: AtomicBool,
    task: Arc<Mutex<Option<Waker>>>,
}

impl Wake for Due {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        if let Some(task) = lock(&self.task).as_ref() {
            task.wake_by_ref();
        }
    }
}

/// One joined future until it is ready.
struct Slot<F: Future> {
    future: Option<Pin<Box<F>>>,
    due: Arc<Due>,
    waker: Waker,
}

/// Awaits every future concurrently; their outputs in the given order.
pub(crate) async fn join_all<F: Future>(futures: impl IntoIterator<Item = F>) -> Vec<F::Output> {
    let task: Arc<Mutex<Option<Waker>>> = Arc::default();
    let mut slots: Vec<Slot<F>> = futures
        .into_iter()
        .map(|future| {
            let due = Arc::new(Due {
                woken: AtomicBool::new(true),
                task: Arc::clone(&task),
            });
            Slot {
                future: Some(Box::pin(future)),
                waker: Waker::from(Arc::clone(&due)),
                due,
            }
        })
        .collect();
    let mut outputs: Vec<Option<F::Output>> = slots.iter().map(|_| None).collect();
    let mut left = slots.len();
    poll_fn(|cx| {
        {
            let mut current = lock(&task);
            if !current.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                *current = Some(cx.waker().clone());
            }
        }
        for (slot, output) in slots.iter_mut().zip(outputs.iter_mut()) {
            let Some(future) = slot.future.as_mut() else {
                continue;
            };
            if !slot.due.woken.swap(false, Ordering::AcqRel) {
                continue;
            }
            let mut context = std::task::Context::from_waker(&slot.waker);
            if let Poll::Ready(value) = future.as_mut().poll(&mut context) {
                *output = Some(value);
                slot.future = None;
                left -= 1;
            }
        }
        if left == 0 {
            Poll::Ready(())
        } else {
            Poll::Pending
        }
    })
    .await;
    outputs.into_iter().flatten().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[tokio::test]
    async fn outputs_come_in_order_and_run_concurrently() {
        let started = tokio::time::Instant::now();
        let delays = [30_u64, 10, 20, 0];
        let outputs = join_all(delays.iter().map(|&ms| async move {
            tokio::time::sleep(Duration::from_millis(ms)).await;
            ms
        }))
        .await;
        assert_eq!(outputs, delays);
        let elapsed = started.elapsed();
        assert!(elapsed < Duration::from_millis(55), "{elapsed:?}");
        assert!(join_all(Vec::<std::future::Ready<u8>>::new())
            .await
            .is_empty());
    }

    #[tokio::test]
    async fn only_woken_futures_are_polled_again() {
        let polls = Arc::new(AtomicUsize::new(0));
        let (tx, rx) = tokio::sync::oneshot::channel::<u8>();
        let waiting = {
            let polls = Arc::clone(&polls);
            let mut rx = rx;
            poll_fn(move |cx| {
                polls.fetch_add(1, Ordering::Relaxed);
                Pin::new(&mut rx).poll(cx).map(|v| v.unwrap_or(0))
            })
        };
        let ticking = Box::pin(async {
            for _ in 0..5 {
                tokio::task::yield_now().await;
            }
            tx.send(9).ok();
            1
        });
        let both: Vec<Pin<Box<dyn Future<Output = u8> + Send>>> = vec![Box::pin(waiting), ticking];
        assert_eq!(join_all(both).await, vec![9, 1]);
        // Once at the start, once when the value came: not at every tick.
        assert_eq!(polls.load(Ordering::Relaxed), 2);
    }

    #[tokio::test]
    async fn dropping_the_join_drops_every_future() {
        struct Flag(Arc<AtomicUsize>);
        impl Drop for Flag {
            fn drop(&mut self) {
                self.0.fetch_add(1, Ordering::Relaxed);
            }
        }
        let dropped = Arc::new(AtomicUsize::new(0));
        let futures = (0..3).map(|_| {
            let flag = Flag(Arc::clone(&dropped));
            async move {
                let _flag = flag;
                std::future::pending::<()>().await;
            }
        });
        let joined = join_all(futures);
        assert!(tokio::time::timeout(Duration::from_millis(10), joined)
            .await
            .is_err());
        assert_eq!(dropped.load(Ordering::Relaxed), 3);
    }
}
