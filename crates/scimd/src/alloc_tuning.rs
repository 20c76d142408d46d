//! The engine's allocator setting. Its memory target (peak RSS ≤ 150 MB for a 100k-user
//! initial cycle) counts resident memory, and mimalloc gives freed pages back to the OS 10 ms
//! after they are freed. A cycle frees and takes pages of objects all the time; with a read
//! taken ahead of the passes (a Graph or LDAP snapshot) the pages waiting for their 10 ms
//! added 25 MB at the peak (155 MB instead of 129 MB). Two milliseconds keep them out of the
//! peak at no measurable cost in CPU; the server keeps mimalloc's default.

/// `mi_option_purge_delay` in mimalloc 2's `mi_option_e` (its 16th option); the crate's
/// bindings do not name it. A test checks it against the option's documented default.
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

/// Milliseconds before freed memory goes back to the OS, for `scimd sync`.
pub const ENGINE_PURGE_DELAY_MS: i64 = 2;

/// Sets the purge delay for this process.
pub fn for_the_engine() {
    // SAFETY: mi_option_set stores an integer in mimalloc's option table (an atomic store);
    // it takes no pointers and is safe to call at any time from any thread.
    #[allow(unsafe_code)]
    unsafe {
        libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, ENGINE_PURGE_DELAY_MS as _);
    }
}

#[cfg(test)]
mod tests {
    #[allow(unsafe_code)]
    fn purge_delay() -> i64 {
        // SAFETY: as above; mi_option_get reads the option table.
        unsafe { libmimalloc_sys::mi_option_get(super::MI_OPTION_PURGE_DELAY) as i64 }
    }

    #[test]
    fn the_purge_delay_option_is_the_one_set() {
        // mimalloc 2's documented default for purge_delay is 10 ms: the index is right.
        assert_eq!(purge_delay(), 10);
        super::for_the_engine();
        assert_eq!(purge_delay(), super::ENGINE_PURGE_DELAY_MS);
    }
}
