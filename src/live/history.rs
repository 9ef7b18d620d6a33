//! The bounded, de-duplicated buffer of speed samples a dashboard draws from:
//! the shown node's (this server's unless the page asked for another), since
//! every node's tests arrive on the same topic; or every node's, overlaid.

use std::collections::VecDeque;

use crate::model::{Snapshot, SpeedSample};

#[derive(Clone, Debug, PartialEq)]
pub struct SpeedHistory {
    capacity: usize,
    samples: VecDeque<SpeedSample>,
    /// The newest event id applied; older or repeated ids are ignored.
    last_id: u64,
    /// Whose samples are kept: the shown node's name; `None` keeps every sample.
    node: Option<String>,
}

impl SpeedHistory {
    pub fn new(capacity: usize) -> Self {
        Self { capacity: capacity.max(1), samples: VecDeque::new(), last_id: 0, node: None }
    }

    pub fn from_snapshot(snapshot: &Snapshot) -> Self {
        let mut history = Self::new(snapshot.max_points);
        history.node = match snapshot.speed_node.as_str() {
            "" => Some(snapshot.node.clone()),
            crate::model::EVERY_NODE => None,
            node => Some(node.to_owned()),
        };
        for sample in &snapshot.speed {
            if history.keeps(sample) {
                history.push(sample.clone());
            }
        }
        history.last_id = snapshot.last_event_id;
        history
    }

    fn keeps(&self, sample: &SpeedSample) -> bool {
        self.node.as_ref().is_none_or(|node| *node == sample.node)
    }

    fn push(&mut self, sample: SpeedSample) {
        if self.samples.len() == self.capacity {
            self.samples.pop_front();
        }
        self.samples.push_back(sample);
    }

    /// Adds a live event; returns false for one already seen or another node's.
    pub fn apply(&mut self, id: u64, sample: SpeedSample) -> bool {
        if id <= self.last_id || !self.keeps(&sample) {
            return false;
        }
        self.last_id = id;
        self.push(sample);
        true
    }

    /// After a `reset`, takes what the server has that is newer than what is
    /// shown, keeping older points (a restarted server may no longer have them).
    pub fn merge_snapshot(&mut self, snapshot: &Snapshot) {
        let newest = self.samples.back().map(|s| s.at);
        for sample in &snapshot.speed {
            if newest.is_none_or(|at| sample.at > at) && self.keeps(sample) {
                self.push(sample.clone());
            }
        }
        self.last_id = snapshot.last_event_id;
    }

    pub fn last_id(&self) -> u64 {
        self.last_id
    }

    pub fn samples(&self) -> &VecDeque<SpeedSample> {
        &self.samples
    }

    pub fn latest(&self) -> Option<&SpeedSample> {
        self.samples.back()
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
        let mut history = SpeedHistory::new(3);
        for n in 1..=5 {
            assert!(history.apply(n as u64, sample(n)));
        }
        let minutes: Vec<u32> = history.samples().iter().map(|s| s.download_mbps.unwrap() as u32).collect();
        assert_eq!(minutes, [3, 4, 5]);
    }

    #[test]
    fn ignores_events_already_seen() {
        let mut history = SpeedHistory::new(10);
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
    fn only_this_servers_samples_are_drawn() {
        let mut from_node = sample(2);
        from_node.node = "tokyo".into();
        let snapshot = Snapshot { node: "n".into(), last_event_id: 9, max_points: 10, speed: vec![sample(1), from_node.clone()], ..Snapshot::default() };
        let mut history = SpeedHistory::from_snapshot(&snapshot);
        assert_eq!(history.samples().len(), 1);
        assert!(!history.apply(10, from_node), "a node's test is not this server's");
        assert!(history.apply(11, sample(3)));
        assert_eq!(history.latest().unwrap().at, sample(3).at);
    }

    #[test]
    fn a_node_asked_for_is_shown_instead_or_every_node() {
        let from_node = SpeedSample { node: "tokyo".into(), ..sample(2) };
        let mut snapshot =
            Snapshot { node: "n".into(), max_points: 10, speed: vec![sample(1), from_node.clone()], speed_node: "tokyo".into(), ..Snapshot::default() };
        let mut tokyo = SpeedHistory::from_snapshot(&snapshot);
        assert_eq!(tokyo.samples().iter().map(|s| s.node.as_str()).collect::<Vec<_>>(), ["tokyo"]);
        assert!(!tokyo.apply(10, sample(3)), "this server's test is not tokyo's");
        snapshot.speed_node = crate::model::EVERY_NODE.into();
        assert_eq!(SpeedHistory::from_snapshot(&snapshot).samples().len(), 2);
    }

    #[test]
    fn merge_after_reset_appends_only_newer_samples() {
        let mut history = SpeedHistory::new(10);
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
