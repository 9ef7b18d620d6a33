//! Agents: other netpulse nodes that measure from where they run and send
//! their results here. So far the parts that need no network: how far an
//! agent's clock is off, and which of its numbered results have arrived.

pub mod clock_offset;
pub mod sequence;
