//! The answer to "test now" (`POST /api/speed/test-now`): who runs a speed test at once.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(utoipa::ToSchema))]
pub struct TestNowAnswer {
    /// The answer in a line, as the dashboard says it.
    pub summary: String,
    /// Nodes that got the request and are testing (this server by its node name).
    pub testing: Vec<String>,
    /// Agent nodes with no command stream open now: they test on their schedule.
    pub not_connected: Vec<String>,
    /// Nodes asked less than 10 s ago, left alone.
    pub asked_recently: Vec<String>,
}

impl TestNowAnswer {
    /// Sets `summary` from the lists.
    pub fn summarised(mut self) -> Self {
        self.summary = self.line();
        self
    }

    fn line(&self) -> String {
        let mut parts = Vec::new();
        for (label, nodes) in [("Testing now on ", &self.testing), ("Not connected: ", &self.not_connected), ("Already testing: ", &self.asked_recently)] {
            if !nodes.is_empty() {
                parts.push(format!("{label}{}.", nodes.join(", ")));
            }
        }
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_summary_names_each_group_present() {
        let answer =
            TestNowAnswer { testing: vec!["home".into(), "tokyo".into()], not_connected: vec!["berlin".into()], ..TestNowAnswer::default() }.summarised();
        assert_eq!(answer.summary, "Testing now on home, tokyo. Not connected: berlin.");
        assert_eq!(TestNowAnswer::default().summarised().summary, "");
    }
}
