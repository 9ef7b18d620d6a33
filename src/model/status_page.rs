//! What a public status page shows: its chosen monitors' latest checks and the
//! speed targets' latest tests, nothing else.

use super::{ProbeResult, SpeedSample};

#[derive(Clone, Debug, Default, PartialEq)]
pub struct StatusPageData {
    pub name: String,
    pub title: String,
    /// Each chosen monitor with its latest check, if it has one yet.
    pub monitors: Vec<(String, Option<ProbeResult>)>,
    /// The latest test of each target, when the page shows speed.
    pub speed: Vec<SpeedSample>,
}

impl StatusPageData {
    /// How many shown monitors are down, of how many have been checked.
    pub fn down_of_checked(&self) -> (usize, usize) {
        let checked: Vec<bool> = self.monitors.iter().filter_map(|(_, probe)| probe.as_ref().map(|p| p.up)).collect();
        (checked.iter().filter(|up| !**up).count(), checked.len())
    }
}
