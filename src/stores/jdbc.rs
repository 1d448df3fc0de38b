//! Synapse's `JDBCMessageStore` on PostgreSQL: MI's table layout (`indexId` ordering the
//! messages, `msg_id`, `message`), created when missing. The `message` column holds mint's JSON
//! form of the message ([`StoredMessage::to_json`]), not MI's Java serialisation: rows MI wrote
//! are left in place, logged once, and skipped.
//!
//! The connection is opened on first use and again after any failure, so a database that was
//! down is used again as soon as it is back; while it is down every operation fails (the `store`
//! mediator faults, a processor retries its read).

use std::time::Duration;

use super::{Backend, StoredMessage};
use crate::config::jdbc::PgTarget;

/// Where the store is, from its `store.jdbc.*` parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct JdbcConfig {
    pub host: String,
    pub port: u16,
    pub database: String,
    pub user: String,
    pub password: String,
    pub table: String,
}

impl JdbcConfig {
    /// Reads `jdbc:postgresql://host[:port]/database[?…]`.
    pub fn from_url(
        url: &str,
        user: &str,
        password: &str,
        table: &str,
    ) -> Result<JdbcConfig, String> {
        let PgTarget {
            host,
            port,
            database,
        } = PgTarget::from_url(url)?;
        if !table.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') || table.is_empty() {
            return Err(format!("'{table}' is not a plain table name"));
        }
        Ok(JdbcConfig {
            host,
            port,
            database,
            user: user.to_string(),
            password: password.to_string(),
            table: table.to_string(),
        })
    }

    /// `host:port/database`, for logs.
    pub fn describe(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.database)
    }
}

pub(super) struct Jdbc {
    config: JdbcConfig,
    client: Option<postgres::Client>,
    /// Rows mint cannot read (written by MI): skipped, logged once each.
    skip_below: i64,
    /// The head last read: its `indexId` and message id (removed by `indexId`).
    head: Option<(i64, String)>,
    /// When a connection attempt last failed slowly, and why: for a second after it, operations
    /// fail at once instead of each waiting out its own connect timeout.
    refused: Option<(std::time::Instant, String)>,
}

/// How long a slow failed connection attempt answers for the ones after it.
const REFUSED_FOR: Duration = Duration::from_secs(1);
/// A connection attempt that failed after this long (a host that does not answer) is not tried
/// again at once; a quick refusal is (the server may be back the next moment).
const SLOW_FAILURE: Duration = Duration::from_secs(1);

impl Jdbc {
    pub(super) fn new(config: JdbcConfig) -> Jdbc {
        Jdbc {
            config,
            client: None,
            skip_below: 0,
            head: None,
            refused: None,
        }
    }

    fn client(&mut self) -> Result<&mut postgres::Client, String> {
        if self.client.is_none() {
            if let Some((at, why)) = &self.refused {
                if at.elapsed() < REFUSED_FOR {
                    return Err(why.clone());
                }
            }
            let c = &self.config;
            let started = std::time::Instant::now();
            let opened = postgres::Config::new()
                .host(&c.host)
                .port(c.port)
                .dbname(&c.database)
                .user(&c.user)
                .password(&c.password)
                .connect_timeout(Duration::from_secs(5))
                // A statement on a connection that died without a word ends in time.
                .options("-c statement_timeout=10000")
                .keepalives(true)
                .keepalives_idle(Duration::from_secs(30))
                .connect(postgres::NoTls)
                .map_err(|e| format!("cannot connect to PostgreSQL at {}: {e}", c.describe()));
            let mut client = match opened {
                Ok(c) => c,
                Err(e) => {
                    if started.elapsed() >= SLOW_FAILURE {
                        self.refused = Some((std::time::Instant::now(), e.clone()));
                    }
                    return Err(e);
                }
            };
            self.refused = None;
            client
                .batch_execute(&format!(
                    "CREATE TABLE IF NOT EXISTS {} (indexId BIGSERIAL PRIMARY KEY, \
                     msg_id VARCHAR(200) NOT NULL, message BYTEA NOT NULL)",
                    c.table
                ))
                .map_err(|e| format!("table {}: {e}", c.table))?;
            self.client = Some(client);
        }
        Ok(self.client.as_mut().expect("connected above"))
    }

