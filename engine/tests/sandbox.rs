//! The worker sandbox (`verity_engine::sandbox`), tried from inside a sandboxed process: this
//! test (its own `main`, no libtest threads) runs itself again as a child that enters the
//! sandbox and then attempts what a model exploiting ONNX Runtime would.
use std::{
	io::{Read, Write},
	path::{Path, PathBuf},
	process::Command,
};

const CHILD: &str = "VERITY_SANDBOX_CHILD";

/// Every attempt the child makes, with what happened (`ok` or the error kind).
fn attempts(dir: &Path, outside: &Path, port: u16) -> Vec<(&'static str, String)> {
	fn outcome<T>(r: std::io::Result<T>) -> String {
		match r {
			Ok(_) => "ok".into(),
			Err(e) => format!("{:?}", e.kind()),
		}
	}
	vec![
		("read in folder", outcome(std::fs::read(dir.join("model.onnx")))),
		("write in folder", outcome(std::fs::write(dir.join("new.onnx"), b"x"))),
		("remove in folder", outcome(std::fs::remove_file(dir.join("new.onnx")))),
		("list folder", outcome(std::fs::read_dir(dir))),
		("read outside", outcome(std::fs::read(outside))),
		("read /etc/passwd", outcome(std::fs::read("/etc/passwd"))),
		("write outside", outcome(std::fs::write(outside.with_extension("new"), b"x"))),
		("list parent", outcome(std::fs::read_dir(dir.parent().unwrap()))),
		(
			"tcp connect",
			outcome(std::net::TcpStream::connect(("127.0.0.1", port)).and_then(|mut s| {
				s.write_all(b"leak")?;
				Ok(())
			})),
		),
		("udp socket", outcome(std::net::UdpSocket::bind("127.0.0.1:0"))),
		("exec", outcome(Command::new("/bin/true").status())),
		("signal the parent", outcome(errno(unsafe { libc::kill(libc::getppid(), 0) }))),
		("fork", outcome(fork_and_exit())),
		("chmod in folder", outcome(std::fs::set_permissions(dir.join("model.onnx"), perm(0o644)))),
		("truncate in folder", outcome(truncate(&dir.join("model.onnx")))),
		(
			"read outside from a new thread",
			outcome({
				let outside = outside.to_path_buf();
				std::thread::spawn(move || std::fs::read(outside)).join().unwrap()
			}),
		),
	]
}

fn errno(r: i32) -> std::io::Result<()> {
	if r == 0 {
		Ok(())
	} else {
		Err(std::io::Error::last_os_error())
	}
}

fn perm(mode: u32) -> std::fs::Permissions {
	std::os::unix::fs::PermissionsExt::from_mode(mode)
}

/// `truncate(2)` by path (not through an open file).
fn truncate(path: &Path) -> std::io::Result<()> {
	let path = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).unwrap();
	// SAFETY: a valid C string.
	errno(unsafe { libc::truncate(path.as_ptr(), 5) })
}

/// A child process that exits at once.
fn fork_and_exit() -> std::io::Result<()> {
	// SAFETY: the child only calls `_exit`.
	match unsafe { libc::fork() } {
		-1 => Err(std::io::Error::last_os_error()),
		0 => unsafe { libc::_exit(0) },
		child => {
			let mut status = 0;
			// SAFETY: waits for our own child.
			unsafe { libc::waitpid(child, &mut status, 0) };
			Ok(())
		}
	}
}

fn main() {
	a_sandboxed_worker_touches_its_model_folder_only();
	println!("test a_sandboxed_worker_touches_its_model_folder_only ... ok");
}

fn a_sandboxed_worker_touches_its_model_folder_only() {
	let outside = std::env::temp_dir().join(format!("verity-secret-{}", std::process::id()));
	if let Some(dir) = std::env::var_os(CHILD).map(PathBuf::from) {
		let port: u16 = std::env::var("VERITY_SANDBOX_PORT").unwrap().parse().unwrap();
		let secret = std::env::var_os("VERITY_SANDBOX_SECRET").map(PathBuf::from).unwrap();
		let applied = verity_engine::sandbox::enter(&dir).expect("enter the sandbox");
		println!("applied {applied:?}");
		for (what, result) in attempts(&dir, &secret, port) {
			println!("attempt {what}: {result}");
		}
		return;
	}
	let dir = std::env::temp_dir().join(format!("verity-sandbox-{}", std::process::id()));
	std::fs::create_dir_all(&dir).unwrap();
	std::fs::write(dir.join("model.onnx"), b"model").unwrap();
	std::fs::write(&outside, b"keystore").unwrap();
	let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
	listener.set_nonblocking(true).unwrap();
	let port = listener.local_addr().unwrap().port();

	// Before the sandbox, the same attempts all succeed (the test would catch a no-op sandbox).
	let before = attempts(&dir, &outside, port);
	assert!(before.iter().all(|(_, r)| r == "ok"), "{before:?}");
	let mut received = Vec::new();
	if let Ok((mut s, _)) = listener.accept() {
		s.read_to_end(&mut received).unwrap();
	}
	assert_eq!(received, b"leak");

	let out = Command::new(std::env::current_exe().unwrap())
		.env(CHILD, &dir)
		.env("VERITY_SANDBOX_PORT", port.to_string())
		.env("VERITY_SANDBOX_SECRET", &outside)
		.output()
		.unwrap();
	let stdout = String::from_utf8_lossy(&out.stdout);
	assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
	let result = |what: &str| {
		stdout
			.lines()
			.find_map(|l| l.strip_prefix(&format!("attempt {what}: ")))
			.unwrap_or_else(|| panic!("no attempt {what} in {stdout}"))
			.to_string()
	};
	// This kernel has Landlock and seccomp (the CI machines do too); elsewhere the worker warns.
	assert!(stdout.contains("seccomp: true"), "{stdout}");
	assert!(!stdout.contains("landlock_abi: 0"), "{stdout}");
	for allowed in ["read in folder", "write in folder", "remove in folder", "list folder"] {
		assert_eq!(result(allowed), "ok", "{allowed}");
	}
	for allowed in ["read in folder", "write in folder"] {
		assert_eq!(result(allowed), "ok", "{allowed}");
	}
	for refused in [
		"read outside",
		"read /etc/passwd",
		"write outside",
		"list parent",
		"tcp connect",
		"udp socket",
		"exec",
		"signal the parent",
		"fork",
		"chmod in folder",
		"truncate in folder",
		"read outside from a new thread",
	] {
		assert_eq!(result(refused), "PermissionDenied", "{refused}");
	}
	assert!(listener.accept().is_err(), "nothing connected from the sandbox");
	let _ = std::fs::remove_dir_all(&dir);
	let _ = std::fs::remove_file(&outside);
	let _ = std::fs::remove_file(outside.with_extension("new"));
}
