//! The clock lws timeouts and idle checks read: whole seconds, often (per
//! frame), so from the coarse clock, which is a plain memory read.

/// Wall-clock seconds since the epoch.
pub fn now_secs() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: writes one local timespec.
    let ok = unsafe { libc::clock_gettime(libc::CLOCK_REALTIME_COARSE, &mut ts) } == 0;
    if ok {
        u64::try_from(ts.tv_sec).unwrap_or(0)
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn agrees_with_the_system_time() {
        let sys = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        assert!(super::now_secs().abs_diff(sys) <= 1);
    }
}
