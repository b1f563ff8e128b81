//! The layering holds by construction, and these checks keep the rest of it:
//!
//! - the pure crates (`lvslab-core`, `lvslab-tui`) have no runtime, socket
//!   library or syscall wrapper among their dependencies (`cargo tree`), and
//!   their code starts no process and opens no socket;
//! - no file of any crate imports a file that imports it back (a cycle
//!   between two modules means neither has one job);
//! - the guided walk (`src/tutorial`) touches the kernel only through
//!   `ops` and reads it only through the monitor's observer: no netlink,
//!   IPVS client, sysctl, namespace thread or process of its own.
//!
//! A failure names the dependency, the line or the cycle; the fix moves the
//! IO to the binary, or the shared piece into a module both can use.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The crates a pure crate must not depend on, even indirectly.
const IO_CRATES: &[&str] = &[
    "tokio",
    "rtnetlink",
    "netlink-packet-route",
    "netlink-proto",
    "neli",
    "nix",
    "hyper",
    "sysinfo",
    "lvslab-sys",
];

/// Normal (non-dev) dependencies of `package`, as `cargo tree` resolves them
/// for that package alone (so the binary's features do not leak in).
fn dependencies(package: &str) -> BTreeSet<String> {
    let out = Command::new(env!("CARGO"))
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "-p", package])
        .current_dir(workspace())
        .output()
        .expect("cargo tree runs");
    assert!(
        out.status.success(),
        "cargo tree -p {package}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect()
}

#[test]
fn the_pure_crates_depend_on_no_runtime_socket_or_syscall_crate() {
    for package in ["lvslab-core", "lvslab-tui"] {
        let deps = dependencies(package);
        assert!(deps.contains("lvslab-ipvs") || package != "lvslab-core", "{package}: {deps:?}");
        let io: Vec<_> = IO_CRATES.iter().filter(|c| deps.contains(**c)).collect();
        assert!(io.is_empty(), "{package} depends on {io:?} (move that code to the binary)");
    }
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The file's code without its trailing test module and without comments.
fn code_of(text: &str) -> String {
    let text = text.split("#[cfg(test)]\nmod tests").next().unwrap_or(text);
    text.lines().map(|l| l.split("//").next().unwrap_or("")).collect::<Vec<_>>().join("\n")
}

#[test]
fn the_pure_crates_start_no_process_and_open_no_socket() {
    const IO_NAMES: &[&str] = &[
        "std::process",
        "Command::new",
        "TcpStream",
        "TcpListener",
        "UdpSocket",
        "std::os::unix::net",
        "std::env::set_var",
    ];
    let mut found = Vec::new();
    for krate in ["core", "tui"] {
        let root = workspace().join("crates").join(krate).join("src");
        let files = rust_files(&root);
        assert!(files.len() > 10, "only {} files under {}", files.len(), root.display());
        for file in files.iter().filter(|f| !f.to_string_lossy().ends_with("tests.rs")) {
            let code = code_of(&std::fs::read_to_string(file).unwrap());
            for (n, line) in code.lines().enumerate() {
                for name in IO_NAMES.iter().filter(|name| line.contains(**name)) {
                    found.push(format!("{}:{}: {name}", file.display(), n + 1));
                }
            }
        }
    }
    assert!(found.is_empty(), "IO in a pure crate (move it to the binary):\n{}", found.join("\n"));
}

#[test]
fn the_tutorial_changes_the_kernel_through_ops_and_reads_it_through_the_observer() {
    const KERNEL_NAMES: &[&str] = &[
        "rtnetlink",
        "Rtnl",
        "IpvsClient",
        "sysctl::",
        "netns::run_in",
        "std::process",
        "Command::new",
    ];
    let files = rust_files(&workspace().join("src").join("tutorial"));
    assert!(files.iter().any(|f| f.ends_with("live.rs")), "{files:?}");
    let mut found = Vec::new();
    for file in &files {
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        for (n, line) in code.lines().enumerate() {
            for name in KERNEL_NAMES.iter().filter(|name| line.contains(**name)) {
                found.push(format!("{}:{}: {name}", file.display(), n + 1));
            }
        }
    }
    assert!(
        found.is_empty(),
        "the tutorial touches the kernel itself (change it in ops, read it in \
         monitor::observe):\n{}",
        found.join("\n")
    );
}

/// A crate's modules by path (`["lab", "plan"]`), each with its file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    rust_files(src)
        .into_iter()
        .map(|file| {
            let rel = file.strip_prefix(src).unwrap().with_extension("");
            let mut path: Vec<String> =
                rel.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect();
            if matches!(path.last().map(String::as_str), Some("lib" | "main" | "mod")) {
                path.pop();
            }
            (path, file)
        })
        .collect()
}

