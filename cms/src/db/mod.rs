//! The control plane's database: sea-orm entities, migrations, connection.
//!
//! SQLite (embedded, the default) and PostgreSQL are both supported; the schema is created by
//! versioned migrations in [`migration`], never by schema sync.

pub mod entities;
pub mod migration;

use std::time::Duration;

use sea_orm::{ConnectOptions, ConnectionTrait, Database, DatabaseConnection, DbBackend, DbErr};
use sea_orm_migration::MigratorTrait;

/// Connects and brings the schema up to date.
pub async fn connect(url: &str) -> Result<DatabaseConnection, DbErr> {
    let mut options = ConnectOptions::new(url.to_string());
    options
        .max_connections(if url.starts_with("sqlite:") { 4 } else { 16 })
        .min_connections(1)
        .connect_timeout(Duration::from_secs(10))
        .acquire_timeout(Duration::from_secs(10))
        .sqlx_logging(false)
        // A writer waits up to 30 s for another's transaction (a publish, the log intake)
        // rather than failing after sqlx's default 5 s.
        .map_sqlx_sqlite_opts(|o| o.busy_timeout(Duration::from_secs(30)));
    let db = Database::connect(options).await?;
    if db.get_database_backend() == DbBackend::Sqlite {
        // WAL lets readers (gateway config polls, page views of the admin) proceed during a
        // publish; the setting is stored in the database file.
        db.execute_unprepared("PRAGMA journal_mode=WAL").await?;
    }
    migration::Migrator::up(&db, None).await?;
    Ok(db)
}

/// The default database: SQLite in the data dir.
pub fn sqlite_url(data_dir: &std::path::Path) -> String {
    format!(
        "sqlite://{}?mode=rwc",
        data_dir.join("sitegroup.db").display()
    )
}
