//! A throwaway PostgreSQL cluster for tests and benchmarks: `initdb` into a
//! temporary directory and `pg_ctl` starting it, one fresh database per
//! caller. It listens on a Unix socket in that directory only (mode 0700),
//! so no port can be taken from it and no other local user can connect. PostgreSQL's programs are found on `PATH` or in
//! Debian's `/usr/lib/postgresql/<version>/bin`; as root they run as the
//! `postgres` user, since `initdb` refuses root. The cluster stops when the
//! process exits; one left by a killed process is stopped by the next start.

use std::{
    ffi::CString,
    path::{Path, PathBuf},
    process::Command,
    sync::{
        atomic::{AtomicU32, Ordering},
        OnceLock,
    },
};

use sqlx::{Connection, Executor};

const DIR_PREFIX: &str = "netpulse-pg-";
const USER: &str = "netpulse";

pub struct TestCluster {
    dir: PathBuf,
    bin: PathBuf,
    databases: AtomicU32,
}

/// The socket's number: its file is `.s.PGSQL.5432` in the cluster's own directory.
const PORT: u16 = 5432;

/// The programs' folder: where `initdb` is on `PATH`, else Debian's newest version's.
fn bin_dir() -> Option<PathBuf> {
    let on_path =
        std::env::var_os("PATH").into_iter().flat_map(|path| std::env::split_paths(&path).collect::<Vec<_>>()).find(|dir| dir.join("initdb").is_file());
    on_path.map(|dir| std::fs::canonicalize(dir.join("initdb")).ok().and_then(|f| f.parent().map(Path::to_path_buf)).unwrap_or(dir)).or_else(|| {
        let mut versions: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql").ok()?.flatten().map(|entry| entry.path().join("bin")).collect();
        versions.retain(|dir| dir.join("initdb").is_file());
        versions.sort_by_key(|dir| dir.parent().and_then(|v| v.file_name()?.to_str()?.parse::<u32>().ok()).unwrap_or(0));
        versions.pop()
    })
}

/// The uid and gid the cluster runs as: this process's, or `postgres`'s when root.
fn owner() -> Result<Option<(u32, u32)>, String> {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        return Ok(None);
    }
    let name = CString::new("postgres").map_err(|e| e.to_string())?;
    // SAFETY: a valid C string; the result is read at once, before any other getpw call.
    let entry = unsafe { libc::getpwnam(name.as_ptr()) };
    if entry.is_null() {
        return Err("running as root, and there is no postgres user to run PostgreSQL as".to_owned());
    }
    // SAFETY: checked non-null above.
    Ok(Some(unsafe { ((*entry).pw_uid, (*entry).pw_gid) }))
}

fn run(bin: &Path, program: &str, args: &[&str]) -> Result<(), String> {
    let mut command = if owner()?.is_some() {
        let mut command = Command::new("runuser");
        command.args(["-u", "postgres", "--"]).arg(bin.join(program));
        command
    } else {
        Command::new(bin.join(program))
    };
    let output = command.args(args).env("LC_ALL", "C").output().map_err(|e| format!("cannot run {program}: {e}"))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(format!("{program} failed: {}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
    }
}

/// Stops clusters whose test process is gone (killed before it could stop them).
fn stop_abandoned(bin: &Path) {
    for entry in std::fs::read_dir(std::env::temp_dir()).into_iter().flatten().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = name.strip_prefix(DIR_PREFIX).and_then(|rest| rest.split('-').next()?.parse::<i32>().ok()) else { continue };
        // SAFETY: signal 0 only asks whether the process exists; only "no such process" means it is gone.
        if unsafe { libc::kill(pid, 0) } == 0 || std::io::Error::last_os_error().raw_os_error() != Some(libc::ESRCH) {
            continue;
        }
        let data = entry.path().join("data");
        let _ = run(bin, "pg_ctl", &["stop", "-D", &data.to_string_lossy(), "-m", "immediate"]);
        let _ = std::fs::remove_dir_all(entry.path());
    }
}

static SHARED: OnceLock<Option<TestCluster>> = OnceLock::new();

extern "C" fn stop_shared_at_exit() {
    if let Some(Some(cluster)) = SHARED.get() {
        cluster.stop();
        let _ = std::fs::remove_dir_all(&cluster.dir);
    }
}

