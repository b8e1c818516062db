//! Registers that serve one D-Bus path: the GX reads the same D-Bus value for
//! each of them (clamped to each register's own type), so the simulator keeps
//! one value per path and device.

use std::collections::HashMap;

use crate::ledger::Service;

/// For each register of a service, the index of the register whose value it
/// serves: the first one of its D-Bus path that has a model (`modelled`), or
/// else the first one of its path. `Err` names two modelled registers of one
/// path, which would contradict each other.
pub(super) fn value_holders(service: &Service, modelled: &[bool]) -> Result<Vec<usize>, String> {
    let mut by_path: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, register) in service.registers.iter().enumerate() {
        if let Some(path) = register.dbus_path.as_deref() {
            by_path.entry(path).or_default().push(index);
        }
    }
    let mut holders: Vec<usize> = (0..service.registers.len()).collect();
    for (path, group) in by_path {
        let with_model: Vec<usize> = group
            .iter()
            .copied()
            .filter(|&i| modelled.get(i).copied().unwrap_or(false))
            .collect();
        if let [first, second, ..] = with_model[..] {
            return Err(format!(
                "{} and {} serve the same D-Bus path {path}: model only one",
                service.registers[first].key, service.registers[second].key
            ));
        }
        let holder = with_model.first().or(group.first()).copied();
        for &index in &group {
            holders[index] = holder.unwrap_or(index);
        }
    }
    Ok(holders)
}
