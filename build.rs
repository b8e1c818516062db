//! Embeds every file of `register_ledgers/` into the crate at compile time.

use std::env;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

fn main() -> io::Result<()> {
    let ledger_dir = Path::new("register_ledgers");
    println!("cargo:rerun-if-changed={}", ledger_dir.display());
    let mut files: Vec<PathBuf> = fs::read_dir(ledger_dir)?
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "json"))
        .collect();
    files.sort();
    let mut source = String::from("/// Ledger files as (file stem, JSON text), sorted by name.\n");
    source.push_str("pub(crate) const LEDGER_FILES: &[(&str, &str)] = &[\n");
    for path in &files {
        println!("cargo:rerun-if-changed={}", path.display());
        let stem = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let name = path
            .file_name()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        // Relative to the crate being compiled, not to where this script last
        // ran: a cargo target dir shared by checkouts at other paths (a
        // clean clone, a worktree) must never embed another checkout's files.
        source.push_str(&format!(
            "    ({stem:?}, include_str!(concat!(env!(\"CARGO_MANIFEST_DIR\"), \"/register_ledgers/{name}\"))),\n"
        ));
    }
    source.push_str("];\n");
    let out =
        PathBuf::from(env::var_os("OUT_DIR").ok_or_else(|| io::Error::other("OUT_DIR unset"))?);
    fs::write(out.join("ledger_files.rs"), source)
}
