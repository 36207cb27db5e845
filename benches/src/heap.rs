//! Peak heap memory, counted by a global allocator wrapper.
//!
//! The comparison binary installs [`CountingAlloc`] as its global
//! allocator; the harness resets the peak before a workload and reads it
//! after. Counting in the allocator measures exactly the heap a store uses
//! (its memtable, its index, its caches), where the process's resident size
//! would also count pages the allocator keeps after they are freed. It does
//! not see memory a store maps from files, nor the operating system's page
//! cache.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

static CURRENT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);
static INSTALLED: AtomicBool = AtomicBool::new(false);

/// The system allocator, counting the bytes in use and their peak.
pub struct CountingAlloc;

// The one `unsafe` in the workspace: a global allocator must implement an
// unsafe trait. Each method forwards to `System` with the same arguments,
// which is what makes it sound, and only adds relaxed atomic counters.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let ptr = unsafe { System.alloc(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` came from `System` via `alloc`.
        unsafe { System.dealloc(ptr, layout) };
        CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: as for `alloc`.
        let ptr = unsafe { System.alloc_zeroed(layout) };
        if !ptr.is_null() {
            record_alloc(layout.size());
        }
        ptr
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let new = unsafe { System.realloc(ptr, layout, new_size) };
        if !new.is_null() {
            CURRENT.fetch_sub(layout.size(), Ordering::Relaxed);
            record_alloc(new_size);
        }
        new
    }
}

fn record_alloc(size: usize) {
    INSTALLED.store(true, Ordering::Relaxed);
    let now = CURRENT.fetch_add(size, Ordering::Relaxed) + size;
    PEAK.fetch_max(now, Ordering::Relaxed);
}

/// Starts a new peak measurement; returns the bytes in use now, the
/// baseline to pass to [`peak_since`].
pub fn reset_peak() -> usize {
    let now = CURRENT.load(Ordering::Relaxed);
    PEAK.store(now, Ordering::Relaxed);
    now
}

/// The highest heap use above `baseline` since [`reset_peak`], or `None`
/// when the counting allocator is not installed (in tests, say).
pub fn peak_since(baseline: usize) -> Option<u64> {
    if !INSTALLED.load(Ordering::Relaxed) {
        return None;
    }
    Some(PEAK.load(Ordering::Relaxed).saturating_sub(baseline) as u64)
}
