//! The admin page at `/admin`: accounts, tokens, sessions, access rules, agent nodes and the audit log,
//! each with its plain HTML forms. Rendered by the server alone: it ships no WASM.

use leptos::prelude::*;

use crate::{
    model::admin_page::{AdminAudit, AdminPageData, AdminRule, AdminSession, AdminToken, AdminUser},
    ui::{
        admin_nodes::{AgentNodes, NewJoinTokenNotice},
        page_parts::{time_view, TableSection},
    },
};

/// A one-button form posting `action` about `name` to `/admin`.
#[component]
pub fn ActionButton(action: &'static str, field: &'static str, value: String, label: String) -> impl IntoView {
    view! {
        <form method="post" action="/admin" class="inline-form">
            <input type="hidden" name="action" value=action/>
            <input type="hidden" name=field value=value/>
            <button type="submit" class="link-button">{label}</button>
        </form>
    }
}

#[component]
pub fn AdminPage() -> impl IntoView {
    let data = use_context::<AdminPageData>().unwrap_or_default();
    let AdminPageData { node, viewer, own_session, users, tokens, sessions, rules, nodes, audit, notice, error, new_token, new_join_token } = data;
    view! {
        <header class="topbar">
            <h1 class="brand">"netpulse admin"</h1>
            <span class="node" title="This node">{node}</span>
            <a class="back-link" href="/">"Dashboard"</a>
        </header>
        <main class="dashboard alerts-page">
            {notice.map(|text| view! { <p class="notice notice-ok" role="status" data-testid="notice">{text}</p> })}
            {error.map(|text| view! { <p class="notice notice-error" role="alert" data-testid="notice">{text}</p> })}
            {new_token.map(|(name, token)| view! {
                <p class="notice notice-ok" role="status" data-testid="new-token">
                    "Token " <strong>{name}</strong> " made. Copy it now; it is not shown again: " <code>{token}</code>
                </p>
            })}
            {new_join_token.map(|made| view! { <NewJoinTokenNotice made/> })}
            <Users users viewer/>
            <Tokens tokens/>
            <Sessions sessions own_session/>
            <Rules rules/>
            <AgentNodes nodes/>
            <Audit audit/>
        </main>
    }
}

/// The role picker of a password account.
#[component]
fn RoleForm(name: String, role: String) -> impl IntoView {
    let role_id = format!("role-{name}");
    let role_label = format!("Role of {name}");
    view! {
        <form method="post" action="/admin" class="inline-form">
            <input type="hidden" name="action" value="set-role"/>
            <input type="hidden" name="name" value=name/>
            <label class="visually-hidden" for=role_id.clone()>{role_label}</label>
            <select id=role_id name="role">
                {["viewer", "editor", "admin"].map(|option| view! { <option value=option selected=role == option>{option}</option> }).collect_view()}
            </select>
            <button type="submit" class="link-button">"Change"</button>
        </form>
    }
}

