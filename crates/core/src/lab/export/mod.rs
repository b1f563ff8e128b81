//! A lab written out in another form: `ipvsadm -Sn` rules ([`rules`]), a
//! self-contained shell script that builds it by hand ([`shell`]), or a
//! preset file ([`toml`]), or the cluster's `keepalived.conf`
//! ([`keepalived`]), or a containerlab topology ([`containerlab`]). All three read a [`LabSpec`](super::LabSpec);
//! only the rules of a running lab also read the kernel, so that they are
//! exactly what `ipvsadm -Sn` prints in its director.

pub mod containerlab;
pub mod keepalived;
pub mod rules;
pub mod shell;
mod shell_sysctl;
pub mod toml;

/// The forms `lvslab export` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `ipvsadm -Sn` rules, for `ipvsadm -R`.
    Ipvsadm,
    /// A bash script of `ip`, `sysctl` and `ipvsadm` commands.
    Shell,
    /// A preset file for `lvslab up`.
    Toml,
    /// A commented keepalived.conf: VRRP, virtual servers, health checks.
    Keepalived,
    /// A containerlab topology: linux nodes, veth links, the rest as exec.
    Containerlab,
}
