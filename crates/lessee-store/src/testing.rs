//! Test support: a fresh PostgreSQL database per test. Not compiled into the product.
//!
//! The server is found through `LESSEE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`). There is no skip: when PostgreSQL cannot be
//! reached the test fails, so a green run always means both backends were exercised.

use sqlx::{Connection, Executor};

/// The administrative URL of the test PostgreSQL server.
pub fn admin_url() -> String {
    std::env::var("LESSEE_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// Creates an empty database named `lessee_test_…` and returns its URL.
pub async fn fresh_postgres_url() -> Result<String, String> {
    sqlx::any::install_default_drivers();
    let admin = admin_url();
    let mut conn = sqlx::AnyConnection::connect(&admin)
        .await
        .map_err(|e| format!("PostgreSQL for tests is not reachable at {admin}: {e}; run scripts/test.sh, which starts it"))?;
    let name = format!("lessee_test_{}", uuid::Uuid::now_v7().simple());
    conn.execute(format!("CREATE DATABASE {name}").as_str())
        .await
        .map_err(|e| format!("cannot create test database: {e}"))?;
    let _ = conn.close().await;
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    Ok(format!("{base}/{name}"))
}
