//! How far an agent's clock is from the server's, estimated NTP-style from
//! the four timestamps of each exchange, and where a sample stamped by that
//! clock belongs on the server's.

use std::collections::VecDeque;

/// Exchanges the estimate looks back over; the one with the shortest round trip wins,
/// as NTP's clock filter does: its two legs are the most nearly equal.
const REMEMBERED: usize = 8;
/// An offset beyond this is shown as a warning on the node.
pub const SKEW_WARNING_MS: i64 = 2_000;
/// A corrected sample time further ahead of the server's clock than this is clamped to now.
pub const FUTURE_TOLERANCE_MS: i64 = 5_000;

const MOST_PLAUSIBLE_STAMP_MS: u64 = 1_000_000_000_000_000;

/// One request and its answer: the agent's clock at sending and at receiving, the server's in between.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Exchange {
    pub agent_sent_ms: i64,
    pub server_received_ms: i64,
    pub server_sent_ms: i64,
    pub agent_received_ms: i64,
}

impl Exchange {
    /// The server's clock minus the agent's, assuming both legs took as long.
    pub fn offset_ms(&self) -> i64 {
        ((self.server_received_ms - self.agent_sent_ms) + (self.server_sent_ms - self.agent_received_ms)) / 2
    }

    /// Time on the wire, both ways, without the server's own time; `None` when the stamps contradict each other.
    pub fn round_trip_ms(&self) -> Option<i64> {
        let on_agent = self.agent_received_ms - self.agent_sent_ms;
        let on_server = self.server_sent_ms - self.server_received_ms;
        (on_agent >= 0 && on_server >= 0 && on_agent >= on_server).then_some(on_agent - on_server)
    }
}

/// The recent exchanges of one agent.
#[derive(Clone, Debug, Default)]
pub struct ClockFilter {
    recent: VecDeque<Exchange>,
}

impl ClockFilter {
    /// Remembers an exchange; one whose stamps contradict each other is ignored, and false returned.
    pub fn add(&mut self, exchange: Exchange) -> bool {
        let stamps = [exchange.agent_sent_ms, exchange.server_received_ms, exchange.server_sent_ms, exchange.agent_received_ms];
        // Beyond 30,000 years either side, a stamp is garbage, and its differences could overflow.
        if stamps.iter().any(|stamp| stamp.unsigned_abs() > MOST_PLAUSIBLE_STAMP_MS) || exchange.round_trip_ms().is_none() {
            return false;
        }
        if self.recent.len() == REMEMBERED {
            self.recent.pop_front();
        }
        self.recent.push_back(exchange);
        true
    }

    /// The best estimate: the offset of the remembered exchange with the shortest round trip.
    pub fn offset_ms(&self) -> Option<i64> {
        self.recent.iter().min_by_key(|exchange| exchange.round_trip_ms()).map(Exchange::offset_ms)
    }

    /// Whether the agent's clock is off by more than the warning's bound.
    pub fn skewed(&self) -> bool {
        self.offset_ms().is_some_and(|offset| offset.abs() > SKEW_WARNING_MS)
    }
}

/// Where a sample stamped `agent_ms` by the agent's clock goes on the server's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placed {
    At(i64),
    /// It would have been in the future: stored at the server's now, and flagged.
    ClampedToNow(i64),
}

pub fn place(agent_ms: i64, offset_ms: i64, server_now_ms: i64) -> Placed {
    let corrected = agent_ms.saturating_add(offset_ms);
    if corrected > server_now_ms + FUTURE_TOLERANCE_MS {
        Placed::ClampedToNow(server_now_ms)
    } else {
        Placed::At(corrected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// An exchange with an agent whose clock is `skew` ms behind, legs of `up` and `down` ms and `work` ms at the server.
    fn exchange(at: i64, skew: i64, up: i64, work: i64, down: i64) -> Exchange {
        Exchange { agent_sent_ms: at - skew, server_received_ms: at + up, server_sent_ms: at + up + work, agent_received_ms: at + up + work + down - skew }
    }

    #[test]
    fn symmetric_legs_give_the_exact_offset_and_the_round_trip_leaves_out_the_server() {
        let e = exchange(1_000_000, 180_000, 40, 7, 40);
        assert_eq!(e.offset_ms(), 180_000);
        assert_eq!(e.round_trip_ms(), Some(80));
    }

    #[test]
    fn the_shortest_round_trip_wins_and_contradictions_are_ignored() {
        let mut filter = ClockFilter::default();
        assert_eq!(filter.offset_ms(), None);
        // A congested upload leg skews one estimate by half the asymmetry.
        assert!(filter.add(exchange(0, 3_000, 900, 5, 20)));
        assert_eq!(filter.offset_ms(), Some(3_440));
        assert!(filter.add(exchange(60_000, 3_000, 30, 5, 30)));
        assert_eq!(filter.offset_ms(), Some(3_000));
        assert!(filter.skewed());
        let backwards = Exchange { agent_sent_ms: 10, server_received_ms: 20, server_sent_ms: 30, agent_received_ms: 5 };
        assert!(!filter.add(backwards), "the agent's clock went back mid-exchange");
        let slow_server = Exchange { agent_sent_ms: 0, server_received_ms: 0, server_sent_ms: 500, agent_received_ms: 100 };
        assert!(!filter.add(slow_server), "the server cannot have worked longer than the agent waited");
        assert_eq!(filter.offset_ms(), Some(3_000));
    }

    #[test]
    fn only_recent_exchanges_count() {
        let mut filter = ClockFilter::default();
        filter.add(exchange(0, 500, 1, 0, 1));
        for n in 0..REMEMBERED as i64 {
            filter.add(exchange(n * 60_000, -90_000, 50, 2, 50));
        }
        assert_eq!(filter.offset_ms(), Some(-90_000), "the old, faster exchange has been forgotten");
    }

    #[test]
    fn samples_move_by_the_offset_and_the_future_is_clamped() {
        assert_eq!(place(1_000, 250, 10_000), Placed::At(1_250));
        assert_eq!(place(1_000, -250, 10_000), Placed::At(750));
        assert_eq!(place(20_000, 0, 10_000), Placed::ClampedToNow(10_000));
        assert_eq!(place(14_000, 0, 10_000), Placed::At(14_000), "within the tolerance");
        assert_eq!(place(i64::MAX, 1, 10_000), Placed::ClampedToNow(10_000), "no overflow");
    }

    proptest! {
        /// With legs that differ by `asymmetry`, the estimate is off by at most half of it.
        #[test]
        fn the_error_is_at_most_half_the_asymmetry(skew in -600_000i64..600_000, up in 0i64..5_000, down in 0i64..5_000, work in 0i64..1_000) {
            let e = exchange(1_700_000_000_000, skew, up, work, down);
            prop_assert!((e.offset_ms() - skew).abs() <= (up - down).abs() / 2 + 1);
            prop_assert_eq!(e.round_trip_ms(), Some(up + down));
        }
    }
}