/// The modules of `src` each file names through `crate::`, `super::` or
/// `self::` paths (grouped `use` lines expanded one level), resolved to the
/// longest module that exists; a module's own ancestors and descendants
/// are not counted (a parent declaring its children is no cycle).
fn imports(src: &Path) -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let mods = modules(src);
    let resolve = |mut path: Vec<String>| {
        while !path.is_empty() && !mods.contains_key(&path) {
            path.pop();
        }
        mods.contains_key(&path).then_some(path)
    };
    let mut edges = BTreeMap::new();
    for (module, file) in &mods {
        let is_dir_module = file.ends_with("mod.rs") || file.ends_with("lib.rs");
        let code = code_of(&std::fs::read_to_string(file).unwrap());
        let mut targets = BTreeSet::new();
        for path in qualified_paths(&code) {
            let mut words: Vec<&str> = path.split("::").collect();
            let head = words.remove(0);
            let mut base: Vec<String> = match head {
                "crate" => Vec::new(),
                "self" if is_dir_module => module.clone(),
                _ => module[..module.len().saturating_sub(1)].to_vec(),
            };
            if head == "super" && is_dir_module {
                base.pop();
            }
            while words.first() == Some(&"super") {
                words.remove(0);
                base.pop();
            }
            base.extend(words.iter().map(|w| w.to_string()));
            if let Some(target) = resolve(base) {
                let related = target.starts_with(module) || module.starts_with(&target);
                if !related {
                    targets.insert(target);
                }
            }
        }
        edges.insert(module.clone(), targets);
    }
    edges
}

/// `crate::a::b`, `super::c` and `self::d` paths in `code`, with each
/// `prefix::{x, y::z}` group expanded to `prefix::x`, `prefix::y::z`.
fn qualified_paths(code: &str) -> Vec<String> {
    let mut paths = Vec::new();
    let bytes = code.as_bytes();
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut i = 0;
    while i < bytes.len() {
        if !code.is_char_boundary(i) {
            i += 1;
            continue;
        }
        let rest = &code[i..];
        let starts = ["crate::", "super::", "self::"].iter().find(|h| rest.starts_with(**h));
        if starts.is_none() || (i > 0 && (word(bytes[i - 1]) || bytes[i - 1] == b':')) {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < bytes.len() && (word(bytes[end]) || bytes[end] == b':') {
            end += 1;
        }
        let prefix = code[i..end].trim_end_matches(':').to_string();
        if code[end..].starts_with('{') && code[..end].ends_with("::") {
            let close = code[end..].find('}').map_or(code.len(), |c| end + c);
            for item in code[end + 1..close].split(',') {
                let item = item.split(" as ").next().unwrap_or("").trim();
                if !item.is_empty() && item != "self" && !item.contains('{') {
                    paths.push(format!("{prefix}::{}", item.replace(' ', "")));
                }
            }
            paths.push(prefix);
            i = close;
        } else {
            paths.push(prefix);
            i = end;
        }
    }
    paths
}

/// The strongly connected groups of two or more modules (Tarjan).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a Vec<String>) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in &self.edges[v] {
                if !self.index.contains_key(w) {
                    self.visit(w);
                    self.low.insert(v, self.low[v].min(self.low[w]));
                } else if self.stack.contains(&w) {
                    self.low.insert(v, self.low[v].min(self.index[w]));
                }
            }
            if self.low[v] == self.index[v] {
                let mut group = Vec::new();
                while let Some(w) = self.stack.pop() {
                    group.push(w.join("::"));
                    if w == v {
                        break;
                    }
                }
                if group.len() > 1 {
                    group.sort();
                    self.found.push(group);
                }
            }
        }
    }
    let mut walk = Walk {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in edges.keys() {
        if !walk.index.contains_key(v) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn no_two_files_of_a_crate_import_each_other() {
    let mut srcs = vec![workspace().join("src")];
    let crates = std::fs::read_dir(workspace().join("crates")).unwrap();
    srcs.extend(crates.map(|c| c.unwrap().path().join("src")));
    srcs.sort();
    assert!(srcs.len() >= 6, "{srcs:?}");
    let mut found = Vec::new();
    for src in &srcs {
        for group in cycles(&imports(src)) {
            found.push(format!("{}: {}", src.display(), group.join(" <-> ")));
        }
    }
    assert!(found.is_empty(), "import cycles:\n{}", found.join("\n"));
}

#[test]
fn the_cycle_check_finds_a_planted_cycle() {
    let dir = std::env::temp_dir().join(format!("lvslab-layers-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("a")).unwrap();
    std::fs::write(dir.join("lib.rs"), "pub mod a;\n").unwrap();
    std::fs::write(dir.join("a/mod.rs"), "pub mod x;\npub mod y;\n").unwrap();
    std::fs::write(dir.join("a/x.rs"), "use super::y::Y;\npub struct X;\n").unwrap();
    std::fs::write(dir.join("a/y.rs"), "use crate::a::{x::X, self};\npub struct Y;\n").unwrap();
    let found = cycles(&imports(&dir));
    std::fs::remove_dir_all(&dir).unwrap();
    assert_eq!(found, vec![vec!["a::x".to_string(), "a::y".to_string()]]);
}
