//! The DynamoDB emulator for tests: one moto server and one table per test binary.
//!
//! The first test that asks for it installs the emulator (`scripts/setup-test-env.sh`, quick
//! when already done), starts moto's server on a free loopback port, waits until it answers
//! and creates the table with the adapter's own [`create_table`]. Later tests reuse it, each
//! with its own client (a client's connections belong to the tokio runtime that opened them,
//! and every `#[tokio::test]` has its own runtime) and its own key namespace.
//!
//! moto's server is started through `moto_serialized.py` (beside this file): `moto_server`
//! itself, same arguments, except that it handles one request at a time. moto's DynamoDB
//! takes no lock, so on the threaded server two concurrent conditional writes to one item can
//! both succeed, which DynamoDB never allows; the racing conformance cases would then test
//! moto's thread safety instead of the adapter's conditions. Clients still race: up to 100
//! requests are in flight at once.
//!
//! Lifetime: moto runs under a small bash keeper whose stdin is a pipe from this process. The
//! pipe's write end lives in a static and is never closed by us, so the kernel closes it when
//! the test binary exits, however it exits (success, panic, `kill -9`); the keeper's `cat` then
//! returns and the keeper stops moto. `PR_SET_PDEATHSIG` was not used: it fires when the *thread* that
//! spawned the child exits, and test threads exit long before the binary does.
//!
//! If the emulator cannot be installed or started, every test that needs it fails with a
//! message saying what to run: a store suite that silently skips proves nothing.

use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gavel_shared::adapters::dynamodb::{DynamoClient, StoreTuning, create_table, emulator_client};
use tokio::sync::OnceCell;

/// The table every test of a binary shares (namespaced keys keep the tests apart).
pub const TABLE: &str = "gavel-test";

/// How long moto may take to answer after it was started.
const STARTUP_LIMIT: Duration = Duration::from_secs(20);

/// moto answers about 300 requests a second, one at a time, so the racing cases (100 requests
/// at once) queue for a while. A generous budget keeps the SDK from timing an attempt out and
/// retrying a write that did happen, which would test the emulator's speed, not the adapter.
const EMULATOR_TUNING: StoreTuning = StoreTuning {
    timeout: Duration::from_secs(20),
    max_attempts: 4,
};

/// A running emulator with the test table created.
pub struct Moto {
    pub endpoint: String,
    pub table: String,
    /// Kept only so the pipe stays open (see the module docs) and the keeper can be inspected.
    _keeper: Mutex<(Child, ChildStdin)>,
}

impl Moto {
    /// A new client for the calling test's runtime.
    pub fn client(&self) -> DynamoClient {
        emulator_client(&self.endpoint, EMULATOR_TUNING)
    }
}

static MOTO: OnceCell<Result<Moto, String>> = OnceCell::const_new();

/// The binary's emulator, started on first use. Panics with instructions if it cannot run.
pub async fn moto() -> &'static Moto {
    match MOTO.get_or_init(start).await {
        Ok(moto) => moto,
        Err(why) => panic!("{why}"),
    }
}

/// A key namespace no other test of this binary uses.
pub fn namespace() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    format!("t{}", NEXT.fetch_add(1, Ordering::Relaxed))
}

pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate sits in the workspace")
        .to_path_buf()
}

async fn start() -> Result<Moto, String> {
    let root = workspace_root();
    let setup = root.join("scripts/setup-test-env.sh");
    let how_to_fix = format!(
        "the DynamoDB store tests need the moto emulator: run `{}` (needs python3 with venv and \
         access to PyPI), then run the tests again",
        setup.display()
    );
    // The setup script is idempotent and exits at once when the pinned versions are installed.
    let status = tokio::task::spawn_blocking(move || {
        Command::new("bash")
            .arg(&setup)
            .stdout(Stdio::inherit())
            .stderr(Stdio::inherit())
            .status()
    })
    .await
    .map_err(|e| format!("setup-test-env.sh did not run: {e}"))?;
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => return Err(format!("setup-test-env.sh failed ({s}); {how_to_fix}")),
        Err(e) => {
            return Err(format!(
                "could not run setup-test-env.sh ({e}); {how_to_fix}"
            ));
        }
    }
    let venv = std::env::var_os("GAVEL_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join(".venv"));
    let python = venv.join("bin/python");
    if !venv.join("bin/moto_server").exists() {
        return Err(format!(
            "moto_server is missing from {}; {how_to_fix}",
            venv.display()
        ));
    }
    let launcher = root.join("tests/support/moto_serialized.py");

    let port = free_port().map_err(|e| format!("no free loopback port for moto: {e}"))?;
    let log = std::env::temp_dir().join(format!("gavel-moto-{}-{port}.log", std::process::id()));
    let mut keeper = Command::new("bash")
        .arg("-c")
        .arg(KEEPER)
        .arg("gavel-moto-keeper")
        .arg(&python)
        .arg(&launcher)
        .arg(port.to_string())
        .arg(&log)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| {
            format!(
                "could not start moto ({}): {e}; {how_to_fix}",
                python.display()
            )
        })?;
    let pipe = keeper.stdin.take().expect("stdin is piped");

    let deadline = Instant::now() + STARTUP_LIMIT;
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if let Ok(Some(status)) = keeper.try_wait() {
            return Err(format!(
                "moto_server exited ({status}) before answering; its log:\n{}\n{how_to_fix}",
                log_tail(&log)
            ));
        }
        if Instant::now() > deadline {
            return Err(format!(
                "moto_server did not answer on 127.0.0.1:{port} within {STARTUP_LIMIT:?}; its log:\n{}",
                log_tail(&log)
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let endpoint = format!("http://127.0.0.1:{port}");
    let client = emulator_client(&endpoint, EMULATOR_TUNING);
    create_table(&client, TABLE)
        .await
        .map_err(|e| format!("moto is up at {endpoint} but creating the table failed: {e}"))?;
    Ok(Moto {
        endpoint,
        table: TABLE.to_owned(),
        _keeper: Mutex::new((keeper, pipe)),
    })
}

/// Runs moto in the background until stdin closes (the test binary is gone), then stops it and
/// removes its log. If moto stops on its own first, exits with 1 and leaves the log, so the
/// test binary can tell at once and show why.
/// `$1` the venv's python, `$2` the launcher, `$3` port, `$4` log file.
const KEEPER: &str = r#"
exec 3<&0
"$1" "$2" -H 127.0.0.1 -p "$3" >"$4" 2>&1 </dev/null &
moto=$!
cat <&3 >/dev/null &
watch=$!
wait -n "$moto" "$watch"
if kill -0 "$moto" 2>/dev/null; then
  kill "$moto"
  wait "$moto"
  rm -f "$4"
  exit 0
fi
kill "$watch" 2>/dev/null
exit 1
"#;

fn free_port() -> std::io::Result<u16> {
    // The port is free when we look; moto binds it a moment later. Another process taking it
    // in between shows up as moto failing to start, with its log in the message.
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

fn log_tail(path: &Path) -> String {
    let mut text = String::new();
    if let Ok(mut file) = std::fs::File::open(path) {
        let _ = file.read_to_string(&mut text);
    }
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
