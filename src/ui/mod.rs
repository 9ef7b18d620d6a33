//! Dashboard components. They render on the server and hydrate in the browser.

pub mod cards;
pub mod connection_badge;
pub mod dashboard;
pub mod format;
pub mod monitor_table;
pub mod range_picker;
pub mod store_banner;
pub mod theme;
pub mod time_chart;
