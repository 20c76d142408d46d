//! The in-process wake-up behind `FeedStore::watch_feed`: writers bump a counter after a
//! commit that wrote events; watchers wait for it to move. Readers in other processes (a
//! second replica, the CLI) are not woken by it and re-read on their own schedule.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use scim_core::ports::FeedWatch;
use tokio::sync::watch;

#[derive(Clone)]
pub struct FeedSignal(Arc<watch::Sender<u64>>);

impl Default for FeedSignal {
    fn default() -> Self {
        FeedSignal(Arc::new(watch::Sender::new(0)))
    }
}

impl FeedSignal {
    /// Called after a commit that wrote events.
    pub fn committed(&self) {
        self.0.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn watch(&self) -> Box<dyn FeedWatch> {
        Box::new(Watch(self.0.subscribe()))
    }
}

struct Watch(watch::Receiver<u64>);

impl FeedWatch for Watch {
    fn changed(&mut self) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
        Box::pin(async move {
            // The sender lives as long as the store; without it nothing commits any more.
            if self.0.changed().await.is_err() {
                std::future::pending::<()>().await;
            }
        })
    }
}
