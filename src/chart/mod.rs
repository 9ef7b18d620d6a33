//! Chart data shaping (pure functions) and drawing (generic over the plotters backend).

pub mod draw;
pub mod hover;
pub mod marks;
pub mod scale;
