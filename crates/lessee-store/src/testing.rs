//! Test support: a fresh PostgreSQL database per test. Not compiled into the product.
//!
//! The server is found through `LESSEE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). There is no skip: when PostgreSQL cannot be
//! reached the test fails, so a green run always means both backends were exercised.

/// The administrative URL of the test PostgreSQL server.
pub fn admin_url() -> String {
    std::env::var("LESSEE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty database named `lessee_test_…` and returns its URL.
pub async fn fresh_postgres_url() -> Result<String, String> {
    let admin = admin_url();
    crate::SqlStore::create_postgres_database(&admin, "lessee_test")
        .await
        .map_err(|e| format!("PostgreSQL for tests is not reachable at {admin} ({e}); scripts/test.sh starts it"))
}

/// A migrated store for a test: a fresh PostgreSQL database, or SQLite in `dir`.
pub async fn migrated_store(postgres: bool, dir: &std::path::Path) -> Result<crate::SqlStore, String> {
    use crate::Store;
    let config = crate::PoolConfig::default();
    let store = if postgres {
        crate::SqlStore::connect(&fresh_postgres_url().await?, &config).await
    } else {
        crate::SqlStore::open_dir(dir, &config).await
    }
    .map_err(|e| e.to_string())?;
    store.migrate().await.map_err(|e| e.to_string())?;
    Ok(store)
}
