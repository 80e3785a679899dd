//! System figures the server-status JSON shows.

/// Seconds since boot, as libuv's `uv_uptime` reports them.
pub fn uptime_secs() -> u64 {
    std::fs::read_to_string("/proc/uptime")
        .ok()
        .and_then(|s| s.split('.').next().and_then(|n| n.parse().ok()))
        .unwrap_or(0)
}

/// The 1, 5 and 15 minute load averages (fewer if the system has fewer).
pub fn load_averages() -> Vec<f64> {
    let mut load = [0f64; 3];
    // SAFETY: `load` has room for the 3 values asked for.
    let got = unsafe { libc::getloadavg(load.as_mut_ptr(), 3) };
    load[..usize::try_from(got).unwrap_or(0).min(3)].to_vec()
}
