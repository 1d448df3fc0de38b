//! JDBC URLs as MI's configuration writes them, for the PostgreSQL databases mint can reach
//! (the JDBC message store, the JDBC user store).

/// `jdbc:postgresql://host[:port]/database[?…]`, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgTarget {
    pub host: String,
    pub port: u16,
    pub database: String,
}

impl PgTarget {
    /// Reads `jdbc:postgresql://host[:port]/database[?…]` (parameters after `?` or `;` are
    /// not read).
    pub fn from_url(url: &str) -> Result<PgTarget, String> {
        let rest = url
            .trim()
            .strip_prefix("jdbc:postgresql://")
            .ok_or_else(|| {
                format!(
                    "'{url}' is not a PostgreSQL JDBC URL (jdbc:postgresql://host:port/database)"
                )
            })?;
        let rest = rest.split(['?', ';']).next().unwrap_or_default();
        let (authority, database) = rest.split_once('/').unwrap_or((rest, ""));
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) => (
                h,
                p.parse::<u16>()
                    .map_err(|_| format!("'{url}': bad port '{p}'"))?,
            ),
            None => (authority, 5432),
        };
        if host.is_empty() || database.is_empty() {
            return Err(format!("'{url}' names no host or no database"));
        }
        Ok(PgTarget {
            host: host.to_string(),
            port,
            database: database.to_string(),
        })
    }

    /// `host:port/database`, for logs.
    pub fn describe(&self) -> String {
        format!("{}:{}/{}", self.host, self.port, self.database)
    }
}
