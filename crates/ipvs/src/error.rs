//! Errors of the IPVS layer.
//!
//! The kernel answers IPVS requests with bare errnos whose meaning depends on
//! the command (ENOENT is "no such destination" on a destination command and
//! "scheduler module missing" on a service command). `Error::from_errno`
//! maps them, given the request's context, to messages a person can act on.

#[cfg(feature = "netlink")]
use nix::errno::Errno;

/// A failed IPVS operation.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The kernel has no IPVS generic netlink family.
    #[error(
        "IPVS is not available in this kernel (no generic netlink family 'IPVS'): \
         the kernel needs CONFIG_IP_VS and the ip_vs module loaded (`modprobe ip_vs`); \
         without it, run lvslab with `--dataplane nft` (nftables balances instead, as \
         kube-proxy's nftables mode does) or `--dataplane none` (routing only)"
    )]
    Unavailable,
    /// The caller lacks CAP_NET_ADMIN in the socket's namespace.
    #[error("{op}: permission denied: IPVS needs root (CAP_NET_ADMIN in the lab's namespace)")]
    Permission {
        /// What was being done.
        op: String,
    },
    /// Adding a service that exists.
    #[error("service {service} already exists")]
    ServiceExists {
        /// The service.
        service: String,
    },
    /// Naming a service that does not exist.
    #[error("no such service: {service}")]
    NoSuchService {
        /// The service.
        service: String,
    },
    /// Adding a destination that exists.
    #[error("destination {dest} of service {service} already exists")]
    DestinationExists {
        /// The service.
        service: String,
        /// The destination, `addr:port`.
        dest: String,
    },
    /// Naming a destination that does not exist.
    #[error("no such destination {dest} in service {service}")]
    NoSuchDestination {
        /// The service.
        service: String,
        /// The destination, `addr:port`.
        dest: String,
    },
    /// The scheduler's module is missing.
    #[error(
        "scheduler '{scheduler}' is not available in this kernel (no ip_vs_{scheduler} module)"
    )]
    SchedulerUnavailable {
        /// The scheduler asked for.
        scheduler: String,
    },
    /// The persistence engine's module is missing.
    #[error(
        "scheduler '{scheduler}' or persistence engine '{pe}' is not available in this kernel \
         (no ip_vs_{scheduler} or ip_vs_pe_{pe} module)"
    )]
    EngineUnavailable {
        /// The scheduler asked for.
        scheduler: String,
        /// The persistence engine asked for.
        pe: String,
    },
    /// The kernel refused the values (EINVAL).
    #[error(
        "{op}: the kernel rejected the request as invalid (EINVAL): check names, addresses \
         (unicast, same family unless tunnelling) and ports; destinations can only be added \
         once the namespace has its links and addresses up"
    )]
    Invalid {
        /// What was being done.
        op: String,
    },
    /// Any other errno from the kernel.
    #[error("{op}: {}", std::io::Error::from_raw_os_error(*errno))]
    Kernel {
        /// What was being done.
        op: String,
        /// The errno, as the kernel returned it (positive).
        errno: i32,
    },
    /// A socket operation failed.
    #[error("{op}: {message}")]
    Socket {
        /// What was being done.
        op: String,
        /// The cause.
        message: String,
    },
    /// The kernel's reply could not be understood.
    #[error("cannot decode the kernel's {what}: {detail}")]
    Decode {
        /// Which message or attribute.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A value cannot be put on the wire.
    #[error("cannot encode {what}: {detail}")]
    Encode {
        /// Which value.
        what: &'static str,
        /// What was wrong.
        detail: String,
    },
    /// A line of `ipvsadm -S` rules could not be parsed.
    #[error("line {line}: {detail}: '{text}'")]
    Rules {
        /// 1-based line number.
        line: usize,
        /// The line.
        text: String,
        /// What was wrong and how to fix it.
        detail: String,
    },
    /// Entering the lab's namespace failed.
    #[cfg(feature = "netlink")]
    #[error(transparent)]
    Netns(#[from] lvslab_sys::Error),
}

/// What a request was about, to turn an errno into a precise [`Error`].
#[cfg(feature = "netlink")]
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    /// The operation, e.g. "add service tcp 192.0.2.1:80".
    pub op: String,
    /// The service named, if any.
    pub service: Option<String>,
    /// The destination named, if any.
    pub dest: Option<String>,
    /// The scheduler named on service add/edit.
    pub scheduler: Option<String>,
    /// The persistence engine named on service add/edit.
    pub pe: Option<String>,
}

impl Error {
    /// Maps a kernel errno for a request described by `ctx`.
    #[cfg(feature = "netlink")]
    pub(crate) fn from_errno(errno: Errno, ctx: &Context) -> Self {
        let service = || ctx.service.clone().unwrap_or_default();
        let dest = || ctx.dest.clone().unwrap_or_default();
        match errno {
            Errno::EPERM | Errno::EACCES => Self::Permission { op: ctx.op.clone() },
            Errno::EEXIST if ctx.dest.is_some() => {
                Self::DestinationExists { service: service(), dest: dest() }
            }
            Errno::EEXIST => Self::ServiceExists { service: service() },
            Errno::ESRCH => Self::NoSuchService { service: service() },
            Errno::ENOENT if ctx.dest.is_some() => {
                Self::NoSuchDestination { service: service(), dest: dest() }
            }
            Errno::ENOENT if ctx.scheduler.is_some() => match &ctx.pe {
                Some(pe) => Self::EngineUnavailable {
                    scheduler: ctx.scheduler.clone().unwrap_or_default(),
                    pe: pe.clone(),
                },
                None => Self::SchedulerUnavailable {
                    scheduler: ctx.scheduler.clone().unwrap_or_default(),
                },
            },
            Errno::EINVAL => Self::Invalid { op: ctx.op.clone() },
            errno => Self::Kernel { op: ctx.op.clone(), errno: errno as i32 },
        }
    }

    #[cfg(feature = "netlink")]
    pub(crate) fn decode(what: &'static str, detail: impl ToString) -> Self {
        Self::Decode { what, detail: detail.to_string() }
    }

    #[cfg(feature = "netlink")]
    pub(crate) fn encode(what: &'static str, detail: impl ToString) -> Self {
        Self::Encode { what, detail: detail.to_string() }
    }

    #[cfg(feature = "netlink")]
    pub(crate) fn socket(op: impl Into<String>, detail: impl ToString) -> Self {
        Self::Socket { op: op.into(), message: detail.to_string() }
    }

    /// Whether the kernel refused for lack of privilege.
    pub fn is_permission(&self) -> bool {
        matches!(self, Self::Permission { .. })
    }
}
