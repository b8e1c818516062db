//! Small synchronisation helpers shared by the core's tasks.

use std::sync::{Mutex, MutexGuard, PoisonError};

/// Locks a mutex; a poisoned one (a panicked holder) is used as it is, since
/// every value the core keeps behind a mutex stays consistent between updates.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}
