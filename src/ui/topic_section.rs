//! A custom topic's section: a card per numeric field and a chart of them,
//! with a switch that unsubscribes the page from the topic.

use leptos::{either::Either, prelude::*};

use crate::{
    chart::{draw::TOPIC_CHART, scale::ChartSeries},
    format,
    live::topic_feed::TopicBoard,
    ui::{
        cards::MetricCard,
        rooms::{use_rooms, SectionHead},
        time_chart::TimeChart,
    },
};

#[component]
pub fn TopicSection(topic: String, board: RwSignal<TopicBoard>) -> impl IntoView {
    let rooms = use_rooms();
    let heading_id = format!("topic-{topic}-heading");
    let on = {
        let topic = topic.clone();
        move || rooms.is_on(&topic)
    };
    let feed_topic = topic.clone();
    let fields = Memo::new(move |_| board.with(|b| b.feed(&feed_topic).map(|f| f.fields()).unwrap_or_default()));
    let content = {
        let topic = topic.clone();
        move || {
            if !on() {
                return Either::Left(view! { <p class="room-off">"Switched off: this page does not follow " <code>{topic.clone()}</code> "."</p> });
            }
            Either::Right(topic_body(topic.clone(), board, fields))
        }
    };
    view! {
        <section class="topic-section" data-testid=format!("topic-{topic}") aria-labelledby=heading_id.clone()>
            <SectionHead heading_id=heading_id.clone() title=topic.clone() topic=topic.clone() label=format!("the {topic} topic")/>
            {content}
        </section>
    }
}

fn topic_body(topic: String, board: RwSignal<TopicBoard>, fields: Memo<Vec<String>>) -> impl IntoView {
    let series_topic = topic.clone();
    let series = Memo::new(move |_| board.with(|b| b.feed(&series_topic).map(|f| f.series()).unwrap_or_else(ChartSeries::default)));
    let count_topic = topic.clone();
    let samples = Signal::derive(move || board.with(|b| b.feed(&count_topic).map_or(0, |f| f.points.len())));
    let summary_topic = topic.clone();
    let summary = Signal::derive(move || {
        board.with(|b| match b.feed(&summary_topic).and_then(|f| f.latest()) {
            None => format!("Chart of {summary_topic}: no events yet."),
            Some(latest) => {
                let values: Vec<String> = latest.values.iter().map(|(k, v)| format!("{k} {}", format::metric(Some(*v)))).collect();
                let count = b.feed(&summary_topic).map_or(0, |f| f.points.len());
                let noun = if count == 1 { "event" } else { "events" };
                format!("Chart of {summary_topic}, {count} {noun}. Latest: {}.", values.join(", "))
            }
        })
    });
    let cards_topic = topic.clone();
    view! {
        <div class="cards">
            // The field set changes rarely, so a plain list rebuilt on change is
            // enough; a keyed <For> costs about 5 KB of the gzipped bundle.
            {move || fields.get().into_iter().map(|field| {
                let (t1, t2, t3, f1, f2) = (cards_topic.clone(), cards_topic.clone(), cards_topic.clone(), field.clone(), field.clone());
                view! {
                    <MetricCard
                        label=field.clone()
                        unit=""
                        key=format!("{}-{}", cards_topic, field)
                        value=Signal::derive(move || board.with(|b| b.feed(&t1).and_then(|f| f.latest()).and_then(|p| p.values.get(&f1).copied())))
                        previous=Signal::derive(move || board.with(|b| b.feed(&t2).and_then(|f| f.previous(&f2))))
                        event_id=Signal::derive(move || board.with(|b| b.feed(&t3).and_then(|f| f.latest()).map_or(0, |p| p.id)))
                    />
                }
            }).collect_view()}
        </div>
        <TimeChart series spec=TOPIC_CHART caption="Numeric fields over time" testid="topic-chart" samples summary/>
    }
}
