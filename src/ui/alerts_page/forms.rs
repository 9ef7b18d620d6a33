//! The alerts page's actions: silence a rule, end a silence, test a channel.
//! Plain HTML forms that act for a signed-in editor or admin, and otherwise ask
//! for a token with the `operate` scope.

use leptos::prelude::*;

use crate::model::{alert::Silence, alerts_page::ChannelSummary};
use crate::ui::page_parts::time_view;

#[component]
fn TokenField(id: &'static str, needed: bool) -> impl IntoView {
    needed.then(|| {
        view! {
            <label class="field" for=id>"API token"
                <input id=id name="token" type="password" autocomplete="off" required/>
            </label>
        }
    })
}

#[component]
pub fn Actions(rules: Vec<String>, channels: Vec<ChannelSummary>, silences: Vec<Silence>, needs_token: bool) -> impl IntoView {
    view! {
        <section aria-labelledby="actions-heading">
            <h2 id="actions-heading" class="section-title">"Silences and tests"</h2>
            {needs_token.then(|| view! {
                <p class="room-off" data-testid="token-needed">
                    <a href="/login?next=/alerts">"Sign in"</a>" as an editor or admin, or enter an API token with the operate scope."
                </p>
            })}
            <div class="action-grid">
                <SilenceForm rules needs_token/>
                <RunningSilences silences needs_token/>
                <TestForm channels needs_token/>
            </div>
        </section>
    }
}

#[component]
fn SilenceForm(rules: Vec<String>, needs_token: bool) -> impl IntoView {
    view! {
        <form class="action" method="post" action="/alerts/silences" data-testid="silence-form">
            <fieldset>
                <legend>"Silence"</legend>
                <label class="field" for="silence-rule">"Rule"
                    <select id="silence-rule" name="rule">
                        <option value="">"Every rule"</option>
                        {rules.into_iter().map(|rule| { let label = rule.clone(); view! { <option value=rule>{label}</option> } }).collect_view()}
                    </select>
                </label>
                <label class="field" for="silence-subject">"Subject (optional)"
                    <input id="silence-subject" name="subject" type="text" maxlength="2048" placeholder="every subject"/>
                </label>
                <label class="field" for="silence-for">"For"
                    <select id="silence-for" name="for">
                        {["30m", "1h", "2h", "6h", "12h", "1d", "7d"].map(|span| view! { <option value=span selected=span == "2h">{span}</option> })}
                    </select>
                </label>
                <label class="field" for="silence-reason">"Reason"
                    <input id="silence-reason" name="reason" type="text" maxlength="500"/>
                </label>
                <TokenField id="silence-token" needed=needs_token/>
                <button type="submit">"Silence"</button>
            </fieldset>
        </form>
    }
}

/// "every rule", or the rule and its subject.
fn silence_scope(silence: &Silence) -> String {
    let rule = silence.rule.as_deref().unwrap_or("every rule");
    match silence.subject.as_deref() {
        Some(subject) => format!("{rule} on {subject}"),
        None => rule.to_owned(),
    }
}

#[component]
fn RunningSilences(silences: Vec<Silence>, needs_token: bool) -> impl IntoView {
    let empty = silences.is_empty();
    let options = silences.clone();
    view! {
        <form class="action" method="post" action="/alerts/silences/end" data-testid="end-silence-form">
            <fieldset disabled=empty>
                <legend>"Running silences"</legend>
                {empty.then(|| view! { <p class="muted">"None."</p> })}
                <ul class="silence-list" data-testid="silences">
                    {silences.into_iter().map(|silence| {
                        let scope = format!("{}, until ", silence_scope(&silence));
                        view! {
                            <li data-id=silence.id>{scope}{time_view(silence.ends_ms)}
                                {(!silence.reason.is_empty()).then(|| view! { <span class="muted">{format!(" — {}", silence.reason)}</span> })}
                            </li>
                        }
                    }).collect_view()}
                </ul>
                <label class="field" for="end-id" hidden=empty>"Silence to end"
                    <select id="end-id" name="id">
                        {options.into_iter().map(|silence| view! { <option value=silence.id>{silence_scope(&silence)}</option> }).collect_view()}
                    </select>
                </label>
                <TokenField id="end-token" needed=needs_token/>
                <button type="submit">"End silence"</button>
            </fieldset>
        </form>
    }
}

#[component]
fn TestForm(channels: Vec<ChannelSummary>, needs_token: bool) -> impl IntoView {
    let empty = channels.is_empty();
    view! {
        <form class="action" method="post" action="/alerts/test" data-testid="test-form">
            <fieldset disabled=empty>
                <legend>"Test a channel"</legend>
                {empty.then(|| view! { <p class="muted">"No [[notify]] channels are configured."</p> })}
                <label class="field" for="test-channel" hidden=empty>"Channel"
                    <select id="test-channel" name="channel">
                        {channels.into_iter().map(|channel| { let label = format!("{} ({})", channel.name, channel.kind); view! { <option value=channel.name>{label}</option> } }).collect_view()}
                    </select>
                </label>
                <TokenField id="test-token" needed=needs_token/>
                <button type="submit">"Send a test message"</button>
            </fieldset>
        </form>
    }
}