impl TestCluster {
    /// This process's cluster, started on first use. `None` when PostgreSQL is
    /// not installed, unless `NETPULSE_REQUIRE_POSTGRES` is set: then it panics.
    pub fn shared() -> Option<&'static TestCluster> {
        SHARED
            .get_or_init(|| {
                let started = Self::start();
                if let Err(error) = &started {
                    assert!(std::env::var_os("NETPULSE_REQUIRE_POSTGRES").is_none(), "NETPULSE_REQUIRE_POSTGRES is set but PostgreSQL cannot start: {error}");
                    eprintln!("skipping the PostgreSQL half of the store tests: {error}");
                }
                // SAFETY: registers a plain function; it runs once, as the process exits.
                unsafe { libc::atexit(stop_shared_at_exit) };
                started.ok()
            })
            .as_ref()
    }

    /// A new cluster in its own temporary directory, started and accepting connections.
    pub fn start() -> Result<Self, String> {
        static CLUSTERS: AtomicU32 = AtomicU32::new(0);
        let bin = bin_dir().ok_or("PostgreSQL's initdb is neither on PATH nor in /usr/lib/postgresql (Debian's package postgresql)")?;
        stop_abandoned(&bin);
        let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{}-{}", std::process::id(), CLUSTERS.fetch_add(1, Ordering::Relaxed)));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
        std::fs::set_permissions(&dir, std::os::unix::fs::PermissionsExt::from_mode(0o700)).map_err(|e| format!("cannot restrict {}: {e}", dir.display()))?;
        if let Some((uid, gid)) = owner()? {
            std::os::unix::fs::chown(&dir, Some(uid), Some(gid)).map_err(|e| format!("cannot give {} to postgres: {e}", dir.display()))?;
        }
        let data = dir.join("data");
        run(&bin, "initdb", &["-D", &data.to_string_lossy(), "-U", USER, "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"])?;
        let cluster = Self { dir, bin, databases: AtomicU32::new(0) };
        cluster.start_server()?;
        Ok(cluster)
    }

    /// Starts the server again after [`TestCluster::stop`], with the same data.
    pub fn start_server(&self) -> Result<(), String> {
        // No TCP at all; durability settings off: the tests stop processes, not machines.
        let options = format!("-p {PORT} -k {} -c listen_addresses='' -c max_connections=300 -c fsync=off -c full_page_writes=off", self.dir.display());
        let (data, log) = (self.dir.join("data"), self.dir.join("server.log"));
        run(&self.bin, "pg_ctl", &["start", "-w", "-t", "30", "-D", &data.to_string_lossy(), "-l", &log.to_string_lossy(), "-o", &options])
    }

    /// Stops the server at once, as a crash would, keeping its data.
    pub fn stop(&self) {
        let _ = run(&self.bin, "pg_ctl", &["stop", "-D", &self.dir.join("data").to_string_lossy(), "-m", "immediate"]);
    }

    /// The URL of database `name` in this cluster, through its socket.
    pub fn url(&self, name: &str) -> String {
        format!("postgres://{USER}@localhost:{PORT}/{name}?host={}", self.dir.display())
    }

    /// A new, empty database; its URL.
    pub async fn new_database(&self) -> Result<String, sqlx::Error> {
        let name = format!("test_{}", self.databases.fetch_add(1, Ordering::Relaxed));
        let mut admin = sqlx::PgConnection::connect(&self.url("postgres")).await?;
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await?;
        admin.close().await?;
        Ok(self.url(&name))
    }
}

impl Drop for TestCluster {
    fn drop(&mut self) {
        self.stop();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The store on each database a test can reach: SQLite in `dir`, then
/// PostgreSQL in a fresh database of the shared cluster when it is installed.
pub async fn each_backend(dir: &Path) -> Vec<crate::server::store::Store> {
    use crate::server::store::Store;
    let mut stores = vec![Store::open(dir, 0).await.expect("a SQLite store")];
    if let Some(cluster) = TestCluster::shared() {
        let url = cluster.new_database().await.expect("a test database");
        stores.push(Store::open_postgres(&url).await.expect("a PostgreSQL store"));
    }
    stores
}
