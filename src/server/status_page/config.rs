//! `[[status_page]]`: public pages of chosen monitors and speed summaries.

use serde::Deserialize;

use crate::server::{
    auth::access::valid_name,
    config::{invalid, ConfigError},
};

#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusPageConfig {
    /// The page's address: `/status/<name>`; the first page is also `/status`.
    pub name: String,
    /// The heading; the name by default.
    pub title: Option<String>,
    /// The monitors it shows, by name, in this order.
    #[serde(default)]
    pub monitors: Vec<String>,
    /// Whether it shows each speed target's latest test.
    #[serde(default)]
    pub speed: bool,
}

impl StatusPageConfig {
    pub fn title(&self) -> &str {
        self.title.as_deref().unwrap_or(&self.name)
    }
}

/// Checks the pages against the monitors that exist; names must be unique.
pub fn check(pages: &[StatusPageConfig], monitors: &[String]) -> Result<(), ConfigError> {
    for (n, page) in pages.iter().enumerate() {
        if !valid_name(&page.name) {
            return Err(invalid("status_page.name", format!("{:?} is not 1 to 64 letters, digits, '.', '_', '-' or '@'", page.name)));
        }
        if pages[..n].iter().any(|other| other.name == page.name) {
            return Err(invalid("status_page.name", format!("{:?} is used by two status pages", page.name)));
        }
        if let Some(unknown) = page.monitors.iter().find(|name| !monitors.contains(name)) {
            return Err(invalid("status_page.monitors", format!("page {:?} lists {unknown:?}, which no [[monitor]] is called", page.name)));
        }
        if page.monitors.is_empty() && !page.speed {
            return Err(invalid("status_page.monitors", format!("page {:?} shows nothing: list monitors or set speed = true", page.name)));
        }
        if page.title.as_ref().is_some_and(|title| title.len() > 200) {
            return Err(invalid("status_page.title", "must be at most 200 bytes"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::server::config::Config;

    #[test]
    fn pages_name_monitors_that_exist() {
        let monitor = "[[monitor]]\nname = \"web\"\ntcp = \"127.0.0.1:1\"\n";
        let check = |pages: &str| Config::from_toml(&format!("{monitor}{pages}")).unwrap().validate().map_err(|e| e.to_string());
        assert!(check("[[status_page]]\nname = \"public\"\nmonitors = [\"web\"]\n").is_ok());
        assert!(check("[[status_page]]\nname = \"public\"\nmonitors = [\"db\"]\n").unwrap_err().starts_with("invalid status_page.monitors:"));
        assert!(check("[[status_page]]\nname = \"a b\"\nspeed = true\n").unwrap_err().starts_with("invalid status_page.name:"));
        assert!(check("[[status_page]]\nname = \"p\"\n").unwrap_err().contains("shows nothing"));
        let twice = "[[status_page]]\nname = \"p\"\nspeed = true\n[[status_page]]\nname = \"p\"\nspeed = true\n";
        assert!(check(twice).unwrap_err().contains("two status pages"));
    }
}
