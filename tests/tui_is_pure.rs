//! The dashboard (`src/tui/`) is pure: it draws snapshots and turns keys
//! into commands, and never reaches the kernel, a file, a process or a
//! runtime of its own. That is what lets tests drive it with a
//! `TestBackend` and synthetic snapshots, and it is why the IO side lives
//! in `src/session/`. This test reads the source and fails on the names
//! that would break it; a fix moves the IO to `session`, not a name here.

use std::path::{Path, PathBuf};

/// Names that mean IO, or a layer below the monitor that does IO.
const FORBIDDEN: &[&str] = &[
    "std::fs",
    "File::open",
    "tokio::runtime",
    "Runtime::new",
    "rtnetlink",
    "neli",
    "IpvsClient",
    "TcpStream",
    "TcpListener",
    "UdpSocket",
    "std::process",
    "crate::ops",
    "crate::session",
    "crate::net",
    "crate::traffic",
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("src/tui is readable") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

#[test]
fn src_tui_contains_no_io() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/tui");
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    assert!(files.len() > 10, "found only {} files under {}", files.len(), root.display());
    let mut found = Vec::new();
    for file in &files {
        let text = std::fs::read_to_string(file).unwrap();
        for (n, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            for name in FORBIDDEN {
                if code.contains(name) {
                    found.push(format!("{}:{}: {name}: {}", file.display(), n + 1, line.trim()));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "IO in the pure dashboard (move it to src/session/):\n{}",
        found.join("\n")
    );
}
