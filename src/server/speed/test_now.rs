//! "Test now": speed tests started at once, here or on agent nodes, by
//! `POST /api/speed/test-now` and by alert rules that confirm a breach with
//! a retest. This server's tests go to its sampler; a node's go down its
//! command stream.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

use axum::{
    extract::{rejection::JsonRejection, State},
    http::StatusCode,
    Json,
};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc::{Sender, UnboundedReceiver};
use utoipa_axum::{router::OpenApiRouter, routes};

use crate::{
    model::test_now::TestNowAnswer,
    server::{
        agents::commands::NodeCommand,
        auth::{access::Caller, guard::require_operate, routes::json_body},
        http::error::ApiError,
        speed::target::NODE_PREFIX,
        AppState,
    },
};

/// A node asked to test now is not asked again this soon: a double click queues one test, not two.
const ASK_AGAIN_AFTER: Duration = Duration::from_secs(10);

/// Where this server's tests are asked for, and when each (node, target) was last asked.
pub struct SpeedTests {
    /// The sampler's queue of tests to run now; none while `speed.enabled` is off.
    local: Option<Sender<String>>,
    /// By node and target label (empty for every target).
    asked: Mutex<HashMap<(String, String), Instant>>,
}

impl SpeedTests {
    pub fn new(local: Option<Sender<String>>) -> Self {
        Self { local, asked: Mutex::default() }
    }

    /// Seconds until `node` may be asked for `target` again, or `None` if it may be now.
    /// Asking for every target waits on any one asked for, and the other way round.
    fn cooling(&self, node: &str, target: &str, now: Instant) -> Option<u64> {
        let mut asked = self.asked.lock().unwrap_or_else(PoisonError::into_inner);
        asked.retain(|_, at| now.duration_since(*at) < ASK_AGAIN_AFTER);
        let overlaps =
            |(asked_node, asked_target): &(String, String)| asked_node == node && (target.is_empty() || asked_target.is_empty() || asked_target == target);
        asked.iter().filter(|(key, _)| overlaps(key)).map(|(_, at)| (ASK_AGAIN_AFTER - now.duration_since(*at)).as_secs().max(1)).max()
    }

    fn note_asked(&self, node: &str, target: &str, now: Instant) {
        self.asked.lock().unwrap_or_else(PoisonError::into_inner).insert((node.to_owned(), target.to_owned()), now);
    }
}

/// A "test now" request: every field optional, so `{}` tests every target everywhere.
#[derive(Debug, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TestNowRequest {
    /// This server's node name or an agent node's; absent for this server and every node.
    #[serde(default)]
    pub node: Option<String>,
    /// A target's label as samples carry it (`speed.target.url` without credentials); absent for every target.
    #[serde(default)]
    pub target: Option<String>,
}

/// Asks for a test of `target` (every target when `None`) on `node` (everywhere when `None`),
/// among the nodes and targets `may_read` lets the caller see; also the seconds until
/// the first node asked too recently may be asked again.
pub fn ask(state: &AppState, node: Option<&str>, target: Option<&str>, may_read: impl Fn(&str) -> bool) -> Result<(TestNowAnswer, u64), ApiError> {
    if !state.config.speed.enabled {
        return Err(ApiError::Conflict("speed tests are off here and on every node (speed.enabled = false)".to_owned()));
    }
    let labels: Vec<String> =
        state.config.speed.targets().iter().map(|scheduled| scheduled.target.label()).filter(|label| may_read(&format!("speed:{label}"))).collect();
    if let Some(target) = target.filter(|target| !labels.iter().any(|label| label == target)) {
        return Err(ApiError::NotFound(format!("target: {target:?} is not one of the speed targets: {}", labels.join(", "))));
    }
    let here = &state.config.node;
    let agents: Vec<String> = state.agents.names().into_iter().filter(|agent| may_read(&format!("node:{agent}"))).collect();
    let nodes: Vec<&str> = match node {
        None => std::iter::once(here.as_str()).chain(agents.iter().map(String::as_str)).collect(),
        Some(node) if node == here || agents.iter().any(|agent| agent == node) => vec![node],
        Some(node) => return Err(ApiError::NotFound(format!("node: {node:?} is neither this server ({here:?}) nor an enrolled agent node"))),
    };
    // `node:tokyo` is measured by every node but tokyo.
    let itself = |node: &str| target.and_then(|target| target.strip_prefix(NODE_PREFIX)) == Some(node);
    if let [only] = nodes[..] {
        if itself(only) {
            return Err(ApiError::NotFound(format!("target: {only:?} does not measure itself; ask another node, or every node")));
        }
    }
    let nodes: Vec<&str> = nodes.into_iter().filter(|node| !itself(node)).collect();
    let mut answer = TestNowAnswer::default();
    let mut retry_after = 0;
    let now = Instant::now();
    let asked_target = target.unwrap_or_default();
    for node in nodes {
        if let Some(wait) = state.speed_tests.cooling(node, asked_target, now) {
            answer.asked_recently.push(node.to_owned());
            retry_after = retry_after.max(wait);
        } else if node == here {
            for label in labels.iter().filter(|label| target.is_none_or(|target| target == label.as_str())) {
                if let Some(local) = &state.speed_tests.local {
                    // Full means each target waits for a test already: one more would add nothing.
                    let _ = local.try_send(label.clone());
                }
            }
            state.speed_tests.note_asked(node, asked_target, now);
            answer.testing.push(node.to_owned());
        } else if state.agents.commands.send(node, NodeCommand::TestNow { target: target.map(str::to_owned) }) {
            state.speed_tests.note_asked(node, asked_target, now);
            answer.testing.push(node.to_owned());
        } else {
            answer.not_connected.push(node.to_owned());
        }
    }
    Ok((answer.summarised(), retry_after))
}

