//! What a worker process may do once ONNX Runtime is loaded: read and write its model folder,
//! and little else.
//!
//! Like Polkadot's PVF workers (`polkadot/node/core/pvf/common/src/worker/security`), a worker
//! restricts itself before it reads any request, with two kernel features:
//!
//! - **Landlock** (Linux ≥ 5.13): the only file system access left is the model folder (read its
//!   files and list it, create, write, truncate and delete files in it). Every other path, the
//!   node's keystore and base path included, is refused with `EACCES`. Where the kernel knows
//!   them, TCP `bind`/`connect` (ABI 4) and signals and abstract Unix sockets outside the worker
//!   (ABI 6) are refused as well.
//! - **seccomp** (a BPF filter, all threads): no sockets (`socket`, `socketpair`, `connect`,
//!   `bind`, `listen`, `accept`), no new programs (`execve`, `execveat`), no new processes
//!   (`fork`, `vfork`, `clone` without `CLONE_THREAD`; `clone3` answers `ENOSYS` so that the C
//!   library starts threads with `clone`), no signals to other processes (`kill`, `tkill`,
//!   `sigqueue`, pidfds; `tgkill` to its own process only), no access to other processes'
//!   memory (`ptrace`, `process_vm_readv/writev`), no `io_uring` (which would bypass the
//!   filter), no namespaces or mounts, no key rings, BPF or perf events, no terminal input
//!   injection (`ioctl` `TIOCSTI`, `TIOCLINUX`), and none of the file metadata calls Landlock
//!   does not govern (modes, owners, extended attributes, times, `truncate` by path, device
//!   nodes, links). Each fails with `EACCES`. x32 system calls are refused.
//!
//! Both need `no_new_privs`, which is set first. Landlock applies to the calling thread and the
//! threads it starts later, so the worker enters the sandbox while it has one thread (the engine
//! starts its watchdog thread on the first run); seccomp is synchronised over all threads.
//!
//! Where the kernel lacks one of them, the worker says so on its standard error (the node's log)
//! and runs with what it has: the model screen, the empty environment and the memory limit remain
//! (docs/engine.md).
use std::{ffi::CString, os::unix::ffi::OsStrExt, path::Path};

/// What [`enter`] could apply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Applied {
	/// The Landlock ABI version used (0: the kernel has no Landlock).
	pub landlock_abi: u32,
	/// Whether the seccomp filter is installed.
	pub seccomp: bool,
}

impl Applied {
	/// A warning for the log where a part is missing, else `None`.
	pub fn warning(&self) -> Option<String> {
		match (self.landlock_abi, self.seccomp) {
			(0, true) => Some(
				"the kernel has no Landlock: the inference worker can read every file this user \
				 can (run the node as its own user)"
					.into(),
			),
			(0, false) => Some(
				"the kernel has neither Landlock nor seccomp: the inference worker is not \
				 sandboxed (run the node as its own user)"
					.into(),
			),
			(_, false) => {
				Some("seccomp is not available: the inference worker may open sockets".into())
			}
			_ => None,
		}
	}
}

/// Restricts this process to `model_dir` (Landlock) and forbids the system calls listed above
/// (seccomp). Irreversible. An error means a kernel refused a rule it said it supports.
pub fn enter(model_dir: &Path) -> Result<Applied, String> {
	// Landlock covers the calling thread and those it starts: no thread may exist besides it.
	let threads = std::fs::read_to_string("/proc/self/status")
		.ok()
		.and_then(|status| {
			let line = status.lines().find(|l| l.starts_with("Threads:"))?;
			line.split_whitespace().nth(1)?.parse::<u32>().ok()
		})
		.unwrap_or(1);
	if threads != 1 {
		let names: Vec<String> = std::fs::read_dir("/proc/self/task")
			.into_iter()
			.flatten()
			.flatten()
			.filter_map(|t| std::fs::read_to_string(t.path().join("comm")).ok())
			.map(|n| n.trim().to_string())
			.collect();
		return Err(format!(
			"the sandbox must be entered by a single thread ({threads} run: {names:?}; is \
			 ORT_DISABLE_TELEMETRY set?)"
		));
	}
	// SAFETY: prctl with constant arguments on this process.
	if unsafe { libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) } != 0 {
		return Err(format!("no_new_privs: {}", std::io::Error::last_os_error()));
	}
	let landlock_abi = landlock::restrict(model_dir)?;
	let seccomp = seccomp::install()?;
	Ok(Applied { landlock_abi, seccomp })
}

