//! Named network namespaces, compatible with iproute2.
//!
//! A namespace is kept alive by a bind mount of its nsfs file on
//! `/run/netns/<name>`, exactly as `ip netns add` does, so any shell can use
//! a lab with `ip netns exec <name> ...`.
//!
//! Namespaces are entered per *thread* (`setns` on a dedicated thread), never
//! by forking: the process is multi-threaded (tokio), and a netlink socket
//! belongs to the namespace of the thread that created it, for its whole life.

use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use nix::mount::{MntFlags, MsFlags, mount, umount2};
use nix::sched::{CloneFlags, setns, unshare};

use crate::Error;

/// Where iproute2 (and so lvslab) mounts named network namespaces.
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// The mount point that names namespace `name`.
pub fn path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

/// Whether a named namespace exists (its mount point is present).
pub fn exists(name: &str) -> bool {
    path(name).exists()
}

/// Names of all namespaces under /run/netns, sorted.
pub fn list() -> Result<Vec<String>, Error> {
    let entries = match fs::read_dir(NETNS_RUN_DIR) {
        Ok(entries) => entries,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(Error::io("read", NETNS_RUN_DIR, e)),
    };
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    Ok(names)
}

/// Creates the named namespace, like `ip netns add NAME`.
///
/// Fails with [`Error::NetnsExists`] if the name is taken: lvslab never
/// adopts a namespace it did not create.
pub fn create(name: &str) -> Result<(), Error> {
    prepare_run_dir()?;
    let target = path(name);
    // O_EXCL: the mount point doubles as a lock on the name.
    OpenOptions::new().read(true).write(true).create_new(true).mode(0o000).open(&target).map_err(
        |e| match e.kind() {
            io::ErrorKind::AlreadyExists => Error::NetnsExists(name.to_string()),
            _ => Error::io("create", &target, e),
        },
    )?;
    let bound = std::thread::scope(|scope| {
        scope
            .spawn(|| -> Result<(), Error> {
                unshare(CloneFlags::CLONE_NEWNET)
                    .map_err(|e| Error::sys("unshare(CLONE_NEWNET)", e))?;
                mount(
                    Some("/proc/thread-self/ns/net"),
                    &target,
                    Some("none"),
                    MsFlags::MS_BIND,
                    None::<&str>,
                )
                .map_err(|e| Error::sys("bind-mount the new namespace", e))
            })
            .join()
            .expect("namespace thread panicked")
    });
    if bound.is_err() {
        let _ = fs::remove_file(&target);
    }
    bound
}

/// Removes the named namespace, like `ip netns delete NAME`.
///
/// The kernel frees the namespace (and the links inside it) once no process
/// is left in it; see `lab::teardown` for killing the lab's own.
/// Deleting a name that does not exist is not an error.
pub fn delete(name: &str) -> Result<(), Error> {
    let target = path(name);
    if !target.exists() {
        return Ok(());
    }
    match umount2(&target, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) => {} // EINVAL: not mounted (half-made)
        Err(e) => return Err(Error::sys("unmount the namespace", e)),
    }
    fs::remove_file(&target).map_err(|e| Error::io("remove", &target, e))
}

/// Moves the calling thread into the named namespace.
///
/// Only for threads that lvslab owns for that purpose (see [`run_in`]) and for
/// single-threaded lab processes before they start their runtime.
pub fn enter(name: &str) -> Result<(), Error> {
    let file = open(name)?;
    setns(&file, CloneFlags::CLONE_NEWNET)
        .map_err(|e| Error::sys("setns into the lab namespace", e))
}

/// Opens the namespace file, e.g. to move a link into it by file descriptor.
pub fn open(name: &str) -> Result<File, Error> {
    let target = path(name);
    File::open(&target).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::NetnsMissing(name.to_string()),
        _ => Error::io("open", &target, e),
    })
}

/// Runs `f` on a new thread that has entered namespace `name`, and returns
/// its result. Sockets created inside `f` stay bound to that namespace.
pub fn run_in<T, F>(name: &str, f: F) -> Result<T, Error>
where
    T: Send,
    F: FnOnce() -> T + Send,
{
    let file = open(name)?;
    std::thread::scope(|scope| {
        scope
            .spawn(move || {
                setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| Error::sys("setns into the lab namespace", e))?;
                Ok(f())
            })
            .join()
            .expect("namespace thread panicked")
    })
}

/// The inode that identifies a namespace; equal inodes mean the same one.
pub fn inode(name: &str) -> Result<u64, Error> {
    use std::os::unix::fs::MetadataExt;
    let target = path(name);
    fs::metadata(&target).map(|m| m.ino()).map_err(|e| Error::io("stat", &target, e))
}

/// Makes /run/netns a shared mount point, as iproute2 does, so namespace
/// mounts made here are seen by other mount namespaces (and vice versa).
fn prepare_run_dir() -> Result<(), Error> {
    fs::create_dir_all(NETNS_RUN_DIR).map_err(|e| Error::io("create", NETNS_RUN_DIR, e))?;
    let make_shared = || {
        mount(
            Some("none"),
            NETNS_RUN_DIR,
            None::<&str>,
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        )
    };
    match make_shared() {
        Ok(()) => Ok(()),
        // Not a mount point yet: bind it onto itself first, then share it.
        Err(nix::errno::Errno::EINVAL) => {
            mount(
                Some(NETNS_RUN_DIR),
                NETNS_RUN_DIR,
                Some("none"),
                MsFlags::MS_BIND | MsFlags::MS_REC,
                None::<&str>,
            )
            .map_err(|e| Error::sys("bind-mount /run/netns", e))?;
            make_shared().map_err(|e| Error::sys("make /run/netns a shared mount", e))
        }
        Err(e) => Err(Error::sys("make /run/netns a shared mount", e)),
    }
}
