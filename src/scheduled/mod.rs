//! Shard 0's scheduler: the message processors and scheduled tasks of the configuration now
//! published, each a task on shard 0's executor (a processor or task is one per server in MI
//! too). Nothing here blocks: stores answer over channels, backends through the shard's own
//! client, timers are glommio's.
//!
//! A processor or task keeps running across redeployments while its definition is unchanged
//! (they name sequences and endpoints, looked up in the configuration current when they act);
//! a changed one is restarted, a removed one stopped. A processor's active state (it
//! deactivates itself after its last attempt, as in MI) is its [`Switch`]: kept while its
//! definition is unchanged, set from `is.active` when it (re)starts.

mod processor;
mod task;

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use glommio::Task as Job;

use crate::mediation::EngineSlot;
use crate::program::scheduled::{Processor, Task};
use crate::stores::Stores;

/// How often the scheduler looks for a new configuration.
const WATCH: Duration = Duration::from_millis(500);

/// A processor's switch: whether it takes messages now.
#[derive(Debug, Default)]
pub struct Switch {
    active: Cell<bool>,
}

impl Switch {
    pub fn is_active(&self) -> bool {
        self.active.get()
    }
    pub fn set(&self, active: bool) {
        self.active.set(active);
    }
}

/// A processor at work: its definition, its switch and its task (dropping it stops it).
type Running = (Processor, Rc<Switch>, Job<()>);

/// The running processors and tasks of shard 0.
pub struct Scheduler {
    slot: Rc<EngineSlot>,
    stores: Arc<Stores>,
    processors: RefCell<HashMap<String, Running>>,
    tasks: RefCell<HashMap<String, (Task, Job<()>)>>,
}

impl Scheduler {
    pub fn new(slot: Rc<EngineSlot>, stores: Arc<Stores>) -> Rc<Scheduler> {
        Rc::new(Scheduler {
            slot,
            stores,
            processors: Default::default(),
            tasks: Default::default(),
        })
    }

    /// Runs until `term` is set: follows each new configuration.
    pub async fn run(self: Rc<Self>, term: Arc<AtomicBool>) {
        let mut seen = 0;
        while !term.load(Ordering::Relaxed) {
            let engine = self.slot.get();
            let generation = self.slot.generation();
            if generation != seen {
                seen = generation;
                self.follow(&engine.config.processors, &engine.config.tasks);
            }
            drop(engine);
            glommio::timer::sleep(WATCH).await;
        }
        // Dropping a glommio task cancels it.
        self.processors.borrow_mut().clear();
        self.tasks.borrow_mut().clear();
    }

    /// Makes the running processors and tasks those of a new configuration.
    fn follow(&self, processors: &[Processor], tasks: &[Task]) {
        let mut running = self.processors.borrow_mut();
        let mut next = HashMap::new();
        for def in processors {
            match running.remove(&def.name) {
                Some((old, switch, job)) if &old == def => {
                    next.insert(def.name.clone(), (old, switch, job));
                }
                _ => {
                    let switch = Rc::new(Switch::default());
                    switch.set(def.active);
                    let job = glommio::spawn_local(processor::run(
                        def.clone(),
                        self.slot.clone(),
                        self.stores.clone(),
                        switch.clone(),
                    ));
                    tracing::info!(processor = %def.name, store = %def.store, active = def.active, "message processor started");
                    next.insert(def.name.clone(), (def.clone(), switch, job));
                }
            }
        }
        for name in running.keys() {
            tracing::info!(processor = %name, "message processor stopped");
        }
        *running = next;
        let mut running = self.tasks.borrow_mut();
        let mut next = HashMap::new();
        for def in tasks {
            match running.remove(&def.name) {
                Some((old, job)) if &old == def => {
                    next.insert(def.name.clone(), (old, job));
                }
                _ => {
                    let job = glommio::spawn_local(task::run(def.clone(), self.slot.clone()));
                    tracing::info!(task = %def.name, "task scheduled");
                    next.insert(def.name.clone(), (def.clone(), job));
                }
            }
        }
        for name in running.keys() {
            tracing::info!(task = %name, "task unscheduled");
        }
        *running = next;
    }
}

/// Sleeps until the next time `cron` names (local time, as Quartz uses the server's zone);
/// false when it names no further time.
async fn until_next(cron: &croner::Cron) -> bool {
    let now = chrono::Local::now();
    match cron.find_next_occurrence(&now, false) {
        Ok(next) => {
            let wait = (next - now).to_std().unwrap_or_default();
            glommio::timer::sleep(wait).await;
            true
        }
        Err(_) => false,
    }
}
