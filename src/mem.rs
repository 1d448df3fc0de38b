//! The process allocator: glibc's `malloc`, with a small per-shard cache of blocks between 1 and
//! 16 KiB in front of it.
//!
//! glibc serves requests up to 1,032 bytes from its per-thread cache in a few dozen instructions.
//! Anything larger goes through its bins: sorting the unsorted list, a best-fit search, and on free
//! merging with the neighbours, about 450 instructions to allocate and 150 to free. A proxied
//! request allocates a few such blocks (the boxed future of a backend call is about 4 KiB) and
//! frees them a few microseconds later, on the same thread. So a shard thread keeps up to
//! [`KEEP`] freed blocks of each size class ([`CLASSES`]) and hands them out again.
//!
//! Every request in that range is rounded up to its class on every thread, so that any block
//! freed on a shard can serve any request of its class, wherever it was allocated. Blocks are
//! cached only on the threads that asked for it ([`recycle_on_this_thread`]), which live as long
//! as the process: a cached block is not returned when its thread ends. At most
//! `KEEP × (2 + 4 + 8 + 16)` KiB (480 KiB) stays cached per shard; larger blocks (message bodies)
//! never are, so the memory policy for message bodies (blocks of 256 KiB or more mapped apart and
//! returned at once, set at boot) is unchanged.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, UnsafeCell};

/// The size classes, smallest first. Requests of at most 1,024 bytes are glibc's (its per-thread
/// cache serves them fast).
pub const CLASSES: [usize; 4] = [2048, 4096, 8192, 16384];
/// Freed blocks kept per class and thread.
pub const KEEP: usize = 16;
const SMALLEST_CACHED: usize = 1025;
/// The strongest alignment glibc's `malloc` guarantees on 64-bit targets.
const MALLOC_ALIGN: usize = 16;

/// mint's global allocator (set in `main.rs`).
pub struct Recycling;

struct Stack {
    len: usize,
    blocks: [*mut u8; KEEP],
}

struct Cache {
    on: Cell<bool>,
    stacks: UnsafeCell<[Stack; CLASSES.len()]>,
}

const EMPTY: Stack = Stack {
    len: 0,
    blocks: [std::ptr::null_mut(); KEEP],
};

thread_local! {
    // Const-initialised and without `Drop`: using it never allocates and registers no destructor,
    // so the allocator can use it at any time, including while a thread ends.
    static CACHE: Cache = const {
        Cache {
            on: Cell::new(false),
            stacks: UnsafeCell::new([EMPTY; CLASSES.len()]),
        }
    };
}

/// Caches freed blocks on the calling thread from now on. For threads that live as long as the
/// process (the shards).
pub fn recycle_on_this_thread() {
    CACHE.with(|c| c.on.set(true));
}

/// The class of a request, if it is one that is rounded up and may be cached.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > MALLOC_ALIGN || !(SMALLEST_CACHED..=CLASSES[3]).contains(&layout.size()) {
        return None;
    }
    CLASSES.iter().position(|&c| layout.size() <= c)
}

fn pop(class: usize) -> Option<*mut u8> {
    CACHE
        .try_with(|c| {
            if !c.on.get() {
                return None;
            }
            // SAFETY: the stacks are this thread's own, and nothing below calls back into the
            // allocator while the reference lives.
            let s = unsafe { &mut (*c.stacks.get())[class] };
            (s.len > 0).then(|| {
                s.len -= 1;
                s.blocks[s.len]
            })
        })
        .ok()
        .flatten()
}

/// Keeps `block` if this thread caches and its stack has room; `false` if the caller must free it.
fn push(class: usize, block: *mut u8) -> bool {
    CACHE
        .try_with(|c| {
            if !c.on.get() {
                return false;
            }
            // SAFETY: as in `pop`.
            let s = unsafe { &mut (*c.stacks.get())[class] };
            if s.len == KEEP {
                return false;
            }
            s.blocks[s.len] = block;
            s.len += 1;
            true
        })
        .unwrap_or(false)
}

fn class_layout(class: usize, align: usize) -> Layout {
    // SAFETY: the class sizes are powers of two far below isize::MAX, and `align` is a valid
    // alignment (it came from a `Layout`).
    unsafe { Layout::from_size_align_unchecked(CLASSES[class], align) }
}