/// Runs speed tests now; the samples arrive on the `speed` topic as usual.
#[utoipa::path(post, path = "/api/speed/test-now", tag = "speed", request_body = TestNowRequest,
    responses((status = 202, description = "Asked; who is testing", body = TestNowAnswer),
        (status = 400, description = "Not a request body", body = crate::model::ApiErrorBody),
        (status = 401, description = "Not signed in, or a session or token that no longer works", body = crate::model::ApiErrorBody),
        (status = 403, description = "Needs an editor, an admin or a token with `operate`", body = crate::model::ApiErrorBody),
        (status = 404, description = "No such node or target", body = crate::model::ApiErrorBody),
        (status = 409, description = "Speed tests are off", body = crate::model::ApiErrorBody),
        (status = 415, description = "Not JSON", body = crate::model::ApiErrorBody),
        (status = 429, description = "Every node asked was asked less than 10 s ago", body = crate::model::ApiErrorBody)))]
async fn test_now(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<TestNowRequest>, JsonRejection>,
) -> Result<(StatusCode, Json<TestNowAnswer>), ApiError> {
    require_operate(&caller)?;
    let request = json_body(body)?;
    let access = state.auth.access();
    let (answer, retry_after_secs) = ask(&state, request.node.as_deref(), request.target.as_deref(), |series| access.may_read(&caller, series))?;
    if answer.testing.is_empty() && answer.not_connected.is_empty() {
        let message = format!("{} asked less than 10 s ago; the test is running", answer.asked_recently.join(", "));
        return Err(ApiError::TooManyRequests { message, retry_after_secs });
    }
    tracing::info!(caller = %caller.label(), testing = ?answer.testing, "speed test asked for now");
    Ok((StatusCode::ACCEPTED, Json(answer)))
}

/// Passes alert rules' retests on: a node's target (`label@node`) to that node, the rest to this server's sampler.
pub async fn route_retests(state: AppState, mut retests: UnboundedReceiver<String>) {
    loop {
        let subject = tokio::select! {
            () = state.shutdown.cancelled() => return,
            subject = retests.recv() => match subject {
                Some(subject) => subject,
                None => return,
            },
        };
        match subject.rsplit_once('@').filter(|(_, node)| state.agents.names().iter().any(|name| name == node)) {
            Some((label, node)) => {
                if !state.agents.commands.send(node, NodeCommand::TestNow { target: Some(label.to_owned()) }) {
                    tracing::warn!(node, target = label, "cannot ask a node for a retest: it has no command stream open");
                }
            }
            None => {
                if let Some(local) = &state.speed_tests.local {
                    let _ = local.try_send(subject);
                }
            }
        }
    }
}

pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(test_now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_node_asked_is_left_alone_for_ten_seconds_for_that_target() {
        let tests = SpeedTests::new(None);
        let start = Instant::now();
        assert_eq!(tests.cooling("tokyo", "", start), None);
        tests.note_asked("tokyo", "http://a", start);
        let later = start + Duration::from_secs(3);
        assert_eq!(tests.cooling("tokyo", "http://a", later), Some(7));
        assert_eq!(tests.cooling("tokyo", "", later), Some(7), "every target includes that one");
        assert_eq!(tests.cooling("tokyo", "http://b", later), None, "another target is another test");
        assert_eq!(tests.cooling("berlin", "http://a", later), None, "each node apart");
        assert_eq!(tests.cooling("tokyo", "http://a", start + ASK_AGAIN_AFTER), None);
    }
}
