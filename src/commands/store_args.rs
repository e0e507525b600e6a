//! `--data` or `--database-url`: where the registry is, for the commands that open it (`registry`,
//! `admin`).

use std::path::PathBuf;

use clap::Args;
use registry::Location;

#[derive(Args)]
pub struct DataArgs {
    /// The registry's data directory (`partseal serve --data`, the embedded store).
    #[arg(long, value_name = "DIR", required_unless_present = "database_url")]
    pub data: Option<PathBuf>,
    /// The registry's PostgreSQL database instead (also PARTSEAL_DATABASE_URL; --data, when
    /// given, takes precedence).
    #[arg(
        long,
        value_name = "URL",
        env = "PARTSEAL_DATABASE_URL",
        hide_env_values = true
    )]
    pub database_url: Option<String>,
}

impl DataArgs {
    /// Where the registry is.
    pub fn location(&self) -> Location {
        match (&self.database_url, &self.data) {
            (_, Some(dir)) => Location::Directory(dir.clone()),
            (Some(url), None) => Location::Database(url.clone()),
            // clap requires one of them.
            (None, None) => Location::Directory(PathBuf::from(".")),
        }
    }

    /// The store as messages name it.
    pub fn describe(&self) -> String {
        match &self.data {
            Some(dir) => dir.display().to_string(),
            None => "the database".to_owned(),
        }
    }
}
