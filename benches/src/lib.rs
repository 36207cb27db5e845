//! The shared benchmark harness. For now it only names the stages that
//! exist; the workloads, the comparison command and the reports arrive with
//! the benchmark issue.

use ch00_contract::Stage;

/// The names of the stages the harness knows, in book order.
pub fn stage_names() -> Vec<&'static str> {
    vec![ch01_memory::MemoryStore::NAME]
}