mod landlock {
	use super::*;

	const CREATE_RULESET_VERSION: u32 = 1 << 0;
	const RULE_PATH_BENEATH: u32 = 1;

	// Access rights (linux/landlock.h).
	const FS_EXECUTE: u64 = 1 << 0;
	const FS_WRITE_FILE: u64 = 1 << 1;
	const FS_READ_FILE: u64 = 1 << 2;
	const FS_READ_DIR: u64 = 1 << 3;
	const FS_REMOVE_FILE: u64 = 1 << 5;
	const FS_MAKE_REG: u64 = 1 << 8;
	const FS_TRUNCATE: u64 = 1 << 14;
	/// Every file system right of ABI 1 (bits 0–12), then REFER (2), TRUNCATE (3), IOCTL_DEV (5).
	fn fs_handled(abi: u32) -> u64 {
		let mut all = (1 << 13) - 1;
		if abi >= 2 {
			all |= 1 << 13;
		}
		if abi >= 3 {
			all |= FS_TRUNCATE;
		}
		if abi >= 5 {
			all |= 1 << 15;
		}
		all
	}
	const NET_BIND_TCP: u64 = 1 << 0;
	const NET_CONNECT_TCP: u64 = 1 << 1;
	const SCOPE_ABSTRACT_UNIX_SOCKET: u64 = 1 << 0;
	const SCOPE_SIGNAL: u64 = 1 << 1;

	#[repr(C)]
	struct RulesetAttr {
		handled_access_fs: u64,
		handled_access_net: u64,
		scoped: u64,
	}

	#[repr(C, packed)]
	struct PathBeneathAttr {
		allowed_access: u64,
		parent_fd: i32,
	}

	fn os_error(what: &str) -> String {
		format!("landlock {what}: {}", std::io::Error::last_os_error())
	}

	/// Applies the rules; returns the ABI used, 0 where the kernel has no Landlock.
	pub(super) fn restrict(model_dir: &Path) -> Result<u32, String> {
		// SAFETY: the documented version query (null attribute, size 0).
		let abi = unsafe {
			libc::syscall(
				libc::SYS_landlock_create_ruleset,
				std::ptr::null::<RulesetAttr>(),
				0usize,
				CREATE_RULESET_VERSION,
			)
		};
		if abi < 1 {
			return Ok(0);
		}
		let abi = abi as u32;
		let attr = RulesetAttr {
			handled_access_fs: fs_handled(abi),
			handled_access_net: if abi >= 4 { NET_BIND_TCP | NET_CONNECT_TCP } else { 0 },
			scoped: if abi >= 6 { SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL } else { 0 },
		};
		// The kernel reads only the fields its ABI knows.
		let size = match abi {
			1..=3 => 8,
			4 | 5 => 16,
			_ => std::mem::size_of::<RulesetAttr>(),
		};
		// SAFETY: `attr` outlives the call and `size` covers only its initialised fields.
		let ruleset = unsafe {
			libc::syscall(libc::SYS_landlock_create_ruleset, &attr as *const RulesetAttr, size, 0)
		};
		if ruleset < 0 {
			return Err(os_error("create_ruleset"));
		}
		let ruleset = ruleset as i32;
		let result = (|| {
			let path = CString::new(model_dir.as_os_str().as_bytes())
				.map_err(|_| "model folder path holds a NUL byte".to_string())?;
			// SAFETY: a valid C string; the descriptor is closed below.
			let dir = unsafe { libc::open(path.as_ptr(), libc::O_PATH | libc::O_CLOEXEC) };
			if dir < 0 {
				return Err(format!(
					"{}: {}",
					model_dir.display(),
					std::io::Error::last_os_error()
				));
			}
			let mut allowed =
				FS_READ_FILE | FS_READ_DIR | FS_WRITE_FILE | FS_MAKE_REG | FS_REMOVE_FILE;
			if abi >= 3 {
				allowed |= FS_TRUNCATE;
			}
			debug_assert_eq!(allowed & FS_EXECUTE, 0, "nothing in the folder is executable");
			let rule = PathBeneathAttr { allowed_access: allowed, parent_fd: dir };
			// SAFETY: valid descriptors and a rule that outlives the call.
			let added = unsafe {
				libc::syscall(
					libc::SYS_landlock_add_rule,
					ruleset,
					RULE_PATH_BENEATH,
					&rule as *const PathBeneathAttr,
					0u32,
				)
			};
			// SAFETY: our own descriptor.
			unsafe { libc::close(dir) };
			if added != 0 {
				return Err(os_error("add_rule"));
			}
			// SAFETY: applies the ruleset to this thread (no_new_privs is set).
			if unsafe { libc::syscall(libc::SYS_landlock_restrict_self, ruleset, 0u32) } != 0 {
				return Err(os_error("restrict_self"));
			}
			Ok(abi)
		})();
		// SAFETY: our own descriptor.
		unsafe { libc::close(ruleset) };
		result
	}
}

