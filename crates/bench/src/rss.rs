//! The server's peak resident memory, read from /proc (Linux).

/// `VmHWM` of a status file's text, in kB.
pub fn peak_kb(status: &str) -> Option<u64> {
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// `VmHWM` of a running process, in kB.
pub fn peak_of(pid: u32) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| peak_kb(&s))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_hwm() {
        let status =
            "Name:\tprocdash\nVmPeak:\t  900000 kB\nVmHWM:\t   81234 kB\nVmRSS:\t 70000 kB\n";
        assert_eq!(peak_kb(status), Some(81_234));
        assert_eq!(peak_kb("Name: x\n"), None);
    }

    #[test]
    fn reads_our_own_process() {
        assert!(peak_of(std::process::id()).is_some_and(|kb| kb > 0));
    }
}