#[component]
fn Users(users: Vec<AdminUser>, viewer: String) -> impl IntoView {
    let rows = users
        .into_iter()
        .map(|user| {
            let own = user.name == viewer;
            view! {
                <tr data-user=user.name.clone()>
                    <td data-label="Name">{user.name.clone()}{user.single_sign_on.then_some(" (single sign-on)")}</td>
                    <td data-label="Role">
                        {if user.single_sign_on {
                            // The provider sets it at every sign-in; a change here would not last.
                            view! { {user.role.clone()}" (from the provider)" }.into_any()
                        } else {
                            view! { <RoleForm name=user.name.clone() role=user.role.clone()/> }.into_any()
                        }}
                    </td>
                    <td data-label="Two-factor">
                        {if user.totp {
                            view! { "on " <ActionButton action="reset-totp" field="name" value=user.name.clone() label=format!("Turn off for {}", user.name)/> }.into_any()
                        } else {
                            "off".into_any()
                        }}
                    </td>
                    <td data-label="Since">{time_view(user.created_ms)}</td>
                    <td data-label="Remove">
                        {(!own).then(|| view! { <ActionButton action="remove-user" field="name" value=user.name.clone() label=format!("Remove {}", user.name)/> })}
                    </td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableSection id="users" title="Users" empty=None headers=&["Name", "Role", "Two-factor", "Since", "Remove"]>{rows}</TableSection>
        <form method="post" action="/admin" class="admin-form" data-testid="add-user">
            <input type="hidden" name="action" value="add-user"/>
            <label class="field">"Name"<input name="name" autocomplete="off" required/></label>
            <label class="field">"Password (10 characters or more)"<input name="password" type="password" autocomplete="new-password" minlength="10" required/></label>
            <label class="field">"Role"<select name="role"><option value="viewer">"viewer"</option><option value="editor">"editor"</option><option value="admin">"admin"</option></select></label>
            <button type="submit">"Add user"</button>
        </form>
    }
}

fn optional_time(at_ms: Option<i64>, none: &'static str) -> AnyView {
    match at_ms {
        Some(at) => time_view(at).into_any(),
        None => none.into_any(),
    }
}

#[component]
fn Tokens(tokens: Vec<AdminToken>) -> impl IntoView {
    let empty = tokens.is_empty().then_some("No API tokens yet.");
    let rows = tokens
        .into_iter()
        .map(|token| {
            view! {
                <tr data-token=token.name.clone()>
                    <td data-label="Name">{token.name.clone()}</td>
                    <td data-label="Scopes"><code>{token.scopes}</code></td>
                    <td data-label="Made">{token.created_by}" "{time_view(token.created_ms)}</td>
                    <td data-label="Expires">{optional_time(token.expires_ms, "never")}</td>
                    <td data-label="Last used">{optional_time(token.last_used_ms, "not yet")}</td>
                    <td data-label="Revoke"><ActionButton action="revoke-token" field="name" value=token.name.clone() label=format!("Revoke {}", token.name)/></td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableSection id="tokens" title="API tokens" empty headers=&["Name", "Scopes", "Made", "Expires", "Last used", "Revoke"]>{rows}</TableSection>
        <form method="post" action="/admin" class="admin-form" data-testid="add-token">
            <input type="hidden" name="action" value="add-token"/>
            <label class="field">"Name"<input name="name" autocomplete="off" required/></label>
            <label class="field">"Scopes (read:<pattern> publish:<pattern> operate admin)"<input name="scopes" autocomplete="off" required placeholder="read:*"/></label>
            <label class="field">"Expires after days (empty: never)"<input name="expires_days" inputmode="decimal" autocomplete="off"/></label>
            <button type="submit">"Make token"</button>
        </form>
    }
}

#[component]
fn Sessions(sessions: Vec<AdminSession>, own_session: Option<i64>) -> impl IntoView {
    let rows = sessions
        .into_iter()
        .map(|session| {
            let own = Some(session.id) == own_session;
            view! {
                <tr data-session=session.id>
                    <td data-label="User">{session.user}{own.then_some(" (this one)")}</td>
                    <td data-label="Since">{time_view(session.created_ms)}</td>
                    <td data-label="Last seen">{time_view(session.last_seen_ms)}</td>
                    <td data-label="Address">{session.address}</td>
                    <td data-label="End"><ActionButton action="end-session" field="id" value=session.id.to_string() label=format!("End session {}", session.id)/></td>
                </tr>
            }
        })
        .collect_view();
    view! { <TableSection id="sessions" title="Signed-in sessions" empty=None headers=&["User", "Since", "Last seen", "Address", "End"]>{rows}</TableSection> }
}

#[component]
fn Rules(rules: Vec<AdminRule>) -> impl IntoView {
    let empty = rules.is_empty().then_some("No access rules: accounts read everything, tokens what their scopes say, visitors nothing.");
    let rows = rules
        .into_iter()
        .map(|rule| {
            let source = match &rule.added {
                Some(added) => view! { {added.by.clone()}" "{time_view(added.at_ms)} }.into_any(),
                None => "config file".into_any(),
            };
            let remove = rule.id.map(|id| {
                let label = format!("Remove rule {} {} {}", rule.who, rule.allow, rule.series);
                view! { <ActionButton action="remove-rule" field="id" value=id.to_string() label/> }
            });
            view! {
                <tr data-rule=format!("{} {} {}", rule.who, rule.allow, rule.series)>
                    <td data-label="Who">{rule.who.clone()}</td>
                    <td data-label="Series"><code>{rule.series.clone()}</code></td>
                    <td data-label="Allows">{rule.allow.clone()}</td>
                    <td data-label="Added">{source}</td>
                    <td data-label="Remove">{remove}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <TableSection id="rules" title="Access rules" empty headers=&["Who", "Series", "Allows", "Added", "Remove"]>{rows}</TableSection>
        <form method="post" action="/admin" class="admin-form" data-testid="add-rule">
            <input type="hidden" name="action" value="add-rule"/>
            <label class="field">"Who (anonymous, role:viewer, user:<name>, token:<name>)"<input name="who" autocomplete="off" required placeholder="anonymous"/></label>
            <label class="field">"Series (speed, probe:web-*, topic:<name>, alert, *)"<input name="series" autocomplete="off" required placeholder="speed"/></label>
            <label class="field">"Allows"<select name="allow"><option value="read">"read"</option><option value="publish">"publish"</option><option value="deny">"deny"</option></select></label>
            <button type="submit">"Add rule"</button>
        </form>
    }
}

#[component]
fn Audit(audit: Vec<AdminAudit>) -> impl IntoView {
    let empty = audit.is_empty().then_some("Nothing recorded yet.");
    let rows = audit
        .into_iter()
        .map(|entry| {
            view! {
                <tr>
                    <td data-label="When">{time_view(entry.at_ms)}</td>
                    <td data-label="Who">{entry.actor}</td>
                    <td data-label="What">{entry.action}</td>
                    <td data-label="Detail">{entry.detail}</td>
                    <td data-label="From">{entry.address}</td>
                </tr>
            }
        })
        .collect_view();
    view! { <TableSection id="audit" title="Audit log (newest 100)" empty headers=&["When", "Who", "What", "Detail", "From"]>{rows}</TableSection> }
}
