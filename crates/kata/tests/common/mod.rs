//! A temporary git repository and a way to run the built `kata` binary in it.

#![allow(dead_code)] // each test file uses its own part of this helper

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use shared_types::kata::KataState;

/// A small config whose gates and tests are switched by files in the repository, so a test can
/// make them fail and pass.
pub const TEST_CONFIG: &str = r#"
[tests]
run = "test -f tests-pass"
timeout = 30

[modes.work]
context = "Work mode for the tests."
stop = ["tasks_done", "tests_pass", "committed", "evidence"]

[[modes.work.phases]]
id = "build"
title = "Build it"
context = "Build phase context."
tasks = [
  { id = "second", title = "Second task", depends_on = ["first"] },
  { id = "first", title = "First task" },
]
gates = [{ run = "echo checking gate; test -f gate-ok", expect_exit = 0, timeout = 30 }]

[[modes.work.phases]]
id = "ship"
title = "Ship it"
tasks = [{ id = "ship", title = "Ship task", depends_on = ["second"] }]

[modes.loose]
stop = []

[[modes.loose.phases]]
id = "only"
title = "Only"
"#;

pub struct Repo {
    pub dir: tempfile::TempDir,
}

/// The directory holding the built `kata`, to put on PATH.
pub fn bin_dir() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_kata"))
        .parent()
        .expect("kata has a directory")
        .to_path_buf()
}

/// PATH with the built `kata` first.
pub fn path_with_kata() -> std::ffi::OsString {
    let mut dirs = vec![bin_dir()];
    if let Some(path) = std::env::var_os("PATH") {
        dirs.extend(std::env::split_paths(&path));
    }
    std::env::join_paths(dirs).expect("PATH joins")
}

impl Repo {
    /// `git init` with an identity, nothing committed.
    pub fn new() -> Repo {
        let repo = Repo {
            dir: tempfile::tempdir().expect("tempdir"),
        };
        repo.git(&["init", "-q", "-b", "main"]);
        repo.git(&["config", "user.email", "kata@test"]);
        repo.git(&["config", "user.name", "kata test"]);
        repo
    }

    /// A repository with `kata init` done, [`TEST_CONFIG`] as its config, all committed.
    pub fn with_config() -> Repo {
        let repo = Repo::new();
        repo.ok(&["init", "--tests", "true"]);
        repo.write(".kata/kata.toml", TEST_CONFIG);
        repo.commit_all("kata config");
        repo
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn write(&self, rel: &str, text: &str) {
        let path = self.path().join(rel);
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("mkdir");
        }
        std::fs::write(path, text).expect("write");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path().join(rel)).unwrap_or_else(|e| panic!("read {rel}: {e}"))
    }

    pub fn git(&self, args: &[&str]) -> String {
        let out = Command::new("git")
            .args(args)
            .current_dir(self.path())
            .output()
            .expect("git runs");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn commit_all(&self, message: &str) {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "-m", message]);
    }

    /// Runs `kata args` with `stdin`, with the built kata on PATH.
    pub fn kata_with_stdin(&self, args: &[&str], stdin: &str) -> Output {
        let mut child = Command::new(env!("CARGO_BIN_EXE_kata"))
            .args(args)
            .current_dir(self.path())
            .env("PATH", path_with_kata())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kata runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(stdin.as_bytes())
            .expect("stdin written");
        let out = child.wait_with_output().expect("kata finishes");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            !stderr.contains("panicked"),
            "kata {args:?} panicked: {stderr}"
        );
        out
    }

    pub fn kata(&self, args: &[&str]) -> Output {
        self.kata_with_stdin(args, "")
    }

    /// Runs kata, asserts success, returns stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.kata(args);
        assert!(
            out.status.success(),
            "kata {args:?} failed: {}{}",
            stdout(&out),
            stderr(&out)
        );
        stdout(&out)
    }

    /// Runs kata, asserts failure with exit code 1, returns stdout + stderr.
    pub fn fails(&self, args: &[&str]) -> String {
        let out = self.kata(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "kata {args:?} should fail: {}{}",
            stdout(&out),
            stderr(&out)
        );
        format!("{}{}", stdout(&out), stderr(&out))
    }

    /// `kata status --json`, parsed with the shared types (as the gateway reads it).
    pub fn state(&self) -> KataState {
        serde_json::from_str(&self.ok(&["status", "--json"])).expect("status --json is a KataState")
    }
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}
