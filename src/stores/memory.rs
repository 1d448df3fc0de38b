//! Synapse's `InMemoryStore`: a FIFO queue in this process (lost when mint stops), unbounded as
//! in Synapse.

use std::collections::VecDeque;

use super::{Backend, StoredMessage};

#[derive(Default)]
pub(super) struct Memory {
    queue: VecDeque<StoredMessage>,
}

impl Backend for Memory {
    fn put(&mut self, message: StoredMessage) -> Result<(), String> {
        self.queue.push_back(message);
        Ok(())
    }

    fn peek(&mut self) -> Result<Option<StoredMessage>, String> {
        Ok(self.queue.front().cloned())
    }

    fn remove(&mut self, id: &str) -> Result<bool, String> {
        if self.queue.front().is_some_and(|m| m.id == id) {
            self.queue.pop_front();
            return Ok(true);
        }
        Ok(false)
    }

    fn poll(&mut self) -> Result<Option<StoredMessage>, String> {
        Ok(self.queue.pop_front())
    }

    fn size(&mut self) -> Result<usize, String> {
        Ok(self.queue.len())
    }
}
