//! Which of an agent's numbered results have arrived: each sequence number is
//! taken once, and the acknowledgement is the highest number below which
//! nothing is missing, so the agent deletes only what is safely stored.

use std::collections::BTreeSet;

/// Numbers past the contiguous run that may wait for a gap to fill; a batch
/// beyond this is refused, so one agent cannot make the server hold an unbounded set.
pub const MOST_AHEAD: usize = 100_000;

/// What became of one received number.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Received {
    New,
    /// Stored before: a retry after a lost acknowledgement. Not stored again.
    Duplicate,
    /// Too far past a gap; the agent sends it again once the gap is filled.
    TooFarAhead,
}

/// One agent's received numbers, which start at 1.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Sequence {
    /// Every number up to and including this one has arrived (0: none yet).
    contiguous: u64,
    /// Numbers above `contiguous + 1` that arrived before the gap below them filled.
    ahead: BTreeSet<u64>,
}

impl Sequence {
    /// Resumes from what the store holds: everything up to `contiguous`, and the numbers past a gap.
    pub fn resume(contiguous: u64, ahead: impl IntoIterator<Item = u64>) -> Self {
        let mut sequence = Self { contiguous, ahead: ahead.into_iter().filter(|n| *n > contiguous).collect() };
        sequence.close_gaps();
        sequence
    }

    pub fn receive(&mut self, number: u64) -> Received {
        if number <= self.contiguous || self.ahead.contains(&number) {
            return Received::Duplicate;
        }
        if number == self.contiguous + 1 {
            self.contiguous = number;
            self.close_gaps();
            return Received::New;
        }
        if self.ahead.len() >= MOST_AHEAD {
            return Received::TooFarAhead;
        }
        self.ahead.insert(number);
        Received::New
    }

    /// The agent dropped results up to `number` (its outbox was full): nothing below will come.
    pub fn skip_to(&mut self, number: u64) {
        if number > self.contiguous {
            self.contiguous = number;
            self.ahead = self.ahead.split_off(&(number + 1));
            self.close_gaps();
        }
    }

    /// The acknowledgement: every number up to this one is stored.
    pub fn acknowledged(&self) -> u64 {
        self.contiguous
    }

    /// Numbers missing below the highest received, for a node's status.
    pub fn missing(&self) -> u64 {
        self.ahead.last().map_or(0, |last| last - self.contiguous - self.ahead.len() as u64)
    }

    fn close_gaps(&mut self) {
        while self.ahead.first() == Some(&(self.contiguous + 1)) {
            self.ahead.pop_first();
            self.contiguous += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn retries_are_duplicates_and_the_acknowledgement_waits_for_gaps() {
        let mut sequence = Sequence::default();
        assert_eq!(sequence.receive(1), Received::New);
        assert_eq!(sequence.receive(2), Received::New);
        assert_eq!(sequence.receive(2), Received::Duplicate);
        assert_eq!(sequence.receive(5), Received::New);
        assert_eq!((sequence.acknowledged(), sequence.missing()), (2, 2));
        assert_eq!(sequence.receive(5), Received::Duplicate);
        assert_eq!(sequence.receive(3), Received::New);
        assert_eq!(sequence.receive(4), Received::New);
        assert_eq!((sequence.acknowledged(), sequence.missing()), (5, 0));
    }

    #[test]
    fn a_reported_drop_moves_the_acknowledgement_past_what_will_never_come() {
        let mut sequence = Sequence::resume(10, [14, 20]);
        sequence.skip_to(13);
        assert_eq!(sequence.acknowledged(), 14);
        assert_eq!(sequence.receive(12), Received::Duplicate, "dropped numbers count as done");
        sequence.skip_to(3);
        assert_eq!(sequence.acknowledged(), 14, "never backwards");
        assert_eq!(Sequence::resume(5, [2, 6, 7, 9]), {
            let mut s = Sequence::default();
            s.skip_to(7);
            s.receive(9);
            s
        });
    }

    #[test]
    fn what_waits_past_a_gap_is_bounded() {
        let mut sequence = Sequence::default();
        for n in 0..MOST_AHEAD as u64 {
            assert_eq!(sequence.receive(n + 2), Received::New);
        }
        assert_eq!(sequence.receive(MOST_AHEAD as u64 + 2), Received::TooFarAhead);
        assert_eq!(sequence.receive(1), Received::New, "the gap itself is always taken");
        assert_eq!(sequence.acknowledged(), MOST_AHEAD as u64 + 1);
    }

    proptest! {
        /// Whatever the order and the retries, each number is new exactly once, and the
        /// acknowledgement ends at the highest number with everything below it received.
        #[test]
        fn any_order_with_retries_stores_each_number_once(mut numbers in proptest::collection::vec(1u64..60, 0..200)) {
            let mut sequence = Sequence::default();
            let mut stored = BTreeSet::new();
            numbers.extend(numbers.clone());
            for number in numbers {
                match sequence.receive(number) {
                    Received::New => prop_assert!(stored.insert(number), "{} stored twice", number),
                    Received::Duplicate => prop_assert!(stored.contains(&number)),
                    Received::TooFarAhead => prop_assert!(false),
                }
            }
            let expected = (1..).take_while(|n| stored.contains(n)).last().unwrap_or(0);
            prop_assert_eq!(sequence.acknowledged(), expected);
        }
    }
}
