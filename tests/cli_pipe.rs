//! A reader that goes away (`lvslab ls --presets | head -1`) ends lvslab as
//! it ends other tools: quietly, with the status of SIGPIPE (141), not with
//! a panic message. Needs no root.

use std::process::Command;

#[test]
fn a_closed_stdout_ends_the_command_quietly() {
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader); // every write to `writer` now fails with EPIPE
    let out = Command::new(env!("CARGO_BIN_EXE_lvslab"))
        .args(["ls", "--presets"])
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(141), "{out:?}");
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}