    /// Runs `f` on the connection; a failure drops it (opened again on next use). A connection
    /// found closed (the server restarted, or closed it while idle) is replaced and `f` tried once
    /// more on the new one.
    fn with<T>(
        &mut self,
        f: impl Fn(&mut postgres::Client, &str) -> Result<T, postgres::Error>,
    ) -> Result<T, String> {
        let table = self.config.table.clone();
        let reused = self.client.is_some();
        let client = self.client()?;
        let first = f(client, &table);
        let result = match first {
            Err(e) if reused && (e.is_closed() || client.is_closed()) => {
                self.client = None;
                let client = self.client()?;
                f(client, &table)
            }
            other => other,
        };
        result.map_err(|e| {
            self.client = None;
            format!("PostgreSQL at {}: {e}", self.config.describe())
        })
    }
}

impl Backend for Jdbc {
    fn put(&mut self, message: StoredMessage) -> Result<(), String> {
        let json = message.to_json();
        self.with(|c, t| {
            c.execute(
                &format!("INSERT INTO {t} (msg_id, message) VALUES ($1, $2)"),
                &[&message.id, &json.as_bytes()],
            )
            .map(drop)
        })
    }

    fn put_all(&mut self, messages: Vec<StoredMessage>) -> Result<(), String> {
        let rows: Vec<(String, String)> = messages
            .iter()
            .map(|m| (m.id.clone(), m.to_json()))
            .collect();
        self.with(|c, t| {
            let mut tx = c.transaction()?;
            let insert = tx.prepare(&format!(
                "INSERT INTO {t} (msg_id, message) VALUES ($1, $2)"
            ))?;
            for (id, json) in &rows {
                tx.execute(&insert, &[id, &json.as_bytes()])?;
            }
            tx.commit()
        })
    }

    fn peek(&mut self) -> Result<Option<StoredMessage>, String> {
        loop {
            let skip = self.skip_below;
            let row = self.with(|c, t| {
                c.query_opt(
                    &format!("SELECT indexId, message FROM {t} WHERE indexId > $1 ORDER BY indexId LIMIT 1"),
                    &[&skip],
                )
            })?;
            let Some(row) = row else {
                return Ok(None);
            };
            let index: i64 = row
                .try_get(0)
                .map_err(|e| format!("table {}: indexId: {e}", self.config.table))?;
            let bytes: Vec<u8> = row
                .try_get(1)
                .map_err(|e| format!("table {}: message is not BYTEA: {e}", self.config.table))?;
            match std::str::from_utf8(&bytes)
                .map_err(|e| e.to_string())
                .and_then(StoredMessage::from_json)
            {
                Ok(m) => {
                    self.head = Some((index, m.id.clone()));
                    return Ok(Some(m));
                }
                Err(e) => {
                    tracing::error!(table = %self.config.table, index, error = %e, "a row mint cannot read (written by another product?) is left in the table and skipped");
                    self.skip_below = index;
                }
            }
        }
    }

    fn remove(&mut self, id: &str) -> Result<bool, String> {
        // The row read as the head, by its key; any other message by its id.
        let removed = match self.head.clone() {
            Some((index, head)) if head == id => self.with(|c, t| {
                c.execute(&format!("DELETE FROM {t} WHERE indexId = $1"), &[&index])
                    .map(|n| n > 0)
            }),
            _ => self.with(|c, t| {
                c.execute(&format!("DELETE FROM {t} WHERE msg_id = $1"), &[&id])
                    .map(|n| n > 0)
            }),
        };
        if removed.is_ok() {
            self.head = None;
        }
        removed
    }

    fn size(&mut self) -> Result<usize, String> {
        self.with(|c, t| {
            c.query_one(&format!("SELECT COUNT(*) FROM {t}"), &[])
                .map(|r| r.get::<_, i64>(0) as usize)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jdbc_urls() {
        let c = JdbcConfig::from_url(
            "jdbc:postgresql://db.local:5433/mi?ssl=false",
            "u",
            "p",
            "jdbc_message_store",
        )
        .unwrap();
        assert_eq!(
            (c.host.as_str(), c.port, c.database.as_str()),
            ("db.local", 5433, "mi")
        );
        let c = JdbcConfig::from_url("jdbc:postgresql://h/d", "u", "p", "t").unwrap();
        assert_eq!(c.port, 5432);
        assert!(JdbcConfig::from_url("jdbc:mysql://h/d", "u", "p", "t").is_err());
        assert!(JdbcConfig::from_url("jdbc:postgresql://h/d", "u", "p", "t; drop").is_err());
        assert!(JdbcConfig::from_url("jdbc:postgresql://h:x/d", "u", "p", "t").is_err());
    }
}
