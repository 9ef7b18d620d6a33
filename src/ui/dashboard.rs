//! The dashboard page: latest figures, the speed and latency charts, monitors and the stream's state.

use leptos::{either::Either, prelude::*};

use crate::{
    client::{live_signals::LiveSignals, snapshot_api::page_snapshot},
    model::Snapshot,
    ui::{
        alerts_panel::AlertsPanel,
        connection_badge::ConnectionBadge,
        dashboard_hooks::{chart_samples, chart_status, use_live_stream, use_range_history, use_trends},
        event_log::EventLogView,
        monitor_table::MonitorTable,
        nodes_panel::NodesPanel,
        offline_banner::OfflineBanner,
        range_picker::{use_range, RangePicker},
        rooms::provide_rooms,
        speed_node_picker::NodeChoice,
        speed_section::SpeedSection,
        store_banner::StoreBanner,
        theme::ThemeToggle,
        topic_section::TopicSection,
    },
};

#[component]
pub fn DashboardPage() -> impl IntoView {
    // Read on the server and shipped inside the page, so the first paint already
    // shows the latest figures and hydration needs no request and no Suspense.
    match SharedValue::new(page_snapshot).into_inner() {
        Ok(snapshot) => Either::Left(view! { <LiveDashboard snapshot/> }),
        Err(error) => Either::Right(view! { <p class="load-error" role="alert">{error}</p> }),
    }
}

#[component]
fn LiveDashboard(snapshot: Snapshot) -> impl IntoView {
    let signals = LiveSignals::from_snapshot(&snapshot);
    let LiveSignals { history, board, topics, log, alerts, nodes, connection, last_event_at } = signals;
    use_live_stream(signals, provide_rooms(), &snapshot.topics, snapshot.last_event_id);
    let chosen = use_range();
    let range = Memo::new(move |_| chosen.get());
    let choice = NodeChoice::of(&snapshot);
    let loaded = use_range_history(range, choice.stored_series.clone());
    let trends = use_trends(range, board);
    let chart_samples = chart_samples(history, loaded, range);
    let status = chart_status(loaded, range);
    let here = snapshot.node.clone();
    view! {
        <header class="topbar">
            <h1 class="brand">"netpulse"</h1>
            <span class="node" title="This node">{snapshot.node}</span>
            <ConnectionBadge state=connection last_event_at/>
            <ThemeToggle/>
        </header>
        <main class="dashboard">
            <OfflineBanner connection log/>
            <StoreBanner initial=snapshot.store/>
            {alerts.with_untracked(|a| a.has_rules()).then(|| view! { <AlertsPanel alerts/> })}
            {nodes.with_untracked(|n| !n.is_empty()).then(|| view! { <NodesPanel nodes board here=here.clone()/> })}
            <RangePicker selected=chosen/>
            <SpeedSection history chart_samples range status alerts choice may_test_now=snapshot.may_test_now/>
            <MonitorTable board trends range/>
            {snapshot.topics.into_iter().map(|topic| view! { <TopicSection topic board=topics/> }).collect_view()}
            <EventLogView log/>
        </main>
    }
}