mod seccomp {
	#[cfg(target_arch = "x86_64")]
	const AUDIT_ARCH: u32 = 0xC000_003E;
	#[cfg(target_arch = "aarch64")]
	const AUDIT_ARCH: u32 = 0xC000_00B7;
	/// x32 system calls carry this bit (x86_64 only); they are refused as a whole.
	const X32_SYSCALL_BIT: u32 = 0x4000_0000;
	/// Offsets in `struct seccomp_data`: the call number, the architecture, the low 32 bits of
	/// the first and second arguments (little-endian).
	const NR: u32 = 0;
	const ARCH: u32 = 4;
	const ARG0: u32 = 16;
	const ARG1: u32 = 24;

	/// Refused outright: networking, new programs, other processes' memory and signals,
	/// namespaces and mounts, `io_uring` (which would bypass the filter), the kernel's key
	/// rings, BPF and perf, and file metadata that Landlock does not cover (modes, owners,
	/// extended attributes, times, `truncate` by path, device nodes, links).
	#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
	const REFUSED: &[libc::c_long] = &[
		libc::SYS_socket,
		libc::SYS_socketpair,
		libc::SYS_connect,
		libc::SYS_bind,
		libc::SYS_listen,
		libc::SYS_accept,
		libc::SYS_accept4,
		libc::SYS_execve,
		libc::SYS_execveat,
		libc::SYS_ptrace,
		libc::SYS_process_vm_readv,
		libc::SYS_process_vm_writev,
		libc::SYS_kill,
		libc::SYS_tkill,
		libc::SYS_rt_sigqueueinfo,
		libc::SYS_rt_tgsigqueueinfo,
		libc::SYS_pidfd_open,
		libc::SYS_pidfd_send_signal,
		libc::SYS_pidfd_getfd,
		libc::SYS_io_uring_setup,
		libc::SYS_io_uring_enter,
		libc::SYS_io_uring_register,
		libc::SYS_unshare,
		libc::SYS_setns,
		libc::SYS_mount,
		libc::SYS_chroot,
		libc::SYS_pivot_root,
		libc::SYS_keyctl,
		libc::SYS_add_key,
		libc::SYS_request_key,
		libc::SYS_bpf,
		libc::SYS_perf_event_open,
		libc::SYS_userfaultfd,
		libc::SYS_fchmod,
		libc::SYS_fchmodat,
		libc::SYS_fchown,
		libc::SYS_fchownat,
		libc::SYS_setxattr,
		libc::SYS_lsetxattr,
		libc::SYS_fsetxattr,
		libc::SYS_removexattr,
		libc::SYS_lremovexattr,
		libc::SYS_fremovexattr,
		libc::SYS_utimensat,
		libc::SYS_truncate,
		libc::SYS_mknodat,
		libc::SYS_linkat,
		libc::SYS_symlinkat,
	];
	/// The same, for the older calls only x86_64 has.
	#[cfg(target_arch = "x86_64")]
	const REFUSED_X86_64: &[libc::c_long] = &[
		libc::SYS_fork,
		libc::SYS_vfork,
		libc::SYS_chmod,
		libc::SYS_fchmodat2,
		libc::SYS_chown,
		libc::SYS_lchown,
		libc::SYS_utime,
		libc::SYS_utimes,
		libc::SYS_futimesat,
		libc::SYS_mknod,
		libc::SYS_link,
		libc::SYS_symlink,
	];
	#[cfg(target_arch = "aarch64")]
	const REFUSED_X86_64: &[libc::c_long] = &[];

