//! What this kernel lets lvslab build: namespaces, veth pairs and bridges,
//! tried for real in a throwaway anonymous namespace (a thread that
//! unshares), so nothing is mounted and nothing outlives the probe.

use super::Error;
use super::rtnl;

/// Whether each kind of object could be made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkSupport {
    /// A veth pair could be created.
    pub veth: bool,
    /// A bridge could be created.
    pub bridge: bool,
}

/// Makes a namespace, a veth pair and a bridge and reports what worked;
/// `Err` when even the namespace could not be made (then nothing else was
/// tried). Needs CAP_SYS_ADMIN and CAP_NET_ADMIN.
pub fn links() -> Result<LinkSupport, Error> {
    std::thread::spawn(|| {
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|source| Error::Sys { op: "unshare(CLONE_NEWNET)", source })?;
        rtnl::block_on(async {
            let (conn, handle, _) = rtnetlink::new_connection()
                .map_err(|e| Error::netlink("open a netlink socket", e))?;
            tokio::spawn(conn);
            let veth = handle.link().add(rtnetlink::LinkVeth::new("probe0", "probe1").build());
            let veth = veth.execute().await.is_ok();
            let bridge = handle.link().add(rtnetlink::LinkBridge::new("probebr").build());
            let bridge = bridge.execute().await.is_ok();
            Ok(LinkSupport { veth, bridge })
        })
    })
    .join()
    .unwrap_or_else(|_| Err(Error::netlink("probe links", "the probe thread panicked")))
}
