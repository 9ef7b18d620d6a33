//! Dashboard components. They render on the server and hydrate in the browser.

pub mod account_bar;
pub mod account_page;
pub mod admin_nodes;
pub mod admin_page;
pub mod alerts_page;
pub mod alerts_panel;
pub mod auth_pages;
pub mod cards;
pub mod connection_badge;
pub mod dashboard;
pub mod dashboard_hooks;
pub mod event_log;
pub mod monitor_table;
pub mod nodes_panel;
pub mod offline_banner;
pub mod page_parts;
pub mod range_picker;
pub mod rooms;
pub mod speed_section;
pub mod status_page;
pub mod store_banner;
pub mod test_now_button;
pub mod theme;
pub mod time_chart;
pub mod topic_section;
pub mod viewer_zone;
