//! Unit tests against bytes and text captured from Debian's 6.1 kernel and
//! ipvsadm 1.31 in the VM (`tests/fixtures/`); no root, no kernel needed.

mod format_text;
mod receive;
mod wire_bytes;
