//! The bounded, de-duplicated buffers of speed samples a dashboard draws
//! from, one per node (agent nodes' tests arrive on the same topic), and
//! which node's the cards and charts show: this server's until one is picked.

use std::collections::{BTreeMap, VecDeque};

use crate::model::{Snapshot, SpeedSample};

#[derive(Clone, Debug, PartialEq)]
pub struct SpeedHistory {
    /// Samples kept per node: a busy node never pushes out another's.
    capacity: usize,
    by_node: BTreeMap<String, VecDeque<SpeedSample>>,
    /// The newest event id applied; older or repeated ids are ignored.
    last_id: u64,
    /// This server's node name, listed first.
    here: String,
    /// Whose samples the cards and charts show.
    shown: String,
}

/// An empty buffer, for a node with no samples yet.
static NONE: VecDeque<SpeedSample> = VecDeque::new();

impl SpeedHistory {
    /// Empty, on the server named `here`, showing its samples.
    pub fn new(capacity: usize, here: &str) -> Self {
        Self { capacity: capacity.max(1), by_node: BTreeMap::new(), last_id: 0, here: here.to_owned(), shown: here.to_owned() }
    }

    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut history = Self::new(snapshot.max_points, &snapshot.node);
        for sample in &snapshot.speed {
            history.push(sample.clone());
        }
        history.last_id = snapshot.last_event_id;
        history
    }

    fn push(&mut self, sample: SpeedSample) {
        let samples = self.by_node.entry(sample.node.clone()).or_default();
        if samples.len() == self.capacity {
            samples.pop_front();
        }
        samples.push_back(sample);
    }

    /// Adds a live event; returns false for one already seen.
    pub fn apply(&mut self, id: u64, sample: SpeedSample) -> bool {
        if id <= self.last_id {
            return false;
        }
        self.last_id = id;
        self.push(sample);
        true
    }

    /// After a `reset`, takes what the server has that is newer than what is
    /// shown, keeping older points (a restarted server may no longer have them).
    pub fn merge_snapshot(&mut self, snapshot: &Snapshot) {
        for sample in &snapshot.speed {
            let newest = self.by_node.get(&sample.node).and_then(|samples| samples.back()).map(|s| s.at);
            if newest.is_none_or(|at| sample.at > at) {
                self.push(sample.clone());
            }
        }
        self.last_id = snapshot.last_event_id;
    }

    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    /// The shown node's samples, oldest first.
    pub fn samples(&self) -> &VecDeque<SpeedSample> {
        self.by_node.get(&self.shown).unwrap_or(&NONE)
    }

    pub fn latest(&self) -> Option<&SpeedSample> {
        self.samples().back()
    }

    /// Every node with samples, this server first.
    pub fn nodes(&self) -> Vec<&str> {
        let others = self.by_node.keys().map(String::as_str).filter(|node| *node != self.here);
        std::iter::once(self.here.as_str()).chain(others).collect()
    }

    pub fn each_node(&self) -> impl Iterator<Item = (&str, &VecDeque<SpeedSample>)> {
        self.nodes().into_iter().filter_map(|node| Some((node, self.by_node.get(node)?)))
    }

    pub fn shown(&self) -> &str {
        &self.shown
    }

    /// Whether the shown node is this server: its history is `speed`, a node's `speed@<node>`.
    pub fn shows_here(&self) -> bool {
        self.shown == self.here
    }

    pub fn show(&mut self, node: &str) {
        self.shown = node.to_owned();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A sample `minute` minutes into 2026 whose download rate is `minute`.
    fn sample(minute: u32) -> SpeedSample {
        SpeedSample::for_test(1_767_225_600 + i64::from(minute) * 60, Some(minute as f64), None)
    }

    #[test]
    fn keeps_at_most_capacity_dropping_the_oldest() {
        let mut history = SpeedHistory::new(3, "n");
        for n in 1..=5 {
            assert!(history.apply(n as u64, sample(n)));
        }
        let minutes: Vec<u32> = history.samples().iter().map(|s| s.download_mbps.unwrap() as u32).collect();
        assert_eq!(minutes, [3, 4, 5]);
    }

    #[test]
    fn ignores_events_already_seen() {
        let mut history = SpeedHistory::new(10, "n");
        assert!(history.apply(5, sample(1)));
        assert!(!history.apply(5, sample(2)));
        assert!(!history.apply(4, sample(3)));
        assert_eq!(history.samples().len(), 1);
    }

    #[test]
    fn snapshot_sets_capacity_points_and_resume_id() {
        let snapshot = Snapshot { node: "n".into(), last_event_id: 9, max_points: 2, speed: vec![sample(1), sample(2), sample(3)], ..Snapshot::default() };
        let history = SpeedHistory::from_snapshot(&snapshot);
        assert_eq!(history.samples().len(), 2);
        assert_eq!(history.last_id(), 9);
        assert_eq!(history.latest().unwrap().at, sample(3).at);
    }

    #[test]
    fn this_servers_samples_are_shown_until_a_node_is_picked() {
        let from_node = |minute| SpeedSample { node: "tokyo".into(), ..sample(minute) };
        let snapshot = Snapshot { node: "n".into(), last_event_id: 9, max_points: 2, speed: vec![sample(1), from_node(2)], ..Snapshot::default() };
        let mut history = SpeedHistory::from_snapshot(&snapshot);
        assert_eq!((history.samples().len(), history.nodes()), (1, vec!["n", "tokyo"]));
        assert!(history.apply(10, from_node(3)) && history.apply(11, from_node(4)));
        assert!(history.apply(12, sample(5)));
        assert_eq!(history.latest().unwrap().at, sample(5).at, "a node's test is not this server's");
        history.show("tokyo");
        assert!(!history.shows_here());
        let minutes: Vec<u32> = history.samples().iter().map(|s| s.download_mbps.unwrap() as u32).collect();
        assert_eq!(minutes, [3, 4], "each node keeps its own capacity");
        assert_eq!(history.each_node().map(|(node, samples)| (node, samples.len())).collect::<Vec<_>>(), [("n", 2), ("tokyo", 2)]);
        history.show("gone");
        assert!(history.samples().is_empty() && history.latest().is_none());
    }

    #[test]
    fn merge_after_reset_appends_only_newer_samples() {
        let mut history = SpeedHistory::new(10, "n");
        history.apply(50, sample(1));
        history.apply(51, sample(2));
        // A restarted server numbers from 1 again and knows only its own samples.
        let snapshot = Snapshot { node: "n".into(), last_event_id: 2, max_points: 10, speed: vec![sample(2), sample(3)], ..Snapshot::default() };
        history.merge_snapshot(&snapshot);
        assert_eq!(history.samples().len(), 3);
        assert_eq!(history.last_id(), 2);
        assert!(history.apply(3, sample(4)));
    }
}