	fn statement(code: u32, k: u32) -> libc::sock_filter {
		libc::sock_filter { code: code as u16, jt: 0, jf: 0, k }
	}

	fn jump(code: u32, k: u32, jt: u8, jf: u8) -> libc::sock_filter {
		libc::sock_filter { code: code as u16, jt, jf, k }
	}

	/// Installs the filter on every thread; `false` where the kernel or architecture has none.
	#[cfg(any(target_arch = "x86_64", target_arch = "aarch64"))]
	pub(super) fn install() -> Result<bool, String> {
		use libc::*;
		let deny = SECCOMP_RET_ERRNO | (EACCES as u32 & SECCOMP_RET_DATA);
		let absent = SECCOMP_RET_ERRNO | (ENOSYS as u32 & SECCOMP_RET_DATA);
		let allow = SECCOMP_RET_ALLOW;
		let load = |offset| statement(BPF_LD | BPF_W | BPF_ABS, offset);
		let ret = |action| statement(BPF_RET | BPF_K, action);
		// SAFETY: no arguments.
		let pid = unsafe { getpid() } as u32;
		let mut program = vec![
			load(ARCH),
			jump(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH, 1, 0),
			ret(SECCOMP_RET_KILL_PROCESS),
			load(NR),
			jump(BPF_JMP | BPF_JGE | BPF_K, X32_SYSCALL_BIT, 0, 1),
			ret(deny),
		];
		for nr in REFUSED.iter().chain(REFUSED_X86_64) {
			program.push(jump(BPF_JMP | BPF_JEQ | BPF_K, *nr as u32, 0, 1));
			program.push(ret(deny));
		}
		// `clone3` cannot be checked (its flags are behind a pointer): "absent", so that the C
		// library starts threads with `clone`, which is allowed for threads only (no child
		// process would outlive the worker's kill).
		program.push(jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone3 as u32, 0, 1));
		program.push(ret(absent));
		program.extend([
			jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_clone as u32, 0, 4),
			load(ARG0),
			jump(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD as u32, 0, 1),
			ret(allow),
			ret(deny),
		]);
		// Signals to this process's own threads only (`abort` uses `tgkill(getpid(), ...)`).
		program.extend([
			jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_tgkill as u32, 0, 4),
			load(ARG0),
			jump(BPF_JMP | BPF_JEQ | BPF_K, pid, 0, 1),
			ret(allow),
			ret(deny),
		]);
		// No typing into a terminal (`TIOCSTI`) or console tricks (`TIOCLINUX`).
		program.extend([
			jump(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl as u32, 0, 5),
			load(ARG1),
			jump(BPF_JMP | BPF_JEQ | BPF_K, TIOCSTI as u32, 2, 0),
			jump(BPF_JMP | BPF_JEQ | BPF_K, TIOCLINUX as u32, 1, 0),
			ret(allow),
			ret(deny),
		]);
		program.push(ret(allow));
		let fprog = sock_fprog { len: program.len() as u16, filter: program.as_mut_ptr() };
		// SAFETY: a well-formed program that outlives the call; no_new_privs is set.
		let r = unsafe {
			syscall(
				SYS_seccomp,
				SECCOMP_SET_MODE_FILTER,
				SECCOMP_FILTER_FLAG_TSYNC,
				&fprog as *const sock_fprog,
			)
		};
		match r {
			0 => Ok(true),
			_ if std::io::Error::last_os_error().raw_os_error() == Some(EINVAL) => Ok(false),
			_ => Err(format!("seccomp: {}", std::io::Error::last_os_error())),
		}
	}

	#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
	pub(super) fn install() -> Result<bool, String> {
		Ok(false)
	}
}