// SAFETY: every block handed out is either glibc's for the request's own layout (outside the
// classes) or a block of at least the request's size and alignment: a class block, allocated
// with the class size from glibc and only ever reused for requests of the same class.
unsafe impl GlobalAlloc for Recycling {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(c) => match pop(c) {
                Some(p) => p,
                None => System.alloc(class_layout(c, layout.align())),
            },
            None => System.alloc(layout),
        }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        match class_of(layout) {
            Some(c) => match pop(c) {
                Some(p) => {
                    std::ptr::write_bytes(p, 0, layout.size());
                    p
                }
                None => System.alloc_zeroed(class_layout(c, layout.align())),
            },
            None => System.alloc_zeroed(layout),
        }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match class_of(layout) {
            Some(c) => {
                if !push(c, ptr) {
                    System.dealloc(ptr, class_layout(c, layout.align()));
                }
            }
            None => System.dealloc(ptr, layout),
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let new_layout = Layout::from_size_align_unchecked(new_size, layout.align());
        let (old, new) = (class_of(layout), class_of(new_layout));
        match (old, new) {
            // The block already has the room.
            (Some(a), Some(b)) if a == b => ptr,
            (None, None) => System.realloc(ptr, layout, new_size),
            _ => {
                let p = self.alloc(new_layout);
                if !p.is_null() {
                    std::ptr::copy_nonoverlapping(ptr, p, layout.size().min(new_size));
                    self.dealloc(ptr, layout);
                }
                p
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn layout(size: usize) -> Layout {
        Layout::from_size_align(size, 8).unwrap()
    }

    #[test]
    fn classes_cover_what_glibc_serves_slowly() {
        assert_eq!(class_of(layout(1024)), None);
        assert_eq!(class_of(layout(1025)), Some(0));
        assert_eq!(class_of(layout(4096)), Some(1));
        assert_eq!(class_of(layout(4112)), Some(2));
        assert_eq!(class_of(layout(16384)), Some(3));
        assert_eq!(class_of(layout(16385)), None);
        assert_eq!(
            class_of(Layout::from_size_align(4096, 64).unwrap()),
            None,
            "alignments malloc does not give are passed through"
        );
    }

    #[test]
    fn a_freed_block_is_reused_on_a_caching_thread() {
        std::thread::spawn(|| unsafe {
            let a = Recycling;
            recycle_on_this_thread();
            let p = a.alloc(layout(3000));
            p.write_bytes(7, 4096);
            a.dealloc(p, layout(3000));
            let q = a.alloc(layout(2500));
            assert_eq!(p, q, "a block of the same class comes from the cache");
            let z = a.alloc_zeroed(layout(4000));
            assert!(std::slice::from_raw_parts(z, 4000).iter().all(|&b| b == 0));
            a.dealloc(z, layout(4000));
            a.dealloc(q, layout(2500));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn realloc_keeps_the_contents_across_classes() {
        std::thread::spawn(|| unsafe {
            recycle_on_this_thread();
            let a = Recycling;
            let p = a.alloc(layout(100));
            for i in 0..100 {
                *p.add(i) = i as u8;
            }
            let p = a.realloc(p, layout(100), 3000); // glibc → class
            let p2 = a.realloc(p, layout(3000), 4000); // same class: same block
            assert_eq!(p, p2);
            let p = a.realloc(p2, layout(4000), 20000); // class → glibc
            let p = a.realloc(p, layout(20000), 50);
            assert!((0..50).all(|i| *p.add(i) == i as u8));
            a.dealloc(p, layout(50));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_full_stack_frees_the_rest() {
        std::thread::spawn(|| unsafe {
            recycle_on_this_thread();
            let a = Recycling;
            let blocks: Vec<_> = (0..KEEP + 4).map(|_| a.alloc(layout(8000))).collect();
            for &b in &blocks {
                a.dealloc(b, layout(8000));
            }
            let cached = CACHE.with(|c| (*c.stacks.get())[2].len);
            assert_eq!(cached, KEEP);
        })
        .join()
        .unwrap();
    }
}
