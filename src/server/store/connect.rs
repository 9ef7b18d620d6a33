//! Opening the store: the embedded SQLite file in the data directory, or a
//! PostgreSQL database named by `database_url`; either way through sqlx's
//! `Any` driver, so that every query is written once, with the schema of
//! `migrations/sqlite` or `migrations/postgres` applied at start-up.

use std::{path::Path, sync::Once, time::Duration};

use sqlx::{
    any::{AnyConnectOptions, AnyPoolOptions},
    AnyPool, ConnectOptions, Executor,
};

use crate::server::store::{StoreError, DATABASE_FILE};

/// SQLite's page size, which the size cap counts in.
pub const PAGE_SIZE: u64 = 4096;

/// Connections kept to PostgreSQL: queries of several requests at once, and the writer's.
const POSTGRES_CONNECTIONS: u32 = 8;

fn install_drivers() {
    static DRIVERS: Once = Once::new();
    DRIVERS.call_once(|| sqlx::any::install_drivers(&[sqlx::sqlite::any::DRIVER, sqlx::postgres::any::DRIVER]).expect("drivers are installed once"));
}

/// `data_dir/netpulse.db` in WAL mode, created on first run; `max_size_mb` caps the file (0: no cap).
pub async fn open_sqlite(data_dir: &Path, max_size_mb: u64) -> Result<AnyPool, StoreError> {
    install_drivers();
    std::fs::create_dir_all(data_dir).map_err(|source| StoreError::DataDir { path: data_dir.display().to_string(), source })?;
    let file = data_dir.join(DATABASE_FILE);
    let path = file.to_str().ok_or_else(|| StoreError::DataDir {
        path: data_dir.display().to_string(),
        source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "the path is not UTF-8"),
    })?;
    // `?` and `#` in a directory's name would end the URL's path.
    let url = format!("sqlite:{}?mode=rwc", percent_encoding::utf8_percent_encode(path, percent_encoding::NON_ALPHANUMERIC));
    let options = AnyConnectOptions::from_url(&url.parse().map_err(|_| StoreError::Corrupt(format!("cannot name {path} as a URL")))?)?;
    let max_page_count = (max_size_mb > 0).then(|| max_size_mb * 1_000_000 / PAGE_SIZE);
    let pool = AnyPoolOptions::new()
        .max_connections(4)
        .after_connect(move |connection, _| {
            Box::pin(async move {
                // The page size must be set before the first table; WAL then persists in the file.
                // NORMAL: committed data survives a crash of the process; only a power loss may cost the last commits.
                connection.execute(format!("PRAGMA page_size = {PAGE_SIZE}").as_str()).await?;
                connection.execute("PRAGMA journal_mode = WAL").await?;
                connection.execute("PRAGMA synchronous = NORMAL").await?;
                connection.execute("PRAGMA foreign_keys = ON").await?;
                connection.execute("PRAGMA busy_timeout = 5000").await?;
                if let Some(pages) = max_page_count {
                    connection.execute(format!("PRAGMA max_page_count = {pages}").as_str()).await?;
                }
                Ok(())
            })
        })
        .connect_with(options)
        .await?;
    sqlx::migrate!("./migrations/sqlite").run(&pool).await?;
    Ok(pool)
}

/// A PostgreSQL database, which must exist; its schema is created or upgraded here.
pub async fn open_postgres(url: &str) -> Result<AnyPool, StoreError> {
    install_drivers();
    let parsed: url::Url = url.parse().map_err(|_| StoreError::BadUrl)?;
    if !matches!(parsed.scheme(), "postgres" | "postgresql") {
        return Err(StoreError::BadUrl);
    }
    let options = AnyConnectOptions::from_url(&parsed)?;
    let pool = AnyPoolOptions::new().max_connections(POSTGRES_CONNECTIONS).acquire_timeout(Duration::from_secs(5)).connect_with(options).await?;
    sqlx::migrate!("./migrations/postgres").run(&pool).await?;
    Ok(pool)
}
